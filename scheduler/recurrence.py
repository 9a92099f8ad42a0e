"""Repeating and evergreen posts: rules, their next run, and what owners type (ui/dates.py says
a rule in the owner's words).

Pure: no clock, no database. A ``RepeatRule`` is the whole truth about a series; ``next_run``
computes every occurrence from the rule's anchor (``start`` in the owner's local time), never from
when the post was created or last published, so a late or missed run never shifts the series.

Series semantics:

* ``start`` (aware UTC) is always the first occurrence. Later occurrences follow the pattern and
  are strictly after ``start``.
* ``daily``: every ``interval`` days counted from ``start``'s local date, at ``start``'s local wall
  time — 09:00 stays 09:00 across DST. A wall time in a spring-forward gap moves forward by the
  gap (02:30 → 03:30); an ambiguous one takes its first occurrence.
* ``weekly``: on ``weekdays`` (0 = Monday; empty = ``start``'s local weekday) of every
  ``interval``-th week, weeks starting on Monday, counted from ``start``'s week; same wall time.
* ``cron``: a 5-field expression (minute hour day-of-month month day-of-week) evaluated in local
  wall time. ``*``, lists, ranges, steps, names (``mon``, ``jan``), ``7`` = Sunday, and the macros
  ``@hourly @daily @weekly @monthly @yearly``. As in Vixie cron, when both day fields are
  restricted a day matches if *either* does; ``0 9 31 * *`` simply skips months without a 31st.
  A cron time inside a DST gap runs at the shifted time (02:30 → 03:30), once.
* ``until`` (inclusive) and ``count`` (total runs, including ``start``) end the series.

Errors: ``RepeatParseError`` is a ``scheduler.timeparse.TimeParseError`` (same ``reason_key``
values), raised by ``parse_repeat``; ``ValueError`` for an invalid ``RepeatRule``.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from scheduler.timeparse import TimeParseError, localize, parse_day

__all__ = [
    "CronSpec",
    "RepeatParseError",
    "RepeatRule",
    "evergreen_due",
    "next_run",
    "parse_cron",
    "parse_repeat",
    "pick_evergreen",
    "upcoming",
]

Kind = Literal["daily", "weekly", "cron"]
#: How far ``next_run`` looks for a cron match before giving up (covers Feb 29 gaps of 8 years).
CRON_HORIZON_DAYS = 366 * 9


class RepeatParseError(TimeParseError):
    """What the owner typed is not a repeat rule (``reason_key`` as in ``TimeParseError``)."""

    def _english(self) -> str:
        if self.reason_key == "unreadable":
            text = self.details.get("text")
            return "could not read a repeat rule" + (f" in {text!r}" if text is not None else "")
        if self.reason_key == "past":
            return "the series would end before it starts"
        return super()._english()


# ── cron ─────────────────────────────────────────────────────────────────────────────────────────

_CRON_MONTHS = {
    m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)
}
_CRON_DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
#: The longest each month can be (February may have 29 days).
_MONTH_MAX = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True)
class CronSpec:
    """A parsed cron expression. ``weekdays`` use Python numbering (0 = Monday)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    dom_star: bool
    dow_star: bool
    times: tuple[time, ...] = field(default=(), compare=False)

    def day_matches(self, d: date) -> bool:
        if d.month not in self.months:
            return False
        dom, dow = d.day in self.days, d.weekday() in self.weekdays
        if self.dom_star or self.dow_star:
            return dom and dow
        return dom or dow


def _cron_field(text: str, lo: int, hi: int, names: dict[str, int]) -> set[int]:
    def value(tok: str) -> int:
        v = names[tok] if tok in names else int(tok) if tok.isdigit() else None
        if v is None or not lo <= v <= hi:
            raise ValueError(f"bad cron value {tok!r}")
        return v

    out: set[int] = set()
    for part in text.split(","):
        rng, _, step_s = part.partition("/")
        step = int(step_s) if step_s.isdigit() else None
        if step_s and (step is None or step < 1):
            raise ValueError(f"bad cron step {part!r}")
        if rng in ("*", "?"):
            a, b = lo, hi
        elif "-" in rng:
            a_s, b_s = rng.split("-", 1)
            a, b = value(a_s), value(b_s)
            if a > b:
                raise ValueError(f"bad cron range {part!r}")
        else:
            a = value(rng)
            b = hi if step else a
        out.update(range(a, b + 1, step or 1))
    return out


