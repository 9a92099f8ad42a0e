"""Storage against the real databases (a SQLite file, and PostgreSQL when configured): the
migrations build exactly the models' schema, and every conditional transition is won by exactly
one of several concurrent callers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, delete, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scheduler import lifecycle
from storage import repositories as repo
from storage.db import create_engine, make_session_factory
from storage.migrate import current_revision, upgrade
from storage.models import Base, Post, PostStatus, Publication, PublicationStatus

AUTHOR = 1001
RACERS = 10
DUE = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
WORKER = "host#1"


def claim(session: AsyncSession, pub_id: int) -> Awaitable[bool]:
    """A dispatcher's claim: pending → publishing, counting the attempt."""
    return repo.transition_publication(
        session,
        pub_id,
        [PublicationStatus.PENDING],
        PublicationStatus.PUBLISHING,
        attempts=Publication.attempts + 1,
        claimed_by=WORKER,
    )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engine)


async def seed_post(
    sessions: async_sessionmaker[AsyncSession], *, targets: int = 1
) -> tuple[int, list[int]]:
    """A draft by AUTHOR with one publication per target; returns (post id, publication ids)."""
    async with sessions() as session:
        await repo.upsert_user(session, AUTHOR, "en")
        post = await repo.create_draft(
            session, author_id=AUTHOR, brief="dark mode", text="Dark mode is here", offline=True
        )
        accounts = [
            await repo.ensure_account(session, "telegram", f"@channel_{i}") for i in range(targets)
        ]
        pubs = await repo.create_publications(session, post, accounts, due=DUE)
        await session.commit()
        return post.id, [p.id for p in pubs]


async def load_post(sessions: async_sessionmaker[AsyncSession], post_id: int) -> Post:
    async with sessions() as session:
        post = await repo.get_post(session, post_id)
        assert post is not None
        return post


async def load_publication(sessions: async_sessionmaker[AsyncSession], pub_id: int) -> Publication:
    async with sessions() as session:
        pub = await session.get(Publication, pub_id)
        assert pub is not None
        return pub


async def race(
    sessions: async_sessionmaker[AsyncSession],
    moves: list[Callable[[AsyncSession], Awaitable[bool]]],
) -> list[bool]:
    """Run each move in its own engine (as separate worker processes would), session and
    transaction, all at once: every session has read the row (as a handler or worker would
    before acting) before any of them writes."""
    barrier = asyncio.Barrier(len(moves))
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)

    async def one(move: Callable[[AsyncSession], Awaitable[bool]]) -> bool:
        engine = create_engine(url)
        try:
            async with make_session_factory(engine)() as session:
                await session.scalar(select(Post.id).limit(1))
                await barrier.wait()
                won = await move(session)
                await session.commit()
                return won
        finally:
            await engine.dispose()

    return list(await asyncio.gather(*(one(m) for m in moves)))


# --- schema ----------------------------------------------------------------------------------


