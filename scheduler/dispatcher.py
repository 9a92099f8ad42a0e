"""The dispatcher: publishes due publications exactly once, from any number of processes.

The database is the source of truth for what is due; the scheduler's jobs only call `run_once`.
One pass:

1. **Hold the overdue.** A publication never tried whose time passed longer ago than the misfire
   grace (Nexus was down) is not sent on its own: it becomes `held` and the owner is asked.
2. **Claim.** Due publications move pending → publishing in one UPDATE whose subquery locks rows
   with `FOR UPDATE SKIP LOCKED` on PostgreSQL (two workers never claim the same row; on SQLite
   the single writer gives the same guarantee). Each claim counts an attempt and names its
   worker (`claimed_by`); `claimed_at` is the claim's heartbeat.
3. **Deliver** the claimed publications concurrently through their publishers, and record each
   outcome with a conditional update from `publishing`: published; a transient failure or a rate
   limit goes back to pending with a later `next_attempt_at` (exponential backoff with jitter, or
   the platform's own wait) until `max_attempts`; a permanent or auth failure fails at once; an
   `OutcomeUnknown` (the post may be live and the platform offers no safe resend) becomes
   `unknown` and the owner is asked, never resent blindly. Each send carries the key
   ``pub-<id>`` (stable across processes and restarts), from which platforms that dedup
   (Mastodon, VK, Bluesky) derive each part's key. A split post's confirmed parts are stored
   after every part (a crash loses at most one), and an outcome's `posted_part_ids` *replace*
   what was stored: they are the complete confirmed prefix, and the next attempt resumes after
   it.
   Before a send, the target's text and images are checked with the platform's own rules
   (``validate``): a variant the platform cannot take fails that target at once, with the
   reason, while the other targets go out. Images are fitted to the platform's limits on the
   way out (``publishers.images.fit``, in a thread: Pillow is CPU work).
   **Quotas.** A used-up posting quota is no failure: when the platform answers with its
   quota error (``QuotaUsedUp``), or when our own ledger already shows Bluesky's write points
   spent, the target moves to the first free slot after the quota resets (one conditional
   update, the attempt given back) and the owner is told where it went. The platform's cost
   of each published target (X's pay-per-use) is recorded with it: the spend ledger.
4. **Settle** posts whose every publication is done: the post becomes published, partial or
   failed in one conditional update, and the owner hears about it exactly once.

Every transition is decided in `scheduler.lifecycle`; an outcome whose conditional update
matched no row (someone else moved the publication) is logged, never reported.

**Leases that follow real work.** While sends are in flight, the pass renews `claimed_at` of its
claims every `heartbeat` (a third of the lease), so a slow send is never taken for a crash and
the lease can be short. A claim without a heartbeat for a whole `lease` belongs to a dead
worker: `sweep()` (once a minute, in one process per minute) turns it into `unknown` and asks
the owner, since it might have gone out; it is never sent again silently. Each dispatcher's
worker id is ``<name>#<random incarnation>``: `recover()`, on start, also takes over at once the
claims of earlier incarnations of the same name (this process before a crash), without waiting
for the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from publishers.base import Priced, Publisher, PublishResult
from publishers.check import check_variant
from publishers.errors import (
    OutcomeUnknown,
    Permanent,
    PublishError,
    QuotaUsedUp,
    RateLimited,
    Transient,
)
from publishers.images import fit
from publishers.quota import Quota, bluesky_points
from scheduler import lifecycle, quota
from scheduler.clock import Clock
from scheduler.notify import (
    AuthRefused,
    Notifier,
    PublishReport,
    TargetMoved,
    TargetOutcome,
    report_refusals,
)
from scheduler.series import schedule_next_occurrence
from storage import repositories as repo
from storage.models import (
    FINAL_PUBLICATION_STATES,
    Account,
    Post,
    PostStatus,
    Publication,
    PublicationStatus,
)

log = logging.getLogger(__name__)

PublisherFor = Callable[[Account], Publisher]

#: A published post's counters are first read this long after it went out (metrics.sync takes
#: it from there).
FIRST_METRICS_SYNC = timedelta(hours=1)
#: How long the once-a-minute sweep's period locks are kept (older ones are removed).
SWEEP_LOCKS_KEPT = timedelta(hours=1)


@dataclass(frozen=True)
class _Job:
    """A claimed publication and what sending it needs (read once, at claim time)."""

    pub_id: int
    account: Account
    text: str
    attempts: int
    already: tuple[str, ...]
    #: The post's images, relative to ``DispatchConfig.media_dir``.
    media: tuple[str, ...] = ()
    #: When it fell due (its scheduled time, or its retry's): what lateness is measured from.
    due: datetime | None = None
    #: The quota we count ourselves (Bluesky's write points) and when it frees, if any.
    ledger: tuple[Quota, datetime] | None = None


@dataclass(frozen=True)
class _Outcome:
    job: _Job
    result: PublishResult | None = None
    error: PublishError | None = None
    unsure: bool = False
    #: What the platform charged for the published post (the spend ledger).
    cost_usd: float | None = None

    def observed(self, config: DispatchConfig, now: datetime) -> tuple[str, str, float | None]:
        """For metrics: the platform; published, retry (back to the queue), failed or unknown;
        and, once published, the seconds between falling due and going out."""
        platform = self.job.account.platform
        if self.result is not None:
            due = self.job.due
            return platform, "published", (now - due).total_seconds() if due else None
        if self.error is None:
            return platform, "unknown", None
        retryable = isinstance(self.error, RateLimited | Transient)
        moved = isinstance(self.error, QuotaUsedUp)  # past its quota: waits, never fails
        retry = moved or (retryable and self.job.attempts < config.max_attempts)
        return platform, "retry" if retry else "failed", None


#: Told of every send's outcome: (platform, published|retry|failed|unknown, seconds late).
PublishObserver = Callable[[str, str, float | None], None]


@dataclass(frozen=True)
class DispatchConfig:
    max_attempts: int = 5
    misfire_grace: timedelta = timedelta(minutes=15)
    #: A claim without a heartbeat for this long belongs to a dead worker.
    lease: timedelta = timedelta(seconds=60)
    #: How often a pass renews the claims it is sending (None: a third of the lease).
    heartbeat: timedelta | None = None
    #: The stable part of this worker's id (the host's name by default): a restart under the
    #: same name takes its earlier incarnation's claims over at once. Several dispatching
    #: processes on one host need a name each (``NEXUS_WORKER_NAME``).
    worker_name: str = ""
    batch_size: int = 200
    concurrency: int = 32
    #: Outcomes are written in groups as sends finish (a slow send never holds back the rest).
    record_every: int = 20
    backoff_base_s: float = 30.0
    backoff_cap_s: float = 3600.0
    #: Where post images are stored (the data dir).
    media_dir: Path = Path(".")
    #: The time zone of slots for owners who set none (NEXUS_TIMEZONE): a target moved past
    #: a used-up quota goes to the next free slot in the owner's time.
    default_tz: str = "UTC"


def backoff_delay(attempt: int, config: DispatchConfig, rng: random.Random) -> float:
    """Exponential backoff with ±20% jitter: 30 s, 60 s, 120 s, … capped at an hour."""
    raw = min(config.backoff_cap_s, config.backoff_base_s * 2 ** max(0, attempt - 1))
    return raw * rng.uniform(0.8, 1.2)


class PublicationDispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        publisher_for: PublisherFor,
        notifier: Notifier,
        clock: Clock,
        config: DispatchConfig | None = None,
        *,
        rng: random.Random | None = None,
        on_auth_refused: AuthRefused | None = None,
        observe: PublishObserver = lambda platform, outcome, late_s: None,
    ) -> None:
        self.observe = observe
        self.sessions = sessions
        self.on_auth_refused = on_auth_refused
        self.publisher_for = publisher_for
        self.notifier = notifier
        self.clock = clock
        self.config = config or DispatchConfig()
        self.rng = rng or random.Random()
        self._lock = asyncio.Lock()
        name = self.config.worker_name or socket.gethostname()
        #: This incarnation's claims are ``claimed_by == worker``; earlier ones start alike.
        self.worker_prefix = f"{name}#"
        self.worker = f"{self.worker_prefix}{secrets.token_hex(4)}"
        #: Publications this dispatcher is sending right now (renewed by the heartbeat).
        self._in_flight: set[int] = set()

    # --- one pass ------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Publish everything due now; returns how many publications were attempted."""
        async with self._lock:  # one pass at a time per process; other processes use the locks
            await self._hold_overdue()
            attempted = 0
            semaphore = asyncio.Semaphore(self.config.concurrency)

            async def send(job: _Job) -> _Outcome:
                async with semaphore:
                    return await self._send(job)

            heartbeat = asyncio.create_task(self._heartbeat())
            try:
                while jobs := await self._claim():
                    self._in_flight.update(job.pub_id for job in jobs)
                    # our own tasks, so that a pass stopped midway (shutdown) stops its sends
                    # too rather than leave them running unrecorded
                    sends = [asyncio.create_task(send(job)) for job in jobs]
                    try:
                        done: list[_Outcome] = []
                        for finished in asyncio.as_completed(sends):
                            done.append(await finished)
                            if len(done) >= self.config.record_every:
                                await self._record(done)
                                done = []
                        await self._record(done)
                    finally:
                        for task in sends:
                            task.cancel()
                    attempted += len(jobs)
                    await self._settle_all()  # owners hear about each batch as soon as done
            finally:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat
                self._in_flight.clear()
            if not attempted:
                await self._settle_all()  # posts finished by the owner's answers
            return attempted

    async def _heartbeat(self) -> None:
        """Keep this pass's claims alive while their sends are in flight."""
        every = self.config.heartbeat or self.config.lease / 3
        while True:
            await asyncio.sleep(every.total_seconds())
            if not self._in_flight:
                continue
            pub_ids = set(self._in_flight)
            try:
                async with self.sessions() as session:
                    kept = await lifecycle.renew_claims(
                        session, pub_ids, self.worker, self.clock.now()
                    )
                    await session.commit()
            except Exception:  # the next beat tries again; the lease covers a missed one
                log.exception("heartbeat of %s claims failed", len(pub_ids))
                continue
            if kept < len(pub_ids & self._in_flight):
                log.warning(
                    "%s of %s claims in flight were taken over (their lease ran out); their "
                    "outcomes are recorded only where still open",
                    len(pub_ids) - kept,
                    len(pub_ids),
                )

    async def next_due(self) -> datetime | None:
        """When the earliest pending publication falls due (to time the next wake-up)."""
        async with self.sessions() as session:
            return await session.scalar(
                select(Publication.next_attempt_at)
                .where(Publication.status == PublicationStatus.PENDING)
                .order_by(Publication.next_attempt_at)
                .limit(1)
            )

    async def recover(self) -> int:
        """On start: claims of dead workers (no heartbeat within the lease) and of earlier
        incarnations of this one become questions for the owner, at once."""
        return await self._expire(own_dead=True)

    async def sweep(self) -> int:
        """Once a minute, in one process: claims whose worker stopped heartbeating become
        questions for the owner. Returns how many (0 where another process swept)."""
        minute = self.clock.now().replace(second=0, microsecond=0)
        async with self.sessions() as session:
            won = await repo.claim_period(session, f"sweep:{minute.isoformat()}")
            if won:
                await repo.forget_periods(session, "sweep:", minute - SWEEP_LOCKS_KEPT)
            await session.commit()
        return await self._expire(own_dead=False) if won else 0

    async def _expire(self, *, own_dead: bool) -> int:
        now = self.clock.now()
        async with self.sessions() as session:
            unsure = await lifecycle.expire_claims(
                session,
                now,
                self.config.lease,
                dead_before=self.worker_prefix if own_dead else None,
                alive=self.worker,
            )
            await session.commit()
        for pub_id in unsure:
            log.warning("publication %s was interrupted mid-send; asking the owner", pub_id)
            await self.notifier.publication_unsure(pub_id)
        return len(unsure)

    # --- steps ---------------------------------------------------------------------------------

    async def _hold_overdue(self) -> None:
        now = self.clock.now()
        async with self.sessions() as session:
            held = await lifecycle.hold_overdue(session, now, self.config.misfire_grace)
            await session.commit()
        for post_id, due in sorted(held.items()):
            await self.notifier.post_overdue(post_id, due)

    async def _claim(self) -> list[_Job]:
        """Claim a batch of due publications and read what sending them needs, in one go."""
        async with self.sessions() as session:
            claimed = await lifecycle.claim_due(
                session, self.clock.now(), self.config.batch_size, self.worker
            )
            await session.commit()
            if not claimed:
                return []
            pubs = (
                await session.scalars(
                    select(Publication).where(Publication.id.in_(claimed)).order_by(Publication.id)
                )
            ).all()
            media = await repo.media_paths(session, {p.post_id for p in pubs})
            now = self.clock.now()
            ledgers = {
                account_id: await quota.ledger_points(session, account_id, now)
                for account_id in {
                    p.account_id for p in pubs if p.account.platform in quota.LEDGER_PLATFORMS
                }
            }
            jobs = [
                _Job(
                    p.id,
                    p.account,
                    p.text,
                    p.attempts,
                    tuple(p.part_ids.split(",")) if p.part_ids else (),
                    tuple(media.get(p.post_id, ())),
                    p.next_attempt_at,
                    ledgers.get(p.account_id),
                )
                for p in pubs
            ]
            await session.commit()
            return jobs

    async def _send(self, job: _Job) -> _Outcome:
        """Call the platform; no database work here, so sends run side by side freely."""
        try:
            publisher = self.publisher_for(job.account)
            problems = publisher.validate(job.text, media_count=len(job.media))
            if problems:
                raise Permanent("; ".join(problems))
            if job.ledger is not None:
                _check_ledger(job, publisher, self.clock.now())
            images = [
                data
                for data, _mime in await asyncio.gather(
                    *(
                        asyncio.to_thread(fit, self.config.media_dir / path, publisher.media_limits)
                        for path in job.media
                    )
                )
            ]
            result = await publisher.publish(
                job.text,
                already_posted=job.already,
                media=images,
                key=f"pub-{job.pub_id}",
                on_confirmed=lambda part_ids: self._store_parts(job.pub_id, part_ids),
            )
        except PublishError as exc:
            return _Outcome(job, error=exc)
        except Exception:
            # An unexpected failure may come after the platform accepted the post: never
            # guess, ask the owner.
            log.exception("publication %s failed unexpectedly", job.pub_id)
            return _Outcome(job, unsure=True)
        return _Outcome(job, result=result, cost_usd=_cost(publisher, job.text))

    async def _store_parts(self, pub_id: int, part_ids: Sequence[str]) -> None:
        """Store the confirmed parts of a split post mid-send (while we still hold it)."""
        async with self.sessions() as session:
            await lifecycle.store_parts(session, pub_id, self.worker, part_ids)
            await session.commit()

    async def _record(self, outcomes: Sequence[_Outcome]) -> None:
        """Write a group of outcomes in one transaction (each a conditional update)."""
        if not outcomes:
            return
        now = self.clock.now()
        unsure = []
        moved: list[TargetMoved] = []
        async with self.sessions() as session:
            for outcome in outcomes:
                job = outcome.job
                self.observe(*outcome.observed(self.config, now))
                if outcome.result is not None:
                    recorded = await lifecycle.record_published(
                        session,
                        job.pub_id,
                        self.worker,
                        external_id=outcome.result.external_id,
                        part_ids=outcome.result.part_ids,
                        url=outcome.result.url,
                        when=now,
                        metrics_due_at=now + FIRST_METRICS_SYNC,
                        cost_usd=outcome.cost_usd,
                    )
                    what = "published"
                elif isinstance(outcome.error, OutcomeUnknown):
                    log.warning("publication %s: %s; asking the owner", job.pub_id, outcome.error)
                    recorded = await lifecycle.record_unsure(
                        session,
                        job.pub_id,
                        self.worker,
                        error=outcome.error.reason,
                        part_ids=_confirmed(job, outcome.error),
                    )
                    what = "unsure"
                    if recorded:
                        unsure.append(job.pub_id)
                elif isinstance(outcome.error, QuotaUsedUp):
                    move = await self._move_past_quota(session, job, outcome.error, now)
                    recorded = move is not None
                    what = f"moved past a used-up quota ({outcome.error.reason})"
                    if move is not None:
                        moved.append(move)
                elif outcome.error is not None:
                    recorded = await self._record_failure(session, job, outcome.error, now)
                    what = f"failed ({outcome.error.reason})"
                else:
                    recorded = await lifecycle.record_unsure(session, job.pub_id, self.worker)
                    what = "unsure"
                    if recorded:
                        unsure.append(job.pub_id)
                if not recorded:
                    log.warning(
                        "publication %s: outcome %s not recorded: its claim was taken over "
                        "meanwhile (the owner answered, or its lease ran out)",
                        job.pub_id,
                        what,
                    )
                self._in_flight.discard(job.pub_id)
            await session.commit()
        for pub_id in unsure:
            await self.notifier.publication_unsure(pub_id)
        for move in moved:
            await self.notifier.target_moved(move)
        await report_refusals(self.on_auth_refused, ((o.job.account.id, o.error) for o in outcomes))

    async def _move_past_quota(
        self, session: AsyncSession, job: _Job, exc: QuotaUsedUp, now: datetime
    ) -> TargetMoved | None:
        """The target waits for the first free slot after the quota resets (never failed for
        it); what the owner is told, or None when the claim was taken over meanwhile."""
        resets = await quota.quota_reset(session, job.account, exc, now)
        when = await quota.move_slot(
            session, job.pub_id, job.account.id, resets, self.config.default_tz
        )
        log.info("publication %s: %s; moved to %s", job.pub_id, exc.reason, when.isoformat())
        if not await lifecycle.record_retry(
            session,
            job.pub_id,
            self.worker,
            at=when,
            error=exc.reason,
            part_ids=_confirmed(job, exc),
            attempt_spent=False,
        ):
            return None
        return TargetMoved(
            job.pub_id, when=when, resets=resets, limit=exc.limit, window=exc.window, unit=exc.unit
        )

    async def _record_failure(
        self, session: AsyncSession, job: _Job, exc: PublishError, now: datetime
    ) -> bool:
        part_ids = _confirmed(job, exc)
        retryable = isinstance(exc, RateLimited | Transient)
        if retryable and job.attempts < self.config.max_attempts:
            if isinstance(exc, RateLimited):
                delay = exc.retry_after * self.rng.uniform(1.0, 1.1)
            else:
                delay = backoff_delay(job.attempts, self.config, self.rng)
            log.info("publication %s: %s; retry in %.0f s", job.pub_id, exc.reason, delay)
            return await lifecycle.record_retry(
                session,
                job.pub_id,
                self.worker,
                at=now + timedelta(seconds=delay),
                error=exc.reason,
                part_ids=part_ids,
            )
        log.warning("publication %s failed for good: %s", job.pub_id, exc.reason)
        return await lifecycle.record_failed(
            session, job.pub_id, self.worker, error=exc.reason, part_ids=part_ids
        )

    async def _settle_all(self) -> None:
        """Settle, in one transaction, every scheduled post whose publications are all done;
        the owner hears about each post exactly once (the transition has one winner)."""
        unfinished = exists().where(
            and_(
                Publication.post_id == Post.id,
                Publication.status.not_in([str(s) for s in FINAL_PUBLICATION_STATES]),
            )
        )
        reports = []
        async with self.sessions() as session:
            post_ids = list(
                await session.scalars(
                    select(Post.id).where(Post.status == PostStatus.SCHEDULED, ~unfinished)
                )
            )
            if not post_ids:
                return
            pubs = await session.scalars(
                select(Publication)
                .where(Publication.post_id.in_(post_ids))
                .order_by(Publication.post_id, Publication.id)
            )
            by_post: dict[int, list[Publication]] = {}
            for pub in pubs:
                by_post.setdefault(pub.post_id, []).append(pub)
            posts = await session.scalars(select(Post).where(Post.id.in_(post_ids)))
            now = self.clock.now()
            for post in posts:
                report = await _settle(session, post, by_post.get(post.id, []), now)
                if report is not None:
                    reports.append(report)
            await session.commit()
        for report in reports:
            await self.notifier.post_settled(report)