@lru_cache(maxsize=256)
def parse_cron(expr: str) -> CronSpec:
    """Parse a 5-field cron expression; ``ValueError`` if it is malformed or can never fire."""
    text = _MACROS.get(expr.strip().lower(), expr.strip().lower())
    fields = text.split()
    if len(fields) != 5:
        raise ValueError("a cron expression has 5 fields")
    minute, hour, dom, month, dow = fields
    try:
        dows = _cron_field(dow, 0, 7, _CRON_DAYS)
        spec = CronSpec(
            minutes=frozenset(_cron_field(minute, 0, 59, {})),
            hours=frozenset(_cron_field(hour, 0, 23, {})),
            days=frozenset(_cron_field(dom, 1, 31, {})),
            months=frozenset(_cron_field(month, 1, 12, _CRON_MONTHS)),
            weekdays=frozenset((d - 1) % 7 for d in dows),
            dom_star=dom.startswith(("*", "?")),
            dow_star=dow.startswith(("*", "?")),
            times=tuple(
                time(h, m)
                for h in sorted(_cron_field(hour, 0, 23, {}))
                for m in sorted(_cron_field(minute, 0, 59, {}))
            ),
        )
    except (ValueError, KeyError) as exc:
        raise ValueError(f"bad cron expression {expr!r}: {exc}") from None
    if spec.dow_star or not spec.weekdays:
        # only the day of month decides: it must exist in at least one chosen month
        if not any(d <= _MONTH_MAX[m - 1] for d in spec.days for m in spec.months):
            raise ValueError(f"cron expression {expr!r} never fires")
    return spec


def _cron_next(spec: CronSpec, after: datetime, tz: ZoneInfo) -> datetime | None:
    """The first cron instant strictly after ``after`` (aware UTC)."""
    after_local = after.astimezone(tz).replace(tzinfo=None)
    # Times in a DST gap map forward by up to a few hours, so start the scan a little earlier.
    scan_from = after_local - timedelta(hours=3)
    day = scan_from.date()
    for _ in range(CRON_HORIZON_DAYS):
        if spec.day_matches(day):
            start_i = 0
            if day == scan_from.date():
                start_i = bisect.bisect_left(spec.times, scan_from.time().replace(microsecond=0))
            best: datetime | None = None
            for t in spec.times[start_i:]:
                naive = datetime.combine(day, t)
                inst = localize(naive, tz)
                if inst <= after:
                    continue
                if best is None or inst < best:
                    best = inst
                # wall time maps monotonically outside a gap: the first such hit is the minimum
                if inst.astimezone(tz).replace(tzinfo=None) == naive:
                    break
            if best is not None:
                return best
        day += timedelta(days=1)
    return None


# ── the rule ─────────────────────────────────────────────────────────────────────────────────────


