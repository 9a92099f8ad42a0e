"""From a verified request to a stored event: source lookup, rate limit, naming, durable write.

Errors (each maps to one HTTP answer in `automation.server`)::

    IntakeError
    ├── InvalidEvent     the body or a header cannot name the event (400)
    ├── Replay           this source already sent an event with this id (409)
    ├── SourceGone       the source was deleted while the request was in flight (404)
    └── StoreFailed      the database did not take the batch (503, nothing stored)

Writes are group-committed: requests queue their event and wait; one writer task takes
everything queued, inserts it in one transaction, commits, and only then answers each request and
calls ``on_event``. A transaction costs about 1 ms of CPU through SQLAlchemy and aiosqlite
whether it holds one event or fifty, so batching is what makes 1,000+ events/s possible on
SQLite: while one commit runs the next batch gathers, and while events are streaming in the
writer lingers 3 ms before each batch to fill it (halving the CPU per event at 500/s). A lone
event after a quiet spell is written at once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.crypto import CryptoError, Vault
from storage.models import Event, Source

log = logging.getLogger(__name__)

WEBHOOK_KINDS = frozenset({"webhook", "github"})
#: Column sizes of `Event.type` and `Event.external_id`.
MAX_TYPE, MAX_EXTERNAL_ID = 128, 255
#: Column size of `Source.name`: a longer path segment cannot name a source.
MAX_SOURCE_NAME = 64


class Clock(Protocol):
    """The part of `scheduler.clock.Clock` the intake needs (automation does not import it)."""

    def now(self) -> datetime: ...


class IntakeError(Exception):
    """An event was not stored; `str()` is the reason in plain words for the sender."""

    status = 400


class InvalidEvent(IntakeError):
    status = 400


class Replay(IntakeError):
    status = 409


class SourceGone(IntakeError):
    status = 404


class StoreFailed(IntakeError):
    status = 503


# ------------------------------------------------------------------ sources
@dataclass(frozen=True)
class WebhookSource:
    id: int
    name: str
    kind: str
    secret: bytes


class SourceDirectory:
    """Webhook sources by name, with their secrets decrypted, kept for `ttl` seconds.

    The hot path then costs a dict lookup instead of a query and a Fernet decryption. Only hits
    are kept: a new source works at once, and a deleted or disabled one stops within `ttl` (or at
    once, when a write finds it gone and calls `forget`).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        vault: Vault,
        clock: Clock,
        ttl: float = 5.0,
    ) -> None:
        self.sessions, self.vault, self.clock, self.ttl = sessions, vault, clock, ttl
        self._cache: dict[str, tuple[float, WebhookSource]] = {}

    async def get(self, name: str) -> WebhookSource | None:
        now = self.clock.now().timestamp()
        hit = self._cache.get(name)
        if hit is not None and hit[0] > now:
            return hit[1]
        self._cache.pop(name, None)
        if len(name) > MAX_SOURCE_NAME:
            return None
        async with self.sessions() as session:
            row = await session.scalar(select(Source).where(Source.name == name))
        if row is None or row.kind not in WEBHOOK_KINDS or not row.enabled or not row.secret:
            return None
        try:
            secret = str(self.vault.decrypt(row.secret)["secret"]).encode("utf-8")
        except (CryptoError, KeyError) as exc:
            # a broken row is the operator's problem, not the sender's: log it, answer 404
            log.error("webhook source %r has an unreadable secret: %s", name, exc)
            return None
        source = WebhookSource(row.id, row.name, row.kind, secret)
        self._cache[name] = (now + self.ttl, source)
        return source

    def forget(self, name: str) -> None:
        self._cache.pop(name, None)