def describe(diff: Any) -> str:
    """One alembic autogenerate diff, readably: "modify_default posts.immediate"."""
    if isinstance(diff, list):
        return "; ".join(describe(d) for d in diff)
    op = diff[0]
    if op.startswith("modify_"):
        return f"{op} {diff[2]}.{diff[3]}"
    return f"{op} {getattr(diff[1], 'name', diff[1])}"


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_build_exactly_the_models_schema(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diffs = await conn.run_sync(_schema_diff)
    assert diffs == [], ", ".join(map(describe, diffs))


async def test_upgrade_records_the_head_and_is_idempotent(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        before, head = await current_revision(engine)
        assert before is None and head is not None
        await upgrade(engine)
        await upgrade(engine)  # a second `nexus migrate` or restart changes nothing
        assert await current_revision(engine) == (head, head)
    finally:
        await engine.dispose()


async def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'nexus.db'}")
    try:
        async with engine.connect() as conn:  # the directory is created on first use
            assert (await conn.scalar(text("PRAGMA journal_mode"))) == "wal"
            assert (await conn.scalar(text("PRAGMA foreign_keys"))) == 1
    finally:
        await engine.dispose()
    assert (tmp_path / "fresh" / "nexus.db").exists()


async def test_foreign_keys_are_enforced(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        session.add(Post(author_id=424242, brief="b", text="t"))  # no such user
        with pytest.raises(IntegrityError):
            await session.flush()


async def test_deleting_a_post_deletes_its_publications(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    post_id, pub_ids = await seed_post(sessions, targets=2)
    async with sessions() as session:
        await session.execute(delete(Post).where(Post.id == post_id))
        await session.commit()
    async with sessions() as session:
        left = (await session.scalars(select(Publication.id))).all()
    assert left == [] and len(pub_ids) == 2


# --- concurrent transitions ------------------------------------------------------------------


async def test_one_of_ten_workers_claims_a_publication(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, (pub_id,) = await seed_post(sessions)

    results = await race(sessions, [lambda s: claim(s, pub_id) for _ in range(RACERS)])

    assert results.count(True) == 1
    pub = await load_publication(sessions, pub_id)
    assert pub.status == PublicationStatus.PUBLISHING
    assert pub.attempts == 1


async def test_one_of_ten_finishers_records_the_outcome(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, (pub_id,) = await seed_post(sessions)
    async with sessions() as session:
        assert await claim(session, pub_id)
        await session.commit()

    def finish(i: int) -> Callable[[AsyncSession], Awaitable[bool]]:
        return lambda s: lifecycle.record_published(
            s,
            pub_id,
            WORKER,
            external_id=str(i),
            part_ids=(),
            url=f"https://t.me/c/{i}",
            when=DUE,
            metrics_due_at=DUE,
        )

    results = await race(sessions, [finish(i) for i in range(RACERS)])

    assert results.count(True) == 1
    winner = results.index(True)
    pub = await load_publication(sessions, pub_id)
    assert pub.status == PublicationStatus.PUBLISHED
    assert (pub.external_id, pub.url) == (str(winner), f"https://t.me/c/{winner}")


async def test_edits_and_rejects_of_one_draft_version_have_one_winner(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    post_id, _ = await seed_post(sessions)

    def edit(i: int) -> Callable[[AsyncSession], Awaitable[bool]]:
        return lambda s: repo.replace_draft_text(s, post_id, 1, f"edit {i}")

    def reject(s: AsyncSession) -> Awaitable[bool]:
        return repo.transition_post(
            s, post_id, [PostStatus.DRAFT], PostStatus.REJECTED, at_version=1
        )

    moves = [edit(i) if i % 2 else reject for i in range(RACERS)]
    results = await race(sessions, moves)

    assert results.count(True) == 1
    post = await load_post(sessions, post_id)
    winner = results.index(True)
    if winner % 2:
        assert (post.status, post.text, post.version) == ("draft", f"edit {winner}", 2)
    else:
        assert (post.status, post.text, post.version) == ("rejected", "Dark mode is here", 1)


async def test_stale_version_changes_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    post_id, _ = await seed_post(sessions)
    async with sessions() as session:
        assert await repo.replace_draft_text(session, post_id, 1, "second take")
        await session.commit()
    before = await load_post(sessions, post_id)
    assert (before.text, before.version) == ("second take", 2)

    async with sessions() as session:
        # a tap on the preview of version 1, after the text changed
        assert not await repo.transition_post(
            session, post_id, [PostStatus.DRAFT], PostStatus.REJECTED, at_version=1
        )
        assert not await repo.replace_draft_text(session, post_id, 1, "lost edit")
        await session.commit()

    after = await load_post(sessions, post_id)
    assert (after.status, after.text, after.version) == ("draft", "second take", 2)
    assert after.updated_at == before.updated_at


async def test_replace_draft_text_bumps_the_version_each_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    post_id, _ = await seed_post(sessions)
    async with sessions() as session:
        for version in (1, 2, 3):
            assert await repo.replace_draft_text(session, post_id, version, f"take {version}")
        await session.commit()
    post = await load_post(sessions, post_id)
    assert (post.text, post.version) == ("take 3", 4)


async def test_replace_draft_text_refuses_a_post_that_is_no_draft(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    post_id, _ = await seed_post(sessions)
    async with sessions() as session:
        assert await repo.transition_post(session, post_id, [PostStatus.DRAFT], PostStatus.REJECTED)
        assert not await repo.replace_draft_text(session, post_id, 1, "too late")
        await session.commit()
    post = await load_post(sessions, post_id)
    assert (post.status, post.text, post.version) == ("rejected", "Dark mode is here", 1)


def published(session: AsyncSession, pub_id: int, external_id: str, **more: Any) -> Awaitable[bool]:
    values: dict[str, Any] = {"part_ids": (), "url": None, "when": DUE, "metrics_due_at": DUE}
    return lifecycle.record_published(
        session, pub_id, WORKER, external_id=external_id, **(values | more)
    )


async def test_finish_publication_only_from_publishing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, (pub_id,) = await seed_post(sessions)
    async with sessions() as session:
        # never claimed: a stray "done" must not mark it published
        assert not await published(session, pub_id, "1")
        await session.commit()
    pub = await load_publication(sessions, pub_id)
    assert (pub.status, pub.external_id, pub.published_at) == ("pending", None, None)

    when = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    async with sessions() as session:
        assert await claim(session, pub_id)
        assert await published(
            session,
            pub_id,
            "41",
            part_ids=["41", "42"],
            url="https://t.me/nexus_channel/41",
            when=when,
        )
        # a late second outcome (e.g. a retry that raced) cannot overwrite the first
        assert not await lifecycle.record_failed(session, pub_id, WORKER, error="boom", part_ids=())
        await session.commit()
    pub = await load_publication(sessions, pub_id)
    assert pub.status == PublicationStatus.PUBLISHED
    assert (pub.external_id, pub.part_ids) == ("41", "41,42")
    assert pub.url == "https://t.me/nexus_channel/41"
    assert pub.published_at == when and pub.last_error is None and pub.attempts == 1


async def test_a_failed_publication_keeps_its_error(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, (pub_id,) = await seed_post(sessions)
    async with sessions() as session:
        assert await claim(session, pub_id)
        assert await lifecycle.record_failed(
            session, pub_id, WORKER, error="the bot is not an admin", part_ids=()
        )
        await session.commit()
    pub = await load_publication(sessions, pub_id)
    assert (pub.status, pub.last_error, pub.published_at) == (
        "failed",
        "the bot is not an admin",
        None,
    )


# --- UTC datetimes ---------------------------------------------------------------------------


async def test_datetimes_come_back_aware_in_utc(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, (pub_id,) = await seed_post(sessions)
    moscow = timezone(timedelta(hours=3))
    due = datetime(2026, 11, 22, 12, 0, 0, 123456, tzinfo=moscow)
    async with sessions() as session:
        pub = await session.get(Publication, pub_id)
        assert pub is not None
        pub.next_attempt_at = due
        await session.commit()

    pub = await load_publication(sessions, pub_id)
    assert pub.next_attempt_at == due  # the same instant, to the microsecond
    assert pub.next_attempt_at is not None and pub.next_attempt_at.utcoffset() == timedelta(0)
    assert pub.next_attempt_at.hour == 9
    assert pub.created_at.tzinfo is not None and pub.created_at.utcoffset() == timedelta(0)


async def test_datetimes_order_by_instant(sessions: async_sessionmaker[AsyncSession]) -> None:
    post_id, pub_ids = await seed_post(sessions, targets=2)
    early = datetime(2026, 11, 22, 10, 0, tzinfo=timezone(timedelta(hours=5)))  # 05:00 UTC
    late = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    async with sessions() as session:
        for pub_id, when in zip(pub_ids, (late, early), strict=True):
            pub = await session.get(Publication, pub_id)
            assert pub is not None
            pub.next_attempt_at = when
        await session.commit()
    async with sessions() as session:
        due = await session.scalars(
            select(Publication.id)
            .where(Publication.next_attempt_at <= datetime(2026, 11, 22, 5, 30, tzinfo=UTC))
            .order_by(Publication.next_attempt_at)
        )
        assert due.all() == [pub_ids[1]]


async def test_naive_datetimes_are_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    _, (pub_id,) = await seed_post(sessions)
    async with sessions() as session:
        pub = await session.get(Publication, pub_id)
        assert pub is not None
        pub.next_attempt_at = datetime(2026, 11, 22, 9, 0)  # noqa: DTZ001 - on purpose
        with pytest.raises(StatementError, match="naive datetime"):
            await session.flush()
