"""The read side of /stats (and of the daily digest): what was published in a period and how it
did, what the AI cost, how the audience grew.

Everything here is a read-only query on one session; nothing commits. Engagement is
likes + reposts + replies from the counters copied onto each publication by the metrics sync
(or by Telegram's reaction updates), so a period costs one pass over its publications, never
over the much larger snapshot table.

A "post" in these numbers is a post on one target (a publication): a post that went to two
platforms counts once on each, which is what a per-platform breakdown needs. ``PeriodStats.posts``
also says how many distinct posts were behind them.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from publishers.registry import account_label, platform_name, target_label
from storage.models import (
    Account,
    AccountSnapshot,
    AiUsage,
    Publication,
    PublicationStatus,
)


@dataclass(frozen=True)
class PostLine:
    """One published post on one target, with its latest counters."""

    publication_id: int
    post_id: int
    platform: str
    target: str
    url: str | None
    published_at: datetime
    likes: int
    reposts: int
    replies: int
    views: int | None
    #: When the counters were last synced (None: never yet).
    metrics_at: datetime | None

    @property
    def engagement(self) -> int:
        return self.likes + self.reposts + self.replies


@dataclass(frozen=True)
class DayPoint:
    """One local calendar day: publications that went out that day and their engagement."""

    day: date
    posts: int
    engagement: int


@dataclass(frozen=True)
class PlatformTotals:
    platform: str
    posts: int
    engagement: int


@dataclass(frozen=True)
class FollowerTrend:
    """An account's audience at the first and the last snapshot of the period."""

    account_id: int
    platform: str
    target: str
    first: int
    last: int

    @property
    def change(self) -> int:
        return self.last - self.first


@dataclass(frozen=True)
class PeriodStats:
    since: datetime
    until: datetime
    platform: str | None
    #: Publications in the period (a post on two targets counts twice).
    publications: int
    #: Distinct posts behind them.
    posts: int
    total_engagement: int
    #: Median engagement per publication (None when nothing was published).
    median_engagement: float | None
    #: The most engaging publication (the later one on a tie); None if nothing had any.
    best: PostLine | None
    #: Every local day of the period, oldest first, zeros included (the chart's x axis).
    days: tuple[DayPoint, ...]
    #: Per platform, most engaging first (one entry when ``platform`` is given).
    platforms: tuple[PlatformTotals, ...]
    followers: tuple[FollowerTrend, ...]

    @property
    def empty(self) -> bool:
        return self.publications == 0


@dataclass(frozen=True)
class AiSpend:
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass(frozen=True)
class PlatformSpend:
    """What one platform charged for our posts (the ledger's ``cost_usd``): "X 23 posts"."""

    platform: str
    posts: int
    cost_usd: float


#: The default zone of the per-day series.
UTC_ZONE = ZoneInfo("UTC")


async def published_lines(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    platform: str | None = None,
    brand_id: int | None = None,
) -> list[PostLine]:
    """Publications published in [since, until), oldest first (optionally on one platform,
    optionally on one brand's accounts)."""
    stmt = (
        select(
            Publication.id,
            Publication.post_id,
            Account.platform,
            Account.title,
            Account.handle,
            Publication.url,
            Publication.published_at,
            Publication.likes,
            Publication.reposts,
            Publication.replies,
            Publication.views,
            Publication.metrics_at,
        )
        .join(Account, Account.id == Publication.account_id)
        .where(
            Publication.status == PublicationStatus.PUBLISHED,
            Publication.published_at >= since,
            Publication.published_at < until,
        )
        .order_by(Publication.published_at, Publication.id)
    )
    if platform is not None:
        stmt = stmt.where(Account.platform == platform)
    if brand_id is not None:  # a brand's posts go out on its own accounts alone
        stmt = stmt.where(Account.brand_id == brand_id)
    rows = await session.execute(stmt)
    return [
        PostLine(
            publication_id=pub_id,
            post_id=post_id,
            platform=plat,
            target=target_label(plat, title, handle),
            url=url,
            published_at=published_at or since,  # never None: the WHERE filters on it
            likes=likes or 0,
            reposts=reposts or 0,
            replies=replies or 0,
            views=views,
            metrics_at=metrics_at,
        )
        for (
            pub_id,
            post_id,
            plat,
            title,
            handle,
            url,
            published_at,
            likes,
            reposts,
            replies,
            views,
            metrics_at,
        ) in rows
    ]


