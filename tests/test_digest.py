"""The daily digest: its numbers from a seeded database, its words, exactly one a day per owner
(two app instances on one database, restarts), and /digest end to end through the fake
Telegram. Time is the FakeClock; the periodic job is called as the scheduler calls it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import Nexus, build_app
from config.settings import Settings
from metrics.digest import compose, digest_numbers
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import (
    FIRST_BRAND_ID,
    Account,
    Brand,
    Post,
    PostStatus,
    Publication,
    PublicationStatus,
    User,
)
from tests.clock import FakeClock
from tests.conftest import OWNER
from tests.fakes.telegram import FakeMessage, FakeTelegram
from ui import views
from ui.texts import Texts

StartNexus = Callable[..., Awaitable[Nexus]]
UTC_ZONE = ZoneInfo("UTC")
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # the FakeClock's start: Sun 22 Nov 2026


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


class Seeder:
    """Writes posts and publications as the dispatcher would have left them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def owner(self, user_id: int = OWNER, **fields: object) -> User:
        user = User(id=user_id, language="en", **fields)
        self.session.add(user)
        await self.session.flush()
        return user

    async def account(self, platform: str, handle: str) -> Account:
        account = Account(platform=platform, handle=handle, title=handle)
        self.session.add(account)
        await self.session.flush()
        return account

    async def published(
        self, account: Account, when: datetime, engagement: int, url: str | None = None
    ) -> Publication:
        post = await self._post(PostStatus.PUBLISHED, when)
        return await self._publication(
            post,
            account,
            status=PublicationStatus.PUBLISHED,
            published_at=when,
            url=url,
            likes=engagement,
        )

    async def failed(self, account: Account, when: datetime, reason: str) -> Publication:
        post = await self._post(PostStatus.FAILED, when)
        return await self._publication(
            post, account, status=PublicationStatus.FAILED, last_error=reason, updated_at=when
        )

    async def scheduled(self, account: Account, when: datetime) -> Publication:
        post = await self._post(PostStatus.SCHEDULED, when)
        return await self._publication(
            post, account, status=PublicationStatus.PENDING, next_attempt_at=when
        )

    async def _post(self, status: PostStatus, when: datetime) -> Post:
        post = Post(author_id=OWNER, brief="b", text="t", status=status, scheduled_at=when)
        self.session.add(post)
        await self.session.flush()
        return post

    async def _publication(self, post: Post, account: Account, **fields: object) -> Publication:
        pub = Publication(post_id=post.id, account_id=account.id, text="t", **fields)
        self.session.add(pub)
        await self.session.flush()
        return pub


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await upgrade(engine)
    yield make_session_factory(engine)
    await engine.dispose()


