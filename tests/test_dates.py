"""Dates, times and repeat rules in the owner's words, in every language (ui/dates.py): the
weekday and month names and the plural forms come from the catalogues."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.recurrence import RepeatRule, parse_repeat
from scheduler.timeparse import localize
from ui import dates
from ui.texts import Texts

BERLIN = ZoneInfo("Europe/Berlin")
CHRISTMAS = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)
START = localize(datetime(2026, 6, 5, 9, 0), BERLIN)  # a Friday


@pytest.mark.parametrize(
    ("language", "zone", "expected"),
    [
        ("en", "Europe/Berlin", "Fri 25 Dec 2026, 10:00 (Europe/Berlin)"),
        ("ru", "Europe/Berlin", "пт, 25 декабря 2026, 10:00 (Europe/Berlin)"),
        ("uk", "Europe/Kyiv", "пт, 25 грудня 2026, 11:00 (Europe/Kyiv)"),
        ("en", "America/New_York", "Fri 25 Dec 2026, 04:00 (America/New_York)"),
        ("ru", "Asia/Tokyo", "пт, 25 декабря 2026, 18:00 (Asia/Tokyo)"),
    ],
)
def test_a_moment_in_the_owners_zone_and_words(language: str, zone: str, expected: str) -> None:
    assert dates.moment(Texts(language), CHRISTMAS, ZoneInfo(zone)) == expected


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError):
        dates.moment(Texts("en"), datetime(2026, 1, 1), BERLIN)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Sun 22 Nov 2026"), ("ru", "вс, 22 ноября 2026"), ("uk", "нд, 22 листопада 2026")],
)
def test_a_day(language: str, expected: str) -> None:
    assert dates.day(Texts(language), date(2026, 11, 22)) == expected


@pytest.mark.parametrize(
    ("text", "uk"),
    [
        ("daily", "щодня о 09:00"),
        ("every 2 days", "кожні 2 дні о 09:00"),
        ("каждые 5 дней", "кожні 5 днів о 09:00"),
        ("every 21 days", "кожен 21 день о 09:00"),
        ("every monday", "по понеділках о 09:00"),
        ("every mon, wed", "по пн, ср о 09:00"),
        ("weekdays", "у будні о 09:00"),
        ("every other week", "раз на 2 тижні: по п’ятницях о 09:00"),
        ("monthly", "щомісяця 5-го числа о 09:00"),
        ("0 10 1 */3 *", "за розкладом cron «0 10 1 */3 *»"),
        ("daily until 1.3", "щодня о 09:00 до 1 березня 2027"),
        ("каждый день 5 раз до 31.12", "щодня о 09:00 до 31 грудня, 5 разів"),
        ("weekly 3 times", "по п’ятницях о 09:00, 3 рази"),
        ("daily x1", "щодня о 09:00, 1 раз"),
    ],
)
def test_repeat_rules_in_ukrainian(text: str, uk: str) -> None:
    assert dates.repeat_rule(Texts("uk"), parse_repeat(text, start=START, tz=BERLIN)) == uk


@given(
    interval=st.integers(1, 400),
    count=st.none() | st.integers(1, 10_000),
    kind=st.sampled_from(["daily", "weekly"]),
    language=st.sampled_from(["en", "ru", "uk"]),
)
def test_every_rule_reads_with_its_numbers(
    interval: int, count: int | None, kind: str, language: str
) -> None:
    rule = RepeatRule(kind, START, "Europe/Berlin", interval=interval, count=count)  # type: ignore[arg-type]
    text = dates.repeat_rule(Texts(language), rule)
    assert "09:00" in text and "{" not in text
    if interval > 1:
        assert f" {interval} " in text
    if count is not None:
        assert f", {count} " in text
