"""Leases that follow real work, and cancels that cannot lose a race: dispatchers against the real
databases (a SQLite file, and PostgreSQL when configured), each with its own engine as separate
worker processes would have, sending to the loopback Telegram server. A "crash" is a pass
cancelled while its send hangs unanswered: no outcome is written and no heartbeat beats again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event, select
from sqlalchemy.util import await_only

from bot.app import TargetPublishers
from config.settings import Settings
from publishers.telegram_limits import TelegramLimits
from scheduler import lifecycle
from scheduler.dispatcher import DispatchConfig, PublicationDispatcher
from scheduler.runtime import SWEEP_SECONDS, SchedulerRuntime, run_periodic
from storage import repositories as repo
from storage.crypto import Vault, generate_key
from storage.db import create_engine, make_session_factory
from storage.models import Post, PostStatus, Publication, PublicationStatus
from tests.clock import FakeClock
from tests.conftest import CHANNEL
from tests.fakes.telegram import FakeTelegram
from tests.test_dispatcher import RecordingNotifier, seed_due_posts

#: Beats fast in real time, while the fake clock decides what a lease is.
FAST_BEAT = DispatchConfig(heartbeat=timedelta(seconds=0.05), batch_size=1)


class AskingNotifier(RecordingNotifier):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[int] = []

    async def publication_unsure(self, publication_id: int) -> None:
        self.asked.append(publication_id)


Workers = Callable[..., PublicationDispatcher]


@asynccontextmanager
async def workers(settings: Settings, clock: FakeClock) -> AsyncIterator[Workers]:
    """Build dispatchers like separate worker processes: each its own engine, HTTP client,
    rate limiter and notifier."""
    engines: list[Any] = []
    clients: list[httpx.AsyncClient] = []

    def make(config: DispatchConfig = FAST_BEAT) -> PublicationDispatcher:
        """A worker; unless named, named apart from the others (as on separate hosts)."""
        if not config.worker_name:
            config = replace(config, worker_name=f"host-{len(engines)}")
        engines.append(create_engine(settings.resolved_database_url))
        sessions = make_session_factory(engines[-1])
        # a held send must outlast the test's own steps on a loaded machine
        clients.append(httpx.AsyncClient(timeout=60))
        limits = TelegramLimits(group_limit=10_000, global_limit=10_000)
        publishers = TargetPublishers(
            settings, clients[-1], limits, Vault(generate_key()), sessions
        )
        return PublicationDispatcher(
            sessions, publishers.for_account, AskingNotifier(), clock, config
        )

    try:
        yield make
    finally:
        for client in clients:
            await client.aclose()
        for engine in engines:
            await engine.dispose()


def asked(dispatcher: PublicationDispatcher) -> list[int]:
    notifier = dispatcher.notifier
    assert isinstance(notifier, AskingNotifier)
    return notifier.asked


async def publications(dispatcher: PublicationDispatcher) -> list[Publication]:
    async with dispatcher.sessions() as session:
        return list(await session.scalars(select(Publication).order_by(Publication.id)))


async def sending_started(tg: FakeTelegram, count: int = 1) -> None:
    await tg.wait_for(lambda: len(tg.calls_to("sendMessage", CHANNEL)) >= count)


async def crash(task: asyncio.Task[Any], dispatcher: PublicationDispatcher) -> None:
    """The process dies mid-send: its pass stops and its database connections close."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await dispatcher.sessions.kw["bind"].dispose()


@asynccontextmanager
async def held_sends(
    tg: FakeTelegram, make_settings: Callable[..., Settings], clock: FakeClock, posts: int
) -> AsyncIterator[tuple[Workers, asyncio.Event]]:
    """`posts` posts due now, sends to the channel left unanswered until the event is set,
    and a maker of workers."""
    settings = make_settings()
    await seed_due_posts(settings, clock, posts)
    release = tg.hold("sendMessage", CHANNEL)
    async with workers(settings, clock) as make:
        yield make, release