def local_days(since: datetime, until: datetime, tz: ZoneInfo) -> list[date]:
    """The local calendar days that [since, until) touches, in order."""
    first = since.astimezone(tz).date()
    last = (until - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def summarize(
    lines: Sequence[PostLine],
    *,
    since: datetime,
    until: datetime,
    platform: str | None = None,
    tz: ZoneInfo = UTC_ZONE,
    followers: Sequence[FollowerTrend] = (),
) -> PeriodStats:
    """The numbers of a period from its publications (pure: the digest reuses it on lines it
    already has)."""
    engagements = [line.engagement for line in lines]
    best = max(lines, key=lambda line: (line.engagement, line.published_at), default=None)
    by_day: dict[date, list[int]] = {day: [0, 0] for day in local_days(since, until, tz)}
    by_platform: dict[str, list[int]] = {}
    for line in lines:
        day = by_day.setdefault(line.published_at.astimezone(tz).date(), [0, 0])
        day[0] += 1
        day[1] += line.engagement
        totals = by_platform.setdefault(line.platform, [0, 0])
        totals[0] += 1
        totals[1] += line.engagement
    return PeriodStats(
        since=since,
        until=until,
        platform=platform,
        publications=len(lines),
        posts=len({line.post_id for line in lines}),
        total_engagement=sum(engagements),
        median_engagement=statistics.median(engagements) if engagements else None,
        best=best if best is not None and best.engagement > 0 else None,
        days=tuple(DayPoint(day, n, e) for day, (n, e) in sorted(by_day.items())),
        platforms=tuple(
            PlatformTotals(name, n, e)
            for name, (n, e) in sorted(by_platform.items(), key=lambda kv: (-kv[1][1], kv[0]))
        ),
        followers=tuple(followers),
    )


async def follower_trends(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    platform: str | None = None,
    brand_id: int | None = None,
) -> list[FollowerTrend]:
    """First and last audience snapshot of each account (of ``brand_id``, when given) in
    [since, until), for accounts with at least one snapshot there."""
    window = (AccountSnapshot.taken_at >= since, AccountSnapshot.taken_at < until)
    bounds = (
        select(
            AccountSnapshot.account_id,
            func.min(AccountSnapshot.taken_at).label("first_at"),
            func.max(AccountSnapshot.taken_at).label("last_at"),
        )
        .where(*window)
        .group_by(AccountSnapshot.account_id)
        .subquery()
    )
    stmt = (
        select(AccountSnapshot.account_id, AccountSnapshot.taken_at, AccountSnapshot.followers)
        .join(bounds, bounds.c.account_id == AccountSnapshot.account_id)
        .where(AccountSnapshot.taken_at.in_([bounds.c.first_at, bounds.c.last_at]), *window)
        .order_by(AccountSnapshot.account_id, AccountSnapshot.taken_at, AccountSnapshot.id)
    )
    values: dict[int, list[int]] = {}
    for account_id, _taken_at, followers in await session.execute(stmt):
        values.setdefault(account_id, []).append(followers)
    if not values:
        return []
    accounts = await session.scalars(select(Account).where(Account.id.in_(values)))
    trends = [
        FollowerTrend(a.id, a.platform, account_label(a), values[a.id][0], values[a.id][-1])
        for a in accounts
        if (platform is None or a.platform == platform)
        and (brand_id is None or a.brand_id == brand_id)
    ]
    return sorted(trends, key=lambda trend: trend.account_id)


async def period_stats(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    platform: str | None = None,
    tz: ZoneInfo = UTC_ZONE,
    brand_id: int | None = None,
) -> PeriodStats:
    """Publications, engagement (total, median, best post), a per-day series in ``tz`` and
    follower trends for [since, until), on one platform or all (``platform=None``), of one
    brand or all (``brand_id=None``)."""
    lines = await published_lines(
        session, since=since, until=until, platform=platform, brand_id=brand_id
    )
    followers = await follower_trends(
        session, since=since, until=until, platform=platform, brand_id=brand_id
    )
    return summarize(lines, since=since, until=until, platform=platform, tz=tz, followers=followers)


async def ai_spend(
    session: AsyncSession, *, since: datetime, until: datetime, brand_id: int | None = None
) -> AiSpend:
    """AI calls, tokens and estimated cost in [since, until) from the ``ai_usage`` rows: of one
    brand, or of the whole install (``brand_id=None``: the budget is the install's key's)."""
    row = (
        await session.execute(
            select(
                func.count(AiUsage.id),
                func.coalesce(func.sum(AiUsage.input_tokens), 0),
                func.coalesce(func.sum(AiUsage.output_tokens), 0),
                func.coalesce(func.sum(AiUsage.cost_usd), 0.0),
            ).where(
                AiUsage.at >= since,
                AiUsage.at < until,
                true() if brand_id is None else AiUsage.brand_id == brand_id,
            )
        )
    ).one()
    return AiSpend(int(row[0]), int(row[1]), int(row[2]), float(row[3]))


async def platform_spend(
    session: AsyncSession, *, since: datetime, until: datetime, brand_id: int | None = None
) -> tuple[PlatformSpend, ...]:
    """The platforms' charges for publications that went out in [since, until), by platform
    as the owner names it (both ways of signing in to X are "X"), the costliest first. A post
    taken down later was paid for all the same."""
    rows = await session.execute(
        select(
            Account.platform,
            func.count(Publication.id),
            func.coalesce(func.sum(Publication.cost_usd), 0.0),
        )
        .join(Account, Account.id == Publication.account_id)
        .where(
            Publication.cost_usd.is_not(None),
            Publication.status.in_([PublicationStatus.PUBLISHED, PublicationStatus.DELETED]),
            Publication.published_at >= since,
            Publication.published_at < until,
            true() if brand_id is None else Account.brand_id == brand_id,
        )
        .group_by(Account.platform)
    )
    merged: dict[str, tuple[int, float]] = {}
    for key, posts, cost in rows:
        name = platform_name(key)
        before = merged.get(name, (0, 0.0))
        merged[name] = (before[0] + int(posts), before[1] + float(cost or 0.0))
    spends = [PlatformSpend(name, posts, cost) for name, (posts, cost) in merged.items()]
    return tuple(sorted(spends, key=lambda s: (-s.cost_usd, s.platform)))


def month_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Midnight of the first day of ``now``'s local month, as a UTC instant."""
    local = now.astimezone(tz)
    return datetime(local.year, local.month, 1, tzinfo=tz).astimezone(UTC)


def day_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Local midnight of ``now``'s day, as a UTC instant."""
    local = now.astimezone(tz)
    return datetime(local.year, local.month, local.day, tzinfo=tz).astimezone(UTC)


async def platforms_used(session: AsyncSession, brand_id: int | None = None) -> list[str]:
    """Platforms that have at least one published publication (the /stats platform buttons),
    on the accounts of ``brand_id`` when given."""
    rows = await session.scalars(
        select(Account.platform)
        .join(Publication, Publication.account_id == Account.id)
        .where(
            Publication.status == PublicationStatus.PUBLISHED,
            true() if brand_id is None else Account.brand_id == brand_id,
        )
        .distinct()
        .order_by(Account.platform)
    )
    return list(rows)


async def post_targets(session: AsyncSession, post_id: int) -> list[PostLine]:
    """Every published target of one post with its counters, links and last sync time."""
    pubs = await session.scalars(
        select(Publication)
        .where(
            Publication.post_id == post_id,
            Publication.status == PublicationStatus.PUBLISHED,
        )
        .order_by(Publication.id)
    )
    return [
        PostLine(
            publication_id=p.id,
            post_id=p.post_id,
            platform=p.account.platform,
            target=account_label(p.account),
            url=p.url,
            published_at=p.published_at or p.updated_at,
            likes=p.likes,
            reposts=p.reposts,
            replies=p.replies,
            views=p.views,
            metrics_at=p.metrics_at,
        )
        for p in pubs
    ]


@dataclass(frozen=True)
class Overview:
    """Everything /stats shows for one period and platform choice."""

    stats: PeriodStats
    #: AI use of the current local month (not of the period: budgets are monthly).
    ai: AiSpend
    #: The platforms' charges of the current local month.
    spend: tuple[PlatformSpend, ...]
    #: Platforms with published posts (the platform buttons).
    platforms: tuple[str, ...]


async def overview(
    session: AsyncSession,
    *,
    now: datetime,
    days: int,
    platform: str | None = None,
    tz: ZoneInfo = UTC_ZONE,
    brand_id: int | None = None,
) -> Overview:
    """The last ``days`` days up to ``now`` on one platform (or all), AI spend this month; of
    one brand (or the whole install)."""
    stats = await period_stats(
        session,
        since=now - timedelta(days=days),
        until=now,
        platform=platform,
        tz=tz,
        brand_id=brand_id,
    )
    month = month_start(now, tz)
    ai = await ai_spend(session, since=month, until=now, brand_id=brand_id)
    spend = await platform_spend(session, since=month, until=now, brand_id=brand_id)
    return Overview(stats, ai, spend, tuple(await platforms_used(session, brand_id)))