# ------------------------------------------------------------------ rate limit
class RateLimiter:
    """At most `limit` events per key in any `window` seconds (a sliding log of timestamps).

    Exact, unlike fixed windows that let twice the limit through around a boundary; memory is
    at most `limit` floats per busy source. Only accepted events count: a slot taken for an event
    that then turns out to be a replay is given back.
    """

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._log: dict[Any, collections.deque[float]] = {}

    def _trimmed(self, key: Any, now: float) -> collections.deque[float]:
        stamps = self._log.setdefault(key, collections.deque())
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        return stamps

    def retry_after(self, key: Any, now: float) -> int:
        """0 if an event may pass now, else whole seconds until a slot frees up."""
        stamps = self._trimmed(key, now)
        if len(stamps) < self.limit:
            return 0
        return max(1, math.ceil(stamps[0] + self.window - now))

    def acquire(self, key: Any, now: float) -> int:
        """Take a slot (returns 0) or say how long to wait (and take nothing)."""
        wait = self.retry_after(key, now)
        if wait == 0:
            self._log[key].append(now)
        return wait

    def release(self, key: Any, now: float) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._log[key].remove(now)


# ------------------------------------------------------------------ naming events
def _clean(value: str, limit: int, what: str) -> str:
    """`value` if it fits its column and any database takes it (no control characters, no
    lone surrogates, which PostgreSQL refuses), else InvalidEvent."""
    if not value or len(value) > limit or not value.isprintable():
        raise InvalidEvent(f"{what} must be 1 to {limit} printable characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEvent(f"{what} is not valid text") from None
    return value


def event_type(kind: str, payload: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    """``github.<X-GitHub-Event>[.<action>]`` for GitHub; the payload's ``type`` for plain
    webhooks; ``event`` when neither says."""
    if kind == "github":
        name = headers.get("X-GitHub-Event")
        if not name:
            return "event"
        action = payload.get("action")
        suffix = f".{action}" if isinstance(action, str) and action else ""
        return _clean(f"github.{name}{suffix}", MAX_TYPE, "the event type")
    value = payload.get("type")
    if value is None:
        return "event"
    if not isinstance(value, str):
        raise InvalidEvent("the payload's type must be a string")
    return _clean(value, MAX_TYPE, "the payload's type")


def external_id(
    kind: str, payload: Mapping[str, Any], headers: Mapping[str, str], body: bytes
) -> str:
    """The sender's id of the event (payload ``id``, ``X-Nexus-Event-Id``, or for GitHub
    ``X-GitHub-Delivery``); without one, the body's SHA-256, so an identical resend is a
    replay."""
    if kind == "github":
        value: Any = headers.get("X-GitHub-Delivery")
    else:
        value = payload.get("id")
        if value is None:
            value = headers.get("X-Nexus-Event-Id")
        elif isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidEvent("the payload's id must be a string or an integer")
    if value is None or value == "":
        return hashlib.sha256(body).hexdigest()
    return _clean(str(value), MAX_EXTERNAL_ID, "the event id")


# ------------------------------------------------------------------ durable writes
_EVENTS = cast(Table, Event.__table__)


@dataclass(frozen=True)
class NewEvent:
    source_id: int
    external_id: str
    type: str
    payload: str
    received_at: datetime

    @property
    def key(self) -> tuple[int, str]:
        return self.source_id, self.external_id

    def row(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "external_id": self.external_id,
            "type": self.type,
            "payload": self.payload,
            "status": "new",
            "received_at": self.received_at,
        }


@dataclass
class _Pending:
    event: NewEvent
    done: asyncio.Future[int] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def settle(self, result: int | IntakeError) -> None:
        if self.done.done():  # the request was cancelled; the outcome stands anyway
            return
        if isinstance(result, IntakeError):
            self.done.set_exception(result)
        else:
            self.done.set_result(result)


#: Commits closer together than this mean events are streaming in (seconds).
STREAMING_GAP_S = 0.05


class EventWriter:
    """Stores events in batches, one transaction each, and answers only after the commit."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        on_event: Callable[[int], None] | None = None,
        *,
        max_batch: int = 500,
        linger: float = 0.003,
    ) -> None:
        self.sessions, self.on_event, self.max_batch = sessions, on_event, max_batch
        self.linger = linger
        self._queue: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        #: How many batches were committed and how many events they held (for the benchmark).
        self.batches = 0
        self.written = 0
        self._last_write = float("-inf")

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="nexus-event-writer")

    async def stop(self) -> None:
        """Write what is queued, then end."""
        if self._task is None:
            return
        self._stopping = True
        self._wakeup.set()
        await self._task
        self._task = None

    async def store(self, event: NewEvent) -> int:
        """The new event's id, once committed; IntakeError if it was not stored."""
        if self._task is None or self._stopping:
            raise StoreFailed("the server is shutting down; send the event again")
        pending = _Pending(event)
        self._queue.append(pending)
        self._wakeup.set()
        return await pending.done

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                if self._busy() and len(self._queue) < self.max_batch:
                    await asyncio.sleep(self.linger)  # let a stream of events fill the batch
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                try:
                    await self._write(batch)
                except Exception:  # never leave a request waiting, never kill the writer
                    log.exception("storing %d webhook events failed", len(batch))
                    for pending in batch:
                        pending.settle(StoreFailed("the event could not be stored"))
            if self._stopping:
                return

    def _busy(self) -> bool:
        """Events are streaming in (the last commit was moments ago): a short wait before the
        next one fills the batch, since a commit costs about as much CPU for one event as for
        fifty. A lone event after a quiet spell is written at once."""
        return (
            self.linger > 0
            and not self._stopping
            and time.monotonic() - self._last_write < STREAMING_GAP_S
        )

    async def _write(self, batch: list[_Pending]) -> None:
        fresh: dict[tuple[int, str], _Pending] = {}
        for pending in batch:
            if pending.event.key in fresh:
                pending.settle(Replay("this event was already received"))
            else:
                fresh[pending.event.key] = pending
        todo = list(fresh.values())
        try:
            ids = await self._insert([p.event.row() for p in todo])
        except IntegrityError:
            # A replay of a stored event, or a source deleted meanwhile: the whole batch was
            # rolled back, so each event is tried on its own. Replays are rare (a sender's retry
            # after a lost answer), so the common path spends no query on looking for them.
            for pending in todo:
                await self._write_one(pending)
            return
        except SQLAlchemyError as exc:
            log.error("storing %d webhook events failed: %s", len(fresh), exc)
            for pending in fresh.values():
                pending.settle(StoreFailed("the event could not be stored; try again"))
            return
        self._last_write = time.monotonic()
        self.batches += 1
        self.written += len(ids)
        for pending, event_id in zip(todo, ids, strict=True):
            pending.settle(event_id)
        self._announce(ids)

    async def _insert(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert and commit `rows`, returning their ids in order. A Core statement on the
        session's connection: the ORM's bookkeeping would double the cost of a small batch."""
        async with self.sessions() as session:
            connection = await session.connection()
            statement = insert(_EVENTS).returning(_EVENTS.c.id, sort_by_parameter_order=True)
            ids = list((await connection.execute(statement, rows)).scalars())
            await session.commit()
        return ids

    async def _existing(
        self, session: AsyncSession, keys: list[tuple[int, str]]
    ) -> set[tuple[int, str]]:
        rows = await session.execute(
            select(Event.source_id, Event.external_id).where(
                Event.source_id.in_({s for s, _ in keys}),
                Event.external_id.in_({e for _, e in keys}),
            )
        )
        return {(s, e) for s, e in rows} & set(keys)

    async def _write_one(self, pending: _Pending) -> None:
        event = pending.event
        try:
            [event_id] = await self._insert([event.row()])
        except IntegrityError:
            async with self.sessions() as session:
                exists = await self._existing(session, [event.key])
            pending.settle(
                Replay("this event was already received")
                if exists
                else SourceGone("no webhook source with this name")
            )
            return
        self._last_write = time.monotonic()
        self.batches += 1
        self.written += 1
        pending.settle(event_id)
        self._announce([event_id])

    def _announce(self, ids: list[int] | Any) -> None:
        if self.on_event is None:
            return
        for event_id in ids:
            try:
                self.on_event(event_id)
            except Exception:  # the event is stored; the rules engine's poll will find it
                log.exception("on_event(%s) failed", event_id)
