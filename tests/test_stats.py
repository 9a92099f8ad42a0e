"""The /stats numbers, the chart and the best time to post, on a seeded database (SQLite and
PostgreSQL): exact totals, medians and best posts, a PNG of the promised size, and "next free
slot" using the learned times."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from metrics.best_time import best_hours, best_time, learn, slot_fallback
from metrics.chart import CHART_SIZE, render_chart
from metrics.stats import DayPoint, ai_spend, month_start, period_stats, post_targets
from scheduler.slots import next_free_slot
from storage import repositories as repo
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import (
    FIRST_BRAND_ID,
    Account,
    AccountSnapshot,
    AiUsage,
    Post,
    PostStatus,
    Publication,
    PublicationStatus,
    User,
)
from tests.conftest import CHANNEL, OWNER

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # the FakeClock's start, a Sunday
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(database_url)
    await upgrade(engine)
    yield make_session_factory(engine)
    await engine.dispose()


@dataclass(frozen=True)
class Seed:
    """One published post: how long before NOW, where, and its counters."""

    ago: timedelta
    platform: str
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    url: str | None = None


async def seed(session: AsyncSession, seeds: Sequence[Seed]) -> dict[str, Account]:
    """The owner, a Telegram channel and a Mastodon account, and one published post per seed
    (posts whose seeds share ``ago`` become one post on several targets)."""
    if await session.get(User, OWNER) is None:
        session.add(User(id=OWNER, language="en"))
    accounts = {
        "telegram": await repo.ensure_account(session, "telegram", CHANNEL),
        "mastodon": await repo.ensure_account(
            session, "mastodon", "@me@social.example", "@me@social.example"
        ),
    }
    posts: dict[timedelta, Post] = {}
    for s in seeds:
        when = NOW - s.ago
        post = posts.get(s.ago)
        if post is None:
            post = Post(
                author_id=OWNER,
                brief="b",
                text=f"post {len(posts)}",
                status=PostStatus.PUBLISHED,
                published_at=when,
                scheduled_at=when,
            )
            session.add(post)
            await session.flush()
            posts[s.ago] = post
        session.add(
            Publication(
                post_id=post.id,
                account_id=accounts[s.platform].id,
                text=post.text,
                status=PublicationStatus.PUBLISHED,
                external_id=str(post.id),
                part_ids=str(post.id),
                url=s.url,
                published_at=when,
                likes=s.likes,
                reposts=s.reposts,
                replies=s.replies,
            )
        )
    await session.commit()
    return accounts


WEEK = [
    Seed(timedelta(days=1), "telegram", likes=10, url="https://t.me/nexus_channel/1"),
    Seed(timedelta(days=1), "mastodon", likes=3, reposts=2, replies=1, url="https://m/1"),
    Seed(timedelta(days=2), "mastodon", likes=20, reposts=5, replies=4, url="https://m/2"),
    Seed(timedelta(days=3, hours=5), "telegram", likes=1, url="https://t.me/nexus_channel/2"),
    Seed(timedelta(days=6, hours=23), "mastodon", likes=2),
    Seed(timedelta(days=8), "mastodon", likes=100, url="https://m/old"),  # outside 7 days
    Seed(timedelta(days=40), "telegram", likes=500),  # outside 30 days
]


async def test_period_stats_totals_median_best_and_days(sessions: Sessions) -> None:
    async with sessions() as session:
        await seed(session, WEEK)
        week = await period_stats(session, since=NOW - timedelta(days=7), until=NOW)
        mastodon = await period_stats(
            session, since=NOW - timedelta(days=7), until=NOW, platform="mastodon"
        )
        month = await period_stats(session, since=NOW - timedelta(days=30), until=NOW)

    assert (week.publications, week.posts) == (5, 4)
    # engagements 10, 6, 29, 1, 2
    assert week.total_engagement == 48
    assert week.median_engagement == 6
    assert week.best is not None and week.best.url == "https://m/2"
    assert week.best.engagement == 29 and week.best.platform == "mastodon"
    assert [(p.platform, p.posts, p.engagement) for p in week.platforms] == [
        ("mastodon", 3, 37),
        ("telegram", 2, 11),
    ]
    assert len(week.days) == 8  # 15.11 09:00 → 22.11 09:00 touches eight calendar days
    assert week.days[0].day == date(2026, 11, 15) and week.days[-1].day == date(2026, 11, 22)
    assert sum(d.posts for d in week.days) == 5
    assert {d.day: d.engagement for d in week.days if d.posts} == {
        date(2026, 11, 15): 2,
        date(2026, 11, 19): 1,
        date(2026, 11, 20): 29,
        date(2026, 11, 21): 16,
    }

    assert (mastodon.publications, mastodon.total_engagement) == (3, 37)
    assert mastodon.median_engagement == 6
    assert [p.platform for p in mastodon.platforms] == ["mastodon"]

    assert (month.publications, month.total_engagement) == (6, 148)
    assert month.median_engagement == 8  # 1, 2, 6, 10, 29, 100
    assert month.best is not None and month.best.url == "https://m/old"


async def test_days_follow_the_owner_time_zone(sessions: Sessions) -> None:
    async with sessions() as session:
        # 22:30 UTC on Friday 20 Nov is Saturday 01:30 in Moscow
        await seed(session, [Seed(timedelta(hours=34, minutes=30), "telegram", likes=4)])
        utc = await period_stats(session, since=NOW - timedelta(days=7), until=NOW)
        moscow = await period_stats(
            session, since=NOW - timedelta(days=7), until=NOW, tz=ZoneInfo("Europe/Moscow")
        )
    assert [d.day for d in utc.days if d.posts] == [date(2026, 11, 20)]
    assert [d.day for d in moscow.days if d.posts] == [date(2026, 11, 21)]


async def test_empty_period(sessions: Sessions) -> None:
    async with sessions() as session:
        stats = await period_stats(session, since=NOW - timedelta(days=7), until=NOW)
    assert stats.empty and stats.best is None and stats.median_engagement is None
    assert stats.total_engagement == 0 and len(stats.days) == 8 and stats.followers == ()


async def test_ai_spend_this_month_and_follower_trend(sessions: Sessions) -> None:
    async with sessions() as session:
        accounts = await seed(session, [])
        for at, cost in [
            (NOW - timedelta(days=30), 9.0),  # October: not this month
            (NOW - timedelta(days=3), 0.25),
            (NOW - timedelta(hours=1), 0.5),
        ]:
            session.add(
                AiUsage(
                    at=at,
                    model="claude",
                    purpose="draft",
                    input_tokens=1000,
                    output_tokens=200,
                    cost_usd=cost,
                )
            )
        mastodon = accounts["mastodon"].id
        for days, followers in [(10, 50), (6, 100), (3, 110), (0.5, 125)]:
            session.add(
                AccountSnapshot(
                    account_id=mastodon,
                    taken_at=NOW - timedelta(days=days),
                    followers=followers,
                )
            )
        await session.commit()
        spend = await ai_spend(session, since=month_start(NOW, ZoneInfo("UTC")), until=NOW)
        week = await period_stats(session, since=NOW - timedelta(days=7), until=NOW)
        telegram_only = await period_stats(
            session, since=NOW - timedelta(days=7), until=NOW, platform="telegram"
        )
    assert (spend.calls, spend.input_tokens, spend.output_tokens) == (2, 2000, 400)
    assert spend.cost_usd == pytest.approx(0.75)
    [trend] = week.followers
    assert (trend.platform, trend.first, trend.last, trend.change) == ("mastodon", 100, 125, 25)
    assert telegram_only.followers == ()


async def test_post_targets(sessions: Sessions) -> None:
    async with sessions() as session:
        await seed(session, WEEK[:2])
        lines = await post_targets(session, 1)
    assert [(line.platform, line.engagement, line.url) for line in lines] == [
        ("telegram", 10, "https://t.me/nexus_channel/1"),
        ("mastodon", 6, "https://m/1"),
    ]


def test_month_start_is_local() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert month_start(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), berlin) == datetime(
        2026, 11, 30, 23, 0, tzinfo=UTC
    )


def test_chart_is_a_png_of_the_promised_size() -> None:
    days = [DayPoint(date(2026, 10, 24) + timedelta(days=i), i % 3, i * 7 % 40) for i in range(30)]
    for series in (days, days[:1], []):
        image = Image.open(io.BytesIO(render_chart(series, title="Last 30 days · все")))
        assert image.format == "PNG" and image.size == CHART_SIZE


# --- best time ---------------------------------------------------------------------------------


def history_of(*cells: tuple[int, int, int, int]) -> list[tuple[datetime, int]]:
    """(weekday, hour UTC, how many posts, engagement each) → samples in the last weeks."""
    samples = []
    monday = datetime(2026, 11, 9, tzinfo=UTC)
    for weekday, hour, count, engagement in cells:
        for week in range(count):
            when = monday - timedelta(weeks=week) + timedelta(days=weekday, hours=hour)
            samples.append((when, engagement))
    return samples


def test_learning_needs_enough_posts() -> None:
    few = history_of((1, 18, 9, 50))
    assert learn(few, ZoneInfo("UTC")) is None and best_hours(few, ZoneInfo("UTC")) == ()


def test_learning_finds_the_best_cell_in_local_time() -> None:
    history = history_of((1, 17, 3, 40), (1, 9, 4, 10), (3, 12, 3, 20), (4, 6, 2, 35))
    best = learn(history, ZoneInfo("UTC"))
    assert best is not None and (best.weekday, best.hour, best.posts) == (1, 17, 3)
    assert best.mean_engagement == 40
    berlin = learn(history, ZoneInfo("Europe/Berlin"))
    assert berlin is not None and (berlin.weekday, berlin.hour) == (1, 18)
    assert best_hours(history, ZoneInfo("UTC")) == (6 * 60, 17 * 60)


async def test_best_time_and_next_free_slot_from_history(sessions: Sessions) -> None:
    utc = ZoneInfo("UTC")
    # 12 posts: Tuesdays 17:00 UTC do best, Thursdays 07:00 next, Mondays 12:00 worst
    seeds = []
    for week in range(4):
        base = NOW - timedelta(days=5) - timedelta(weeks=week)  # Tue 17 Nov 09:00 and earlier
        seeds.append(Seed(NOW - (base + timedelta(hours=8)), "telegram", likes=30 + week))
        seeds.append(Seed(NOW - (base + timedelta(days=2, hours=-2)), "telegram", likes=20))
        seeds.append(Seed(NOW - (base - timedelta(days=1, hours=-3)), "telegram", likes=1))
    async with sessions() as session:
        accounts = await seed(session, seeds)
        best = await best_time(session, now=NOW, tz=utc, brand_id=FIRST_BRAND_ID)
        none_yet = await best_time(
            session, now=NOW, tz=utc, brand_id=FIRST_BRAND_ID, platform="mastodon"
        )
        telegram = [accounts["telegram"].id]
        learned = await slot_fallback(session, telegram, now=NOW, tz=utc)
        when = await next_free_slot(session, telegram, now=NOW, tz=utc, fallback=learned)
        default = await next_free_slot(session, [accounts["mastodon"].id], now=NOW, tz=utc)
        fallback_mastodon = await slot_fallback(session, [accounts["mastodon"].id], now=NOW, tz=utc)
    assert best is not None and (best.weekday, best.hour) == (1, 17)
    assert none_yet is None
    assert learned == (7 * 60, 17 * 60)
    assert when == datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # today 17:00, not 18:00
    assert fallback_mastodon == ()
    assert default == datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
