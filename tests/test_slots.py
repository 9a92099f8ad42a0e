"""Weekly posting slots as the owner types them (`/slots`)."""

from __future__ import annotations

import pytest

from scheduler.slots import describe_slots, parse_slots
from scheduler.timeparse import TimeParseError

_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@pytest.mark.parametrize(
    ("text", "described"),
    [
        ("mon-fri 09:00 18:00; sat 11:00", "Mon, Tue, Wed, Thu, Fri 09:00, 18:00; Sat 11:00"),
        ("по будням 9:00", "Mon, Tue, Wed, Thu, Fri 09:00"),
        ("fri-mon 10.00", "Mon, Fri, Sat, Sun 10:00"),
        ("weekends 11:00", "Sat, Sun 11:00"),
        ("пн,ср 9:00", "Mon, Wed 09:00"),
        ("18:30", "Mon, Tue, Wed, Thu, Fri, Sat, Sun 18:30"),
    ],
)
def test_slots_are_read_in_both_languages(text: str, described: str) -> None:
    assert describe_slots(parse_slots(text), _NAMES) == described


@pytest.mark.parametrize("text", ["", "mon-fri", "every blue moon 10:00", "25:00", "mon 9"])
def test_unreadable_slots_are_refused(text: str) -> None:
    with pytest.raises(TimeParseError):
        parse_slots(text)
