"""The tracker of drafting jobs: a bounded number write at once, the rest wait their turn and
can be stopped (or outlast a shutdown's wait) before they start."""

from __future__ import annotations

import asyncio

from ai.tasks import DraftTasks, JobInfo


async def test_jobs_write_in_turn_and_a_waiting_one_can_be_stopped() -> None:
    tasks = DraftTasks(max_writing=2)
    release = asyncio.Event()
    started: list[int] = []

    async def job(n: int) -> None:
        started.append(n)
        await release.wait()

    for n in range(1, 5):
        tasks.start(JobInfo(n, chat_id=7, post_id=n), job(n))
    await asyncio.sleep(0)  # one turn of the loop: the first two take their slots
    await asyncio.sleep(0)
    assert started == [1, 2]
    assert [info.job_id for info in tasks.for_chat(7)] == [1, 2, 3, 4]
    assert tasks.for_post(3) is not None

    await tasks.stop(3)  # waiting its turn: it never starts
    assert tasks.for_post(3) is None
    assert [info.job_id for info in await tasks.wait(0.01)] == [1, 2, 4]

    release.set()
    assert await tasks.wait(5) == []
    assert started == [1, 2, 4]
