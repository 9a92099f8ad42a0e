"""What the owner types when scheduling a post, read in the owner's own timezone.

Pure: no clock (``now`` is passed in), no database, no network. Everything is interpreted as wall
time in the owner's timezone ``tz`` and returned as an aware UTC datetime.

Errors::

    ValueError
    └── TimeParseError(reason_key, **details)   .reason_key is one of REASONS
        └── (scheduler.recurrence.RepeatParseError)

``reason_key`` is what the bot localizes: "unreadable" (nothing we understand), "past" (the moment
is not after ``now``), "too_far" (more than ``MAX_AHEAD_YEARS`` years ahead). ``str()`` is plain
English for logs.

Rules (documented here because the owner will ask):

* A bare time (``18:30``, ``18.30``, ``9am``, ``в 18:30``) is today if still ahead, else tomorrow.
  ``H.MM`` alone is a time; ``25.12`` (not a valid time) is a date.  With another time present
  (``25.12 10:00``) or two dotted pairs (``25.12 10.00``) the first pair is the date (day first).
* A date without a time means 09:00. ``tomorrow``/``завтра`` alone → tomorrow 09:00;
  ``today``/``сегодня`` alone → today 09:00 (so "past" later in the day).
* Parts of the day: ``morning``/``утром`` 09:00, ``noon``/``полдень`` 12:00, ``afternoon``/``днём``
  14:00, ``evening``/``вечером`` 18:00, ``midnight``/``полночь`` 00:00 — alone they behave like a
  bare time (today if ahead, else tomorrow). ``tonight``/``сегодня вечером`` means *today* 20:00 /
  18:00 (an error once passed). A part of the day turns a small hour into pm:
  ``tonight at 9`` → 21:00, ``в 6 вечера`` → 18:00.
* A year-less date (``25.12``, ``Dec 25``, ``25 декабря``) is its next occurrence still ahead
  (``29.02`` waits for a leap year). ``dd/mm`` is day first as well.
* ``friday``/``в пятницу``/``fri`` → the nearest Friday still ahead (today counts if the time is
  still ahead). ``next friday``/``в следующую пятницу`` → the Friday of *next calendar week*
  (weeks start on Monday), so it is always 1–13 days away: on a Wednesday "next friday" is in 9
  days, on a Saturday "next monday" is in 2. ``this friday``/``в эту пятницу`` = plain ``friday``.
* ``in 2h``/``через 2 часа``/``+30m``: hours and minutes are exact elapsed time (``in 2h`` is
  exactly 7200 s after now, across DST too); days and weeks are calendar days at the same local
  wall time (``in 1 day`` at 10:00 is 10:00 tomorrow even across a DST change).
* DST: a wall time inside a spring-forward gap moves forward by the gap (02:30 → 03:30); an
  ambiguous autumn wall time is its first occurrence (fold=0).
* ``now``/``сейчас`` is ``now`` itself; every other result is strictly after ``now``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

__all__ = [
    "MAX_AHEAD_YEARS",
    "REASONS",
    "TimeParseError",
    "localize",
    "parse_clock",
    "parse_day",
    "parse_when",
    "suggest_timezones",
    "weekday_number",
]

REASONS = ("unreadable", "past", "too_far")
MAX_AHEAD_YEARS = 2
DEFAULT_TIME = time(9, 0)


class TimeParseError(ValueError):
    """The text is not a usable moment; ``.reason_key`` says why, ``.details`` holds specifics."""

    def __init__(self, reason_key: str, **details: object) -> None:
        if reason_key not in REASONS:
            raise ValueError(f"unknown reason_key {reason_key!r}")
        self.reason_key = reason_key
        self.details = details
        super().__init__(self._english())

    def _english(self) -> str:
        d = self.details
        if self.reason_key == "past":
            when = d.get("when")
            return "that time has already passed" + (
                f" ({when:%Y-%m-%d %H:%M} UTC)" if when else ""
            )
        if self.reason_key == "too_far":
            return f"that is more than {MAX_AHEAD_YEARS} years ahead"
        text = d.get("text")
        return "could not read a date or time" + (f" in {text!r}" if text is not None else "")


# ── time zone arithmetic ─────────────────────────────────────────────────────────────────────────


def localize(naive_local: datetime, tz: ZoneInfo) -> datetime:
    """Local wall time → aware UTC. A time in a DST gap moves forward by the gap (02:30 → 03:30);
    an ambiguous time takes its first occurrence. (PEP 495 fold=0 does exactly both.)"""
    return naive_local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _add_years(d: datetime, years: int) -> datetime:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 Feb
        return d.replace(year=d.year + years, day=28)


def _require_aware(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return value.astimezone(UTC)


def _as_zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


# ── vocabulary ───────────────────────────────────────────────────────────────────────────────────

_MONTHS: dict[str, int] = {}
for _i, _names in enumerate(
    [
        "january jan январь января янв",
        "february feb февраль февраля фев февр",
        "march mar март марта мар",
        "april apr апрель апреля апр",
        "may май мая",
        "june jun июнь июня июн",
        "july jul июль июля июл",
        "august aug август августа авг",
        "september sep sept сентябрь сентября сен сент",
        "october oct октябрь октября окт",
        "november nov ноябрь ноября ноя нояб",
        "december dec декабрь декабря дек",
    ],
    start=1,
):
    for _n in _names.split():
        _MONTHS[_n] = _i

_WEEKDAYS: dict[str, int] = {}
for _i, _names in enumerate(
    [
        "monday mon понедельник пн пон",
        "tuesday tue tues вторник вт",
        "wednesday wed среда среду ср",
        "thursday thu thur thurs четверг чт",
        "friday fri пятница пятницу пт",
        "saturday sat суббота субботу сб",
        "sunday sun воскресенье вс",
    ]
):
    for _n in _names.split():
        _WEEKDAYS[_n] = _i


def weekday_number(word: str) -> int | None:
    """0 for Monday … 6 for Sunday, from an English or Russian name or abbreviation."""
    return _WEEKDAYS.get(word.strip().lower().rstrip("."))


def _alt(words: dict[str, int]) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_MONTH_RE = _alt(_MONTHS)
_WEEKDAY_RE = _alt(_WEEKDAYS)

_FILLERS = {"at", "on", "the", "of", "в", "во", "на", "г", "г.", "год", "года", "and", "и", ","}

# ── relative durations ───────────────────────────────────────────────────────────────────────────

_UNITS: dict[str, str] = {}
for _unit, _names in {
    "minutes": "m min mins minute minutes мин минута минуту минуты минут м",
    "hours": "h hr hrs hour hours ч час часа часов",
    "days": "d day days д дн день дня дней сутки суток",
    "weeks": "w wk wks week weeks нед неделя неделю недели недель",
}.items():
    for _n in _names.split():
        _UNITS[_n] = _unit
_UNIT_RE = _alt({k: 0 for k in _UNITS})
_AMOUNT_WORDS = {"a": 1.0, "an": 1.0, "one": 1.0, "half a": 0.5, "half an": 0.5, "пол": 0.5}
_REL_PART = re.compile(
    rf"(?:(\d+(?:[.,]\d+)?|half an?|an?|one|полтора|полторы)\s*)?(пол)?\s*({_UNIT_RE})(?![\w])"
)
_REL_PREFIX = re.compile(r"^(?:in|через|\+)\s*(.+)$")
_REL_JOIN = re.compile(r"(?:\s|,|and\b|и\b)*")


def _parse_relative(body: str) -> tuple[int, timedelta] | None:
    """``2 hours 30 minutes`` → (calendar days, exact timedelta); None if not a duration."""
    pos, days, exact, seen = 0, 0, timedelta(), False
    while pos < len(body):
        pos = _REL_JOIN.match(body, pos).end()  # type: ignore[union-attr]
        if pos >= len(body):
            break
        m = _REL_PART.match(body, pos)
        if not m:
            return None
        raw, half, unit_word = m.groups()
        if raw is None:
            amount = 0.5 if half else 1.0
        elif raw in ("полтора", "полторы"):
            amount = 1.5
        elif raw[0].isdigit():
            amount = float(raw.replace(",", "."))
        else:
            amount = _AMOUNT_WORDS[raw]
        if half and raw is not None:
            return None
        unit = _UNITS[unit_word]
        if unit in ("days", "weeks"):
            total_days = amount * (7 if unit == "weeks" else 1)
            whole = int(total_days)
            days += whole
            exact += timedelta(days=total_days - whole)
        else:
            exact += timedelta(**{unit: amount})
        seen = True
        pos = m.end()
    return (days, exact) if seen else None


# ── absolute: components ─────────────────────────────────────────────────────────────────────────


@dataclass
class _Parts:
    """What was recognised in the text. ``date_kind``: explicit | yearless | offset | weekday."""

    date_kind: str | None = None
    year: int = 0
    month: int = 0
    day: int = 0
    offset: int = 0  # days from today for "offset"
    weekday: int = 0
    next_week: bool = False
    hour: int | None = None
    minute: int = 0
    second: int = 0
    period: str | None = None  # morning | afternoon | evening | night, a pm hint for small hours
    period_default: time | None = None

    def set_date(self, kind: str, **values: int | bool) -> None:
        if self.date_kind is not None:
            raise _Unreadable
        self.date_kind = kind
        for k, v in values.items():
            setattr(self, k, v)

    def set_time(self, hour: int, minute: int = 0, second: int = 0) -> None:
        if self.hour is not None or not (
            0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59
        ):
            raise _Unreadable
        self.hour, self.minute, self.second = hour, minute, second


class _Unreadable(Exception):
    pass


def _ampm(hour: int, suffix: str) -> int:
    if not 1 <= hour <= 12:
        raise _Unreadable
    pm = suffix.startswith("p")
    return (hour % 12) + (12 if pm else 0)


def _ru_period(hour: int, word: str) -> int:
    if word == "утра":
        if not 1 <= hour <= 12:
            raise _Unreadable
        return hour % 12
    if word == "дня":
        if not 1 <= hour <= 12:
            raise _Unreadable
        return hour if hour == 12 else hour + 12
    if word == "вечера":
        if not 1 <= hour <= 12:
            raise _Unreadable
        return hour + 12 if hour < 12 else 12
    # ночи: 12 ночи = 00, 1–5 ночи = 01–05, 9–11 ночи = 21–23
    if hour == 12:
        return 0
    if 1 <= hour <= 5:
        return hour
    if 9 <= hour <= 11:
        return hour + 12
    raise _Unreadable


_AMPM = r"(a\.?m\.?|p\.?m\.?)(?![\w])"
_RU_PERIOD = r"(утра|дня|вечера|ночи)\b"

_PERIOD_WORDS: list[tuple[str, str | None, time, int | None]] = [
    # (regex, pm hint, default time, forced day offset)
    (r"\bсегодня\s+вечером\b", "evening", time(18), 0),
    (r"\btonight\b|\bthis\s+evening\b", "evening", time(20), 0),
    (r"\bmorning\b|\bin\s+the\s+morning\b|\bутром\b|\bутра\b", "morning", time(9), None),
    (r"\bnoon\b|\bmidday\b|\bполдень\b", None, time(12), None),
    (r"\bafternoon\b|\bin\s+the\s+afternoon\b|\bднем\b|\bднём\b", "afternoon", time(14), None),
    (r"\bevening\b|\bin\s+the\s+evening\b|\bвечером\b", "evening", time(18), None),
    (r"\bmidnight\b|\bполночь\b", None, time(0), None),
]


def _normalize(text: str) -> str:
    s = text.strip().lower().replace("ё", "е").replace("\u00a0", " ")
    s = re.sub(r"(\d)t(\d)", r"\1 \2", s)  # ISO 2026-12-25T10:00
    s = re.sub(r"[,;!?]", " ", s)
    s = re.sub(r"\.(?=\s|$)", " ", s)  # a trailing full stop, but keep "a.m." working below
    s = re.sub(r"\b(a|p)\s+m\b", r"\1m", s)  # "a. m." → "am"
    return re.sub(r"\s+", " ", s).strip()


def _cut(s: str, m: re.Match[str]) -> str:
    return s[: m.start()] + " " + s[m.end() :]


def _components(s: str) -> _Parts:
    p = _Parts()

    # parts of the day (may also fix the day: tonight = today)
    for pattern, hint, default, offset in _PERIOD_WORDS:
        m = re.search(pattern, s)
        if m:
            s = _cut(s, m)
            p.period, p.period_default = hint, default
            if offset is not None:
                p.set_date("offset", offset=offset)
            break

    # explicit times
    m = re.search(rf"\b(\d{{1,2}}):(\d{{2}})(?::(\d{{2}}))?(?:\s*{_AMPM}|\s+{_RU_PERIOD})?", s)
    if m:
        hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
        if m[4]:
            hour = _ampm(hour, m[4])
        elif m[5]:
            hour = _ru_period(hour, m[5])
        p.set_time(hour, minute, second)
        s = _cut(s, m)
    m = re.search(rf"\b(\d{{1,2}})(?:\.(\d{{2}}))?\s*{_AMPM}", s)
    if m:
        p.set_time(_ampm(int(m[1]), m[3]), int(m[2] or 0))
        s = _cut(s, m)
    m = re.search(rf"\b(\d{{1,2}})(?:\.(\d{{2}}))?\s+{_RU_PERIOD}", s)
    if m:
        p.set_time(_ru_period(int(m[1]), m[3]), int(m[2] or 0))
        s = _cut(s, m)

    # dates with a year
    m = re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", s)
    if m:
        p.set_date("explicit", year=int(m[1]), month=int(m[2]), day=int(m[3]))
        s = _cut(s, m)
    m = re.search(r"\b(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})\b", s)
    if m:
        year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
        p.set_date("explicit", year=year, month=int(m[2]), day=int(m[1]))
        s = _cut(s, m)

    # month names: "25 dec [2026]", "25th of december", "dec 25[th][, 2026]"
    year_tail = r"(?:\s+(\d{4})(?:\s*(?:г\.?|года?)(?!\w))?)?"
    m = re.search(
        rf"\b(\d{{1,2}})(?:st|nd|rd|th|-?го|-?е)?\s+(?:of\s+)?({_MONTH_RE})\.?(?!\w){year_tail}", s
    )
    if not m:
        m2 = re.search(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?!\w){year_tail}", s)
        if m2:
            day, month, year_s = int(m2[2]), _MONTHS[m2[1]], m2[3]
            m = m2
    else:
        day, month, year_s = int(m[1]), _MONTHS[m[2]], m[3]
    if m:
        if year_s:
            p.set_date("explicit", year=int(year_s), month=month, day=day)
        else:
            p.set_date("yearless", month=month, day=day)
        s = _cut(s, m)

    m = re.search(r"\b(\d{1,2})/(\d{1,2})\b", s)
    if m:
        p.set_date("yearless", month=int(m[2]), day=int(m[1]))
        s = _cut(s, m)

    # dotted pairs: a date (dd.mm) or a time (H.MM); see the module docstring
    pairs = list(re.finditer(r"\b(\d{1,2})\.(\d{1,2})\b", s))
    if len(pairs) > 2:
        raise _Unreadable
    if len(pairs) == 2:
        d, t = pairs
        if len(t[2]) != 2:
            raise _Unreadable
        p.set_date("yearless", month=int(d[2]), day=int(d[1]))
        p.set_time(int(t[1]), int(t[2]))
    elif len(pairs) == 1:
        (x,) = pairs
        as_time = p.hour is None and len(x[2]) == 2 and int(x[1]) <= 23 and int(x[2]) <= 59
        if as_time:
            p.set_time(int(x[1]), int(x[2]))
        else:
            p.set_date("yearless", month=int(x[2]), day=int(x[1]))
    for x in reversed(pairs):
        s = _cut(s, x)

    # relative days
    for pattern, offset in (
        (r"\bday\s+after\s+tomorrow\b|\bпослезавтра\b", 2),
        (r"\btomorrow\b|\btmrw?\b|\bзавтра\b", 1),
        (r"\btoday\b|\bсегодня\b", 0),
    ):
        m = re.search(pattern, s)
        if m:
            p.set_date("offset", offset=offset)
            s = _cut(s, m)

    # weekdays
    m = re.search(
        rf"(?:\b(next|this|следующ(?:ий|ую|ее|ей)|эт(?:от|у|о))\s+)?\b({_WEEKDAY_RE})\.?(?!\w)", s
    )
    if m:
        nxt = bool(m[1]) and m[1] not in ("this", "этот", "эту", "это")
        p.set_date("weekday", weekday=_WEEKDAYS[m[2]], next_week=nxt)
        s = _cut(s, m)

    # an hour alone after "at"/"в": "at 9", "в 18"
    m = re.search(r"(?:\bat|\bв)\s+(\d{1,2})\b", s)
    if m and p.hour is None:
        p.set_time(int(m[1]))
        s = _cut(s, m)

    leftovers = [w for w in s.split() if w not in _FILLERS]
    if leftovers:
        raise _Unreadable
    if p.hour is None and p.period_default is None and p.date_kind is None:
        raise _Unreadable
    return p


def _clock_time(p: _Parts) -> tuple[time, bool]:
    """The wall time and whether it was given (False → a default was used)."""
    if p.hour is not None:
        hour = p.hour
        if p.period in ("afternoon", "evening") and 1 <= hour <= 11:
            hour += 12
        return time(hour, p.minute, p.second), True
    if p.period_default is not None:
        return p.period_default, True
    return DEFAULT_TIME, False


def _resolve(p: _Parts, now: datetime, tz: ZoneInfo) -> datetime:
    today = now.astimezone(tz).date()
    at, _ = _clock_time(p)

    def at_day(d: date) -> datetime:
        return localize(datetime.combine(d, at), tz)

    kind = p.date_kind
    if kind is None:  # a bare time: today if still ahead, else tomorrow
        candidate = at_day(today)
        return candidate if candidate > now else at_day(today + timedelta(days=1))
    if kind == "offset":
        return at_day(today + timedelta(days=p.offset))
    if kind == "weekday":
        if p.next_week:
            monday_next = today - timedelta(days=today.weekday()) + timedelta(days=7)
            return at_day(monday_next + timedelta(days=p.weekday))
        target = today + timedelta(days=(p.weekday - today.weekday()) % 7)
        candidate = at_day(target)
        return candidate if candidate > now else at_day(target + timedelta(days=7))
    if kind == "explicit":
        try:
            return at_day(date(p.year, p.month, p.day))
        except ValueError:
            raise _Unreadable from None
    # yearless: the next occurrence that is still ahead
    if not (1 <= p.month <= 12 and 1 <= p.day <= 31):
        raise _Unreadable
    for year in range(today.year, today.year + 9):
        try:
            candidate = at_day(date(year, p.month, p.day))
        except ValueError:
            continue
        if candidate > now:
            return candidate
    raise _Unreadable  # 31.02 and friends


def parse_when(text: str, *, now: datetime, tz: ZoneInfo | str) -> datetime:
    """Read ``text`` as a moment in ``tz``; return it as aware UTC (see the module docstring).

    Raises ``TimeParseError`` with ``reason_key`` "unreadable", "past" or "too_far".
    """
    now = _require_aware("now", now)
    zone = _as_zone(tz)
    s = _normalize(text)
    if s in ("now", "right now", "immediately", "сейчас", "прямо сейчас", "немедленно"):
        return now
    try:
        result = _parse(s, now, zone)
    except _Unreadable:
        raise TimeParseError("unreadable", text=text) from None
    except (OverflowError, ValueError):
        raise TimeParseError("too_far", text=text) from None
    if result <= now:
        raise TimeParseError("past", text=text, when=result)
    limit = _add_years(now, MAX_AHEAD_YEARS)
    if result > limit:
        raise TimeParseError("too_far", text=text, when=result, limit=limit)
    return result


def _parse(s: str, now: datetime, tz: ZoneInfo) -> datetime:
    if not s:
        raise _Unreadable
    rel = _REL_PREFIX.match(s)
    if rel:
        parsed = _parse_relative(rel[1])
        if parsed is None:
            raise _Unreadable
        days, exact = parsed
        if days > 366 * (MAX_AHEAD_YEARS + 1) or exact > timedelta(
            days=366 * (MAX_AHEAD_YEARS + 1)
        ):
            raise OverflowError
        base = now
        if days:
            local = now.astimezone(tz)
            base = localize(local.replace(tzinfo=None) + timedelta(days=days), tz)
        return base + exact
    return _resolve(_components(s), now, tz)


def parse_day(text: str, *, today: date) -> tuple[date, time | None]:
    """A calendar day (and the time, if one was given) on or after ``today``: used for the end of
    a repeating series ("until 31.12", "до пятницы 18:00"). Year-less dates and weekdays are their
    next occurrence on or after ``today``. Raises ``TimeParseError("unreadable")``."""
    try:
        p = _components(_normalize(text))
        if p.date_kind is None:
            raise _Unreadable
        at, given = _clock_time(p)
        if p.date_kind == "offset":
            day = today + timedelta(days=p.offset)
        elif p.date_kind == "weekday":
            day = today + timedelta(days=(p.weekday - today.weekday()) % 7)
            if p.next_week:
                monday = today - timedelta(days=today.weekday())
                day = monday + timedelta(days=7 + p.weekday)
        elif p.date_kind == "explicit":
            day = date(p.year, p.month, p.day)
        else:
            day = _next_yearless(p.month, p.day, today)
    except (_Unreadable, ValueError, OverflowError):
        raise TimeParseError("unreadable", text=text) from None
    return day, (at if given else None)


def _next_yearless(month: int, day: int, today: date) -> date:
    for year in range(today.year, today.year + 9):
        try:
            d = date(year, month, day)
        except ValueError:
            continue
        if d >= today:
            return d
    raise _Unreadable


# ── times of day ─────────────────────────────────────────────────────────────────────────────────

_CLOCK_RE = re.compile(r"\s*(\d{1,2})[:.](\d{2})\s*")


def parse_clock(text: str) -> str | None:
    """A time of day as ``HH:MM`` (``7:30``, ``07.30``), or None if it is not one (``25:99``).

    Settings (NEXUS_DIGEST_AT) and ``/digest at`` read times the same way through this."""
    match = _CLOCK_RE.fullmatch(text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    return f"{int(match[1]):02d}:{match[2]}"


# ── /timezone suggestions ────────────────────────────────────────────────────────────────────────

_CITY_ALIASES: dict[str, str] = {
    # Russian and nearby
    "москва": "Europe/Moscow", "мск": "Europe/Moscow", "msk": "Europe/Moscow",
    "санкт-петербург": "Europe/Moscow", "петербург": "Europe/Moscow", "питер": "Europe/Moscow",
    "спб": "Europe/Moscow", "saint petersburg": "Europe/Moscow", "st petersburg": "Europe/Moscow",
    "нижний новгород": "Europe/Moscow", "казань": "Europe/Moscow", "kazan": "Europe/Moscow",
    "ростов-на-дону": "Europe/Moscow", "краснодар": "Europe/Moscow", "сочи": "Europe/Moscow",
    "воронеж": "Europe/Moscow", "ярославль": "Europe/Moscow", "тула": "Europe/Moscow",
    "калининград": "Europe/Kaliningrad", "самара": "Europe/Samara", "ижевск": "Europe/Samara",
    "волгоград": "Europe/Volgograd", "саратов": "Europe/Saratov", "ульяновск": "Europe/Ulyanovsk",
    "астрахань": "Europe/Astrakhan", "киров": "Europe/Kirov",
    "екатеринбург": "Asia/Yekaterinburg", "челябинск": "Asia/Yekaterinburg",
    "пермь": "Asia/Yekaterinburg", "уфа": "Asia/Yekaterinburg", "тюмень": "Asia/Yekaterinburg",
    "омск": "Asia/Omsk", "новосибирск": "Asia/Novosibirsk", "барнаул": "Asia/Barnaul",
    "томск": "Asia/Tomsk", "кемерово": "Asia/Novokuznetsk", "новокузнецк": "Asia/Novokuznetsk",
    "красноярск": "Asia/Krasnoyarsk", "иркутск": "Asia/Irkutsk", "чита": "Asia/Chita",
    "якутск": "Asia/Yakutsk", "владивосток": "Asia/Vladivostok", "хабаровск": "Asia/Vladivostok",
    "магадан": "Asia/Magadan", "сахалин": "Asia/Sakhalin", "южно-сахалинск": "Asia/Sakhalin",
    "петропавловск-камчатский": "Asia/Kamchatka", "камчатка": "Asia/Kamchatka",
    "минск": "Europe/Minsk", "киев": "Europe/Kyiv", "київ": "Europe/Kyiv", "kiev": "Europe/Kyiv",
    "алматы": "Asia/Almaty", "астана": "Asia/Almaty", "ташкент": "Asia/Tashkent",
    "бишкек": "Asia/Bishkek", "душанбе": "Asia/Dushanbe", "тбилиси": "Asia/Tbilisi",
    "ереван": "Asia/Yerevan", "баку": "Asia/Baku", "кишинев": "Europe/Chisinau",
    "рига": "Europe/Riga", "вильнюс": "Europe/Vilnius", "таллин": "Europe/Tallinn",
    # big cities that are not IANA names, in both languages
    "лондон": "Europe/London", "париж": "Europe/Paris", "берлин": "Europe/Berlin",
    "мюнхен": "Europe/Berlin", "munich": "Europe/Berlin", "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin", "вена": "Europe/Vienna", "прага": "Europe/Prague",
    "варшава": "Europe/Warsaw", "рим": "Europe/Rome", "мадрид": "Europe/Madrid",
    "barcelona": "Europe/Madrid", "барселона": "Europe/Madrid", "милан": "Europe/Rome",
    "milan": "Europe/Rome", "стамбул": "Europe/Istanbul", "анталья": "Europe/Istanbul",
    "antalya": "Europe/Istanbul", "белград": "Europe/Belgrade", "лиссабон": "Europe/Lisbon",
    "амстердам": "Europe/Amsterdam", "хельсинки": "Europe/Helsinki", "афины": "Europe/Athens",
    "дубай": "Asia/Dubai", "тель-авив": "Asia/Jerusalem", "tel aviv": "Asia/Jerusalem",
    "нью-йорк": "America/New_York", "washington": "America/New_York",
    "boston": "America/New_York", "miami": "America/New_York", "atlanta": "America/New_York",
    "philadelphia": "America/New_York", "вашингтон": "America/New_York",
    "san francisco": "America/Los_Angeles", "seattle": "America/Los_Angeles",
    "las vegas": "America/Los_Angeles", "san diego": "America/Los_Angeles",
    "лос-анджелес": "America/Los_Angeles", "сан-франциско": "America/Los_Angeles",
    "dallas": "America/Chicago", "houston": "America/Chicago", "austin": "America/Chicago",
    "чикаго": "America/Chicago", "montreal": "America/Toronto", "торонто": "America/Toronto",
    "ottawa": "America/Toronto", "beijing": "Asia/Shanghai", "пекин": "Asia/Shanghai",
    "шанхай": "Asia/Shanghai", "токио": "Asia/Tokyo", "сеул": "Asia/Seoul",
    "mumbai": "Asia/Kolkata", "delhi": "Asia/Kolkata", "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata", "bengaluru": "Asia/Kolkata", "india": "Asia/Kolkata",
    "бангкок": "Asia/Bangkok", "пхукет": "Asia/Bangkok", "phuket": "Asia/Bangkok",
    "бали": "Asia/Makassar", "bali": "Asia/Makassar", "сингапур": "Asia/Singapore",
    "сидней": "Australia/Sydney", "canberra": "Australia/Sydney",
    "сан-паулу": "America/Sao_Paulo", "rio de janeiro": "America/Sao_Paulo",
    "буэнос-айрес": "America/Argentina/Buenos_Aires",
    "buenos aires": "America/Argentina/Buenos_Aires",
    "мехико": "America/Mexico_City", "гонконг": "Asia/Hong_Kong",
    # abbreviations
    "est": "America/New_York", "edt": "America/New_York", "cst": "America/Chicago",
    "cdt": "America/Chicago", "mst": "America/Denver", "mdt": "America/Denver",
    "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "cet": "Europe/Berlin",
    "cest": "Europe/Berlin", "bst": "Europe/London", "ist": "Asia/Kolkata", "jst": "Asia/Tokyo",
}  # fmt: skip

#: Offsets that are not whole hours have no Etc/ zone; their best-known zone instead.
_ODD_OFFSETS = {
    (1, 3, 30): "Asia/Tehran", (1, 4, 30): "Asia/Kabul", (1, 5, 30): "Asia/Kolkata",
    (1, 5, 45): "Asia/Kathmandu", (1, 6, 30): "Asia/Yangon", (1, 8, 45): "Australia/Eucla",
    (1, 9, 30): "Australia/Darwin", (1, 10, 30): "Australia/Lord_Howe",
    (1, 12, 45): "Pacific/Chatham", (-1, 3, 30): "America/St_Johns",
    (-1, 9, 30): "Pacific/Marquesas",
}  # fmt: skip

_OFFSET_RE = re.compile(r"^(?:utc|gmt)?\s*([+\-−])\s*(\d{1,2})(?:[:.]?(\d{2}))?$")


def _fold_key(s: str) -> str:
    s = s.strip().lower().replace("ё", "е")
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    return re.sub(r"[\s_\-]+", " ", s).strip()


@cache
def _zone_index() -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    names = sorted(
        n
        for n in available_timezones()
        if "/" in n or n in ("UTC",)
        if not n.startswith(("SystemV/", "posix/", "right/"))
    )
    exact = {n.lower(): n for n in names}
    # (folded full name, folded city, name); Etc/ zones are matched by offset, not by city
    rows = [
        (_fold_key(n), _fold_key(n.rsplit("/", 1)[-1]), n)
        for n in names
        if not n.startswith("Etc/")
    ]
    return exact, rows


def suggest_timezones(query: str, limit: int = 5) -> list[str]:
    """IANA names for what the owner typed for ``/timezone``, best first; ``[]`` if nothing fits.

    Understands exact IANA names in any case, city names (the IANA city part, e.g. "new york",
    "sao paulo", plus a small table of Russian and other big cities: "москва", "питер",
    "munich"), common abbreviations ("msk", "pst") and UTC offsets ("UTC+3", "+03:00", "gmt-5" →
    ``Etc/GMT-3``… — the Etc/ sign is inverted by POSIX convention).
    """
    q = query.strip()
    if not q or limit <= 0:
        return []
    exact_names, rows = _zone_index()
    out: list[str] = []

    def add(name: str) -> None:
        if name not in out:
            out.append(name)

    low = q.lower()
    if low in ("utc", "gmt", "z", "zulu", "utc+0", "utc-0", "gmt+0", "+0", "+00:00"):
        return ["UTC"]
    om = _OFFSET_RE.match(low.replace(" ", ""))
    if om:
        sign = -1 if om[1] in "-−" else 1
        hours, minutes = int(om[2]), int(om[3] or 0)
        if minutes == 0 and hours == 0:
            return ["UTC"]
        if minutes == 0 and (hours <= 12 if sign < 0 else hours <= 14):
            return [f"Etc/GMT{'-' if sign > 0 else '+'}{hours}"]  # UTC+3 is Etc/GMT-3
        odd = _ODD_OFFSETS.get((sign, hours, minutes))
        return [odd] if odd else []

    if low in exact_names:
        add(exact_names[low])
    key = _fold_key(q)
    if len(key) < 2:
        return out[:limit]
    alias_keys = {_fold_key(k): v for k, v in _CITY_ALIASES.items()}
    if key in alias_keys:
        add(alias_keys[key])
    ranked: list[tuple[int, str]] = []
    for full, city, name in rows:
        if city == key:
            rank = 0
        elif city.startswith(key):
            rank = 1
        elif full.startswith(key) or key in city:
            rank = 2
        elif key in full:
            rank = 3
        else:
            continue
        ranked.append((rank, name))
    for alias, zone in alias_keys.items():
        if alias.startswith(key) and alias != key:
            ranked.append((1, zone))
    for _, name in sorted(ranked, key=lambda r: (r[0], r[1])):
        add(name)
    return out[:limit]
