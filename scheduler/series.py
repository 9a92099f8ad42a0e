"""Recurring and evergreen posts: copies of a post scheduled by a rule, never by a date it was
created on.

A repeating post carries its rule (`scheduler.recurrence.RepeatRule`, as JSON). When an
occurrence settles, the next one is created in the same transaction, from the rule and the later
of the occurrence's time and now (missed occurrences are skipped, not fired late). Copies point
to the first post of the series (`series_id`).

An evergreen post is recycled into free slots: when the next free slot is near and nothing is
scheduled there, the evergreen post published longest ago (at least `min_gap` ago) is copied
into it. A once-per-slot lock keeps several workers from filling the same slot twice.

Both stay inside the post's brand: a copy belongs to the brand of the post it copies, and each
brand's evergreen posts fill that brand's free slots (its accounts, its time zone) alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler.clock import Clock
from scheduler.lifecycle import schedule_post
from scheduler.recurrence import RepeatRule, next_run, pick_evergreen
from scheduler.slots import next_free_slot
from storage import repositories as repo
from storage.models import FIRST_BRAND_ID, Account, Brand, Post, PostStatus

#: How far ahead an evergreen post may be put into a free slot.
EVERGREEN_HORIZON = timedelta(hours=24)
_OUT_OR_GOING_OUT = [PostStatus.PUBLISHED, PostStatus.PARTIAL, PostStatus.SCHEDULED]


def _copy(post: Post, *, occurrence: int) -> Post:
    return Post(
        brand_id=post.brand_id,
        author_id=post.author_id,
        brief=post.brief,
        text=post.text,
        offline=post.offline,
        repeat_rule=post.repeat_rule,
        series_id=post.series_id or post.id,
        occurrence=occurrence,
    )


async def schedule_next_occurrence(
    session: AsyncSession, post: Post, accounts: list[Account], now: datetime
) -> Post | None:
    """The next occurrence of a repeating post, scheduled on the same targets (no commit)."""
    if not post.repeat_rule or post.scheduled_at is None:
        return None
    rule = RepeatRule.from_json(post.repeat_rule)
    when = next_run(rule, after=max(post.scheduled_at, now), done=post.occurrence)
    if when is None:
        return None
    nxt = _copy(post, occurrence=post.occurrence + 1)
    nxt.status, nxt.scheduled_at = PostStatus.SCHEDULED, when
    session.add(nxt)
    await session.flush()
    await repo.copy_attachments(session, post.id, nxt.id)
    await repo.create_publications(session, nxt, accounts, due=when)
    return nxt


async def recycle_evergreen(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    tz: ZoneInfo,
    min_gap: timedelta,
    brand_id: int = FIRST_BRAND_ID,
) -> Post | None:
    """Fill the brand's next free slot (if it is near) with its evergreen post due for a
    repeat; ``tz`` is the brand's zone."""
    now = clock.now()
    async with sessions() as session:
        accounts = [a.id for a in await repo.enabled_accounts(session, brand_id)]
        slot = await next_free_slot(session, accounts, now=now, tz=tz) if accounts else None
        if slot is None or slot - now > EVERGREEN_HORIZON:
            return None
        series = func.coalesce(Post.series_id, Post.id)
        last_out = (
            select(
                series.label("root"),
                func.max(func.coalesce(Post.published_at, Post.scheduled_at)).label("last"),
            )
            .where(
                Post.status.in_([PostStatus.PUBLISHED, PostStatus.PARTIAL, PostStatus.SCHEDULED])
            )
            .group_by(series)
            .subquery()
        )
        rows = await session.execute(
            select(Post.id, last_out.c.last)
            .join(last_out, last_out.c.root == Post.id)
            .where(Post.evergreen, Post.series_id.is_(None), Post.brand_id == brand_id)
        )
        pick = pick_evergreen([(i, last) for i, last in rows], now=now, min_gap=min_gap)
        lock = f"evergreen:{brand_id}:{slot.isoformat()}"
        if pick is None or not await repo.claim_period(session, lock):
            await session.rollback()
            return None
        root = await repo.get_post(session, pick)
        assert root is not None
        count = await session.scalar(select(func.count()).where(series == root.id))
        copy = _copy(root, occurrence=int(count or 0) + 1)
        copy.repeat_rule = None
        session.add(copy)
        await session.flush()
        await repo.copy_attachments(session, root.id, copy.id)
        if not await schedule_post(session, copy, slot):
            return None
        return await repo.get_post(session, copy.id)


async def recycle_evergreen_everywhere(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    default_tz: ZoneInfo,
    min_gap: timedelta,
) -> list[Post]:
    """`recycle_evergreen` for every brand, each in its own time zone; the copies scheduled."""
    async with sessions() as session:
        brands = [
            (b.id, b.timezone) for b in await session.scalars(select(Brand).order_by(Brand.id))
        ]
    copies = []
    for brand_id, zone in brands:
        tz = ZoneInfo(zone) if zone else default_tz
        copy = await recycle_evergreen(sessions, clock, tz=tz, min_gap=min_gap, brand_id=brand_id)
        if copy is not None:
            copies.append(copy)
    return copies
