"""The rules engine: an inbound event (a webhook, a feed entry) runs every enabled rule that
matches it, and each rule's actions become drafts for approval, scheduled posts or messages.

An event row is written before anything acts on it (by the HTTP server or the feed poller), so
a crash loses nothing: `process_pending` picks up events still "new". Claiming is one
conditional UPDATE (new → processing), which is what keeps two workers, or a webhook's
`on_event` racing the catch-up job, from processing one event twice. An event found still
"processing" long after its claim was interrupted mid-way; it is marked failed and reported
rather than run again, because its first actions may already have drafted or published.

    new ──claim──▶ processing ──▶ done | failed

Publishing always goes through `scheduler.lifecycle.schedule_post` and the dispatcher; the
engine never talks to a platform. Failures go to a `FailureSink` (the notifier by default;
the alerts service, with its cooldown, when wired in).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
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
from scheduler.lifecycle import NoTargets, schedule_post
from scheduler.notify import Notifier
from storage import repositories as repo
from storage.models import Event, Post, Rule, RuleRun, Source, User

log = logging.getLogger(__name__)

#: A claim older than this with the event still "processing" was cut short by a crash.
STALE_CLAIM = timedelta(minutes=10)
#: How many pending events one catch-up pass takes on.
CATCH_UP_BATCH = 100


class FailureSink(Protocol):
    """Where a failing rule or feed is reported (the lead plugs `metrics.alerts` in here)."""

    async def automation_failed(self, name: str, reason: str) -> object: ...


class ActionFailed(Exception):
    """An action could not be carried out; the message is the reason shown to the owner."""


@dataclass(frozen=True)
class RunResult:
    ok: bool
    detail: str


class AutomationEngine:
    """Processes stored events. `owner_id` authors the drafts (they are shown to that owner)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        drafter: Drafter,
        notifier: Notifier,
        clock: Clock,
        *,
        owner_id: int | None,
        failures: FailureSink,
        wake: Callable[[], None] = lambda: None,
        max_chars: int = TELEGRAM_TEXT_LIMIT,
    ) -> None:
        self.sessions = sessions
        self.drafter = drafter
        self.notifier = notifier
        self.clock = clock
        self.owner_id = owner_id
        self.failures = failures
        self.wake = wake
        self.max_chars = max_chars
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- entry points ------------------------------------------------------------------------

    def submit(self, event_id: int) -> None:
        """The HTTP server's `on_event`: process the event in the background (sync, returns at
        once so the webhook is acknowledged without waiting for the AI)."""
        self.spawn(self.process(event_id))

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
        """Catch up: report interrupted events, then process events left "new" (by a crash, or
        by a process that stores events but does not run rules). Returns how many ran."""
        await self._fail_stale_claims()
        async with self.sessions() as session:
            ids = list(
                (
                    await session.scalars(
                        select(Event.id)
                        .where(Event.status == "new")
                        .order_by(Event.id)
                        .limit(CATCH_UP_BATCH)
                    )
                ).all()
            )
        ran = 0
        for event_id in ids:
            ran += await self.process(event_id)
        return ran

    async def process(self, event_id: int) -> bool:
        """Run the rules on one event; False if another worker claimed it first (or it is
        gone or already processed)."""
        if not await self._claim(event_id):
            return False
        async with self.sessions() as session:
            event = await session.get(Event, event_id)
            source = await session.get(Source, event.source_id) if event else None
            rules = (
                await session.scalars(select(Rule).where(Rule.enabled).order_by(Rule.id))
            ).all()
            await session.commit()
        if event is None:
            return False
        try:
            payload = json.loads(event.payload)
        except json.JSONDecodeError as exc:
            await self._finish(event_id, ok=False)
            await self._report(f"event #{event_id}", f"the payload is not JSON ({exc.msg})")
            return True
        if source is not None and source.kind == "feed" and source.mode == "draft":
            ok = await self._feed_draft(source, payload)
        else:
            ok = await self._run_rules(event, rules, payload)
        await self._finish(event_id, ok=ok)
        return True

    # --- claiming ----------------------------------------------------------------------------

    async def _claim(self, event_id: int) -> bool:
        async with self.sessions() as session:
            result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
                update(Event)
                .where(Event.id == event_id, Event.status == "new")
                .values(status="processing", processed_at=self.clock.now())
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        return result.rowcount == 1

    async def _finish(self, event_id: int, *, ok: bool) -> None:
        async with self.sessions() as session:
            await session.execute(
                update(Event)
                .where(Event.id == event_id, Event.status == "processing")
                .values(status="done" if ok else "failed", processed_at=self.clock.now())
                .execution_options(synchronize_session=False)
            )
            await session.commit()

    async def _fail_stale_claims(self) -> None:
        cutoff = self.clock.now() - STALE_CLAIM
        async with self.sessions() as session:
            stale = list(
                (
                    await session.scalars(
                        select(Event.id).where(
                            Event.status == "processing", Event.processed_at < cutoff
                        )
                    )
                ).all()
            )
            await session.commit()
        for event_id in stale:
            await self._finish(event_id, ok=False)
            await self._report(
                f"event #{event_id}",
                "processing was interrupted (a restart?); it is not run again, to avoid "
                "duplicate posts",
            )

    # --- rules -------------------------------------------------------------------------------

    async def _run_rules(self, event: Event, rules: Any, payload: Any) -> bool:
        ok = True
        for rule in rules:
            try:
                spec = RuleSpec.from_columns(
                    rule.name, rule.event, rule.conditions, rule.actions, rule.enabled
                )
            except ValueError as exc:
                result = RunResult(False, f"the stored rule is invalid: {exc}")
            else:
                if not spec.matches(event.type, payload):
                    continue
                result = await self._run_rule(rule.id, spec, payload)
            await self._log_run(rule.id, event.id, result)
            if not result.ok:
                ok = False
                await self._report(rule.name, result.detail)
        return ok

    async def _run_rule(self, rule_id: int, spec: RuleSpec, payload: Any) -> RunResult:
        done: list[str] = []
        for action in spec.actions:
            rendered = render(action.template, payload)
            if rendered.missing:
                log.warning(
                    "rule %s: the event has no %s (rendered as empty)",
                    spec.name,
                    ", ".join(rendered.missing),
                )
            try:
                if not rendered.text.strip():
                    raise ActionFailed(f"the {action.type} template rendered empty")
                done.append(await self._act(rule_id, action, rendered.text))
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
        self, rule_id: int, action: DraftAction | AutopublishAction | NotifyAction, text: str
    ) -> str:
        origin = f"rule:{rule_id}"
        if isinstance(action, NotifyAction):
            await self.notifier.tell_owner(text)
            return "notified"
        if isinstance(action, DraftAction):
            post = await self._draft(text, origin, ai=True)
            await self.notifier.draft_ready(post.id)
            return f"draft #{post.id}"
        post = await self._draft(text, origin, ai=action.ai)
        when = self.clock.now() + timedelta(minutes=action.delay)
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

    async def _draft(self, text: str, origin: str, *, ai: bool) -> Post:
        """A draft post: written by the AI from `text` as the brief, or `text` as it is."""
        async with self.sessions() as session:
            author = await self._author(session)
            if ai:
                return await create_draft(
                    session,
                    self.drafter,
                    author_id=author,
                    brief=text,
                    max_chars=self.max_chars,
                    origin=origin,
                )
            post = await repo.create_draft(
                session, author_id=author, brief=text, text=text, offline=False, origin=origin
            )
            await session.commit()
            return post

    async def _author(self, session: AsyncSession) -> int:
        """The owner who authors automation drafts, with a user row (they may not have written
        to the bot yet)."""
        if self.owner_id is None:
            raise ActionFailed("no owner to send drafts to: set NEXUS_OWNER_IDS")
        if await session.get(User, self.owner_id) is None:
            session.add(User(id=self.owner_id))
            await session.flush()
        return self.owner_id

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

    async def _feed_draft(self, source: Source, item: Any) -> bool:
        """A feed in "draft" mode: an AI summary of the entry, for approval."""
        try:
            post = await self._draft(feed_brief(item), f"rss:{source.id}", ai=True)
        except (ActionFailed, AIError) as exc:
            reason = exc.user_message if isinstance(exc, AIError) else str(exc)
            await self._report(f"feed {source.name}", f"summary draft failed: {reason}")
            return False
        await self.notifier.draft_ready(post.id)
        return True

    async def _report(self, name: str, reason: str) -> None:
        log.warning("automation %s failed: %s", name, reason)
        try:
            await self.failures.automation_failed(name, reason)
        except Exception:  # the report must not take the engine down with it
            log.exception("could not report the failure of %s", name)


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
