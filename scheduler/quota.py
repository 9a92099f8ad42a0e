"""Costs and quotas of the targets, from the platforms' own counts and from our ledger.

The approval card shows, per target, what the post will cost or use (``usage``); the dispatcher
checks Bluesky's write points from the ledger before sending (``ledger_points``), and when a
quota is used up it works out when a place frees (``quota_reset``) so the target moves to the
first free slot after it (``move_slot``) instead of failing. The per-platform rules themselves
are pure and live in :mod:`publishers.quota`.

A live read that fails or hangs never blocks anything: the card says "quota unknown", and the
send goes ahead (the platform refuses it if the quota is indeed used up).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from publishers.base import HasQuota, Priced, Publisher
from publishers.errors import PublishError, QuotaUsedUp
from publishers.quota import (
    WINDOWS,
    Quota,
    Usage,
    bluesky_points,
    bluesky_quota,
    rolling_reset,
)
from scheduler.slots import next_free_slot
from storage.models import Account, Post, Publication, PublicationStatus, User

log = logging.getLogger(__name__)

#: How long the approval card waits for a platform's live quota.
LIVE_READ_TIMEOUT = 3.0
#: Platforms whose publishing limit is a moving 24 hours: a place frees when a post leaves it.
MOVING_WINDOW_PLATFORMS = frozenset({"threads", "instagram"})
#: Platforms whose quota we count ourselves, from the ledger.
LEDGER_PLATFORMS = frozenset({"bluesky"})
#: Publications that went out (a deleted one was written all the same).
_WENT_OUT = (PublicationStatus.PUBLISHED, PublicationStatus.DELETED)


async def usage(
    session: AsyncSession,
    publisher: Publisher,
    account: Account,
    text: str,
    *,
    parts: int,
    now: datetime,
) -> Usage:
    """What publishing ``text`` (``parts`` posts) on this target costs or uses, for the
    approval card: a quota counts this post in (``used`` is what it will be once it is out)."""
    if isinstance(publisher, Priced):
        try:
            return Usage(cost=publisher.cost(text))
        except PublishError:  # the text cannot be split: the card says why elsewhere
            return Usage(unknown=True)
    if isinstance(publisher, HasQuota):
        try:
            live = await asyncio.wait_for(publisher.quota(), LIVE_READ_TIMEOUT)
        except (PublishError, TimeoutError) as exc:
            log.info("quota of account %s unknown: %s", account.id, exc)
            return Usage(unknown=True)
        return Usage(quota=replace(live, used=live.used + 1))
    if account.platform in LEDGER_PLATFORMS:
        spent, _frees = await ledger_points(session, account.id, now)
        return Usage(quota=replace(spent, used=spent.used + bluesky_points(max(parts, 1))))
    return Usage()


async def ledger_points(
    session: AsyncSession, account_id: int, now: datetime
) -> tuple[Quota, datetime]:
    """Bluesky's write points spent by our posts on this account in the last hour and day (a
    record per part, 3 points each), and when the tighter window frees its oldest points."""
    day = WINDOWS["day"]
    rows = (
        await session.execute(
            select(Publication.part_ids, Publication.published_at).where(
                Publication.account_id == account_id,
                Publication.status.in_(_WENT_OUT),
                Publication.published_at > now - day,
            )
        )
    ).all()
    hour_start = now - WINDOWS["hour"]
    spent = [
        (at, bluesky_points(len(part_ids.split(",")) if part_ids else 1))
        for part_ids, at in rows
        if at is not None
    ]
    quota = bluesky_quota(
        sum(points for at, points in spent if at > hour_start), sum(p for _at, p in spent)
    )
    window = WINDOWS[quota.window]
    oldest = min((at for at, _p in spent if at > now - window), default=None)
    return quota, rolling_reset(oldest, window, now, window)


async def quota_reset(
    session: AsyncSession, account: Account, exc: QuotaUsedUp, now: datetime
) -> datetime:
    """When the used-up quota has room again. For a moving window (Threads, Instagram) that is
    when our oldest post in it leaves it (posts made elsewhere can only free a place sooner);
    otherwise the platform's own reset."""
    said = now + timedelta(seconds=exc.retry_after)
    window = WINDOWS.get(exc.window)
    if account.platform not in MOVING_WINDOW_PLATFORMS or window is None:
        return said
    oldest = await session.scalar(
        select(func.min(Publication.published_at)).where(
            Publication.account_id == account.id,
            Publication.status.in_(_WENT_OUT),
            Publication.published_at > now - window,
        )
    )
    return rolling_reset(oldest, window, now, timedelta(seconds=exc.retry_after))


async def move_slot(
    session: AsyncSession, pub_id: int, account_id: int, after: datetime, default_tz: str
) -> datetime:
    """The first free posting slot of the target after ``after`` (the quota's reset), in the
    post author's time zone; ``after`` itself when no slot is free in the weeks searched."""
    tz_name = await session.scalar(
        select(User.timezone)
        .join(Post, Post.author_id == User.id)
        .join(Publication, Publication.post_id == Post.id)
        .where(Publication.id == pub_id)
    )
    slot = await next_free_slot(
        session, [account_id], now=after, tz=ZoneInfo(tz_name or default_tz)
    )
    return slot or after
