"""The review transitions on the real databases (a SQLite file, and PostgreSQL when configured):
approvals that arrive at the same moment schedule a draft once, a reviewer counts once per
version, an edit voids earlier approvals, and each brand's timeout fallback keeps the draft's
intended time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.util import await_only

from ai.service import edit_draft
from scheduler import lifecycle
from storage import repositories as repo
from storage import teams
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import Brand, Post, PostStatus, Publication, ReviewVote, User

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
EDITOR, RITA, ROB = 2001, 3001, 3002


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(database_url)
    await upgrade(engine)
    factory = make_session_factory(engine)
    async with factory() as session:
        session.add_all([User(id=EDITOR), User(id=RITA), User(id=ROB)])
        await teams.ensure_first_brand(session, [1001])
        await repo.ensure_account(session, "telegram", "@nexus_channel")
        await session.commit()
    yield factory
    await engine.dispose()


async def submitted(sessions: Sessions, when: datetime | None = None, **brand: object) -> int:
    """A draft of the editor's, submitted for review (to go out at `when`, None: at once) in
    brand 1 with these settings."""
    async with sessions() as session:
        row = await session.get(Brand, 1)
        assert row is not None
        for name, value in brand.items():
            setattr(row, name, value)
        post = await repo.create_draft(
            session, author_id=EDITOR, brief="b", text="the draft", offline=False
        )
        await session.commit()
        timeout = timedelta(minutes=row.review_timeout_minutes)
        assert await lifecycle.submit_for_review(session, post, when, by=EDITOR, due=NOW + timeout)
        return post.id


async def answer(
    sessions: Sessions,
    post_id: int,
    reviewer: int,
    decision: str = lifecycle.APPROVED,
    **kw: object,
) -> lifecycle.Ballot:
    async with sessions() as session:
        post = await session.get(Post, post_id)
        assert post is not None
        version = int(kw.pop("version", post.version))  # type: ignore[call-overload]
        brand = await session.get(Brand, post.brand_id)
        assert brand is not None
        return await lifecycle.answer_review(
            session,
            post_id,
            version,
            reviewer,
            decision,
            required=brand.approvals_required,
            now=NOW,
        )


async def state(sessions: Sessions, post_id: int) -> tuple[str, int, int]:
    """The post's status, how many publications it has and how many votes."""
    async with sessions() as session:
        post = await session.get(Post, post_id)
        assert post is not None
        pubs = await session.scalar(
            select(func.count()).select_from(Publication).where(Publication.post_id == post_id)
        )
        votes = await session.scalar(
            select(func.count()).select_from(ReviewVote).where(ReviewVote.post_id == post_id)
        )
        return post.status, int(pubs or 0), int(votes or 0)


async def test_approvals_at_the_same_moment_schedule_the_draft_once(sessions: Sessions) -> None:
    """Both reviewers' votes are written before either counts the approvals (each count waits
    up to a moment for the other vote): without the post's row lock each would count only its
    own vote, and the draft would never be scheduled."""
    post_id = await submitted(sessions, approvals_required=2)
    engine = sessions.kw["bind"]
    together = asyncio.Barrier(2)

    def count_together(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM review_votes" in statement:
            with contextlib.suppress(TimeoutError, asyncio.BrokenBarrierError):
                await_only(asyncio.wait_for(together.wait(), 0.5))

    event.listen(engine.sync_engine, "before_cursor_execute", count_together)
    try:
        ballots = await asyncio.gather(
            answer(sessions, post_id, RITA), answer(sessions, post_id, ROB)
        )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count_together)
    assert all(b.counted for b in ballots)
    assert sorted(b.decided for b in ballots) == [False, True]  # the second one decided
    assert await state(sessions, post_id) == (PostStatus.SCHEDULED, 1, 2)


async def test_a_reviewer_counts_once_however_often_they_tap(sessions: Sessions) -> None:
    post_id = await submitted(sessions, approvals_required=2)
    ballots = await asyncio.gather(*(answer(sessions, post_id, RITA) for _ in range(3)))
    assert sorted(b.counted for b in ballots) == [False, False, True]
    assert await state(sessions, post_id) == (PostStatus.REVIEW, 0, 1)


async def test_an_edit_during_review_voids_the_earlier_approvals(sessions: Sessions) -> None:
    post_id = await submitted(sessions, approvals_required=2)
    assert (await answer(sessions, post_id, RITA)).counted
    async with sessions() as session:
        post = await session.get(Post, post_id)
        assert post is not None
        edited = await edit_draft(session, post, "better words", status=PostStatus.REVIEW)
        assert edited.version == 2 and edited.status == PostStatus.REVIEW
        assert await teams.votes_before(session, post_id, 2)

    stale = await answer(sessions, post_id, ROB, version=1)  # a card showing the old text
    assert not stale.counted and stale.stale
    assert (await answer(sessions, post_id, ROB)).counted
    assert (await state(sessions, post_id))[0] == PostStatus.REVIEW  # 1 of 2 for version 2
    assert (await answer(sessions, post_id, RITA)).decided
    assert (await state(sessions, post_id))[0] == PostStatus.SCHEDULED