async def test_a_slow_send_keeps_its_claim_alive_and_goes_out_once(
    tg: FakeTelegram, make_settings, clock: FakeClock
) -> None:
    async with held_sends(tg, make_settings, clock, 1) as (make, release):
        slow, other = make(), make()
        sending = asyncio.create_task(slow.run_once())
        await sending_started(tg)
        clock.advance(minutes=5)  # far longer than the lease, but the worker is alive

        async def renewed() -> bool:
            (pub,) = await publications(other)
            return pub.claimed_at == clock.now()

        for _ in range(100):
            if await renewed():
                break
            await asyncio.sleep(0.02)
        assert await renewed()
        assert await other.sweep() == 0 and await other.recover() == 0
        release.set()
        assert await sending == 1
        (pub,) = await publications(other)
    assert (pub.status, pub.last_error) == (PublicationStatus.PUBLISHED, None), pub.last_error
    assert len(tg.messages(CHANNEL)) == 1
    assert asked(slow) == asked(other) == []


async def test_a_crashed_worker_is_asked_about_within_two_minutes_by_one_process(
    tg: FakeTelegram, make_settings, clock: FakeClock
) -> None:
    async with held_sends(tg, make_settings, clock, 1) as (make, _never):
        doomed, survivors = make(), [make(), make()]
        task = asyncio.create_task(doomed.run_once())
        await sending_started(tg)
        await crash(task, doomed)

        minutes = 0
        while not any(asked(s) for s in survivors):
            clock.advance(minutes=1)
            minutes += 1
            swept = await asyncio.gather(*(s.sweep() for s in survivors))
            assert sorted(swept)[0] == 0  # one process sweeps each minute
        assert minutes <= 2
        (pub,) = await publications(survivors[0])
        assert [pub.id] == [*asked(survivors[0]), *asked(survivors[1])]
        assert pub.status == PublicationStatus.UNKNOWN
        clock.advance(hours=1)
        assert await survivors[0].run_once() == 0  # never sent again silently
    assert len(tg.calls_to("sendMessage", CHANNEL)) == 1


async def test_a_restarted_worker_takes_its_own_dead_claims_over_at_once(
    tg: FakeTelegram, make_settings, clock: FakeClock
) -> None:
    box, other = (replace(FAST_BEAT, worker_name=name) for name in ("box", "other"))
    async with held_sends(tg, make_settings, clock, 2) as (make, release):
        dead = make(box)
        task = asyncio.create_task(dead.run_once())
        await sending_started(tg)
        await crash(task, dead)
        alive = make(other)
        still_sending = asyncio.create_task(alive.run_once())
        await sending_started(tg, 2)

        clock.advance(seconds=10)  # well inside the lease
        restarted = make(box)
        assert await restarted.recover() == 1
        first, second = await publications(restarted)
        assert asked(restarted) == [first.id]
        assert (first.status, second.status) == (
            PublicationStatus.UNKNOWN,
            PublicationStatus.PUBLISHING,  # another worker's live claim is left alone
        )
        release.set()
        assert await still_sending == 1
        first, second = await publications(restarted)
    assert (first.status, second.status) == (
        PublicationStatus.UNKNOWN,
        PublicationStatus.PUBLISHED,
    )


async def test_a_late_outcome_after_the_sweep_is_recorded_not_lost(
    tg: FakeTelegram, make_settings, clock: FakeClock
) -> None:
    stalled_config = replace(FAST_BEAT, heartbeat=timedelta(hours=1))
    async with held_sends(tg, make_settings, clock, 1) as (make, release):
        stalled, sweeper = make(stalled_config), make()
        task = asyncio.create_task(stalled.run_once())
        await sending_started(tg)
        clock.advance(minutes=2)  # its heartbeat stalled: the sweep takes the claim
        assert await sweeper.sweep() == 1
        release.set()
        assert await task == 1
        (pub,) = await publications(sweeper)
    # the send did go out: that is recorded, so the owner's question has its answer
    assert pub.status == PublicationStatus.PUBLISHED and pub.url
    assert len(tg.messages(CHANNEL)) == 1


