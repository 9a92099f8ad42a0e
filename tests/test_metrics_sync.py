"""The metrics sync against a real platform boundary: a Mastodon account connected through the
chat (credentials encrypted at rest), a post published through the dispatcher, the loopback
Mastodon's counters read at each stage, and its failures (rate limit, server error, deleted
post) handled without stopping the job. Time is a FakeClock; the job is called directly."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.app import Nexus
from metrics.sync import STAGES
from storage.models import Account, MetricSnapshot, Publication
from tests.clock import FakeClock
from tests.conftest import OWNER
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeTelegram
from tests.test_e2e_accounts import connect_mastodon
from tests.test_e2e_stats import publish


async def mastodon_publication(app: Nexus) -> Publication:
    async with app.sessions() as session:
        pub = await session.scalar(
            select(Publication)
            .join(Account, Account.id == Publication.account_id)
            .where(Account.platform == "mastodon")
        )
        assert pub is not None
        return pub


async def snapshots_of(app: Nexus, pub_id: int) -> list[tuple[int, int, int]]:
    async with app.sessions() as session:
        rows = await session.scalars(
            select(MetricSnapshot)
            .where(MetricSnapshot.publication_id == pub_id)
            .order_by(MetricSnapshot.id)
        )
        return [(s.likes, s.reposts, s.replies) for s in rows]


async def test_mastodon_counters_by_stage_and_failures(
    tg: FakeTelegram,
    mastodon: FakeMastodon,
    nexus: Nexus,
    clock: FakeClock,
) -> None:
    await connect_mastodon(tg, mastodon.base_url, mastodon.token)
    await tg.wait_message(OWNER, lambda m: "Connected" in m.text)
    await publish(tg, "federated hello")
    published_at = clock.now()
    pub = await mastodon_publication(nexus)
    status_id = pub.external_id
    assert status_id is not None and pub.metrics_due_at == published_at + STAGES[0]

    # 1 h: the first snapshot, for both targets
    mastodon.set_counts(status_id, favourites_count=4, reblogs_count=2, replies_count=1)
    clock.current = published_at + STAGES[0]
    report = await nexus.metrics.run_once()
    assert sorted(report.synced) == [1, pub.id]
    pub = await mastodon_publication(nexus)
    assert (pub.likes, pub.reposts, pub.replies, pub.views) == (4, 2, 1, None)
    assert pub.metrics_due_at == published_at + STAGES[1]
    assert await snapshots_of(nexus, pub.id) == [(4, 2, 1)]

    # 6 h: rate limited → due again after Mastodon's wait (60 s without a reset header)
    path = f"/api/v1/statuses/{status_id}"
    mastodon.fail_next(path, 429)
    clock.current = published_at + STAGES[1]
    report = await nexus.metrics.run_once()
    assert report.retrying == [pub.id] and report.synced == [1]
    assert (await mastodon_publication(nexus)).metrics_due_at == clock.now() + timedelta(seconds=60)

    # a server error → the next run
    mastodon.fail_next(path, 503)
    clock.advance(seconds=60)
    assert (await nexus.metrics.run_once()).retrying == [pub.id]
    assert (await mastodon_publication(nexus)).metrics_due_at == clock.now() + timedelta(minutes=5)

    mastodon.set_counts(status_id, favourites_count=9)
    clock.advance(minutes=5)
    assert (await nexus.metrics.run_once()).synced == [pub.id]
    pub = await mastodon_publication(nexus)
    assert (pub.likes, pub.metrics_stage, pub.metrics_due_at) == (
        9,
        2,
        published_at + STAGES[2],
    )

    # the status is deleted: syncing it stops, the other target goes on
    mastodon.statuses[status_id].deleted = True
    clock.current = published_at + STAGES[2]
    report = await nexus.metrics.run_once()
    assert report.stopped == [pub.id] and report.synced == [1]
    pub = await mastodon_publication(nexus)
    assert pub.metrics_due_at is None and pub.likes == 9
    assert await snapshots_of(nexus, pub.id) == [(4, 2, 1), (9, 2, 1)]


async def test_two_workers_never_sync_the_same_publication(
    tg: FakeTelegram,
    mastodon: FakeMastodon,
    nexus: Nexus,
    clock: FakeClock,
) -> None:
    await connect_mastodon(tg, mastodon.base_url, mastodon.token)
    await tg.wait_message(OWNER, lambda m: "Connected" in m.text)
    await publish(tg, "only once")
    clock.advance(hours=1)

    first, second = await asyncio.gather(nexus.metrics.run_once(), nexus.metrics.run_once())
    assert sorted(first.synced + second.synced) == [1, 2]
    async with nexus.sessions() as session:
        assert len((await session.scalars(select(MetricSnapshot))).all()) == 2