async def test_digest_numbers_from_a_seeded_database(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        seed = Seeder(session)
        await seed.owner()
        tg = await seed.account("telegram", "@nexus_channel")
        md = await seed.account("mastodon", "@nexus@mastodon.social")
        await seed.published(tg, at(13, 12), 1000)  # eight days back: outside the baseline
        for day, engagement in zip(range(14, 21), (10, 20, 30, 40, 50, 30, 20), strict=True):
            await seed.published(tg, at(day, 12), engagement)  # baseline median: 30
        await seed.published(tg, at(21, 8), 45, "https://t.me/nexus_channel/7")
        await seed.published(tg, at(21, 18), 15, "https://t.me/nexus_channel/8")
        top = await seed.published(md, at(21, 23, 59), 60, "https://mastodon.social/@nexus/9")
        await seed.published(tg, at(22, 8), 500)  # today: tomorrow's digest
        await seed.failed(tg, at(21, 15), "the bot is not an admin of @nexus_channel")
        await seed.failed(tg, at(20, 15), "an older failure")
        for hour, minute in ((15, 0), (10, 0), (20, 0), (12, 30)):
            await seed.scheduled(tg, at(22, hour, minute))
        await seed.scheduled(tg, at(22, 8))  # earlier today, still pending: not "ahead"
        await seed.scheduled(tg, at(23, 9))  # tomorrow
        await session.commit()

        numbers = await digest_numbers(session, now=NOW, tz=UTC_ZONE)

    assert numbers.day.isoformat() == "2026-11-21"
    assert [pub.engagement for pub in numbers.lines] == [45, 15, 60]
    assert numbers.yesterday.total_engagement == 120
    assert numbers.yesterday.median_engagement == 45
    assert numbers.baseline == 30
    assert numbers.change == pytest.approx(0.5)
    assert numbers.yesterday.best is not None
    assert numbers.yesterday.best.publication_id == top.id
    assert [(p.platform, p.posts) for p in numbers.yesterday.platforms] == [
        ("mastodon", 1),
        ("telegram", 2),
    ]
    assert [f.reason for f in numbers.failures] == ["the bot is not an admin of @nexus_channel"]
    assert [when.strftime("%H:%M") for when in numbers.queue] == [
        "10:00",
        "12:30",
        "15:00",
        "20:00",
    ]
    assert [day.engagement for day in numbers.series] == [10, 20, 30, 40, 50, 30, 20, 120]
    assert not numbers.quiet

    text = "\n".join(
        views.owner_report(Texts("en"), UTC_ZONE, compose(numbers, tz=UTC_ZONE, at="09:00"))
    )
    assert "Digest for Sat 21 Nov 2026" in text
    assert "Published: 3 (mastodon 1, telegram 2)" in text
    assert "120 in all, 45 per post, +50% against the 7-day median of 30" in text
    assert f'Top post: <a href="https://mastodon.social/@nexus/9">#{top.post_id}</a>' in text
    assert "Failed: 1" in text and "not an admin" in text
    assert "Today: 4 scheduled, first at 10:00, 12:30, 15:00, …" in text


async def test_a_day_with_nothing_is_a_short_quiet_digest(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        numbers = await digest_numbers(session, now=NOW, tz=ZoneInfo("Europe/Berlin"))
    report = compose(numbers, tz=ZoneInfo("Europe/Berlin"), at="08:00")
    assert numbers.quiet and report.photo is None
    assert [item.key for item in report.lines] == ["digest.title", "digest.quiet", "digest.footer"]
    words = views.owner_report(Texts("ru"), ZoneInfo("Europe/Berlin"), report)
    assert words[0] == "📊 <b>Сводка за сб, 21 ноября 2026</b>"


# --- end to end --------------------------------------------------------------------------------


def digests_in(tg: FakeTelegram) -> list[FakeMessage]:
    return [m for m in tg.messages(OWNER) if "Digest for" in m.text]


async def test_daily_digest_goes_out_once_per_day_across_instances_and_restarts(
    tg: FakeTelegram,
    nexus_factory: StartNexus,
    make_settings: Callable[..., Settings],
    clock: FakeClock,
) -> None:
    settings = {"NEXUS_DIGEST_AT": "09:30", "NEXUS_TIMEZONE": "Europe/Berlin"}
    first = await started(tg, nexus_factory, **settings)  # 09:00 UTC is 10:00 in Berlin
    # a second instance (a worker) on the same database: it never polls Telegram
    worker = build_app(make_settings(**settings), clock=clock)
    try:
        sent = await asyncio.gather(first.digests.run_due(), worker.digests.run_due())
        assert sorted(sent) == [0, 1]
        assert len(digests_in(tg)) == 1
        assert "Sat 21 Nov 2026" in digests_in(tg)[0].text
        assert "Daily at 09:30 (Europe/Berlin)" in digests_in(tg)[0].text

        clock.advance(minutes=1)
        assert await first.digests.run_due() + await worker.digests.run_due() == 0

        await first.dp.stop_polling()
        await first.aclose()  # a restart later the same day
        clock.current = datetime(2026, 11, 22, 22, 0, tzinfo=UTC)
        again = await nexus_factory(**settings)
        assert await again.digests.run_due() == 0

        clock.current = datetime(2026, 11, 23, 8, 29, tzinfo=UTC)  # 09:29 in Berlin
        assert await worker.digests.run_due() == 0
        clock.advance(minutes=1)
        assert await asyncio.gather(again.digests.run_due(), worker.digests.run_due()) in (
            [1, 0],
            [0, 1],
        )
        assert len(digests_in(tg)) == 2

        # down all of the 24th until 08:00 on the 25th: the 24th's digest is not sent late
        clock.current = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
        assert await again.digests.run_due() == 0
        # but up again late on the 25th, today's still goes out, once
        clock.current = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
        assert await again.digests.run_due() == 1
        assert await worker.digests.run_due() == 0
        assert "Tue 24 Nov 2026" in digests_in(tg)[-1].text
        assert len(digests_in(tg)) == 3
    finally:
        await worker.aclose()


async def started(tg: FakeTelegram, nexus_factory: StartNexus, **settings: str) -> Nexus:
    """The app once it has started (the channel's account exists) and knows the owner (reports
    go to owners who have talked to the bot)."""
    app = await nexus_factory(**settings)
    await tg.user_sends(OWNER, "/start")
    await tg.wait_message(OWNER, lambda m: "Nexus" in m.text)
    return app


async def test_digest_commands_end_to_end(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    nexus = await started(tg, nexus_factory)
    async with nexus.sessions() as session:
        seed = Seeder(session)
        account = await session.scalar(select(Account).where(Account.platform == "telegram"))
        assert account is not None
        await seed.published(account, at(21, 12), 7, "https://t.me/nexus_channel/1")
        await session.commit()

    await tg.user_sends(OWNER, "/digest")
    digest = await tg.wait_message(OWNER, lambda m: "Digest for" in m.text)
    assert digest.photo  # the chart, with the digest as its caption
    assert "Published: 1 (telegram 1)" in digest.text
    assert any(e.get("url") == "https://t.me/nexus_channel/1" for e in digest.entities)
    assert await nexus.digests.run_due() == 1  # /digest did not count as the daily one

    await tg.user_sends(OWNER, "/digest off")
    await tg.wait_message(OWNER, lambda m: "digest is off" in m.text)
    clock.advance(days=1)
    assert await nexus.digests.run_due() == 0

    await tg.user_sends(OWNER, "/digest at 25:99")
    await tg.wait_message(OWNER, lambda m: "can't read “25:99” as a time" in m.text)
    await tg.user_sends(OWNER, "/digest at 07:30")
    await tg.wait_message(OWNER, lambda m: "comes at 07:30 (UTC)" in m.text)
    async with nexus.sessions() as session:
        user = await session.get(User, OWNER)
        brand = await session.get(Brand, FIRST_BRAND_ID)
        assert user is not None and user.digest_enabled
        assert brand is not None and brand.digest_at == "07:30"  # the brand's, for everyone

    await tg.user_sends(OWNER, "/digest sometimes")
    await tg.wait_message(OWNER, lambda m: "moves it" in m.text and "/digest off" in m.text)
    await tg.user_sends(OWNER, "/digest off")
    await tg.wait_for(lambda: sum("digest is off" in m.text for m in tg.messages(OWNER)) == 2)
    await tg.user_sends(OWNER, "/digest on")
    await tg.wait_for(lambda: sum("comes at 07:30" in m.text for m in tg.messages(OWNER)) == 2)
    clock.current = datetime(2026, 11, 24, 7, 29, tzinfo=UTC)
    assert await nexus.digests.run_due() == 0
    clock.advance(minutes=1)
    assert await nexus.digests.run_due() == 1
    assert "digest" in [c["command"] for c in tg.commands]
