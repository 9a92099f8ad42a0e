"""Telegram's sending limits, kept in one place for every sender (no aiogram here).

Telegram's documented limits (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
about 30 messages per second overall, at most 20 messages per minute in one group or channel,
and about one message per second in one private chat. Going over earns a 429 with
``retry_after``, and ignoring that makes the ban longer.

Product rule: *everything the bot sends stays under Telegram's limits through ONE limiter.* So
one :class:`TelegramLimits` per process (per bot token) is shared by every sender: the aiogram
adapter :class:`bot.throttle.TelegramThrottle` (a session middleware) and the raw-httpx
:class:`publishers.telegram.TelegramPublisher`. It lives in ``publishers`` because publishers
never import ``bot`` or aiogram, while ``bot`` may import ``publishers``.

How each limit is kept, and why that shape:

* **Groups and channels** (negative id or ``"@username"``): a *sliding window log* of the last 20
  send times. A send may go at ``t`` only if fewer than 20 sends happened in ``(t - 60, t]``. This
  is exact: any 60 s window holds at most 20 sends, and the first 20 go at once. (A token bucket
  refilling at 20/min would let the 21st go 3 s after the first 20: 21 in one minute.)
* **Private chats** (positive id): a *token bucket* (GCRA form) of 1/s with a burst of 10, so a
  short reply flurry goes at once and a longer run is spaced one second apart.
* **Global**: a sliding window of 30 per second, shared by all chats and all senders.

Per chat, sends are serialised by an ``asyncio.Lock`` (so a chat's messages also keep their order)
that is held while that chat waits for its slot and while its request is in flight; other chats
are never behind that lock. The global window is taken by *reservation*: a request computes the
earliest free global slot, records it at once and then sleeps until it. Reservations are
synchronous (no await between computing and recording), so concurrent tasks get distinct slots
in FIFO order without a global lock and without polling. A request cancelled while it sleeps
leaves its reserved global slot unused, which only errs on the safe side.

429s: a sender that gets one reports it with :meth:`TelegramLimits.flood_wait`; the chat (or,
for ``None``, every chat) is then blocked until ``now + retry_after``, so later sends to it wait
too. While a block longer than ``max_retry_wait`` lasts, :meth:`TelegramLimits.slot` raises
:class:`FloodWait` with the remaining time at once instead of sleeping (and instead of asking
Telegram again). Retrying is the sender's business: the aiogram adapter retries short waits,
the publisher never retries (the scheduler reschedules on ``RateLimited``).

Usage from any sender::

    async with limits.slot(chat_id):          # waits for the chat's and the global turn
        response = await send(...)            # the chat stays held while this is in flight
        if response is a 429:
            limits.flood_wait(chat_id, retry_after)

Time is injected (``clock`` with ``monotonic()`` and ``async sleep(seconds)``); the default is the
running loop's clock. Memory stays bounded: a chat's state is dropped once nothing is waiting on
it and its limiter has fully recovered (forgetting it then changes nothing), checked at most once
per ``sweep_every`` seconds.

Chat keys: :func:`chat_key` normalises ``"@Name"``/``"name"`` to ``"@name"`` and numeric strings
to ints, but never resolves usernames, so a chat addressed both as ``"@name"`` and by its numeric
id is counted as two chats. Nexus addresses each chat one way consistently.

The state is per process (and per event loop): a bot process and separate worker processes each
keep their own, so run publishing for one token in one process to keep the rule exact.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

ChatKey = int | str


class ThrottleClock(Protocol):
    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    """The real clock: the running event loop's monotonic time and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FloodWait(Exception):
    """Raised by :meth:`TelegramLimits.slot` while a chat (``chat_id``; ``None``: every chat) is
    blocked for longer than ``max_retry_wait``; ``retry_after`` is the remaining time in
    seconds."""

    def __init__(self, chat_id: ChatKey | None, retry_after: float) -> None:
        super().__init__(f"chat {chat_id} is in flood wait for {retry_after:g} more seconds")
        self.chat_id, self.retry_after = chat_id, retry_after


