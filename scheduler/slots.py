"""Weekly posting slots and "the next free slot".

A slot is a weekday and a local time for one target. The next free slot for a post is the
earliest slot time, after now, at which none of the post's targets already has a post scheduled.
Without any slots, every day at the `fallback` times serve as slots: 09:00 and 18:00 local time,
unless the caller learned better ones from the owner's history (`metrics.best_time`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.timeparse import TimeParseError, weekday_number
from storage.models import Post, PostStatus, Publication, PublicationStatus, Slot

DEFAULT_SLOT_MINUTES = (9 * 60, 18 * 60)
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
_DAY_SETS = {
    "daily": range(7),
    "everyday": range(7),
    "ежедневно": range(7),
    "weekdays": range(5),
    "будни": range(5),
    "weekends": range(5, 7),
    "выходные": range(5, 7),
}
_FILLER = {"every", "day", "each", "on", "at", "and", "по", "в", "и", "каждый", "день", "будням"}


def parse_slots(text: str) -> list[tuple[int, int]]:
    """Weekly slots from what the owner types: groups of days and times, separated by ";" or
    new lines, e.g. ``mon-fri 09:00 18:00; sat 11:00`` or ``по будням 9:00``. Days left out
    mean every day. Returns sorted (weekday, minute) pairs; raises TimeParseError if unreadable.
    """
    slots: set[tuple[int, int]] = set()
    for group in re.split(r"[;\n]+", text.strip().lower()):
        days: set[int] = set()
        minutes: list[int] = []
        if "по будням" in group:
            days.update(range(5))
        for token in re.split(r"[\s,]+", group):
            if not token or token in _FILLER:
                continue
            if match := _TIME.match(token):
                minutes.append(int(match[1]) * 60 + int(match[2]))
            elif token in _DAY_SETS:
                days.update(_DAY_SETS[token])
            elif "-" in token and all(weekday_number(p) is not None for p in token.split("-", 1)):
                first, last = (weekday_number(p) for p in token.split("-", 1))
                assert first is not None and last is not None
                days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
            elif (day := weekday_number(token)) is not None:
                days.add(day)
            else:
                raise TimeParseError("unreadable", text=text)
        if not minutes:
            raise TimeParseError("unreadable", text=text)
        slots.update((d, m) for d in (days or set(range(7))) for m in minutes)
    return sorted(slots)


def describe_slots(slots: Iterable[tuple[int, int]], weekday_names: Sequence[str]) -> str:
    """ "Mon, Tue 09:00, 18:00; Sat 11:00": days that share the same times are grouped."""
    times_by_day: dict[int, list[int]] = {}
    for weekday, minute in sorted(slots):
        times_by_day.setdefault(weekday, []).append(minute)
    groups: dict[tuple[int, ...], list[int]] = {}
    for weekday, minutes in sorted(times_by_day.items()):
        groups.setdefault(tuple(minutes), []).append(weekday)
    return "; ".join(
        ", ".join(weekday_names[d] for d in days)
        + " "
        + ", ".join(f"{m // 60:02d}:{m % 60:02d}" for m in minutes)
        for minutes, days in groups.items()
    )


SEARCH_DAYS = 8 * 7


def slot_times(
    slots: Iterable[tuple[int, int]], *, after: datetime, tz: ZoneInfo, days: int = SEARCH_DAYS
) -> Iterable[datetime]:
    """(weekday, minute) slots as UTC instants after `after`, in order."""
    by_weekday: dict[int, list[int]] = {}
    for weekday, minute in slots:
        by_weekday.setdefault(weekday, []).append(minute)
    start = after.astimezone(tz).date()
    for offset in range(days + 1):
        day = start + timedelta(days=offset)
        for minute in sorted(set(by_weekday.get(day.weekday(), []))):
            local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz)
            moment = local.astimezone(after.tzinfo)
            if moment > after:
                yield moment


async def next_free_slot(
    session: AsyncSession,
    account_ids: list[int],
    *,
    now: datetime,
    tz: ZoneInfo,
    fallback: Sequence[int] = DEFAULT_SLOT_MINUTES,
) -> datetime | None:
    """The next free slot of these targets; `fallback` (minutes after local midnight, every
    day) stands in when none of them has slots configured (empty means the defaults)."""
    slots = await slots_of(session, account_ids, fallback)
    taken = await taken_times(session, account_ids, now=now)
    for moment in slot_times(slots, after=now, tz=tz):
        if moment.replace(second=0, microsecond=0) not in taken:
            return moment
    return None


async def taken_times(
    session: AsyncSession, account_ids: list[int], *, now: datetime
) -> set[datetime]:
    """The minutes after `now` at which one of these targets already has a post waiting."""
    taken_rows = await session.scalars(
        select(Post.scheduled_at)
        .join(Publication, Publication.post_id == Post.id)
        .where(
            Post.status == PostStatus.SCHEDULED,
            Post.scheduled_at > now,
            Publication.account_id.in_(account_ids),
            Publication.status.in_([PublicationStatus.PENDING, PublicationStatus.HELD]),
        )
    )
    return {t.replace(second=0, microsecond=0) for t in taken_rows if t is not None}


async def slots_of(
    session: AsyncSession, account_ids: list[int], fallback: Sequence[int] = DEFAULT_SLOT_MINUTES
) -> list[tuple[int, int]]:
    """The weekly (weekday, minute) slots of these targets, or `fallback` times every day."""
    rows = (
        await session.execute(
            select(Slot.weekday, Slot.minute).where(Slot.account_id.in_(account_ids))
        )
    ).all()
    daily = fallback or DEFAULT_SLOT_MINUTES
    return sorted({(w, m) for w, m in rows}) or [(w, m) for w in range(7) for m in daily]
