"""The embedded scheduler: APScheduler 3.11's AsyncIOScheduler waking the dispatcher.

Jobs are module-level coroutines that take the id of the runtime they belong to, so the job
store holds only primitives. Three wake-ups feed one dispatcher:

- a periodic poll (the safety net: posts scheduled by another process, retries),
- a one-off job at the next due time (so a post goes out at its minute, not at the next poll),
- `wake()`, called in-process when the owner approves or reschedules something.

Next to them, every runtime sweeps for dead claims once a minute (`PublicationDispatcher.sweep`:
one process wins each minute), and recovers at once, on start, the claims its previous
incarnation left behind.

Wake-ups that arrive while a pass is running are coalesced into one more pass, never lost.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.clock import Clock
from scheduler.dispatcher import PublicationDispatcher

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
#: How often dead claims are looked for: with the dispatcher's 60 s lease, the owner is asked
#: within two minutes of a worker's crash.
SWEEP_SECONDS = 60.0
_ids = itertools.count(1)
_runtimes: dict[str, SchedulerRuntime] = {}


async def run_periodic(runtime_id: str, name: str) -> None:
    """Job: one of the runtime's periodic tasks (e.g. evergreen recycling)."""
    runtime = _runtimes.get(runtime_id)
    if runtime is not None:
        try:
            await runtime.periodic[name][1]()
        except Exception:  # the next period tries again
            log.exception("periodic job %s failed", name)


async def dispatch_due(runtime_id: str) -> None:
    """Job: run dispatcher passes until nothing more is wanted, then time the next wake-up."""
    runtime = _runtimes.get(runtime_id)
    if runtime is not None:
        await runtime.drain()


class SchedulerRuntime:
    def __init__(
        self,
        dispatcher: PublicationDispatcher,
        clock: Clock,
        *,
        poll_seconds: float = POLL_SECONDS,
        periodic: dict[str, tuple[float, Callable[[], Awaitable[object]]]] | None = None,
    ) -> None:
        self.id = f"runtime-{next(_ids)}"
        self.dispatcher = dispatcher
        #: name → (every how many seconds, the task); tasks guard themselves across workers
        self.periodic = {"sweep": (SWEEP_SECONDS, dispatcher.sweep), **(periodic or {})}
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._wanted = False
        self._draining = False
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> None:
        """Recover the claims of dead workers and of this one's previous incarnation, start the
        scheduler (needs a running loop) and run a pass."""
        _runtimes[self.id] = self
        await self.dispatcher.recover()
        self.scheduler.start()
        self.scheduler.add_job(
            dispatch_due,
            "interval",
            seconds=self.poll_seconds,
            args=[self.id],
            id=f"{self.id}:poll",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        for name, (seconds, _task) in self.periodic.items():
            self.scheduler.add_job(
                run_periodic,
                "interval",
                seconds=seconds,
                args=[self.id, name],
                id=f"{self.id}:{name}",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
            )
        self.wake()

    def wake(self) -> None:
        """Ask for a dispatcher pass as soon as possible."""
        self._wanted = True
        if not self._draining and self.scheduler.running:
            self.scheduler.add_job(
                dispatch_due, args=[self.id], id=f"{self.id}:now", replace_existing=True
            )

    async def drain(self) -> None:
        self._wanted = True
        if self._draining:
            return  # the running pass will loop once more
        self._draining = True
        self._idle.clear()
        try:
            while self._wanted:
                self._wanted = False
                try:
                    await self.dispatcher.run_once()
                except Exception:  # a pass must never kill the scheduler; the poll retries
                    log.exception("dispatcher pass failed")
            await self._time_next_wake()
        finally:
            self._draining = False
            self._idle.set()

    async def _time_next_wake(self) -> None:
        due = await self.dispatcher.next_due()
        if due is None or not self.scheduler.running:
            return
        delay = max(0.0, (due - self.clock.now()).total_seconds())
        if delay > 0:
            self.scheduler.add_job(
                dispatch_due,
                "date",
                run_date=datetime.now(UTC) + timedelta(seconds=delay),
                args=[self.id],
                id=f"{self.id}:next",
                replace_existing=True,
            )

    async def idle(self) -> None:
        """Wait until no pass is running (tests and shutdown)."""
        await self._idle.wait()

    async def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.idle()
        _runtimes.pop(self.id, None)
