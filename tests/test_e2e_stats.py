"""Metrics end to end: the real app against the loopback Telegram server with a controllable
clock. Channel reactions arrive as Bot API updates through long polling; the sync job is called
directly (what the scheduler's periodic job runs); /stats and "📊 Stats" are driven by taps."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import func, select

from bot.app import Nexus
from metrics.sync import STAGES
from storage.models import MetricSnapshot, Publication
from tests.clock import FakeClock
from tests.conftest import CHANNEL, OWNER
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_e2e_drafts import preview_for, tap
from tests.test_stats import WEEK, seed


async def publish(tg: FakeTelegram, brief: str) -> tuple[FakeMessage, FakeMessage]:
    """Approve a draft; returns the channel post and the owner's "is published" report."""
    preview = await preview_for(tg, brief)
    await tap(tg, preview, "Approve")
    post = await tg.wait_message(CHANNEL, lambda m: brief.split()[0] in m.text.lower())
    report = await tg.wait_message(
        OWNER, lambda m: "is published" in m.text and m.message_id == preview.message_id
    )
    return post, report


async def publication(app: Nexus, pub_id: int = 1) -> Publication:
    async with app.sessions() as session:
        pub = await session.get(Publication, pub_id)
        assert pub is not None
        return pub


async def snapshots(app: Nexus) -> list[MetricSnapshot]:
    async with app.sessions() as session:
        rows = await session.scalars(select(MetricSnapshot).order_by(MetricSnapshot.id))
        return list(rows)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Wait until the bot has handled an update (polling handles updates concurrently)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_channel_reactions_become_likes_and_snapshots(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    assert "message_reaction_count" in nexus.dp.resolve_used_update_types()
    post, _report = await publish(tg, "launch day")
    pub = await publication(nexus)
    assert pub.metrics_due_at == clock.now() + timedelta(hours=1)

    clock.advance(minutes=10)
    tg.channel_reactions(CHANNEL, post.message_id, {"👍": 3, "🔥": 2}, paid=1)

    async def liked() -> bool:
        return (await publication(nexus)).likes == 6

    await eventually(liked)
    [snap] = await snapshots(nexus)
    assert (snap.likes, snap.reposts, snap.replies, snap.taken_at) == (6, 0, 0, clock.now())
    assert (await publication(nexus)).metrics_at == clock.now()
    allowed = [c.params.get("allowed_updates") for c in tg.calls if c.method == "getUpdates"]
    assert "message_reaction_count" in allowed[-1]

    tg.channel_reactions(CHANNEL, post.message_id, {"👍": 2})  # one 👍 and the 🔥 were taken back

    async def updated() -> bool:
        return (await publication(nexus)).likes == 2

    await eventually(updated)
    assert len(await snapshots(nexus)) == 2


async def test_sync_walks_the_stages_then_stops(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    post, _report = await publish(tg, "stages")
    published_at = clock.now()
    tg.channel_reactions(CHANNEL, post.message_id, {"❤": 4})

    async def liked() -> bool:
        return (await publication(nexus)).likes == 4

    await eventually(liked)

    clock.advance(minutes=59)
    assert (await nexus.metrics.run_once()).synced == []
    dues = []
    for offset in STAGES:
        clock.current = published_at + offset
        report = await nexus.metrics.run_once()
        assert report.synced == [1]
        pub = await publication(nexus)
        dues.append(pub.metrics_due_at)
        assert pub.likes == 4 and pub.metrics_at == clock.now()
    assert dues == [published_at + s for s in STAGES[1:]] + [None]
    assert [s.taken_at - published_at for s in (await snapshots(nexus))[1:]] == list(STAGES)

    clock.advance(days=30)
    assert (await nexus.metrics.run_once()).synced == []


async def test_a_late_sync_skips_the_stages_it_missed(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    await publish(tg, "downtime")
    published_at = clock.now()
    clock.advance(hours=30)  # Nexus was down past the 1 h, 6 h and 24 h stages
    assert (await nexus.metrics.run_once()).synced == [1]
    pub = await publication(nexus)
    assert pub.metrics_due_at == published_at + timedelta(hours=72)
    assert pub.metrics_stage == 3
    async with nexus.sessions() as session:
        assert await session.scalar(select(func.count(MetricSnapshot.id))) == 1


async def test_stats_command_chart_and_switches(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    await tg.user_sends(OWNER, "/stats")
    empty = await tg.wait_message(OWNER, lambda m: "No published posts" in m.text)
    assert "last 7 days" in empty.text and not empty.photo

    async with nexus.sessions() as session:
        await seed(session, WEEK)
    await tap(tg, empty, "30 days")
    month = await tg.wait_message(OWNER, lambda m: m.photo and "Last 30 days" in m.text)
    assert "Posts: 5 (6 across targets)" in month.text and "148 in total, median 8" in month.text
    assert "https://m/old" not in month.text  # links are in the markup, not the visible text
    assert any(e.get("url") == "https://m/old" for e in month.entities)
    assert "I can tell after 10 published posts" in month.text
    assert "AI this month: 0 calls" in month.text
    assert [label for label, _ in month.buttons()][:2] == ["7 days", "• 30 days"]
    assert not any(m.message_id == empty.message_id for m in tg.messages(OWNER))

    await tap(tg, month, "Mastodon")
    mastodon = await tg.wait_message(OWNER, lambda m: m.photo and m.message_id > month.message_id)
    assert "Last 30 days · Mastodon" in mastodon.text and "Posts: 4" in mastodon.text
    assert "• Mastodon" in [label for label, _ in mastodon.buttons()]
    assert [m.message_id for m in tg.messages(OWNER) if m.photo] == [mastodon.message_id]

    await tap(tg, mastodon, "7 days")
    week = await tg.wait_message(OWNER, lambda m: m.photo and m.message_id > mastodon.message_id)
    assert "Last 7 days · Mastodon" in week.text
    assert "Posts: 3" in week.text and "37 in total, median 6" in week.text


async def test_stats_button_under_a_published_post(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    post, report = await publish(tg, "numbers please")
    await tap(tg, report, "Stats")
    first = await tg.wait_message(OWNER, lambda m: "📊 Post #1" in m.text)
    assert "❤️ 0" in first.text and "not synced yet" in first.text

    tg.channel_reactions(CHANNEL, post.message_id, {"👍": 7})

    async def liked() -> bool:
        return (await publication(nexus)).likes == 7

    await eventually(liked)
    await tap(tg, report, "Stats")
    second = await tg.wait_message(
        OWNER, lambda m: "📊 Post #1" in m.text and m.message_id > first.message_id
    )
    assert "❤️ 7" in second.text and "updated Sun 22 Nov 2026, 09:00 (UTC)" in second.text
