"""Repeat rules: next runs from the rule's anchor across DST and month ends, the end of a series,
descriptions, what owners type, and evergreen picking."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.recurrence import (
    RepeatParseError,
    RepeatRule,
    evergreen_due,
    next_run,
    parse_cron,
    parse_repeat,
    pick_evergreen,
    upcoming,
)
from scheduler.timeparse import TimeParseError, localize
from ui.dates import repeat_rule
from ui.texts import Texts

BERLIN = "Europe/Berlin"
NY = "America/New_York"


def at(tz: str, wall: str) -> datetime:
    return localize(datetime.fromisoformat(wall), ZoneInfo(tz))


def walls(times: list[datetime], tz: str) -> list[str]:
    return [t.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") for t in times]


def series(rule: RepeatRule, n: int = 6) -> list[str]:
    return walls(upcoming(rule, after=rule.start - timedelta(seconds=1), limit=n), rule.tz)


# ── daily / weekly ───────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("tz", "first"),
    [
        (BERLIN, "2026-03-27 09:00"),
        (BERLIN, "2026-10-23 09:00"),
        (NY, "2026-03-06 09:00"),
        (NY, "2026-10-30 09:00"),
    ],
)
def test_daily_keeps_local_wall_time_across_dst(tz: str, first: str) -> None:
    rule = RepeatRule(kind="daily", start=at(tz, first), tz=tz)
    got = upcoming(rule, after=rule.start - timedelta(seconds=1), limit=6)
    assert all(w.endswith(" 09:00") for w in walls(got, tz))
    gaps = {b - a for a, b in zip(got, got[1:], strict=False)}
    assert gaps == {timedelta(hours=24), timedelta(hours=23)} or gaps == {
        timedelta(hours=24),
        timedelta(hours=25),
    }


def test_daily_in_spring_gap_moves_forward_that_day_only() -> None:
    rule = RepeatRule(kind="daily", start=at(BERLIN, "2026-03-27 02:30"), tz=BERLIN)
    assert series(rule, 4) == [
        "2026-03-27 02:30",
        "2026-03-28 02:30",
        "2026-03-29 03:30",
        "2026-03-30 02:30",
    ]


def test_daily_in_autumn_fold_runs_once() -> None:
    rule = RepeatRule(kind="daily", start=at(BERLIN, "2026-10-24 02:30"), tz=BERLIN)
    got = upcoming(rule, after=rule.start - timedelta(seconds=1), limit=3)
    assert got[1] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # first 02:30 (CEST)
    assert walls(got, BERLIN)[2] == "2026-10-26 02:30"


def test_every_n_days_counts_from_start_not_from_after() -> None:
    rule = RepeatRule(kind="daily", start=at(BERLIN, "2026-01-01 09:00"), tz=BERLIN, interval=3)
    # published late, at some odd time: the series does not shift
    assert walls([next_run(rule, after=at(BERLIN, "2026-01-05 17:43"), done=2)], BERLIN) == [  # type: ignore[list-item]
        "2026-01-07 09:00"
    ]


def test_weekly_several_weekdays() -> None:
    # 2026-06-01 is a Monday
    rule = RepeatRule(
        kind="weekly", start=at(BERLIN, "2026-06-01 18:00"), tz=BERLIN, weekdays=(4, 0, 2)
    )
    assert rule.weekdays == (0, 2, 4)
    assert series(rule, 5) == [
        "2026-06-01 18:00",
        "2026-06-03 18:00",
        "2026-06-05 18:00",
        "2026-06-08 18:00",
        "2026-06-10 18:00",
    ]


def test_weekly_default_weekday_and_interval() -> None:
    rule = RepeatRule(kind="weekly", start=at(NY, "2026-06-03 07:15"), tz=NY, interval=2)
    assert rule.effective_weekdays == (2,)
    assert series(rule, 3) == ["2026-06-03 07:15", "2026-06-17 07:15", "2026-07-01 07:15"]


def test_weekly_across_dst() -> None:
    rule = RepeatRule(kind="weekly", start=at(NY, "2026-10-26 09:00"), tz=NY, weekdays=(0, 6))
    assert series(rule, 4) == [
        "2026-10-26 09:00",
        "2026-11-01 09:00",
        "2026-11-02 09:00",
        "2026-11-08 09:00",
    ]


# ── cron ─────────────────────────────────────────────────────────────────────────────────────────


def cron_rule(expr: str, first: str, tz: str = BERLIN, **kw: object) -> RepeatRule:
    return RepeatRule(kind="cron", start=at(tz, first), tz=tz, cron=expr, **kw)  # type: ignore[arg-type]


def test_cron_on_the_31st_skips_short_months() -> None:
    rule = cron_rule("0 9 31 * *", "2026-01-31 09:00")
    assert series(rule, 4) == [
        "2026-01-31 09:00",
        "2026-03-31 09:00",
        "2026-05-31 09:00",
        "2026-07-31 09:00",
    ]


def test_cron_feb_29_waits_for_leap_years() -> None:
    rule = cron_rule("0 12 29 2 *", "2025-03-01 00:00", tz="UTC")
    assert series(rule, 3) == ["2025-03-01 00:00", "2028-02-29 12:00", "2032-02-29 12:00"]
    late = cron_rule("0 12 29 2 *", "2096-03-01 00:00", tz="UTC")  # 2100 is not a leap year
    assert series(late, 2)[1] == "2104-02-29 12:00"


def test_cron_keeps_wall_time_across_dst() -> None:
    rule = cron_rule("0 9 * * 1-5", "2026-03-27 09:00")
    assert series(rule, 3) == ["2026-03-27 09:00", "2026-03-30 09:00", "2026-03-31 09:00"]


def test_cron_in_spring_gap_runs_once_shifted() -> None:
    rule = cron_rule("30 2 * * *", "2026-03-28 02:30")
    assert series(rule, 3) == ["2026-03-28 02:30", "2026-03-29 03:30", "2026-03-30 02:30"]


def test_cron_every_few_minutes_through_spring_gap() -> None:
    rule = cron_rule("*/20 * * * *", "2026-03-29 01:00")
    got = upcoming(rule, after=rule.start - timedelta(seconds=1), limit=7)
    assert all(b - a == timedelta(minutes=20) for a, b in zip(got, got[1:], strict=False))
    assert walls(got, BERLIN)[2:5] == ["2026-03-29 01:40", "2026-03-29 03:00", "2026-03-29 03:20"]


def test_cron_every_few_minutes_through_autumn_fold() -> None:
    # the repeated hour runs once: on its first pass (fold=0), then resumes at 03:00 CET
    rule = cron_rule("*/20 * * * *", "2026-10-25 01:40")
    got = upcoming(rule, after=rule.start - timedelta(seconds=1), limit=6)
    assert [b - a for a, b in zip(got, got[1:], strict=False)] == [timedelta(minutes=20)] * 3 + [
        timedelta(minutes=80),
        timedelta(minutes=20),
    ]
    assert walls(got, BERLIN)[3:] == ["2026-10-25 02:40", "2026-10-25 03:00", "2026-10-25 03:20"]


def test_cron_day_of_month_or_weekday() -> None:
    # both restricted: the 1st of the month OR any Monday (Vixie cron)
    rule = cron_rule("0 8 1 * mon", "2026-06-26 08:00")  # a Friday
    assert series(rule, 4) == [
        "2026-06-26 08:00",
        "2026-06-29 08:00",
        "2026-07-01 08:00",
        "2026-07-06 08:00",
    ]


def test_cron_names_steps_and_macros() -> None:
    spec = parse_cron("0-30/15 9,18 * jan-mar,dec sun,sat")
    assert spec.minutes == {0, 15, 30} and spec.hours == {9, 18}
    assert spec.months == {1, 2, 3, 12} and spec.weekdays == {5, 6}
    assert parse_cron("0 0 * * 7").weekdays == {6}
    assert parse_cron("@daily") == parse_cron("0 0 * * *")
    assert parse_cron("5/20 * * * *").minutes == {5, 25, 45}


@pytest.mark.parametrize(
    "expr",
    ["", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
     "*/0 * * * *", "5-1 * * * *", "0 9 30 2 *", "0 9 31 4,6 *", "a b c d e", "0 9 * * funday"],
)  # fmt: skip
def test_bad_cron(expr: str) -> None:
    with pytest.raises(ValueError):
        parse_cron(expr)


# ── the end of a series ──────────────────────────────────────────────────────────────────────────


def test_until_ends_the_series_inclusively() -> None:
    rule = RepeatRule(
        kind="daily",
        start=at(BERLIN, "2026-06-01 09:00"),
        tz=BERLIN,
        until=at(BERLIN, "2026-06-03 09:00"),
    )
    assert series(rule) == ["2026-06-01 09:00", "2026-06-02 09:00", "2026-06-03 09:00"]
    assert next_run(rule, after=at(BERLIN, "2026-06-03 09:00"), done=3) is None


def test_count_ends_the_series() -> None:
    rule = RepeatRule(kind="daily", start=at(BERLIN, "2026-06-01 09:00"), tz=BERLIN, count=3)
    assert series(rule) == ["2026-06-01 09:00", "2026-06-02 09:00", "2026-06-03 09:00"]
    assert next_run(rule, after=rule.start, done=3) is None
    assert next_run(rule, after=rule.start, done=2) is not None


def test_start_is_the_first_occurrence() -> None:
    rule = RepeatRule(kind="weekly", start=at(BERLIN, "2026-06-05 10:00"), tz=BERLIN, weekdays=(0,))
    assert next_run(rule, after=rule.start - timedelta(days=400), done=0) == rule.start
    assert series(rule, 2) == ["2026-06-05 10:00", "2026-06-08 10:00"]


# ── properties ───────────────────────────────────────────────────────────────────────────────────

ZONES = ["UTC", BERLIN, NY, "Asia/Tokyo", "Australia/Lord_Howe", "America/Santiago"]
CRONS = ["0 9 * * 1-5", "*/20 1-3 * * *", "30 2 * * *", "0 9 31 * *", "0 12 29 2 *",
         "15 0 1,15 * sun", "0 */6 * * *"]  # fmt: skip
instants = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2080, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@st.composite
def rules(draw: st.DrawFn) -> RepeatRule:
    kind = draw(st.sampled_from(["daily", "weekly", "cron"]))
    start = draw(instants)
    tz = draw(st.sampled_from(ZONES))
    until = draw(st.none() | st.timedeltas(timedelta(0), timedelta(days=3000)).map(start.__add__))
    count = draw(st.none() | st.integers(1, 50))
    if kind == "cron":
        return RepeatRule(
            kind="cron",
            start=start,
            tz=tz,
            cron=draw(st.sampled_from(CRONS)),
            until=until,
            count=count,
        )
    weekdays: tuple[int, ...] = ()
    if kind == "weekly":
        weekdays = tuple(draw(st.sets(st.integers(0, 6), max_size=7)))
    return RepeatRule(
        kind=kind,  # type: ignore[arg-type]
        start=start,
        tz=tz,
        interval=draw(st.integers(1, 5)),
        weekdays=weekdays,
        until=until,
        count=count,
    )


@given(rule=rules(), offset=st.timedeltas(timedelta(days=-30), timedelta(days=3000)))
def test_next_run_is_strictly_increasing_and_consistent(
    rule: RepeatRule, offset: timedelta
) -> None:
    after = rule.start + offset
    first = next_run(rule, after=after, done=0)
    if first is None:
        assert rule.until is not None  # every sampled pattern fires again within the horizon
        return
    assert first > after and first >= rule.start
    assert rule.until is None or first <= rule.until
    # only the rule and `after` matter: a copy of the rule, and any `after` in between, agree
    copy = RepeatRule.from_dict(rule.to_dict())
    assert next_run(copy, after=after, done=0) == first
    midway = after + (first - after) / 2
    assert next_run(rule, after=midway, done=0) == first
    unlimited = replace(rule, count=None)
    second = next_run(unlimited, after=first, done=0)
    assert second is None or second > first


@given(rule=rules())
def test_series_keeps_wall_time(rule: RepeatRule) -> None:
    if rule.kind == "cron":
        return
    zone = ZoneInfo(rule.tz)
    start_local = rule.start.astimezone(zone)
    for occurrence in upcoming(rule, after=rule.start, limit=5):
        local = occurrence.astimezone(zone)
        wanted = datetime.combine(local.date(), start_local.time().replace(fold=0))
        assert occurrence == localize(wanted, zone)
        if rule.kind == "weekly":
            assert local.weekday() in rule.effective_weekdays


@given(rule=rules())
def test_round_trip(rule: RepeatRule) -> None:
    assert RepeatRule.from_dict(rule.to_dict()) == rule
    assert RepeatRule.from_json(rule.to_json()) == rule


# ── validation ───────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "hourly"},
        {"start": datetime(2026, 1, 1)},
        {"tz": "Mars/Olympus"},
        {"interval": 0},
        {"weekdays": (7,)},
        {"kind": "daily", "weekdays": (1,)},
        {"kind": "cron"},
        {"kind": "cron", "cron": "nope"},
        {"cron": "0 9 * * *"},
        {"count": 0},
        {"until": datetime(2026, 1, 1)},
    ],
)
def test_invalid_rules(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {
        "kind": "weekly",
        "start": at(BERLIN, "2026-06-01 09:00"),
        "tz": BERLIN,
    }
    with pytest.raises((ValueError, KeyError)):
        RepeatRule(**{**base, **kwargs})  # type: ignore[arg-type]


# ── parse_repeat and repeat_rule ─────────────────────────────────────────────────────────────────

START = at(BERLIN, "2026-06-05 09:00")  # a Friday


@pytest.mark.parametrize(
    ("text", "en", "ru", "first"),
    [
        ("daily", "every day at 09:00", "каждый день в 09:00", "2026-06-05 09:00"),
        ("Every day", "every day at 09:00", "каждый день в 09:00", "2026-06-05 09:00"),
        ("каждый день", "every day at 09:00", "каждый день в 09:00", "2026-06-05 09:00"),
        ("every 2 days", "every 2 days at 09:00", "каждые 2 дня в 09:00", "2026-06-05 09:00"),
        ("каждые 5 дней", "every 5 days at 09:00", "каждые 5 дней в 09:00", "2026-06-05 09:00"),
        ("weekly", "every Fri at 09:00", "по пятницам в 09:00", "2026-06-05 09:00"),
        ("каждую неделю", "every Fri at 09:00", "по пятницам в 09:00", "2026-06-05 09:00"),
        ("every monday", "every Mon at 09:00", "по понедельникам в 09:00", "2026-06-08 09:00"),
        ("every mon, wed", "every Mon, Wed at 09:00", "по пн, ср в 09:00", "2026-06-08 09:00"),
        ("по пн и чт", "every Mon, Thu at 09:00", "по пн, чт в 09:00", "2026-06-08 09:00"),
        ("по пн и по чт", "every Mon, Thu at 09:00", "по пн, чт в 09:00", "2026-06-08 09:00"),
        ("weekdays", "every weekday at 09:00", "по будням в 09:00", "2026-06-05 09:00"),
        ("по будням", "every weekday at 09:00", "по будням в 09:00", "2026-06-05 09:00"),
        ("по выходным", "every weekend at 09:00", "по выходным в 09:00", "2026-06-06 09:00"),
        ("every other week", "every 2 weeks: every Fri at 09:00",
         "раз в 2 недели: по пятницам в 09:00", "2026-06-05 09:00"),
        ("0 9 * * 1-5", "every weekday at 09:00", "по будням в 09:00", "2026-06-05 09:00"),
        ("0 18 * * 1-5", "every weekday at 18:00", "по будням в 18:00", "2026-06-05 18:00"),
        ("monthly", "every month on day 5 at 09:00", "каждый месяц 5-го числа в 09:00",
         "2026-06-05 09:00"),
        ("0 10 1 */3 *", "on cron schedule “0 10 1 */3 *”", "по расписанию cron «0 10 1 */3 *»",
         "2026-07-01 10:00"),
        ("daily until 2026-12-31", "every day at 09:00 until 31 Dec",
         "каждый день в 09:00 до 31 декабря", "2026-06-05 09:00"),
        ("every mon, wed until 31 Dec", "every Mon, Wed at 09:00 until 31 Dec",
         "по пн, ср в 09:00 до 31 декабря", "2026-06-08 09:00"),
        ("по будням до 31.12", "every weekday at 09:00 until 31 Dec",
         "по будням в 09:00 до 31 декабря", "2026-06-05 09:00"),
        ("daily until 1.3", "every day at 09:00 until 1 Mar 2027",
         "каждый день в 09:00 до 1 марта 2027", "2026-06-05 09:00"),
        ("daily x5", "every day at 09:00, 5 times", "каждый день в 09:00, 5 раз",
         "2026-06-05 09:00"),
        ("weekly 3 times", "every Fri at 09:00, 3 times", "по пятницам в 09:00, 3 раза",
         "2026-06-05 09:00"),
        ("каждый день 5 раз до 31.12", "every day at 09:00 until 31 Dec, 5 times",
         "каждый день в 09:00 до 31 декабря, 5 раз", "2026-06-05 09:00"),
    ],
)  # fmt: skip
def test_parse_repeat_and_repeat_rule(text: str, en: str, ru: str, first: str) -> None:
    rule = parse_repeat(text, start=START, tz=BERLIN)
    assert repeat_rule(Texts("en"), rule) == en
    assert repeat_rule(Texts("ru"), rule) == ru
    assert walls([rule.start], BERLIN) == [first]


def test_parse_repeat_until_and_count_values() -> None:
    rule = parse_repeat("daily until 2026-06-07 x10", start=START, tz=ZoneInfo(BERLIN))
    assert rule.count == 10
    assert series(rule) == ["2026-06-05 09:00", "2026-06-06 09:00", "2026-06-07 09:00"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "unreadable"),
        ("sometimes", "unreadable"),
        ("every blue moon", "unreadable"),
        ("0 9 30 2 *", "unreadable"),
        ("61 9 * * *", "unreadable"),
        ("daily until never", "unreadable"),
        ("daily x0", "unreadable"),
        ("daily until 2026-01-01", "past"),
    ],
)
def test_parse_repeat_errors(text: str, reason: str) -> None:
    with pytest.raises(RepeatParseError) as err:
        parse_repeat(text, start=START, tz=BERLIN)
    assert err.value.reason_key == reason
    assert isinstance(err.value, TimeParseError)
    assert str(err.value)


# ── evergreen ────────────────────────────────────────────────────────────────────────────────────

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
GAP = timedelta(days=30)


def test_evergreen_due() -> None:
    assert evergreen_due(None, now=NOW, min_gap=GAP)
    assert evergreen_due(NOW - GAP, now=NOW, min_gap=GAP)
    assert not evergreen_due(NOW - GAP + timedelta(seconds=1), now=NOW, min_gap=GAP)


def test_pick_evergreen() -> None:
    old, older = NOW - timedelta(days=40), NOW - timedelta(days=90)
    assert pick_evergreen([], now=NOW, min_gap=GAP) is None
    assert pick_evergreen([(1, NOW - timedelta(days=1))], now=NOW, min_gap=GAP) is None
    assert pick_evergreen([(1, old), (2, older), (3, NOW)], now=NOW, min_gap=GAP) == 2
    assert pick_evergreen([(5, old), (4, None), (3, None), (1, older)], now=NOW, min_gap=GAP) == 3
    assert pick_evergreen([(9, older), (7, older), (8, old)], now=NOW, min_gap=GAP) == 7


@given(
    st.lists(
        st.tuples(
            st.integers(1, 50),
            st.none() | st.integers(0, 200).map(lambda d: NOW - timedelta(days=d)),
        ),
        unique_by=lambda c: c[0],
    )
)
def test_pick_evergreen_property(candidates: list[tuple[int, datetime | None]]) -> None:
    picked = pick_evergreen(candidates, now=NOW, min_gap=GAP)
    due = [c for c in candidates if evergreen_due(c[1], now=NOW, min_gap=GAP)]
    if not due:
        assert picked is None
        return
    last = dict(candidates)[picked]  # type: ignore[index]
    for pid, other in due:
        if last is None:
            assert other is not None or pid >= picked  # type: ignore[operator]
        else:
            assert other is not None and (other > last or (other == last and pid >= picked))  # type: ignore[operator]
