"""Automation across a crash: the backlog drains in one start at full speed, and an event a dead
worker left "processing" runs again exactly once (no second draft, post or message, no orphan
draft, no scheduled post reported as failed). The real app, the loopback Telegram, the fake
clock never advanced unless a lease must run out."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select

from automation import rulebook
from automation.engine import LEASE, MAX_ATTEMPTS, action_key
from bot.app import Nexus, prepare_database
from config.settings import Settings
from storage.db import create_engine, make_session_factory
from storage.models import Event, Post, PostStatus, Publication, Source
from tests.clock import FakeClock
from tests.conftest import OWNER
from tests.fakes.telegram import FakeTelegram
from tests.test_automation import (
    DRAFT_RULE,
    RELEASE,
    StartNexus,
    add_rules,
    failure_alerts,
    owner_started,
    rows,
    store_event,
    webhook_source,
)
from tests.test_e2e_drafts import is_preview

AUTOPUBLISH_RULE = """
- name: auto
  event: deploy.*
  actions:
    - {type: autopublish, template: "Deployed {payload.version}", targets: [telegram], delay: 30}
"""
NOTIFY_RULE = """
- name: ping
  event: "*"
  actions: [{type: notify, template: "starred by {payload.who}"}]
"""


async def statuses(app: Nexus) -> dict[str, int]:
    async with app.sessions() as session:
        counts = await session.execute(select(Event.status, func.count()).group_by(Event.status))
        return {status: n for status, n in counts}


async def ready_for(app: Nexus, tg: FakeTelegram, rules: str) -> int:
    """The owner has started the bot, `rules` are in place; returns a webhook source's id."""
    await owner_started(tg)
    await add_rules(app, rules)
    return await webhook_source(app)


async def left_by_dead_worker(app: Nexus, event_id: int, clock: FakeClock) -> None:
    """What a worker killed mid-event leaves: the event "processing" under its claim."""
    async with app.sessions() as session:
        event = await session.get(Event, event_id)
        assert event is not None
        event.status, event.attempts = "processing", 1
        event.claimed_by, event.lease_until = "dead-host:4242:0a0b0c0d#7", clock.now() + LEASE
        await session.commit()


async def test_a_backlog_of_1500_events_drains_in_one_start_without_a_timer(
    tg: FakeTelegram,
    make_settings: Callable[..., Settings],
    nexus_factory: StartNexus,
    clock: FakeClock,
) -> None:
    settings = make_settings()
    await prepare_database(settings)
    engine = create_engine(settings.resolved_database_url)
    async with make_session_factory(engine)() as session:
        await rulebook.import_rules(session, DRAFT_RULE)
        source = Source(kind="github", name="hooks")
        session.add(source)
        await session.flush()
        backlog = [
            {
                "source_id": source.id,
                "external_id": f"d-{n}",
                # every 500th event (the last among them) is a release the rule drafts
                "type": "github.release.published" if n % 500 == 499 else "github.push",
                "payload": json.dumps(RELEASE),
                "status": "new",
                "received_at": clock.now(),
            }
            for n in range(1500)
        ]
        await session.execute(insert(Event), backlog)
        await session.commit()
        last = await session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    await engine.dispose()

    started = time.monotonic()
    app = await nexus_factory()  # its start-up alone must drain the backlog
    while (await statuses(app)).get("done", 0) < 1500:
        assert time.monotonic() - started < 30, await statuses(app)
        await asyncio.sleep(0.1)
    await app.automation.idle()
    elapsed = time.monotonic() - started
    assert await statuses(app) == {"done": 1500}
    drafted = await rows(app, Post)
    assert len(drafted) == 3
    assert action_key(last or 0, 1) in {p.origin_key for p in drafted}  # the very last event
    assert elapsed < 30  # not 15 minutes of a 100-per-minute timer: the clock never moved
    print(f"1500 events drained in {elapsed:.2f}s")


