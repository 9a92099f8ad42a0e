"""Rows of `draft_jobs`: AI drafting in flight, the database's word on how each one ends.

A job row is committed before the AI is asked. Exactly one of three things then removes or
marks it, each a conditional statement whose row count decides the race:
  - the result is stored: `finish` deletes the row in the transaction that stores the draft;
  - the owner cancels: `cancel` deletes it (the stored result then rolls back: no half draft);
  - Nexus stops: `interrupt` marks it "interrupted" (the result rolls back the same way).
A row still "running" at start-up is a crash relic: it was interrupted too.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DraftJob, DraftJobStatus

RUNNING = DraftJobStatus.RUNNING


async def begin(session: AsyncSession, job: DraftJob) -> DraftJob:
    """Record a job as running (committed, so a crash from here on is seen at the next start)."""
    job.status = RUNNING
    session.add(job)
    await session.commit()
    return job


async def set_progress(session: AsyncSession, job_id: int, message_id: int) -> None:
    await session.execute(
        update(DraftJob).where(DraftJob.id == job_id).values(progress_message_id=message_id)
    )
    await session.commit()


async def finish(session: AsyncSession, job_id: int) -> bool:
    """Delete a running job as part of storing its result (the caller commits); False if it was
    cancelled or interrupted meanwhile, and the result must not be stored."""
    result = await session.execute(
        delete(DraftJob).where(DraftJob.id == job_id, DraftJob.status == RUNNING)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def cancel(session: AsyncSession, job_id: int) -> bool:
    """The owner's cancel: True if the job was still running (its result will not be stored)."""
    won = await finish(session, job_id)
    await session.commit()
    return won


async def interrupt(session: AsyncSession, job_id: int) -> bool:
    """Mark a running job interrupted (Nexus is stopping); False if it ended meanwhile."""
    result = await session.execute(
        update(DraftJob)
        .where(DraftJob.id == job_id, DraftJob.status == RUNNING)
        .values(status=DraftJobStatus.INTERRUPTED)
    )
    await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def forget(session: AsyncSession, job_id: int) -> None:
    """Drop a job whose end was already shown (a failure, or an interruption told)."""
    await session.execute(delete(DraftJob).where(DraftJob.id == job_id))
    await session.commit()


async def left_over(session: AsyncSession) -> Sequence[DraftJob]:
    """Every job a previous run did not finish (interrupted or crashed), oldest first."""
    return (await session.scalars(select(DraftJob).order_by(DraftJob.id))).all()