# ---------------------------------------------------------------- limiters
class Limiter(Protocol):
    blocked_until: float

    def earliest(self, now: float, cost: int) -> float: ...

    def commit(self, at: float, cost: int) -> None: ...

    def idle(self, now: float) -> bool: ...


@dataclass
class SlidingWindow:
    """At most ``limit`` sends in any ``window`` seconds, exactly (a log of the last sends)."""

    limit: int
    window: float
    times: list[float] = field(default_factory=list)  # sorted; at most `limit` entries
    blocked_until: float = -math.inf

    def earliest(self, now: float, cost: int) -> float:
        cost = min(max(cost, 1), self.limit)
        at = max(now, self.blocked_until)
        if self.times:
            at = max(at, self.times[-1])  # never before an earlier reservation: FIFO, sorted log
        keep = self.limit - cost  # sends that may remain in the window before ours
        if len(self.times) > keep:
            at = max(at, self.times[-keep - 1] + self.window)
        return at

    def commit(self, at: float, cost: int) -> None:
        for _ in range(min(max(cost, 1), self.limit)):
            bisect.insort(self.times, at)
        del self.times[: -self.limit]

    def idle(self, now: float) -> bool:
        recent = bool(self.times) and self.times[-1] > now - self.window
        return not recent and self.blocked_until <= now


@dataclass
class TokenBucket:
    """``rate`` sends per second on average with bursts of up to ``burst`` (GCRA form: ``tat`` is
    the theoretical arrival time, when the bucket would be full again)."""

    rate: float
    burst: int
    tat: float = -math.inf
    blocked_until: float = -math.inf

    def earliest(self, now: float, cost: int) -> float:
        cost = min(max(cost, 1), self.burst)  # an album bigger than the burst still goes ...
        return max(now, self.blocked_until, self.tat + (cost - self.burst) / self.rate)

    def commit(self, at: float, cost: int) -> None:
        self.tat = max(self.tat, at) + max(cost, 1) / self.rate  # ... but later sends pay for it

    def idle(self, now: float) -> bool:
        return self.tat <= now and self.blocked_until <= now


def chat_key(chat_id: Any) -> ChatKey | None:
    """Normalise a Bot API ``chat_id`` (int, numeric string or ``@username``)."""
    if chat_id is None or isinstance(chat_id, bool):
        return None
    if isinstance(chat_id, int):
        return chat_id
    text = str(chat_id).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return ("@" + text.lstrip("@")).lower()


@dataclass
class _ChatState:
    limiter: Limiter
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # turns holding or waiting for the lock


# ---------------------------------------------------------------- the shared limiter
class ChatTurn:
    """A chat held by one sender (from :meth:`TelegramLimits.hold`): :meth:`wait` for a slot,
    send, and on a 429 :meth:`flood_wait`, then possibly :meth:`wait` again to retry, all
    without letting another sender into the chat in between."""

    def __init__(self, limits: TelegramLimits, key: ChatKey | None, state: _ChatState | None):
        self._limits, self.key, self._state = limits, key, state

    async def wait(self, cost: int = 1) -> None:
        """Sleep until the chat and the global window allow ``cost`` sends, and record them.
        Raises :class:`FloodWait` if the chat (or everything) is blocked for longer than
        ``max_retry_wait``."""
        await self._limits._wait_turn(self.key, self._state, cost)

    def flood_wait(self, retry_after: float) -> None:
        """Telegram answered 429: block this chat (no chat: every chat) for ``retry_after``."""
        self._limits._block(self._state, retry_after)


