"""Drafting jobs as tracked asyncio tasks, one per job id, outside any chat's event lock.

Handlers start a job and return at once, so the owner's taps, /cancel and other commands are
handled while Claude thinks. The tracker only runs, finds and stops tasks; who won a race
between a result, a cancel and a shutdown is decided by the job's database row
(`storage.draft_jobs`), never by task state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobInfo:
    """What is known of a running job without the database: whose it is and what it writes."""

    job_id: int
    chat_id: int
    post_id: int | None = None


#: Jobs writing at once; the others wait their turn (already recorded and cancellable). Drafting
#: no longer waits in each chat's event lock, so without a bound a burst of briefs would make
#: every job compete for the database at once (SQLite has one connection) and all of them slow.
MAX_WRITING = 8


class DraftTasks:
    def __init__(self, max_writing: int = MAX_WRITING) -> None:
        self._tasks: dict[int, tuple[JobInfo, asyncio.Task[None]]] = {}
        self._slots = asyncio.Semaphore(max_writing)

    def start(self, info: JobInfo, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(self._in_turn(work), name=f"draft-job-{info.job_id}")
        self._tasks[info.job_id] = (info, task)
        task.add_done_callback(lambda done: self._done(info.job_id, done))
        return task

    async def _in_turn(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            async with self._slots:
                await work
        finally:
            work.close()  # a job cancelled while waiting its turn never started

    def _done(self, job_id: int, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id, (None, None))[1] is task:
            del self._tasks[job_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("drafting job %s failed", job_id, exc_info=task.exception())

    def running(self) -> list[JobInfo]:
        return [info for info, _ in self._tasks.values()]

    def for_post(self, post_id: int) -> JobInfo | None:
        """The job rewriting draft ``post_id``, if one runs (one at a time per draft)."""
        return next((info for info in self.running() if info.post_id == post_id), None)

    def for_chat(self, chat_id: int) -> list[JobInfo]:
        return [info for info in self.running() if info.chat_id == chat_id]

    async def stop(self, job_id: int) -> None:
        """Cancel a job's task and wait until it has unwound (its database row says whether
        its result had been stored already)."""
        entry = self._tasks.get(job_id)
        if entry is None:
            return
        task = entry[1]
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def wait(self, timeout: float) -> list[JobInfo]:
        """Wait up to ``timeout`` seconds for every running job to end; the ones still running
        then."""
        tasks = [task for _, task in self._tasks.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        return self.running()