async def test_a_draft_made_before_the_crash_is_not_made_again(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    source = await ready_for(nexus, tg, DRAFT_RULE)
    event_id = await store_event(nexus, source, "github.release.published", RELEASE)
    # the dead worker drafted and announced the post, then died before marking the event done
    assert await nexus.automation.process(event_id)
    await tg.wait_message(OWNER, is_preview)
    await left_by_dead_worker(nexus, event_id, clock)

    assert await nexus.automation.process_pending() == 0  # a live lease is not robbed
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await nexus.automation.process_pending() == 1
    assert await nexus.automation.process_pending() == 0  # exactly once
    await nexus.automation.idle()

    [post] = await rows(nexus, Post)
    assert post.origin_key == action_key(event_id, 1)
    assert await statuses(nexus) == {"done": 1}
    assert len([m for m in tg.messages(OWNER) if is_preview(m)]) == 1
    assert failure_alerts(tg) == []


async def test_an_autopublish_cut_between_draft_and_schedule_is_scheduled_once(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    source = await ready_for(nexus, tg, AUTOPUBLISH_RULE)
    cut = await store_event(nexus, source, "deploy.done", {"version": "1.4"}, "cut")
    scheduled = await store_event(nexus, source, "deploy.done", {"version": "1.5"}, "done")
    # `scheduled` went all the way before the crash; `cut` only got its draft written
    assert await nexus.automation.process(scheduled)
    async with nexus.sessions() as session:
        session.add(
            Post(
                author_id=OWNER,
                brief="Deployed 1.4",
                text="Deployed 1.4",
                origin="rule:1",
                origin_key=action_key(cut, 1),
            )
        )
        await session.commit()
    for event_id in (cut, scheduled):
        await left_by_dead_worker(nexus, event_id, clock)
    clock.advance(seconds=LEASE.total_seconds() + 1)

    assert await nexus.automation.drain() == 2
    posts = await rows(nexus, Post)
    assert sorted(p.text for p in posts) == ["Deployed 1.4", "Deployed 1.5"]
    assert {p.status for p in posts} == {PostStatus.SCHEDULED}  # no orphan draft
    assert len(await rows(nexus, Publication)) == 2
    assert await statuses(nexus) == {"done": 2}  # neither is reported as failed
    assert failure_alerts(tg) == []


async def test_a_notification_is_not_sent_again_by_a_rerun(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    source = await ready_for(nexus, tg, NOTIFY_RULE)
    event_id = await store_event(nexus, source, "github.star.created", {"who": "ann"})
    assert await nexus.automation.process(event_id)
    await tg.wait_message(OWNER, lambda m: "starred by ann" in m.text)
    await left_by_dead_worker(nexus, event_id, clock)  # died after sending, before "done"
    clock.advance(seconds=LEASE.total_seconds() + 1)

    assert await nexus.automation.drain() == 1
    await nexus.automation.idle()
    await asyncio.sleep(0.2)  # a second message would have arrived by now
    assert len([m for m in tg.messages(OWNER) if "starred by ann" in m.text]) == 1
    assert await statuses(nexus) == {"done": 1}


async def test_an_event_that_kills_its_worker_every_time_is_given_up_and_reported(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    source = await ready_for(nexus, tg, DRAFT_RULE)
    event_id = await store_event(nexus, source, "github.release.published", RELEASE)
    await left_by_dead_worker(nexus, event_id, clock)
    async with nexus.sessions() as session:
        event: Any = await session.scalar(select(Event).where(Event.id == event_id))
        event.attempts = MAX_ATTEMPTS
        await session.commit()
    clock.advance(seconds=LEASE.total_seconds() + 1)

    assert await nexus.automation.drain() == 1
    alert = await tg.wait_message(OWNER, lambda m: f"event #{event_id}" in m.text)
    assert "interrupted" in alert.text
    assert await statuses(nexus) == {"failed": 1}
    assert await rows(nexus, Post) == []
    clock.advance(seconds=timedelta(hours=1).total_seconds())
    assert await nexus.automation.drain() == 0
