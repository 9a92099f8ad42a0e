"""Dates, times and repeat rules in the owner's words: every weekday and month name, and the
phrases around them, come from the catalogue ("date.*", "repeat.*"), plural forms included.
They are plain text: a message that shows one inserts it with `t(...)`, which escapes it once.

`scheduler/` computes moments and rules; this module only says them, so no language lives below
the UI kit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from scheduler.recurrence import RepeatRule, parse_cron
from ui.texts import Texts

WEEKDAYS = (0, 1, 2, 3, 4)
WEEKEND = (5, 6)
EVERY_DAY = tuple(range(7))


def weekday_names(t: Texts) -> tuple[str, ...]:
    """Monday to Sunday, short: "Mon" … "Sun" / "пн" … "вс"."""
    return tuple(t.plain(f"date.wd.{weekday}") for weekday in range(7))


def day(t: Texts, value: date) -> str:
    """A calendar day for reports: "Sun 22 Nov 2026" / "вс, 22 ноября 2026"."""
    return t.plain(
        "date.day",
        weekday=t.plain(f"date.wd.{value.weekday()}"),
        day=value.day,
        month=t.plain(f"date.month.{value.month}"),
        year=value.year,
    )


def moment(t: Texts, value: datetime, tz: ZoneInfo) -> str:
    """An absolute local date, weekday and time: "Fri 25 Dec 2026, 10:00 (Europe/Berlin)"."""
    if value.tzinfo is None:
        raise ValueError("moment needs an aware datetime")
    local = value.astimezone(tz)
    return t.plain("date.moment", date=day(t, local.date()), time=clock(local), zone=tz.key)


def clock(value: datetime) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def _days(t: Texts, weekdays: Iterable[int]) -> str:
    """Which days of the week: "every weekday", "по пятницам", "every Mon, Wed"."""
    wds = tuple(sorted(weekdays))
    if wds == WEEKDAYS:
        return t.plain("repeat.weekdays")
    if wds == WEEKEND:
        return t.plain("repeat.weekends")
    if wds == EVERY_DAY:
        return t.plain("repeat.every_day")
    if len(wds) == 1:
        return t.plain(f"repeat.on_wd.{wds[0]}")
    return t.plain("repeat.on_days", days=", ".join(t.plain(f"date.wd.{w}") for w in wds))


def repeat_rule(t: Texts, rule: RepeatRule) -> str:
    """A repeat rule in short: "every day at 09:00", "every Mon, Wed at 18:00 until 31 Dec",
    "по будням в 09:00", "каждые 2 дня в 09:00, 5 раз"."""
    local = rule.start.astimezone(rule.zone)
    at = t.plain("repeat.at", time=clock(local))
    n = rule.interval
    if rule.kind == "daily":
        text = (
            t.plain("repeat.rule", days=t.plain("repeat.every_day"), at=at)
            if n == 1
            else t.plain_n("repeat.every_n_days", n, at=at)
        )
    elif rule.kind == "weekly":
        days = _days(t, rule.effective_weekdays)
        text = (
            t.plain("repeat.rule", days=days, at=at)
            if n == 1
            else t.plain_n("repeat.every_n_weeks", n, days=days, at=at)
        )
    else:
        assert rule.cron is not None
        text = _cron(t, rule.cron)
    if rule.until is not None:
        until = rule.until.astimezone(rule.zone)
        month = t.plain(f"date.month.{until.month}")
        when = (
            t.plain("date.day_month", day=until.day, month=month)
            if until.year == local.year
            else t.plain("date.day_month_year", day=until.day, month=month, year=until.year)
        )
        text = t.plain("repeat.until", rule=text, date=when)
    if rule.count is not None:
        text = t.plain("repeat.count", rule=text, times=t.plain_n("repeat.times", rule.count))
    return text


def _cron(t: Texts, expr: str) -> str:
    spec = parse_cron(expr)
    all_months = spec.months == frozenset(range(1, 13))
    if len(spec.times) == 1 and all_months and spec.dom_star:  # fixed weekdays
        at = t.plain("repeat.at", time=f"{spec.times[0].hour:02d}:{spec.times[0].minute:02d}")
        return t.plain("repeat.rule", days=_days(t, spec.weekdays), at=at)
    if len(spec.times) == 1 and all_months and spec.dow_star and len(spec.days) == 1:
        (when,), (day_of_month,) = spec.times, spec.days
        time = f"{when.hour:02d}:{when.minute:02d}"
        return t.plain("repeat.monthly", day=day_of_month, time=time)
    return t.plain("repeat.cron", expr=expr.strip())