async def test_changes_and_rejections_end_the_review(sessions: Sessions) -> None:
    first = await submitted(sessions)
    assert (await answer(sessions, first, RITA, lifecycle.CHANGES)).decided
    second = await submitted(sessions)
    assert (await answer(sessions, second, ROB, lifecycle.REJECTED)).decided
    assert (await state(sessions, first))[:2] == (PostStatus.DRAFT, 0)
    assert (await state(sessions, second))[:2] == (PostStatus.REJECTED, 0)
    late = await answer(sessions, second, RITA)  # a card tapped after the end
    assert not late.counted and late.found == PostStatus.REJECTED


async def test_approval_keeps_the_intended_time_or_goes_now_when_it_passed(
    sessions: Sessions,
) -> None:
    later = NOW + timedelta(hours=5)
    future = await submitted(sessions, later)
    past = await submitted(sessions, NOW - timedelta(minutes=1))
    for post_id in (future, past):
        assert (await answer(sessions, post_id, RITA)).decided
    async with sessions() as session:
        kept = await session.get(Post, future)
        missed = await session.get(Post, past)
        assert kept is not None and missed is not None
        assert (kept.scheduled_at, kept.immediate) == (later, False)
        assert (missed.scheduled_at, missed.immediate) == (NOW, True)


async def test_no_target_no_submission(sessions: Sessions) -> None:
    async with sessions() as session:
        for account in await repo.enabled_accounts(session):
            account.enabled = False
        post = await repo.create_draft(
            session, author_id=EDITOR, brief="b", text="t", offline=False
        )
        await session.commit()
        with pytest.raises(lifecycle.NoTargets):
            await lifecycle.submit_for_review(session, post, None, by=EDITOR, due=NOW)
    assert (await state(sessions, post.id))[0] == PostStatus.DRAFT


@pytest.mark.parametrize(
    ("fallback", "status"),
    [("remind", PostStatus.REVIEW), ("skip", PostStatus.DRAFT), ("publish", PostStatus.SCHEDULED)],
)
async def test_each_fallback_applies_once_when_the_review_is_overdue(
    sessions: Sessions, fallback: str, status: str
) -> None:
    later = NOW + timedelta(hours=3)
    post_id = await submitted(sessions, later, review_fallback=fallback, review_timeout_minutes=60)
    async with sessions() as session:
        assert await lifecycle.lapse_reviews(session, NOW + timedelta(minutes=59)) == []
        lapses = await lifecycle.lapse_reviews(session, NOW + timedelta(minutes=60))
        assert lapses == [lifecycle.Lapse(post_id, fallback, status)]
        assert await lifecycle.lapse_reviews(session, NOW + timedelta(minutes=61)) == []
        post = await session.get(Post, post_id)
        assert post is not None
        await session.refresh(post)
        if fallback == "remind":  # due again one timeout later
            assert post.review_due_at == NOW + timedelta(minutes=120)
        if fallback == "publish":  # at its time, not at once
            assert post.scheduled_at == later and not post.immediate


async def test_two_workers_apply_a_fallback_once(sessions: Sessions) -> None:
    post_id = await submitted(sessions, review_fallback="remind", review_timeout_minutes=60)

    async def worker() -> list[lifecycle.Lapse]:
        async with sessions() as session:
            return await lifecycle.lapse_reviews(session, NOW + timedelta(minutes=60))

    first, second = await asyncio.gather(worker(), worker())
    assert first + second == [lifecycle.Lapse(post_id, "remind", PostStatus.REVIEW)]


async def test_a_brand_without_accounts_cannot_submit_on_another_brands(sessions: Sessions) -> None:
    """Only the draft's own brand's accounts count: brand 1's channel does not make a draft of
    a brand with none reviewable (it could never go out)."""
    async with sessions() as session:
        bare = await teams.create_brand(session, "Bare", EDITOR)
        assert bare is not None
        post = await repo.create_draft(
            session, author_id=EDITOR, brief="b", text="t", offline=False, brand_id=bare.id
        )
        await session.commit()
        with pytest.raises(lifecycle.NoTargets):
            await lifecycle.submit_for_review(session, post, None, by=EDITOR, due=NOW)
    async with sessions() as session:
        assert (await session.get(Post, post.id)).status == PostStatus.DRAFT  # type: ignore[union-attr]
