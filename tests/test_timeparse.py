"""parse_when and suggest_timezones: tables in English and Russian across time zones
and DST changes, plus properties that hold for any clock and zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.timeparse import (
    TimeParseError,
    localize,
    parse_day,
    parse_when,
    suggest_timezones,
)

BERLIN = "Europe/Berlin"
NY = "America/New_York"
TOKYO = "Asia/Tokyo"
ZONES = ["UTC", BERLIN, NY, TOKYO, "Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Kolkata"]


def local_now(tz: str, wall: str) -> datetime:
    """An aware UTC 'now' given as local wall time in tz."""
    return localize(datetime.fromisoformat(wall), ZoneInfo(tz))


def wall(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


# (tz, local now, text, expected local wall time)
CASES = [
    # bare times: today if ahead, else tomorrow
    (BERLIN, "2026-06-10 12:00", "18:30", "2026-06-10 18:30"),
    (BERLIN, "2026-06-10 12:00", "9:00", "2026-06-11 09:00"),
    (BERLIN, "2026-06-10 12:00", "12:00", "2026-06-11 12:00"),
    (BERLIN, "2026-06-10 12:00", "18.30", "2026-06-10 18:30"),
    (BERLIN, "2026-06-10 12:00", "9am", "2026-06-11 09:00"),
    (BERLIN, "2026-06-10 12:00", "9 PM", "2026-06-10 21:00"),
    (BERLIN, "2026-06-10 12:00", "9:15pm", "2026-06-10 21:15"),
    (BERLIN, "2026-06-10 12:00", "12am", "2026-06-11 00:00"),
    (BERLIN, "2026-06-10 12:00", "  at   13:05 ", "2026-06-10 13:05"),
    (BERLIN, "2026-06-10 12:00", "10.12", "2026-06-11 10:12"),
    # days and parts of the day
    (NY, "2026-06-10 12:00", "tomorrow 9:00", "2026-06-11 09:00"),
    (NY, "2026-06-10 12:00", "Tomorrow", "2026-06-11 09:00"),
    (NY, "2026-06-10 12:00", "today 18:00", "2026-06-10 18:00"),
    (NY, "2026-06-10 12:00", "tonight", "2026-06-10 20:00"),
    (NY, "2026-06-10 12:00", "tonight at 9", "2026-06-10 21:00"),
    (NY, "2026-06-10 12:00", "tomorrow morning", "2026-06-11 09:00"),
    (NY, "2026-06-10 12:00", "day after tomorrow 7:45", "2026-06-12 07:45"),
    # relative
    (TOKYO, "2026-06-10 12:00", "in 2h", "2026-06-10 14:00"),
    (TOKYO, "2026-06-10 12:00", "in 90 min", "2026-06-10 13:30"),
    (TOKYO, "2026-06-10 12:00", "in 1 hour", "2026-06-10 13:00"),
    (TOKYO, "2026-06-10 12:00", "in 2 hours 30 minutes", "2026-06-10 14:30"),
    (TOKYO, "2026-06-10 12:00", "in 3 days", "2026-06-13 12:00"),
    (TOKYO, "2026-06-10 12:00", "in 1d 2h", "2026-06-11 14:00"),
    (TOKYO, "2026-06-10 12:00", "+30m", "2026-06-10 12:30"),
    (TOKYO, "2026-06-10 12:00", "in half an hour", "2026-06-10 12:30"),
    # dates
    ("UTC", "2026-06-10 12:00", "25.12 10:00", "2026-12-25 10:00"),
    ("UTC", "2026-06-10 12:00", "25.12.2026 10:00", "2026-12-25 10:00"),
    ("UTC", "2026-06-10 12:00", "25/12 10:00", "2026-12-25 10:00"),
    ("UTC", "2026-06-10 12:00", "2026-12-25 10:00", "2026-12-25 10:00"),
    ("UTC", "2026-06-10 12:00", "2026-12-25T10:00", "2026-12-25 10:00"),
    ("UTC", "2026-06-10 12:00", "Dec 25 10:00", "2026-12-25 10:00"),
    ("UTC", "2026-06-10 12:00", "25 Dec 10:00", "2026-12-25 10:00"),
    ("UTC", "2026-06-10 12:00", "December 25 at 10:00", "2026-12-25 10:00"),
    ("UTC", "2026-06-10 12:00", "25.12", "2026-12-25 09:00"),
    ("UTC", "2026-06-10 12:00", "25.12 10.00", "2026-12-25 10:00"),
    ("UTC", "2026-06-10 12:00", "1.6 10:00", "2027-06-01 10:00"),  # passed → next year
    ("UTC", "2026-06-10 12:00", "10.06 13:00", "2026-06-10 13:00"),  # today, still ahead
    ("UTC", "2026-06-10 12:00", "29.02", "2028-02-29 09:00"),
    # weekdays (2026-06-10 is a Wednesday)
    (BERLIN, "2026-06-10 12:00", "friday 10:00", "2026-06-12 10:00"),
    (BERLIN, "2026-06-10 12:00", "on Friday at 10:00", "2026-06-12 10:00"),
    (BERLIN, "2026-06-10 12:00", "fri 10am", "2026-06-12 10:00"),
    (BERLIN, "2026-06-10 12:00", "wednesday 18:00", "2026-06-10 18:00"),
    (BERLIN, "2026-06-10 12:00", "wednesday 11:00", "2026-06-17 11:00"),
    (BERLIN, "2026-06-10 12:00", "next monday 9:00", "2026-06-15 09:00"),
    (BERLIN, "2026-06-10 12:00", "next friday", "2026-06-19 09:00"),
    (BERLIN, "2026-06-13 12:00", "next monday", "2026-06-15 09:00"),  # Saturday
    (BERLIN, "2026-06-10 12:00", "this friday 8:00", "2026-06-12 08:00"),
    # Russian
    (BERLIN, "2026-06-10 12:00", "завтра 9:00", "2026-06-11 09:00"),
    (BERLIN, "2026-06-10 12:00", "сегодня в 18:00", "2026-06-10 18:00"),
    (BERLIN, "2026-06-10 12:00", "послезавтра 10:00", "2026-06-12 10:00"),
    (BERLIN, "2026-06-10 12:00", "через 2 часа", "2026-06-10 14:00"),
    (BERLIN, "2026-06-10 12:00", "через 30 минут", "2026-06-10 12:30"),
    (BERLIN, "2026-06-10 12:00", "через час", "2026-06-10 13:00"),
    (BERLIN, "2026-06-10 12:00", "через 2 дня", "2026-06-12 12:00"),
    (BERLIN, "2026-06-10 12:00", "через полчаса", "2026-06-10 12:30"),
    (BERLIN, "2026-06-10 12:00", "через полтора часа", "2026-06-10 13:30"),
    (BERLIN, "2026-06-10 12:00", "в пятницу 10:00", "2026-06-12 10:00"),
    (BERLIN, "2026-06-10 12:00", "в пятницу в 10:00", "2026-06-12 10:00"),
    (BERLIN, "2026-06-10 12:00", "В следующую пятницу", "2026-06-19 09:00"),
    (BERLIN, "2026-06-10 12:00", "пн 9:00", "2026-06-15 09:00"),
    (BERLIN, "2026-06-10 12:00", "во вторник в 9", "2026-06-16 09:00"),
    (BERLIN, "2026-06-10 12:00", "25 декабря 10:00", "2026-12-25 10:00"),
    (BERLIN, "2026-06-10 12:00", "25 дек в 10:00", "2026-12-25 10:00"),
    (BERLIN, "2026-06-10 12:00", "1 января 2027 г.", "2027-01-01 09:00"),
    (BERLIN, "2026-06-10 12:00", "в 18:30", "2026-06-10 18:30"),
    (BERLIN, "2026-06-10 12:00", "в 6 вечера", "2026-06-10 18:00"),
    (BERLIN, "2026-06-10 12:00", "утром", "2026-06-11 09:00"),
    (BERLIN, "2026-06-10 12:00", "вечером", "2026-06-10 18:00"),
    (BERLIN, "2026-06-10 12:00", "завтра утром", "2026-06-11 09:00"),
    # DST, spring: the gap moves forward by its length
    (BERLIN, "2026-03-28 23:00", "02:30", "2026-03-29 03:30"),
    (BERLIN, "2026-03-28 12:00", "tomorrow 2:30", "2026-03-29 03:30"),
    (BERLIN, "2026-03-28 12:00", "завтра 10:00", "2026-03-29 10:00"),
    (BERLIN, "2026-03-28 12:00", "in 1 day", "2026-03-29 12:00"),  # calendar day (23 h)
    (BERLIN, "2026-03-29 01:30", "in 1h", "2026-03-29 03:30"),  # exact hour across the gap
    (NY, "2026-03-07 20:00", "2:15am", "2026-03-08 03:15"),
    (NY, "2026-03-07 20:00", "sun 10am", "2026-03-08 10:00"),
    # DST, autumn: the ambiguous hour is its first occurrence
    (BERLIN, "2026-10-24 12:00", "tomorrow 2:30", "2026-10-25 02:30"),
    (NY, "2026-10-31 12:00", "nov 1 1:30", "2026-11-01 01:30"),
    (TOKYO, "2026-10-24 12:00", "tomorrow 2:30", "2026-10-25 02:30"),
]


@pytest.mark.parametrize(("tz", "now_wall", "text", "expected"), CASES)
def test_parse_when_table(tz: str, now_wall: str, text: str, expected: str) -> None:
    now = local_now(tz, now_wall)
    got = parse_when(text, now=now, tz=ZoneInfo(tz))
    assert got.tzinfo is UTC
    assert wall(got, tz) == expected
    assert got > now


def test_ambiguous_time_takes_first_occurrence() -> None:
    now = local_now(BERLIN, "2026-10-24 12:00")
    got = parse_when("tomorrow 2:30", now=now, tz=BERLIN)
    assert got == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, not 02:30 CET
    got = parse_when("nov 1 1:30", now=local_now(NY, "2026-10-31 12:00"), tz=NY)
    assert got == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT


def test_spring_gap_moves_forward() -> None:
    got = parse_when("tomorrow 2:30", now=local_now(BERLIN, "2026-03-28 12:00"), tz=BERLIN)
    assert got == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST


def test_exact_hours_across_autumn_change() -> None:
    now = local_now(BERLIN, "2026-10-25 01:00")
    got = parse_when("in 3h", now=now, tz=BERLIN)
    assert got - now == timedelta(hours=3)
    assert wall(got, BERLIN) == "2026-10-25 03:00"  # 3 h of elapsed time, 2 h on the wall


@pytest.mark.parametrize("text", ["now", "NOW", " сейчас "])
def test_now(text: str) -> None:
    now = datetime(2026, 6, 10, 12, 0, 7, tzinfo=UTC)
    assert parse_when(text, now=now, tz=TOKYO) == now


@pytest.mark.parametrize(
    ("tz", "text"),
    [
        (BERLIN, "today 9:00"),
        (BERLIN, "сегодня в 8:00"),
        (NY, "2025-01-01 10:00"),
        (TOKYO, "10.06.2026 11:00"),
        ("UTC", "today"),
        (BERLIN, "in 0 minutes"),
    ],
)
def test_past(tz: str, text: str) -> None:
    with pytest.raises(TimeParseError) as err:
        parse_when(text, now=local_now(tz, "2026-06-10 12:00"), tz=tz)
    assert err.value.reason_key == "past"
    assert "passed" in str(err.value)


@pytest.mark.parametrize(
    "text", ["2030-01-01", "in 800 days", "in 99999999999 days", "in 200 weeks", "25.12.2028"]
)
def test_too_far(text: str) -> None:
    with pytest.raises(TimeParseError) as err:
        parse_when(text, now=datetime(2026, 6, 10, 12, tzinfo=UTC), tz=BERLIN)
    assert err.value.reason_key == "too_far"
    assert "2 years" in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "garbage",
        "tomorrow at noonish",
        "25:00",
        "9:61",
        "31.02",
        "2026-02-30",
        "13pm",
        "in",
        "in soon",
        "через",
        "9",
        "friday monday",
        "9:00 10:00",
        "завтра послезавтра",
        "0 9 * * *",
    ],
)
def test_unreadable(text: str) -> None:
    with pytest.raises(TimeParseError) as err:
        parse_when(text, now=datetime(2026, 6, 10, 12, tzinfo=UTC), tz=BERLIN)
    assert err.value.reason_key == "unreadable"
    assert "could not read" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_error_carries_details() -> None:
    err = TimeParseError("past", when=datetime(2026, 1, 1, tzinfo=UTC))
    assert err.reason_key == "past"
    assert err.details["when"] == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        TimeParseError("nonsense")


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError):
        parse_when("18:00", now=datetime(2026, 6, 10, 12), tz=BERLIN)


def test_parse_day() -> None:
    today = datetime(2026, 6, 10).date()
    assert parse_day("31.12", today=today) == (datetime(2026, 12, 31).date(), None)
    assert parse_day("1.6", today=today)[0] == datetime(2027, 6, 1).date()
    day, at = parse_day("friday 18:00", today=today)
    assert day == datetime(2026, 6, 12).date() and at is not None and at.hour == 18
    with pytest.raises(TimeParseError):
        parse_day("18:00", today=today)


# ── properties ───────────────────────────────────────────────────────────────────────────────────

nows = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)
zones = st.sampled_from(ZONES)


@given(now=nows, tz=zones, hours=st.integers(1, 17000), spelling=st.sampled_from(["h", " hours"]))
def test_in_n_hours_is_exact(now: datetime, tz: str, hours: int, spelling: str) -> None:
    assert parse_when(f"in {hours}{spelling}", now=now, tz=tz) == now + timedelta(hours=hours)
    assert parse_when(f"через {hours} ч", now=now, tz=tz) == now + timedelta(hours=hours)


PHRASES = [
    "18:30", "9am", "tomorrow", "tomorrow 2:30", "friday 10:00", "next monday", "25.12 10:00",
    "Dec 25", "29.02", "in 3 days", "in 1d 2h", "через полчаса", "в пятницу в 10:00", "утром",
    "вечером", "25 декабря", "2:30", "1:30", "tonight", "today 18:00", "послезавтра",
]  # fmt: skip


@given(now=nows, tz=zones, text=st.sampled_from(PHRASES))
def test_results_are_in_the_future(now: datetime, tz: str, text: str) -> None:
    try:
        got = parse_when(text, now=now, tz=tz)
    except TimeParseError as err:
        # only "today …"/"tonight" may have passed; 29 Feb may be more than 2 years away
        assert (err.reason_key, text) in {
            ("past", "tonight"),
            ("past", "today 18:00"),
            ("too_far", "29.02"),
        }
        return
    assert now < got <= now + timedelta(days=366 * 2)


@given(now=nows, tz=zones, hour=st.integers(0, 23), minute=st.integers(0, 59))
def test_bare_time_is_next_wall_time(now: datetime, tz: str, hour: int, minute: int) -> None:
    zone = ZoneInfo(tz)
    got = parse_when(f"{hour}:{minute:02d}", now=now, tz=zone)
    assert got > now
    # within a day, give or take the DST change in between
    shift = abs(got.astimezone(zone).utcoffset() - now.astimezone(zone).utcoffset())  # type: ignore[operator]
    assert got - now <= timedelta(hours=24) + shift
    local = got.astimezone(zone)
    naive = local.replace(tzinfo=None)
    requested = datetime.combine(naive.date(), datetime.min.time()).replace(
        hour=hour, minute=minute
    )
    in_gap = localize(requested, zone).astimezone(zone).replace(tzinfo=None) != requested
    if not in_gap:
        assert (local.hour, local.minute) == (hour, minute)
    # and it is the *first* such moment: nothing earlier after now had that wall time
    earlier = localize(requested - timedelta(days=1), zone)
    assert earlier <= now or in_gap


# ── suggest_timezones ────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("europe/berlin", "Europe/Berlin"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("New_York", "America/New_York"),
        ("Sao Paulo", "America/Sao_Paulo"),
        ("São Paulo", "America/Sao_Paulo"),
        ("москва", "Europe/Moscow"),
        ("Москва", "Europe/Moscow"),
        ("moscow", "Europe/Moscow"),
        ("питер", "Europe/Moscow"),
        ("новосибирск", "Asia/Novosibirsk"),
        ("екатеринбург", "Asia/Yekaterinburg"),
        ("нью-йорк", "America/New_York"),
        ("tokyo", "Asia/Tokyo"),
        ("UTC+3", "Etc/GMT-3"),
        ("utc +3", "Etc/GMT-3"),
        ("+03:00", "Etc/GMT-3"),
        ("GMT-5", "Etc/GMT+5"),
        ("UTC-05:00", "Etc/GMT+5"),
        ("utc+14", "Etc/GMT-14"),
        ("+5:30", "Asia/Kolkata"),
        ("utc", "UTC"),
        ("UTC+0", "UTC"),
    ],
)
def test_suggest_timezones(query: str, first: str) -> None:
    got = suggest_timezones(query)
    assert got and got[0] == first
    assert len(got) == len(set(got)) <= 5
    for name in got:
        ZoneInfo(name)


def test_suggest_timezones_partial_and_limits() -> None:
    assert "Europe/Berlin" in suggest_timezones("berl")
    assert len(suggest_timezones("a", limit=5)) <= 5
    assert len(suggest_timezones("america", limit=3)) == 3
    for query in ["", "  ", "xyzzy", "utc+15", "utc-13", "+03:17", "москвабад"]:
        assert suggest_timezones(query) == []


def test_etc_sign_is_inverted() -> None:
    (name,) = suggest_timezones("UTC+3")
    assert datetime(2026, 1, 1, tzinfo=ZoneInfo(name)).utcoffset() == timedelta(hours=3)
    (name,) = suggest_timezones("utc-7")
    assert datetime(2026, 1, 1, tzinfo=ZoneInfo(name)).utcoffset() == timedelta(hours=-7)


def test_every_suggestion_maps_back_to_itself() -> None:
    """The /timezone keyboard sends a suggested name back; it must be accepted as-is."""
    queries = ["berlin", "new york", "UTC+3", "utc-12", "utc+14", "+05:45", "москва", "ber", "us"]
    names = {name for q in queries for name in suggest_timezones(q)}
    names |= {"UTC", "Etc/GMT-3", "Europe/Kyiv", "Europe/Kiev", "America/Argentina/Buenos_Aires"}
    for name in names:
        assert suggest_timezones(name)[0] == name
