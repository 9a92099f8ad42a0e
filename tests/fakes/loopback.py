"""What every loopback fake server shares: an aiohttp app on 127.0.0.1 and a random port.

A subclass implements :meth:`LoopbackServer._handle` (every request, any method and path, comes
there) and, at its start, records the call in ``calls`` and awaits :meth:`_checkpoint` with the
request's route key (a path, an XRPC nsid, a VK method...): that waits the delay set with
:meth:`delay` (plus the random one set with :meth:`latency`) and returns the next failure
queued with :meth:`_queue_failure`, or ``None``.
Each fake keeps its own ``fail_next`` signature, a thin wrapper that builds its failure object.

Faults *after* the request was processed (the post is made, the answer is lost) are common to
every fake: :meth:`LoopbackServer.lose_answer` makes the next requests to a route key either
drop the connection without answering (``"drop"``: the client sees the server disconnect) or
answer only after ``seconds`` (``"slow"``: the client times out first), or never answer until
released (``"hang"``: a process that dies while waiting). :attr:`LoopbackServer.processed`
counts the requests each key fully processed, answered or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import random
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from aiohttp import web


@dataclass
class HttpFailure:
    """An injected answer: this status, JSON body and headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> web.Response:
        return web.json_response(self.body, status=self.status, headers=self.headers)


LostAnswer = Literal["drop", "slow", "hang"]
_NO_KEY = object()
_route_key: contextvars.ContextVar[Hashable] = contextvars.ContextVar("route_key", default=_NO_KEY)


class LosesAnswers:
    """Faults after a request was processed, for any aiohttp fake (see the module docstring).

    A fake calls :meth:`_deliver` with the answer it made; it returns the answer, or loses it.
    """

    def __init__(self) -> None:
        self._lost: dict[Hashable, list[tuple[LostAnswer, float] | None]] = {}
        self.processed: Counter[Hashable] = Counter()
        """How many requests each route key processed successfully (answered or not)."""
        self.hanging = asyncio.Event()
        """Set while a ``"hang"`` request holds its answer (its work is done)."""
        self._release = asyncio.Event()

    def lose_answer(
        self,
        key: Any,
        how: LostAnswer = "drop",
        *,
        seconds: float = 1.0,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Process the next ``times`` requests to ``key`` (after ``after`` normal ones) and lose
        their answers ``how`` (see the module docstring; ``seconds``: how slow ``"slow"`` is)."""
        queue = self._lost.setdefault(key, [])
        queue.extend([None] * after)
        queue.extend([(how, seconds)] * times)

    def release(self) -> None:
        """Let a ``"hang"`` request end (its answer goes to a client that is gone)."""
        self._release.set()

    async def _deliver(
        self, request: web.Request, key: Hashable, response: web.Response, closed: asyncio.Event
    ) -> web.Response:
        if response.status >= 400:  # a refused request did nothing
            return response
        self.processed[key] += 1
        lost = self._lost.get(key)
        fault = lost.pop(0) if lost else None
        if fault is None:
            return response
        how, seconds = fault
        if how == "hang":
            self.hanging.set()
            await self._release.wait()
        elif how == "slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), seconds)
        else:
            assert request.transport is not None
            request.transport.close()  # the work is done; the client hears nothing
        return response


class LoopbackServer(LosesAnswers):
    client_max_size = 1024**2
    """The largest request body the app accepts (aiohttp's default unless a fake raises it)."""
    route = "/{path:.*}"
    """The route every method is served on (a catch-all unless a fake narrows it)."""
    base_path = ""
    """Appended to the server's root to make ``base_url`` (e.g. ``"/v1.0"``)."""

    def __init__(self) -> None:
        self.root = ""
        self.base_url = ""
        self.calls: list[Any] = []
        self._failures: dict[Hashable, list[Any | None]] = {}
        self._delays: dict[Hashable, float] = {}
        LosesAnswers.__init__(self)
        self._latency: tuple[float, float, random.Random] | None = None
        self._closed = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        app = web.Application(client_max_size=self.client_max_size)
        app.router.add_route("*", self.route, self._serve)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.root = f"http://127.0.0.1:{port}"
        self.base_url = self.root + self.base_path

    async def close(self) -> None:
        self._closed.set()
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------ scenario control
    def delay(self, key: Any, seconds: float) -> None:
        """Make every request to ``key`` wait ``seconds`` before answering (0 removes it)."""
        self._delays[key] = seconds

    def latency(self, low: float, high: float, rng: random.Random | None = None) -> None:
        """Make every request wait a random ``low``–``high`` seconds before it is answered (the
        request is already recorded then, as a platform that got it and is slow to say so);
        ``latency(0, 0)`` removes it. ``rng`` makes the waits reproducible."""
        self._latency = (low, high, rng or random.Random()) if high > 0 else None

    def _queue_failure(self, key: Hashable, failure: Any, *, times: int, after: int) -> None:
        """Make ``times`` requests to ``key`` answer ``failure``, after ``after`` succeed."""
        queue = self._failures.setdefault(key, [])
        queue.extend([None] * after)
        queue.extend([failure] * times)

    # ------------------------------------------------------------ plumbing
    async def _checkpoint(self, key: Hashable) -> Any | None:
        """Wait the delay set for ``key`` (cut short by :meth:`close`), then return the next
        failure queued for it, or ``None`` to answer normally."""
        _route_key.set(key)
        seconds = self._delays.get(key, 0.0)
        if self._latency is not None:
            low, high, rng = self._latency
            seconds += rng.uniform(low, high)
        if seconds:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), seconds)
        if queue := self._failures.get(key):
            return queue.pop(0)
        return None

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        """``_handle`` the request, then lose its answer if :meth:`lose_answer` asked for it."""
        response = await self._handle(request)
        key = _route_key.get()
        if key is _NO_KEY:
            return response
        return await self._deliver(request, key, response, self._closed)

    async def _handle(self, request: web.Request) -> web.Response:
        raise NotImplementedError