async def test_cancel_racing_a_claim_never_shows_a_sent_post_as_a_draft(
    tg: FakeTelegram, make_settings, clock: FakeClock
) -> None:
    """The dispatcher claims and sends the post between the owner's view of it (scheduled,
    nothing sent) and the cancel's write: the cancel loses and says so."""
    settings = make_settings()
    await seed_due_posts(settings, clock, 1)
    async with workers(settings, clock) as make:
        dispatcher = make()
        engine = create_engine(settings.resolved_database_url)
        raced: list[int] = []

        def claim_first(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("UPDATE PUBLICATIONS") and not raced:
                raced.append(await_only(dispatcher.run_once()))

        event.listen(engine.sync_engine, "before_cursor_execute", claim_first)
        try:
            async with make_session_factory(engine)() as session:
                post = await repo.get_post(session, 1)
                assert post is not None and post.status == PostStatus.SCHEDULED
                assert (await lifecycle.progress(session, 1)).waiting == 1
                verdict = await lifecycle.cancel_scheduled(session, 1)
        finally:
            await engine.dispose()
        assert raced == [1]
        async with dispatcher.sessions() as session:
            status = await session.scalar(select(Post.status).where(Post.id == 1))
    assert not verdict.done and verdict.found == PostStatus.PUBLISHED == status
    assert len(tg.messages(CHANNEL)) == 1


async def test_cancel_with_a_target_on_its_way_cancels_only_the_waiting_ones(
    tg: FakeTelegram, make_settings, clock: FakeClock
) -> None:
    settings = make_settings()
    await seed_due_posts(settings, clock, 1)
    async with workers(settings, clock) as make:
        dispatcher = make()
        async with dispatcher.sessions() as session:
            second = await repo.ensure_account(session, "telegram", "@second_channel")
            session.add(
                Publication(post_id=1, account_id=second.id, text="x", next_attempt_at=None)
            )
            await session.commit()
        release = tg.hold("sendMessage", CHANNEL)
        sending = asyncio.create_task(dispatcher.run_once())  # claims the due one only
        await sending_started(tg)
        async with dispatcher.sessions() as session:
            verdict = await lifecycle.cancel_scheduled(session, 1)
        assert verdict.done and verdict.found == PostStatus.SCHEDULED
        assert verdict.moved == ("Telegram @second_channel",)
        assert verdict.progress.sending == ("Telegram @nexus_channel",)
        release.set()
        await sending
        assert await dispatcher.run_once() == 0
        async with dispatcher.sessions() as session:
            post = await repo.get_post(session, 1)
            assert post is not None and post.status == PostStatus.PUBLISHED
    settled = dispatcher.notifier.settled  # type: ignore[attr-defined]
    assert [(r.post_id, [o.target for o in r.outcomes]) for r in settled] == [
        (1, ["Telegram @nexus_channel"])
    ]


async def test_the_runtime_recovers_at_start_and_sweeps_every_minute(
    tg: FakeTelegram, make_settings, clock: FakeClock
) -> None:
    async with held_sends(tg, make_settings, clock, 2) as (make, _never):
        dead = make(replace(FAST_BEAT, worker_name="box"))
        task = asyncio.create_task(dead.run_once())
        await sending_started(tg)
        await crash(task, dead)
        other = make()
        task = asyncio.create_task(other.run_once())
        await sending_started(tg, 2)
        await crash(task, other)

        runtime = SchedulerRuntime(make(replace(FAST_BEAT, worker_name="box")), clock)
        await runtime.start()  # its own earlier claim is dead at once
        try:
            assert asked(runtime.dispatcher) == [1]
            job = runtime.scheduler.get_job(f"{runtime.id}:sweep")
            assert job is not None and job.trigger.interval == timedelta(seconds=SWEEP_SECONDS)
            clock.advance(seconds=SWEEP_SECONDS + 1)  # the other worker's lease has run out
            await run_periodic(runtime.id, "sweep")
            assert asked(runtime.dispatcher) == [1, 2]
        finally:
            await runtime.shutdown()
