"""The rules engine: an inbound event (a webhook, a feed entry) runs every enabled rule that
matches it, and each rule's actions become drafts for approval, scheduled posts or messages.

An event row is written before anything acts on it (by the HTTP server or the feed poller), so
a crash loses nothing. Events are claimed in batches with one conditional UPDATE that stamps a
claim id (this engine's worker id and a batch number) and a lease: two workers, or a webhook
racing the catch-up, never run one event at the same time. Before each event runs its lease is
renewed under the same claim id; a claim another worker took over (the lease ran out) is left to
it. An event still "processing" after its lease is a crash relic and is claimed again like a new
one, up to `MAX_ATTEMPTS` times (an event that kills its worker every time fails and is
reported instead).

    new ──claim──▶ processing ──▶ done | failed
                      │  ▲
                      └──┘ lease ran out (the worker died): claimed again

Running an event again is safe because every action is keyed by (event, rule, action index):
a draft or a scheduled post carries the key in ``posts.origin_key`` (unique), so a re-run finds
the post instead of writing a second one, and schedules it if the crash came between drafting
and scheduling; a message to the owner is sent only by whoever first writes its key to
``period_locks``, so a re-run sends nothing twice (a crash between that write and the send loses
the message rather than sending it twice).

The backlog drains at full speed: `drain` takes batches back to back until none is left,
yielding to the event loop between batches so webhook intake keeps its turn. Events that no rule
matches are finished a whole batch in one UPDATE.

Everything stays inside the brand of the event's source: only that brand's rules run on it, its
drafts and posts are made in that brand (authored by its first owner) and publish to its
accounts, their previews and a rule's messages go to its owners and editors, and its failures to
its owners.

Publishing always goes through `scheduler.lifecycle.schedule_post` and the dispatcher; the
engine never talks to a platform. Failures go to a `FailureSink` (the notifier by default;
the alerts service, with its cooldown, when wired in).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import socket
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai.drafter import Drafter
from ai.errors import AIError
from ai.service import create_draft
from automation.rules import (
    AutopublishAction,
    DraftAction,
    NotifyAction,
    RuleSpec,
    render,
)
from publishers.text import TELEGRAM_TEXT_LIMIT
from scheduler.clock import Clock
from scheduler.lifecycle import NoTargets, schedule_post, submit_for_review
from scheduler.notify import Notifier
from storage import repositories as repo
from storage import teams
from storage.models import Event, Post, PostStatus, Role, Rule, RuleRun, Source, User

log = logging.getLogger(__name__)

#: How long a claim holds without renewal; a "processing" event past it was cut short by a crash.
LEASE = timedelta(minutes=5)
#: How many pending events one claim takes on.
CATCH_UP_BATCH = 100
#: Claims of one event after which it is failed and reported rather than run again.
MAX_ATTEMPTS = 3


class FailureSink(Protocol):
    """Where a failing rule or feed is reported (the lead plugs `metrics.alerts` in here)."""

    async def automation_failed(self, brand_id: int, name: str, reason: str) -> object: ...


class ActionFailed(Exception):
    """An action could not be carried out; the message is the reason shown to the owner."""


@dataclass(frozen=True)
class RunResult:
    ok: bool
    detail: str


def action_key(event_id: int, rule_id: int | None, index: int = 0) -> str:
    """The key of one action of one rule on one event (rule None: a feed's summary draft)."""
    who = "feed" if rule_id is None else f"rule:{rule_id}"
    return f"event:{event_id}:{who}:action:{index}"


def worker_id() -> str:
    """Names this engine in its claims: host and pid for the operator, random for uniqueness."""
    return f"{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class AutomationEngine:
    """Processes stored events, each within the brand of its source."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        drafter: Drafter,
        notifier: Notifier,
        clock: Clock,
        *,
        failures: FailureSink,
        wake: Callable[[], None] = lambda: None,
        max_chars: int = TELEGRAM_TEXT_LIMIT,
    ) -> None:
        self.sessions = sessions
        self.drafter = drafter
        self.notifier = notifier
        self.clock = clock
        self.failures = failures
        self.wake = wake
        self.max_chars = max_chars
        self.worker = worker_id()
        self._claims = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._drain = {"running": False, "wanted": False}
        self._stopping = False

    # --- entry points ------------------------------------------------------------------------

    def submit(self, event_id: int) -> None:
        """Process one event in the background (sync, returns at once)."""
        self.spawn(self.process(event_id))

    def drain_soon(self, _event_id: int | None = None) -> None:
        """The webhook server's `on_event` and the start-up catch-up: wake one background
        `drain` rather than start a task per event.

        A task per event lets a burst of webhooks start hundreds of rule runs at once, each
        queueing for the database (one connection on SQLite) ahead of the intake's next commit:
        accepted events/s fell from ~2,500 to ~120 and p99 at 500/s to seconds
        (bench/webhooks.py --with-rules). One drain at a time keeps the rules' share of the
        database bounded; events arriving meanwhile are picked up by the same drain or one more,
        never lost (they are stored before this is called) and never run twice (each is
        claimed)."""
        self._drain["wanted"] = True
        if not self._drain["running"]:
            self._drain["running"] = True
            self.spawn(self._drain_while_wanted())

    async def catch_up(self) -> None:
        """The periodic job: wake the one drain (events stored by other processes, leases run
        out) rather than run a second drain beside it."""
        self.drain_soon()

    async def _drain_while_wanted(self) -> None:
        try:
            while self._drain["wanted"] and not self._stopping:
                self._drain["wanted"] = False
                await self.drain()
        finally:
            self._drain["running"] = False

    async def drain(self) -> int:
        """Process pending events batch after batch until none is left (or the engine stops);
        returns how many ran. What is left at a stop stays for the next start."""
        total = 0
        while not self._stopping:
            ran = await self.process_pending()
            if not ran:
                break
            total += ran
            await asyncio.sleep(0)  # let webhook intake and the bot have their turn
        return total

    def stop(self) -> None:
        """Stop taking new batches (at shutdown); the batch under way finishes."""
        self._stopping = True

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` as a background task the engine keeps a reference to (see `idle`)."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("automation task failed", exc_info=task.exception())

    async def idle(self) -> None:
        """Wait for the background work started so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def process_pending(self) -> int:
        """Claim one batch of events (new, or left by a dead worker) and process it. Returns how
        many were claimed."""
        claim = self._claim_id()
        ids = await self._claim_batch(claim)
        if not ids:
            return 0
        async with self.sessions() as session:
            events = (
                await session.scalars(select(Event).where(Event.id.in_(ids)).order_by(Event.id))
            ).all()
            draft_feeds = set(
                (
                    await session.scalars(
                        select(Source.id).where(Source.kind == "feed", Source.mode == "draft")
                    )
                ).all()
            )
            brand_of = {
                source_id: brand_id
                for source_id, brand_id in await session.execute(select(Source.id, Source.brand_id))
            }
            rules = await self._rules(session)
        specs: dict[int, list[tuple[Rule, RuleSpec | str]]] = {}
        for rule, spec in _specs(rules):
            specs.setdefault(rule.brand_id, []).append((rule, spec))
        quiet = [
            e.id
            for e in events
            if _quiet(e, draft_feeds, specs.get(brand_of.get(e.source_id, 0), []))
        ]
        await self._finish_many(quiet, claim)
        for event in events:
            if event.id not in quiet:
                await self._run_claimed(event.id, claim)
        return len(ids)

    async def process(self, event_id: int) -> bool:
        """Run the rules on one event; False if another worker holds it (or it is gone or
        already processed)."""
        claim = self._claim_id()
        if not await self._claim_batch(claim, only=event_id):
            return False
        return await self._run_claimed(event_id, claim)

    async def _run_claimed(self, event_id: int, claim: str) -> bool:
        async with self.sessions() as session:
            if not await self._renew(session, event_id, claim):
                await session.commit()
                return False  # the lease ran out and another worker took the event over
            event = await session.get(Event, event_id)
            source = await session.get(Source, event.source_id) if event else None
            rules = await self._rules(session, source.brand_id) if source else []
            await session.commit()
        if event is None:
            return False
        if source is None:  # deleted (its events go with it): no brand's rules to run
            await self._finish(event_id, claim, ok=False)
            return True
        if event.attempts > MAX_ATTEMPTS:
            await self._give_up(event_id, source.brand_id, claim)
            return True
        try:
            payload = json.loads(event.payload)
        except json.JSONDecodeError as exc:
            await self._finish(event_id, claim, ok=False)
            await self._report(
                source.brand_id, f"event #{event_id}", f"the payload is not JSON ({exc.msg})"
            )
            return True
        if source.kind == "feed" and source.mode == "draft":
            ok = await self._feed_draft(event_id, source, payload)
        else:
            ok = await self._run_rules(event, source.brand_id, rules, payload)
        await self._finish(event_id, claim, ok=ok)
        return True

    # --- claiming ----------------------------------------------------------------------------

    def _claim_id(self) -> str:
        return f"{self.worker}#{next(self._claims)}"

    async def _claim_batch(self, claim: str, *, only: int | None = None) -> list[int]:
        """Claim up to a batch of events that are new or whose lease ran out; their ids."""
        now = self.clock.now()
        claimable = or_(
            Event.status == "new",
            (Event.status == "processing")
            & or_(Event.lease_until.is_(None), Event.lease_until < now),
        )
        pick = select(Event.id).where(claimable)
        if only is not None:
            pick = pick.where(Event.id == only)
        pick = pick.order_by(Event.id).limit(CATCH_UP_BATCH).with_for_update(skip_locked=True)
        async with self.sessions() as session:
            result = await session.execute(
                update(Event)
                .where(Event.id.in_(pick.scalar_subquery()), claimable)
                .values(
                    status="processing",
                    claimed_by=claim,
                    lease_until=now + LEASE,
                    attempts=Event.attempts + 1,
                )
                .returning(Event.id)
                .execution_options(synchronize_session=False)
            )
            ids = sorted(result.scalars())
            await session.commit()
        return ids

    async def _renew(self, session: AsyncSession, event_id: int, claim: str) -> bool:
        result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
            update(Event)
            .where(Event.id == event_id, Event.claimed_by == claim, Event.status == "processing")
            .values(lease_until=self.clock.now() + LEASE)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def _finish_many(self, event_ids: Sequence[int], claim: str, *, ok: bool = True) -> None:
        if not event_ids:
            return
        async with self.sessions() as session:
            await session.execute(
                update(Event)
                .where(
                    Event.id.in_(event_ids),
                    Event.claimed_by == claim,
                    Event.status == "processing",
                )
                .values(status="done" if ok else "failed", processed_at=self.clock.now())
                .execution_options(synchronize_session=False)
            )
            await session.commit()

    async def _finish(self, event_id: int, claim: str, *, ok: bool) -> None:
        await self._finish_many([event_id], claim, ok=ok)

    async def _give_up(self, event_id: int, brand_id: int, claim: str) -> None:
        await self._finish(event_id, claim, ok=False)
        await self._report(
            brand_id,
            f"event #{event_id}",
            f"processing was interrupted {MAX_ATTEMPTS} times (each time the worker stopped); "
            "it is not run again",
        )

    @staticmethod
    async def _rules(session: AsyncSession, brand_id: int | None = None) -> Sequence[Rule]:
        """The enabled rules (of ``brand_id`` when given)."""
        query = select(Rule).where(Rule.enabled)
        if brand_id is not None:
            query = query.where(Rule.brand_id == brand_id)
        return (await session.scalars(query.order_by(Rule.id))).all()

    async def _once(self, key: str) -> bool:
        """True for the first caller with `key`, whichever process or restart it comes from."""
        async with self.sessions() as session:
            first = await repo.claim_period(session, key)
            await session.commit()
        return first

    # --- rules -------------------------------------------------------------------------------

    async def _run_rules(self, event: Event, brand_id: int, rules: Any, payload: Any) -> bool:
        ok = True
        for rule, spec in _specs(rules):
            if isinstance(spec, str):
                result = RunResult(False, f"the stored rule is invalid: {spec}")
            else:
                if not spec.matches(event.type, payload):
                    continue
                result = await self._run_rule(event.id, brand_id, rule.id, spec, payload)
            await self._log_run(rule.id, event.id, result)
            if not result.ok:
                ok = False
                await self._report(brand_id, rule.name, result.detail)
        return ok

    async def _run_rule(
        self, event_id: int, brand_id: int, rule_id: int, spec: RuleSpec, payload: Any
    ) -> RunResult:
        done: list[str] = []
        for index, action in enumerate(spec.actions):
            rendered = render(action.template, payload)
            if rendered.missing:
                log.warning(
                    "rule %s: the event has no %s (rendered as empty)",
                    spec.name,
                    ", ".join(rendered.missing),
                )
            key = action_key(event_id, rule_id, index)
            try:
                if not rendered.text.strip():
                    raise ActionFailed(f"the {action.type} template rendered empty")
                done.append(
                    await self._act(key, brand_id, f"rule:{rule_id}", action, rendered.text)
                )
            except (ActionFailed, AIError) as exc:
                reason = exc.user_message if isinstance(exc, AIError) else str(exc)
                return RunResult(False, "; ".join([*done, f"{action.type} failed: {reason}"]))
            except Exception as exc:  # a bug or the database: logged, reported, never silent
                log.exception("rule %s: %s action crashed", spec.name, action.type)
                return RunResult(False, "; ".join([*done, f"{action.type} failed: {exc!r}"]))
            if rendered.missing:
                done[-1] += f" (empty: {', '.join(rendered.missing)})"
        return RunResult(True, "; ".join(done))

    async def _act(
        self,
        key: str,
        brand_id: int,
        origin: str,
        action: DraftAction | AutopublishAction | NotifyAction,
        text: str,
    ) -> str:
        if isinstance(action, NotifyAction):
            if await self._once(key):
                await self.notifier.tell_brand(brand_id, text)
            return "notified"
        if isinstance(action, DraftAction):
            post = await self._draft(key, brand_id, text, origin, ai=True)
            if await self._reviewed(key, post, None):
                return f"draft #{post.id} for review"
            await self._draft_ready(key, post.id)
            return f"draft #{post.id}"
        post = await self._draft(key, brand_id, text, origin, ai=action.ai)
        when = self.clock.now() + timedelta(minutes=action.delay)
        if await self._reviewed(key, post, when):
            return f"post #{post.id} for review, to go out {when.isoformat(timespec='minutes')}"
        if post.status != PostStatus.DRAFT:  # a re-run after the post was scheduled
            return f"post #{post.id} {post.status}"
        async with self.sessions() as session:
            try:
                scheduled = await schedule_post(session, post, when, targets=action.targets)
            except NoTargets:
                await session.rollback()
                wanted = ", ".join(map(str, action.targets)) or "any"
                raise ActionFailed(
                    f"no enabled account to publish to (targets: {wanted}); post #{post.id} "
                    "stays a draft"
                ) from None
        if not scheduled:
            raise ActionFailed(f"post #{post.id} changed before it could be scheduled")
        self.wake()
        return f"post #{post.id} scheduled for {when.isoformat(timespec='minutes')}"

    async def _reviewed(self, key: str, post: Post, when: datetime | None) -> bool:
        """In a brand that reviews (`storage.teams.review_wanted`), the action's draft waits for
        a reviewer instead of its owner's approval or its own schedule: it is submitted, to go
        out at `when` (None: once approved), and its card is posted once. False: the brand
        does not review, nothing was done."""
        async with self.sessions() as session:
            brand = await teams.get_brand(session, post.brand_id)
            if brand is None or not await teams.review_wanted(session, brand):
                return False
            if post.status == PostStatus.DRAFT:
                due = self.clock.now() + timedelta(minutes=brand.review_timeout_minutes)
                try:
                    await submit_for_review(session, post, when, by=None, due=due)
                except NoTargets:
                    await session.rollback()
                    raise ActionFailed(
                        f"no enabled account to publish to; post #{post.id} stays a draft"
                    ) from None
        if await self._once(f"{key}:review"):
            await self.notifier.review_requested(post.id)
        return True

    async def _draft_ready(self, key: str, post_id: int) -> None:
        if await self._once(f"{key}:ready"):
            await self.notifier.draft_ready(post_id)

    async def _draft(self, key: str, brand_id: int, text: str, origin: str, *, ai: bool) -> Post:
        """The action's post: the one an earlier run of it made, or a new draft of the brand
        written by the AI from `text` as the brief, or `text` as it is."""
        async with self.sessions() as session:
            existing = await session.scalar(select(Post).where(Post.origin_key == key))
            if existing is not None:
                return existing
            author = await self._author(session, brand_id)
            try:
                if ai:
                    return await create_draft(
                        session,
                        self.drafter,
                        author_id=author,
                        brief=text,
                        max_chars=self.max_chars,
                        brand_id=brand_id,
                        origin=origin,
                        origin_key=key,
                    )
                post = await repo.create_draft(
                    session,
                    brand_id=brand_id,
                    author_id=author,
                    brief=text,
                    text=text,
                    offline=False,
                    origin=origin,
                    origin_key=key,
                )
                await session.commit()
                return post
            except IntegrityError:  # another run of this action got there first
                await session.rollback()
                existing = await session.scalar(select(Post).where(Post.origin_key == key))
                if existing is None:
                    raise
                return existing

    @staticmethod
    async def _author(session: AsyncSession, brand_id: int) -> int:
        """Who authors the brand's automation drafts: its first owner (by id), with a user row
        (they may not have written to the bot yet). Told the outcomes as authors are; the
        previews go to every owner and editor of the brand."""
        owners = await teams.member_ids(session, brand_id, [Role.OWNER])
        if not owners:
            raise ActionFailed("the brand has no owner to author drafts: set NEXUS_OWNER_IDS")
        if await session.get(User, owners[0]) is None:
            session.add(User(id=owners[0]))
            await session.flush()
        return owners[0]

    async def _log_run(self, rule_id: int, event_id: int, result: RunResult) -> None:
        async with self.sessions() as session:
            session.add(
                RuleRun(
                    rule_id=rule_id,
                    event_id=event_id,
                    at=self.clock.now(),
                    ok=result.ok,
                    detail=result.detail[:2000],
                )
            )
            await session.commit()

    # --- feeds in draft mode -----------------------------------------------------------------

    async def _feed_draft(self, event_id: int, source: Source, item: Any) -> bool:
        """A feed in "draft" mode: an AI summary of the entry, for approval."""
        key = action_key(event_id, None)
        try:
            post = await self._draft(
                key, source.brand_id, feed_brief(item), f"rss:{source.id}", ai=True
            )
            reviewed = await self._reviewed(key, post, None)
        except (ActionFailed, AIError) as exc:
            reason = exc.user_message if isinstance(exc, AIError) else str(exc)
            await self._report(
                source.brand_id, f"feed {source.name}", f"summary draft failed: {reason}"
            )
            return False
        if not reviewed:
            await self._draft_ready(key, post.id)
        return True

    async def _report(self, brand_id: int, name: str, reason: str) -> None:
        log.warning("automation %s of brand %s failed: %s", name, brand_id, reason)
        try:
            await self.failures.automation_failed(brand_id, name, reason)
        except Exception:  # the report must not take the engine down with it
            log.exception("could not report the failure of %s", name)


def _specs(rules: Sequence[Rule]) -> list[tuple[Rule, RuleSpec | str]]:
    """Each rule with its parsed spec, or the reason its stored form is invalid."""
    specs: list[tuple[Rule, RuleSpec | str]] = []
    for rule in rules:
        try:
            spec: RuleSpec | str = RuleSpec.from_columns(
                rule.name, rule.event, rule.conditions, rule.actions, rule.enabled
            )
        except ValueError as exc:
            spec = str(exc)
        specs.append((rule, spec))
    return specs


def _quiet(event: Event, draft_feeds: set[int], specs: list[tuple[Rule, RuleSpec | str]]) -> bool:
    """The event needs nothing done: no rule matches it, none is broken (which is reported per
    event), and it is not a feed entry to summarise. Such events finish a batch at a time."""
    if event.source_id in draft_feeds or event.attempts > MAX_ATTEMPTS:
        return False
    try:
        payload = json.loads(event.payload)
    except json.JSONDecodeError:
        return False
    return all(
        not isinstance(spec, str) and not spec.matches(event.type, payload) for _, spec in specs
    )


def feed_brief(item: Any) -> str:
    """The brief of a feed entry's summary post."""
    item = item if isinstance(item, dict) else {}
    parts = [
        "Write a short post for our channel that sums up this article and links to it.",
        f"Title: {item.get('title') or ''}",
    ]
    if item.get("summary"):
        parts.append(f"Summary: {item['summary']}")
    if item.get("link"):
        parts.append(f"Link: {item['link']}")
    if item.get("feed"):
        parts.append(f"Source: {item['feed']}")
    return "\n".join(parts)