def _check_ledger(job: _Job, publisher: Publisher, now: datetime) -> None:
    """Refuse, before sending, a post whose write points our own ledger shows spent."""
    assert job.ledger is not None
    counted, frees = job.ledger
    parts = max(check_variant(publisher, job.text).parts - len(job.already), 1)
    if counted.fits(bluesky_points(parts)):
        return
    raise QuotaUsedUp(
        max((frees - now).total_seconds(), 1.0),
        f"the account has spent {counted.used:,} of its {counted.limit:,} write points per "
        f"{counted.window}",
        limit=counted.limit,
        window=counted.window,
        unit=counted.unit,
    )


def _cost(publisher: Publisher, text: str) -> float | None:
    """What the platform charges for ``text`` (None where posting is free)."""
    if not isinstance(publisher, Priced):
        return None
    try:
        return publisher.cost(text).usd
    except PublishError:
        return None


def _confirmed(job: _Job, exc: PublishError) -> tuple[str, ...]:
    """The parts confirmed after a failed send: the error's list is complete (it includes what
    the job started from), so it replaces; an error raised before any part (a login, an upload)
    carries none, and what was stored stays."""
    return exc.posted_part_ids or job.already


async def _settle(
    session: AsyncSession, post: Post, pubs: list[Publication], now: datetime
) -> PublishReport | None:
    """Settle one post (no commit); a repeating post gets its next occurrence with it."""
    status = await lifecycle.settle(session, post, pubs)
    if status is None:
        return None  # another dispatcher settled it
    await schedule_next_occurrence(session, post, [p.account for p in pubs], now)
    counted = [p for p in pubs if p.status != PublicationStatus.CANCELLED]
    return PublishReport(post.id, status, tuple(_outcome(p) for p in counted))


def _outcome(pub: Publication) -> TargetOutcome:
    target = lifecycle.target_name(pub)
    if pub.status == PublicationStatus.PUBLISHED:
        return TargetOutcome(pub.id, target, True, url=pub.url)
    return TargetOutcome(pub.id, target, False, error=pub.last_error)
