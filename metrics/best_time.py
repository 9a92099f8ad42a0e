"""The best time to post, learned from the owner's own history.

Engagement of every published post is put in a cell of weekday × hour in the owner's local time
zone; a cell's score is its mean engagement. Nothing is claimed before ``MIN_POSTS`` posts
(a handful of posts says more about the posts than about the hour). The learning itself is pure
(``learn``, ``best_hours``); the async functions only load the history.

What it feeds: the "best: Tue 18:00" line of /stats, and the fallback times of "next free slot"
for targets without configured slots (instead of 09:00 and 18:00), via ``slot_fallback``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, Publication, PublicationStatus

#: Published posts needed before the history says anything.
MIN_POSTS = 10
#: How far back the history reaches (habits and audiences change).
HISTORY = timedelta(days=90)
#: How many learned times of day stand in for the default slots.
SLOT_HOURS = 2

#: (when it was published, its engagement)
Sample = tuple[datetime, int]


@dataclass(frozen=True)
class BestTime:
    weekday: int  # 0 = Monday
    hour: int  # local
    posts: int  # how many posts the cell holds
    mean_engagement: float

    @property
    def minute(self) -> int:
        return self.hour * 60


def _cells(history: Iterable[Sample], tz: ZoneInfo) -> dict[tuple[int, int], list[int]]:
    cells: dict[tuple[int, int], list[int]] = {}
    for when, engagement in history:
        local = when.astimezone(tz)
        cells.setdefault((local.weekday(), local.hour), []).append(engagement)
    return cells


def learn(
    history: Sequence[Sample], tz: ZoneInfo, *, min_posts: int = MIN_POSTS
) -> BestTime | None:
    """The weekday and hour with the highest mean engagement, or None with too little history.
    Ties go to the cell with more posts, then to the earlier one in the week."""
    if len(history) < min_posts:
        return None
    cells = _cells(history, tz)
    (weekday, hour), values = max(
        cells.items(),
        key=lambda kv: (sum(kv[1]) / len(kv[1]), len(kv[1]), -kv[0][0], -kv[0][1]),
    )
    return BestTime(weekday, hour, len(values), sum(values) / len(values))


def best_hours(
    history: Sequence[Sample], tz: ZoneInfo, *, count: int = SLOT_HOURS, min_posts: int = MIN_POSTS
) -> tuple[int, ...]:
    """The ``count`` local hours of the day (any weekday) with the highest mean engagement, as
    minutes after midnight in time order; () with too little history."""
    if len(history) < min_posts:
        return ()
    by_hour: dict[int, list[int]] = {}
    for (_weekday, hour), values in _cells(history, tz).items():
        by_hour.setdefault(hour, []).extend(values)
    ranked = sorted(by_hour.items(), key=lambda kv: (-sum(kv[1]) / len(kv[1]), -len(kv[1]), kv[0]))
    return tuple(sorted(hour * 60 for hour, _ in ranked[:count]))


async def load_history(
    session: AsyncSession,
    *,
    now: datetime,
    platform: str | None = None,
    account_ids: Sequence[int] | None = None,
    brand_id: int | None = None,
) -> list[Sample]:
    """(published_at, engagement) of the publications of the last ``HISTORY`` (on one brand's
    accounts, when given)."""
    stmt = select(
        Publication.published_at,
        Publication.likes + Publication.reposts + Publication.replies,
    ).where(
        Publication.status == PublicationStatus.PUBLISHED,
        Publication.published_at >= now - HISTORY,
    )
    if platform is not None or brand_id is not None:
        stmt = stmt.join(Account, Account.id == Publication.account_id)
    if platform is not None:
        stmt = stmt.where(Account.platform == platform)
    if account_ids is not None:
        stmt = stmt.where(Publication.account_id.in_(account_ids))
    if brand_id is not None:  # a brand's posts go out on its own accounts alone
        stmt = stmt.where(Account.brand_id == brand_id)
    rows = await session.execute(stmt)
    return [(when, int(engagement or 0)) for when, engagement in rows if when is not None]


async def best_time(
    session: AsyncSession,
    *,
    now: datetime,
    tz: ZoneInfo,
    brand_id: int,
    platform: str | None = None,
) -> BestTime | None:
    """The brand's best weekday and hour on one platform (or all), if its history is long
    enough."""
    return learn(await load_history(session, now=now, platform=platform, brand_id=brand_id), tz)


async def slot_fallback(
    session: AsyncSession, account_ids: Sequence[int], *, now: datetime, tz: ZoneInfo
) -> tuple[int, ...]:
    """Learned daily posting times (minutes after local midnight) for these targets, to pass to
    ``scheduler.slots.next_free_slot`` as its fallback; () means "use the defaults"."""
    history = await load_history(session, now=now, account_ids=account_ids)
    return best_hours(history, tz)
