"""The dispatcher against real databases and the loopback Telegram server: exactly-once delivery
with several dispatchers (each with its own engine, as separate worker processes would have),
and the once-per-period guard."""

from __future__ import annotations

import asyncio

import httpx

from bot.app import TargetPublishers, prepare_database
from config.settings import Settings
from publishers.telegram_limits import TelegramLimits
from scheduler.dispatcher import DispatchConfig, PublicationDispatcher
from scheduler.lifecycle import schedule_post
from scheduler.notify import PublishReport, SilentNotifier
from storage import repositories as repo
from storage.crypto import Vault, generate_key
from storage.db import create_engine, make_session_factory
from storage.models import Post, PostStatus, User
from tests.clock import FakeClock
from tests.conftest import CHANNEL, OWNER
from tests.fakes.telegram import FakeTelegram

POSTS = 500


class RecordingNotifier(SilentNotifier):
    def __init__(self) -> None:
        self.settled: list[PublishReport] = []

    async def post_settled(self, report: PublishReport) -> None:
        self.settled.append(report)


async def seed_due_posts(settings: Settings, clock: FakeClock, count: int) -> None:
    await prepare_database(settings)
    engine = create_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    async with sessions() as session:
        session.add(User(id=OWNER, language="en"))
        await repo.ensure_account(session, "telegram", CHANNEL)
        posts = [
            Post(author_id=OWNER, brief=f"b{i}", text=f"post number {i}", offline=True)
            for i in range(count)
        ]
        session.add_all(posts)
        await session.commit()
        for post in posts:
            assert await schedule_post(session, post, clock.now())
    await engine.dispose()


async def test_two_dispatchers_publish_each_post_exactly_once(
    tg: FakeTelegram, make_settings, clock: FakeClock
) -> None:
    settings = make_settings()
    await seed_due_posts(settings, clock, POSTS)
    notifiers = [RecordingNotifier(), RecordingNotifier()]
    engines = [create_engine(settings.resolved_database_url) for _ in notifiers]
    async with httpx.AsyncClient() as http:
        # Telegram's rate limits are the limiter's own tests; here they are lifted
        limits = TelegramLimits(group_limit=10_000, global_limit=10_000)
        publishers = TargetPublishers(
            settings, http, limits, Vault(generate_key()), make_session_factory(engines[0])
        )
        dispatchers = [
            PublicationDispatcher(
                make_session_factory(engine),
                publishers.for_account,
                notifier,
                clock,
                DispatchConfig(batch_size=25, concurrency=8),
            )
            for engine, notifier in zip(engines, notifiers, strict=True)
        ]
        attempted = await asyncio.gather(*(d.run_once() for d in dispatchers))
    for engine in engines:
        await engine.dispose()

    texts = [m.text for m in tg.messages(CHANNEL)]
    assert len(texts) == POSTS and len(set(texts)) == POSTS
    sends = [c for c in tg.calls if c.method == "sendMessage" and c.params["chat_id"] == CHANNEL]
    assert len(sends) == POSTS
    assert sum(attempted) == POSTS
    settled = [r.post_id for n in notifiers for r in n.settled]
    assert sorted(settled) == list(range(1, POSTS + 1))  # each owner report exactly once
    assert all(r.status == PostStatus.PUBLISHED for n in notifiers for r in n.settled)


async def test_once_per_period_guard(make_settings) -> None:
    settings = make_settings()
    await prepare_database(settings)
    engines = [create_engine(settings.resolved_database_url) for _ in range(4)]

    async def claim(engine) -> bool:
        async with make_session_factory(engine)() as session:
            won = await repo.claim_period(session, "digest:2026-11-22")
            await session.commit()
            return won

    results = await asyncio.gather(*(claim(e) for e in engines))
    assert sorted(results) == [False, False, False, True]
    assert await claim(engines[0]) is False  # also after a "restart"
    async with make_session_factory(engines[0])() as session:
        assert await repo.claim_period(session, "digest:2026-11-23")
        await session.commit()
    for engine in engines:
        await engine.dispose()