def _utc(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class RepeatRule:
    """A repeating schedule; see the module docstring for what each field means."""

    kind: Kind
    start: datetime
    tz: str
    interval: int = 1
    weekdays: tuple[int, ...] = ()
    cron: str | None = None
    until: datetime | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("daily", "weekly", "cron"):
            raise ValueError(f"unknown repeat kind {self.kind!r}")
        object.__setattr__(self, "start", _utc("start", self.start))
        ZoneInfo(self.tz)  # raises ZoneInfoNotFoundError (a KeyError) for an unknown zone
        if isinstance(self.interval, bool) or not isinstance(self.interval, int):
            raise ValueError("interval must be an int")
        if self.interval < 1:
            raise ValueError("interval must be at least 1")
        wds = tuple(sorted(set(self.weekdays)))
        if any(not isinstance(w, int) or not 0 <= w <= 6 for w in wds):
            raise ValueError("weekdays are 0 (Monday) .. 6 (Sunday)")
        object.__setattr__(self, "weekdays", wds)
        if self.kind != "weekly" and wds:
            raise ValueError("weekdays only apply to weekly rules")
        if self.kind == "cron":
            if not self.cron:
                raise ValueError("a cron rule needs a cron expression")
            if self.interval != 1:
                raise ValueError("a cron rule has no interval")
            parse_cron(self.cron)
        elif self.cron is not None:
            raise ValueError("cron only applies to cron rules")
        if self.until is not None:
            object.__setattr__(self, "until", _utc("until", self.until))
        if self.count is not None and (isinstance(self.count, bool) or self.count < 1):
            raise ValueError("count must be at least 1")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def effective_weekdays(self) -> tuple[int, ...]:
        """The weekdays a weekly rule fires on (``start``'s weekday when none were given)."""
        return self.weekdays or (self.start.astimezone(self.zone).weekday(),)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (datetimes as ISO 8601 UTC strings)."""
        return {
            "kind": self.kind,
            "start": self.start.isoformat(),
            "tz": self.tz,
            "interval": self.interval,
            "weekdays": list(self.weekdays),
            "cron": self.cron,
            "until": self.until.isoformat() if self.until else None,
            "count": self.count,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RepeatRule:
        until = data.get("until")
        return cls(
            kind=data["kind"],
            start=datetime.fromisoformat(data["start"]),
            tz=data["tz"],
            interval=int(data.get("interval", 1)),
            weekdays=tuple(int(w) for w in data.get("weekdays") or ()),
            cron=data.get("cron"),
            until=datetime.fromisoformat(until) if until else None,
            count=data.get("count"),
        )

    def to_json(self) -> str:
        """For a TEXT column."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RepeatRule:
        return cls.from_dict(json.loads(text))


def _pattern_next(rule: RepeatRule, after: datetime) -> datetime | None:
    """The first pattern occurrence strictly after ``after`` (which is >= ``rule.start``)."""
    tz = rule.zone
    start_local = rule.start.astimezone(tz)
    wall = start_local.time().replace(tzinfo=None, fold=0)
    d0 = start_local.date()
    after_date = after.astimezone(tz).date()

    def at(d: date) -> datetime:
        return localize(datetime.combine(d, wall), tz)

    if rule.kind == "daily":
        n = rule.interval
        k = max(0, (after_date - d0).days // n - 1)
        while True:
            inst = at(d0 + timedelta(days=k * n))
            if inst > after:
                return inst
            k += 1
    if rule.kind == "weekly":
        week0 = d0 - timedelta(days=d0.weekday())
        n = rule.interval
        k = max(0, (after_date - week0).days // 7 - 1)
        k -= k % n
        while True:
            monday = week0 + timedelta(weeks=k)
            for wd in rule.effective_weekdays:
                inst = at(monday + timedelta(days=wd))
                if inst > after:
                    return inst
            k += n
    assert rule.cron is not None
    return _cron_next(parse_cron(rule.cron), after, tz)


def next_run(rule: RepeatRule, *, after: datetime, done: int) -> datetime | None:
    """The first occurrence strictly after ``after``; None once ``until`` has passed or ``done``
    (runs already made, ``start`` included) reached ``count``."""
    after = _utc("after", after)
    if rule.count is not None and done >= rule.count:
        return None
    if after < rule.start:
        candidate: datetime | None = rule.start
    else:
        candidate = _pattern_next(rule, after)
    if candidate is None or (rule.until is not None and candidate > rule.until):
        return None
    return candidate


def upcoming(rule: RepeatRule, *, after: datetime, done: int = 0, limit: int = 5) -> list[datetime]:
    """The next ``limit`` occurrences after ``after`` (for previews)."""
    out: list[datetime] = []
    while len(out) < limit:
        nxt = next_run(rule, after=after, done=done + len(out))
        if nxt is None:
            break
        out.append(nxt)
        after = nxt
    return out


# ── what the owner types ─────────────────────────────────────────────────────────────────────────

_WD_WORDS: dict[str, int] = {}
for _i, _names in enumerate(
    [
        "monday mondays mon понедельник понедельникам пн",
        "tuesday tuesdays tue tues вторник вторникам вт",
        "wednesday wednesdays wed среду среда средам ср",
        "thursday thursdays thu thur thurs четверг четвергам чт",
        "friday fridays fri пятницу пятница пятницам пт",
        "saturday saturdays sat субботу суббота субботам сб",
        "sunday sundays sun воскресенье воскресеньям вс",
    ]
):
    for _n in _names.split():
        _WD_WORDS[_n] = _i

_DAILY = re.compile(
    r"^(?:daily|every\s*day|each\s+day|everyday|каждый\s+день|ежедневно|every\s+1\s+days?)$"
)
_EVERY_N_DAYS = re.compile(
    r"^(?:every\s+(\d+|other)\s+days?|каждые\s+(\d+)\s+(?:дня|дней|день)|через\s+день)$"
)
_WEEKLY = re.compile(r"^(?:weekly|every\s+week|each\s+week|каждую\s+неделю|еженедельно)$")
_EVERY_N_WEEKS = re.compile(
    r"^(?:every\s+(\d+|other)\s+weeks?|каждые\s+(\d+)\s+недел[иь]|раз\s+в\s+(\d+)\s+недел[иьюя])"
    r"(?:\s+(?:on\s+|по\s+|в\s+)?(.+))?$"
)
_WEEKDAYS_ONLY = re.compile(
    r"^(?:(?:on\s+|every\s+)?weekdays?|every\s+weekday|по\s+будням|в\s+будни|будни"
    r"|каждый\s+будний\s+день)$"
)
_WEEKENDS = re.compile(r"^(?:(?:on\s+|every\s+)?weekends?|по\s+выходным|в\s+выходные)$")
_MONTHLY = re.compile(r"^(?:monthly|every\s+month|каждый\s+месяц|ежемесячно)$")
_HOURLY = re.compile(r"^(?:hourly|every\s+hour|каждый\s+час|ежечасно)$")
_DAY_LIST_PREFIX = re.compile(r"^(?:every|each|on|по|кажд(?:ый|ую|ое|ые))\s+")
_COUNT = re.compile(r"(?:^|\s)(?:[x×]\s*(\d+)|(\d+)\s*(?:times|time|раз|раза|x|×))$")
_UNTIL = re.compile(r"\s(?:until|till|til|through|до)\s+(.+)$")
_CRON_TOKEN = r"[\d*?/,\-a-z]+"
_CRON_RE = re.compile(rf"^(?:cron\s+)?({_CRON_TOKEN}(?:\s+{_CRON_TOKEN}){{4}}|@[a-z]+)$")


def _weekday_list(text: str) -> tuple[int, ...] | None:
    filler = {"and", "и", "&", "on", "every", "each", "по", "в", "во", "кажд", "каждый", "каждую"}
    words = [w for w in re.split(r"[\s,]+", text) if w and w not in filler]
    if not words:
        return None
    out = []
    for w in words:
        w = w.rstrip(".")
        if w not in _WD_WORDS:
            return None
        out.append(_WD_WORDS[w])
    return tuple(sorted(set(out)))


def parse_repeat(text: str, *, start: datetime, tz: ZoneInfo | str) -> RepeatRule:
    """Read a repeat rule: ``daily``, ``every 2 days``, ``weekly``, ``every mon and thu``,
    ``weekdays``/``по будням``, ``каждый день``, ``каждую неделю``, ``monthly``, a cron
    expression (``0 9 * * 1-5``), optionally followed by ``until 2026-12-31``/``до 31.12`` and/or
    ``x5``/``5 times``/``5 раз``. ``start``'s local wall time is the time of day.

    The returned rule's ``start`` is its first run: the given ``start`` when the pattern includes
    it, else the first matching moment after it ("every monday" typed for a Friday post starts on
    Monday) — schedule the post for ``rule.start``.

    Raises ``RepeatParseError`` ("unreadable"; "past" when ``until`` is before ``start``).
    """
    start = _utc("start", start)
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    s = re.sub(r"\s+", " ", text.strip().lower().replace("ё", "е")).strip(" .")
    count: int | None = None
    until: datetime | None = None
    for _ in range(2):  # the two tails may come in either order
        m = _COUNT.search(s)
        if m and count is None:
            count = int(m[1] or m[2])
            if count < 1:
                raise RepeatParseError("unreadable", text=text)
            s = s[: m.start()].strip(" ,")
            continue
        m = _UNTIL.search(s)
        if m and until is None and not _CRON_RE.match(s):
            until = _until(m[1], start, zone, text)
            s = s[: m.start()].strip(" ,")
    try:
        kind, interval, weekdays, cron = _body(s, start, zone)
        rule = RepeatRule(
            kind=kind,
            start=start,
            tz=zone.key,
            interval=interval,
            weekdays=weekdays,
            cron=cron,
            until=until,
            count=count,
        )
    except ValueError:
        raise RepeatParseError("unreadable", text=text) from None
    # "every monday" typed on a Friday starts on Monday, not on that Friday
    first = _pattern_next(rule, start - timedelta(microseconds=1))
    if first is None:
        raise RepeatParseError("unreadable", text=text)
    if first != start:
        rule = replace(rule, start=first)
        if until is not None and first > until:
            raise RepeatParseError("past", text=text, when=until)
    return rule


def _until(tail: str, start: datetime, tz: ZoneInfo, text: str) -> datetime:
    """``until`` is inclusive: the end of the named local day (or the exact time if given)."""
    try:
        day, at = parse_day(tail, today=start.astimezone(tz).date())
    except TimeParseError:
        raise RepeatParseError("unreadable", text=text) from None
    local = datetime.combine(day, at or time(23, 59, 59))
    until = localize(local, tz)
    if until < start:
        raise RepeatParseError("past", text=text, when=until)
    return until


def _body(s: str, start: datetime, tz: ZoneInfo) -> tuple[Kind, int, tuple[int, ...], str | None]:
    if _DAILY.match(s):
        return "daily", 1, (), None
    m = _EVERY_N_DAYS.match(s)
    if m:
        n = m[1] or m[2]
        return "daily", 2 if n in (None, "other") else int(n), (), None
    if _WEEKLY.match(s):
        return "weekly", 1, (), None
    if _WEEKDAYS_ONLY.match(s):
        return "weekly", 1, (0, 1, 2, 3, 4), None
    if _WEEKENDS.match(s):
        return "weekly", 1, (5, 6), None
    m = _EVERY_N_WEEKS.match(s)
    if m:
        n_s = m[1] or m[2] or m[3]
        n = 2 if n_s == "other" else int(n_s)
        days: tuple[int, ...] = ()
        if m[4]:
            listed = _weekday_list(m[4])
            if listed is None:
                raise ValueError("bad weekdays")
            days = listed
        return "weekly", n, days, None
    local = start.astimezone(tz)
    if _MONTHLY.match(s):
        return "cron", 1, (), f"{local.minute} {local.hour} {local.day} * *"
    if _HOURLY.match(s):
        return "cron", 1, (), f"{local.minute} * * * *"
    m = _DAY_LIST_PREFIX.match(s)
    listed = _weekday_list(s[m.end() :] if m else s)
    if listed is not None:
        if listed == tuple(range(7)):
            return "daily", 1, (), None
        return "weekly", 1, listed, None
    m = _CRON_RE.match(s)
    if m:
        expr = m[1]
        parse_cron(expr)  # ValueError → unreadable
        return "cron", 1, (), expr
    raise ValueError("unreadable")


# ── evergreen ────────────────────────────────────────────────────────────────────────────────────


def evergreen_due(last_published: datetime | None, *, now: datetime, min_gap: timedelta) -> bool:
    """Whether an evergreen post may go out again: never published, or ``min_gap`` has passed."""
    if last_published is None:
        return True
    return _utc("now", now) - _utc("last_published", last_published) >= min_gap


def pick_evergreen(
    candidates: list[tuple[int, datetime | None]], *, now: datetime, min_gap: timedelta
) -> int | None:
    """The due post published longest ago (never published first; ties → lowest id)."""
    due = [(pid, last) for pid, last in candidates if evergreen_due(last, now=now, min_gap=min_gap)]
    if not due:
        return None
    never = [pid for pid, last in due if last is None]
    if never:
        return min(never)
    return min(due, key=lambda c: (_utc("last", c[1]), c[0]))[0]  # type: ignore[arg-type]
