"""Weekly posting slots and "the next free slot".

A slot is a weekday and a local time for one target. The next free slot for a post is the
earliest slot time, after now, at which none of the post's targets already has a post scheduled.
Without any slots, every day at 09:00 and 18:00 local time serve as slots.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Post, PostStatus, Publication, PublicationStatus, Slot

DEFAULT_SLOT_MINUTES = (9 * 60, 18 * 60)
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
    session: AsyncSession, account_ids: list[int], *, now: datetime, tz: ZoneInfo
) -> datetime | None:
    rows = (
        await session.execute(
            select(Slot.weekday, Slot.minute).where(Slot.account_id.in_(account_ids))
        )
    ).all()
    slots = [(w, m) for w, m in rows] or [(w, m) for w in range(7) for m in DEFAULT_SLOT_MINUTES]
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
    taken = {t.replace(second=0, microsecond=0) for t in taken_rows if t is not None}
    for moment in slot_times(slots, after=now, tz=tz):
        if moment.replace(second=0, microsecond=0) not in taken:
            return moment
    return None