class TelegramLimits:
    """The one limiter for everything the bot sends: create one per process and bot token and
    share it between ``TelegramThrottle`` and every ``TelegramPublisher``."""

    def __init__(
        self,
        *,
        clock: ThrottleClock | None = None,
        global_limit: int = 30,
        global_window: float = 1.0,
        group_limit: int = 20,
        group_window: float = 60.0,
        private_rate: float = 1.0,
        private_burst: int = 10,
        max_retry_wait: float = 60.0,
        sweep_every: float = 60.0,
    ) -> None:
        self.clock: ThrottleClock = clock or LoopClock()
        self.group_limit, self.group_window = group_limit, group_window
        self.private_rate, self.private_burst = private_rate, private_burst
        self.max_retry_wait = max_retry_wait
        self.sweep_every = sweep_every
        self._global = SlidingWindow(global_limit, global_window)
        self._chats: dict[ChatKey, _ChatState] = {}
        self._last_sweep = -math.inf

    # ------------------------------------------------------------ public API
    @asynccontextmanager
    async def slot(self, chat_id: Any, cost: int = 1) -> AsyncIterator[None]:
        """Wait for the turn to send ``cost`` messages to ``chat_id`` and hold the chat while the
        body sends them. Raises :class:`FloodWait` if the chat is blocked for longer than
        ``max_retry_wait``; report a 429 seen inside the body with :meth:`flood_wait`."""
        async with self.hold(chat_id) as turn:
            await turn.wait(cost)
            yield

    @asynccontextmanager
    async def hold(self, chat_id: Any) -> AsyncIterator[ChatTurn]:
        """Hold ``chat_id`` (serialised with every other sender to it) for several turns, e.g.
        a send and its retries. ``chat_id=None`` (an inline-message edit) holds nothing: only
        the global limit applies."""
        key = chat_key(chat_id)
        if key is None:
            yield ChatTurn(self, None, None)
            return
        state = self._state(key)
        state.users += 1
        try:
            async with state.lock:
                yield ChatTurn(self, key, state)
        finally:
            state.users -= 1
            self._maybe_sweep()

    def flood_wait(self, chat_id: Any, retry_after: float) -> None:
        """Block ``chat_id`` (``None``: every chat) for ``retry_after`` seconds from now."""
        key = chat_key(chat_id)
        self._block(self._state(key) if key is not None else None, retry_after)

    @property
    def tracked_chats(self) -> int:
        """How many chats' states are held (bounded: idle chats are forgotten)."""
        return len(self._chats)

    # ------------------------------------------------------------ internals
    def _state(self, key: ChatKey) -> _ChatState:
        state = self._chats.get(key)
        if state is None:
            state = self._chats[key] = _ChatState(self._limiter_for(key))
        return state

    def _limiter_for(self, key: ChatKey) -> Limiter:
        if isinstance(key, int) and key > 0:
            return TokenBucket(self.private_rate, self.private_burst)
        return SlidingWindow(self.group_limit, self.group_window)

    async def _wait_turn(self, key: ChatKey | None, state: _ChatState | None, cost: int) -> None:
        """Sleep until both the chat and the global window allow ``cost`` sends, then record
        them. Called with the chat's lock held."""
        clock = self.clock
        now = clock.monotonic()
        if state is not None:
            blocked = state.limiter.blocked_until - now
            if blocked > self.max_retry_wait:
                raise FloodWait(key, blocked)
            at = state.limiter.earliest(now, cost)
            if at > now:
                log.debug("chat %s waits %.3f s for its slot", key, at - now)
                await clock.sleep(at - now)
                now = clock.monotonic()
        # reserve the global slot synchronously, then sleep until it
        if self._global.blocked_until - now > self.max_retry_wait:
            raise FloodWait(None, self._global.blocked_until - now)
        sent_at = self._global.earliest(now, cost)
        self._global.commit(sent_at, cost)
        if sent_at > now:
            await clock.sleep(sent_at - now)
        if state is not None:
            state.limiter.commit(sent_at, cost)

    def _block(self, state: _ChatState | None, retry_after: float) -> None:
        until = self.clock.monotonic() + max(float(retry_after), 0.0)
        limiter: Limiter = state.limiter if state is not None else self._global
        limiter.blocked_until = max(limiter.blocked_until, until)

    def _maybe_sweep(self) -> None:
        now = self.clock.monotonic()
        if now - self._last_sweep < self.sweep_every:
            return
        self._last_sweep = now
        for key in [k for k, s in self._chats.items() if not s.users and s.limiter.idle(now)]:
            del self._chats[key]
