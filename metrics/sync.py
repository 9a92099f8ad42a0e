"""The metrics sync: snapshots of every published post's counters on a fixed schedule.

When the dispatcher marks a publication published it sets ``metrics_due_at`` one hour later
(``scheduler.dispatcher.FIRST_METRICS_SYNC``). A periodic job (``MetricsSync.run_once``, every few
minutes) then:

1. **claims** a batch of due publications with one conditional UPDATE that pushes their
   ``metrics_due_at`` a lease into the future (``... WHERE metrics_due_at <= now``; on PostgreSQL
   the candidates are picked ``FOR UPDATE SKIP LOCKED``), so several workers never sync the same
   publication, and a worker that dies mid-run only delays it by the lease;
2. **fetches** their counters through each platform's ``fetch_metrics`` (bounded concurrency, no
   database session held meanwhile);
3. **records** each outcome with an UPDATE conditional on the lease it claimed: a success writes a
   ``MetricSnapshot``, copies the counters onto the publication (so /stats reads one row per post)
   and moves on along ``STAGES`` (1 h → 6 h → 24 h → 72 h → 7 d after publishing; stages that
   passed while Nexus was down are skipped), then ``metrics_due_at = None``.

Failures never stop the job: ``RateLimited`` → due again after the platform's wait; ``Transient``
(or anything unexpected) → due at the next run; ``AuthExpired``/``Permanent`` (the post was
deleted, the account disconnected) → syncing that publication stops, and it is logged.

Telegram channels have no "read the counters" call: their reactions are pushed by the Bot API
(``metrics.reactions``). For platforms in ``PUSHED_PLATFORMS`` a stage snapshots the counters the
updates left on the publication, so every platform gets the same snapshot history.

Each run also records the audience (``AccountSnapshot``) of every enabled account whose publisher
is ``HasAudience``, at most once per ``SyncConfig.audience_every`` per account (a ``PeriodLock``
per account and window makes that hold across workers).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from publishers.base import HasAudience, Metrics, Publisher, PublishResult
from publishers.errors import AuthExpired, Permanent, PublishError, RateLimited
from scheduler.clock import Clock
from scheduler.dispatcher import FIRST_METRICS_SYNC
from scheduler.notify import AuthRefused, report_refusals
from storage import repositories as repo
from storage.models import (
    Account,
    AccountSnapshot,
    MetricSnapshot,
    PeriodLock,
    Publication,
    PublicationStatus,
)

log = logging.getLogger(__name__)

#: When, after publishing, the counters are read.
STAGES: tuple[timedelta, ...] = (
    FIRST_METRICS_SYNC,
    timedelta(hours=6),
    timedelta(hours=24),
    timedelta(hours=72),
    timedelta(days=7),
)
#: Platforms whose counters arrive as updates (no fetch call).
PUSHED_PLATFORMS = frozenset({"telegram"})

PublisherFor = Callable[[Account], Publisher]


@dataclass(frozen=True)
class SyncConfig:
    batch_size: int = 100
    concurrency: int = 8
    #: How long a claim keeps other workers off (longer than the slowest fetch).
    lease: timedelta = timedelta(minutes=10)
    #: When a transient failure is tried again (about the job's period: "the next run").
    retry_after: timedelta = timedelta(minutes=5)
    audience_every: timedelta = timedelta(hours=6)


@dataclass
class SyncReport:
    """What one run did (for logs and tests)."""

    synced: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    stopped: list[int] = field(default_factory=list)
    audiences: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Job:
    pub_id: int
    account: Account
    published_at: datetime
    result: PublishResult
    lease_until: datetime
    current: Metrics


@dataclass(frozen=True)
class _Outcome:
    job: _Job
    metrics: Metrics | None = None
    error: Exception | None = None


def next_stage(published_at: datetime, now: datetime) -> tuple[int, datetime | None]:
    """The first stage still ahead of ``now`` and when it falls due (None: all done)."""
    for index, offset in enumerate(STAGES):
        if published_at + offset > now:
            return index, published_at + offset
    return len(STAGES), None


class MetricsSync:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        publisher_for: PublisherFor,
        clock: Clock,
        config: SyncConfig | None = None,
        *,
        on_auth_refused: AuthRefused | None = None,
    ) -> None:
        self.sessions = sessions
        self.on_auth_refused = on_auth_refused
        self.publisher_for = publisher_for
        self.clock = clock
        self.config = config or SyncConfig()

    async def run_once(self) -> SyncReport:
        """Sync everything due now, then record audiences; never raises for one bad post."""
        now = self.clock.now()
        report = SyncReport()
        semaphore = asyncio.Semaphore(self.config.concurrency)

        async def fetch(job: _Job) -> _Outcome:
            async with semaphore:
                return await self._fetch(job)

        while jobs := await self._claim(now):
            outcomes = await asyncio.gather(*(fetch(job) for job in jobs))
            await self._record(outcomes, now, report)
            if len(jobs) < self.config.batch_size:
                break
        await self._record_audiences(now, report)
        if report.synced or report.stopped:
            log.info(
                "metrics: %d synced, %d retrying, %d stopped",
                len(report.synced),
                len(report.retrying),
                len(report.stopped),
            )
        return report

    # --- steps ---------------------------------------------------------------------------------

    async def _claim(self, now: datetime) -> list[_Job]:
        lease_until = now + self.config.lease
        due = (
            select(Publication.id)
            .where(
                Publication.status == PublicationStatus.PUBLISHED,
                Publication.metrics_due_at <= now,
            )
            .order_by(Publication.metrics_due_at, Publication.id)
            .limit(self.config.batch_size)
            .with_for_update(skip_locked=True)
        )
        async with self.sessions() as session:
            result = await session.execute(
                update(Publication)
                .where(Publication.id.in_(due.scalar_subquery()), Publication.metrics_due_at <= now)
                .values(metrics_due_at=lease_until)
                .returning(Publication.id)
                .execution_options(synchronize_session=False)
            )
            claimed = list(result.scalars())
            await session.commit()
            if not claimed:
                return []
            pubs = await session.scalars(
                select(Publication).where(Publication.id.in_(claimed)).order_by(Publication.id)
            )
            jobs = [
                _Job(
                    pub_id=p.id,
                    account=p.account,
                    published_at=p.published_at or now,
                    result=PublishResult(
                        external_id=p.external_id or "",
                        url=p.url,
                        part_ids=tuple(p.part_ids.split(",")) if p.part_ids else (),
                    ),
                    lease_until=lease_until,
                    current=Metrics(p.likes, p.reposts, p.replies, p.views),
                )
                for p in pubs
            ]
            await session.commit()
            return jobs

    async def _fetch(self, job: _Job) -> _Outcome:
        """Ask the platform (no database work here, so fetches run side by side)."""
        if job.account.platform in PUSHED_PLATFORMS:
            return _Outcome(job, metrics=job.current)
        try:
            publisher = self.publisher_for(job.account)
            return _Outcome(job, metrics=await publisher.fetch_metrics(job.result))
        except Exception as exc:  # every failure is decided in _record; the job goes on
            return _Outcome(job, error=exc)

    async def _record(
        self, outcomes: Sequence[_Outcome], now: datetime, report: SyncReport
    ) -> None:
        async with self.sessions() as session:
            for outcome in outcomes:
                await self._record_one(session, outcome, now, report)
            await session.commit()
        await report_refusals(self.on_auth_refused, ((o.job.account.id, o.error) for o in outcomes))

    async def _record_one(
        self, session: AsyncSession, outcome: _Outcome, now: datetime, report: SyncReport
    ) -> None:
        job, metrics, error = outcome.job, outcome.metrics, outcome.error
        values: dict[str, Any]
        if metrics is not None:
            stage, due = next_stage(job.published_at, now)
            values = {"metrics_due_at": due, "metrics_stage": stage, "metrics_at": now}
            if job.account.platform not in PUSHED_PLATFORMS:  # pushed ones are already there
                values |= {
                    "likes": metrics.likes,
                    "reposts": metrics.reposts,
                    "replies": metrics.replies,
                    "views": metrics.views,
                }
            if await self._update(session, job, values):
                session.add(_snapshot(job.pub_id, now, metrics))
                report.synced.append(job.pub_id)
            return
        if isinstance(error, AuthExpired | Permanent):
            log.warning("metrics of publication %s: giving up (%s)", job.pub_id, error)
            if await self._update(session, job, {"metrics_due_at": None}):
                report.stopped.append(job.pub_id)
            return
        if isinstance(error, RateLimited):
            delay = timedelta(seconds=error.retry_after)
        else:
            delay = self.config.retry_after
            if not isinstance(error, PublishError):
                log.error("metrics of publication %s failed unexpectedly: %r", job.pub_id, error)
        log.info("metrics of publication %s: %s; again in %s", job.pub_id, error, delay)
        if await self._update(session, job, {"metrics_due_at": now + delay}):
            report.retrying.append(job.pub_id)

    @staticmethod
    async def _update(session: AsyncSession, job: _Job, values: dict[str, Any]) -> bool:
        """Write only if our claim still stands (nobody re-claimed it after the lease)."""
        result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
            update(Publication)
            .where(Publication.id == job.pub_id, Publication.metrics_due_at == job.lease_until)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def _record_audiences(self, now: datetime, report: SyncReport) -> None:
        window = int(now.timestamp() // self.config.audience_every.total_seconds())
        async with self.sessions() as session:
            accounts = list(await repo.enabled_accounts(session))
            done = set(
                await session.scalars(
                    select(PeriodLock.key).where(
                        PeriodLock.key.in_([_audience_key(a.id, window) for a in accounts])
                    )
                )
            )
        for account in accounts:
            key = _audience_key(account.id, window)
            if key in done:
                continue
            try:
                publisher = self.publisher_for(account)
                if not isinstance(publisher, HasAudience):
                    continue
                followers = await publisher.audience()
            except Exception as exc:  # the next run tries again
                log.warning("audience of account %s: %s", account.id, exc)
                continue
            async with self.sessions() as session:
                if await repo.claim_period(session, key):  # another worker may have won
                    session.add(
                        AccountSnapshot(account_id=account.id, taken_at=now, followers=followers)
                    )
                    report.audiences.append(account.id)
                await session.commit()


def _audience_key(account_id: int, window: int) -> str:
    return f"audience:{account_id}:{window}"


def _snapshot(pub_id: int, now: datetime, metrics: Metrics) -> MetricSnapshot:
    return MetricSnapshot(
        publication_id=pub_id,
        taken_at=now,
        likes=metrics.likes,
        reposts=metrics.reposts,
        replies=metrics.replies,
        views=metrics.views,
    )
