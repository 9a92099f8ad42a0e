"""SQLite through `storage.db`'s engine, whose statements each make one trip to aiosqlite's
thread (`storage.sqlite_link`): what the rest of Nexus relies on still holds. A race is decided
by a conditional UPDATE's row count, a transaction that fails halfway leaves nothing, every row
of a query arrives, and a transaction that only read leaves the database free for the next
writer (a `nexus` command in another process), which sees what was committed; a write whose
caller is cancelled while SQLite still runs it is rolled back, never committed by the next."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import Post, PostStatus, User

OWNER = 7

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'nexus.db'}")
    await upgrade(engine)
    factory = make_session_factory(engine)
    async with factory() as session:
        session.add(User(id=OWNER, language="en"))
        await session.commit()
    yield factory
    await engine.dispose()


async def _draft(session: AsyncSession, key: str | None = None) -> Post:
    return await repo.create_draft(
        session, author_id=OWNER, brief="b", text="t", offline=True, origin_key=key
    )


async def test_only_one_of_two_racing_transitions_wins(sessions: Sessions) -> None:
    async with sessions() as session:
        post = await _draft(session)
        await session.commit()
    wins = []
    for _ in range(2):
        async with sessions() as session:
            wins.append(
                await repo.transition_post(
                    session, post.id, [PostStatus.DRAFT], PostStatus.REJECTED
                )
            )
            await session.commit()
    assert wins == [True, False]


async def test_a_transaction_that_fails_halfway_leaves_nothing(sessions: Sessions) -> None:
    async with sessions() as session:
        await _draft(session, key="rule:1")
        await session.commit()
    async with sessions() as session:
        await _draft(session, key="rule:2")
        with pytest.raises(IntegrityError):
            await _draft(session, key="rule:1")
        await session.rollback()
    async with sessions() as session:
        keys = (await session.scalars(select(Post.origin_key))).all()
    assert keys == ["rule:1"]


async def test_every_row_of_a_query_arrives_in_order(sessions: Sessions) -> None:
    async with sessions() as session:
        ids = [(await _draft(session)).id for _ in range(150)]
        await session.commit()
    async with sessions() as session:
        found = (await session.scalars(select(Post.id).order_by(Post.id))).all()
    assert list(found) == sorted(ids) and len(set(ids)) == 150


async def test_a_read_only_transaction_leaves_the_database_free_to_write(
    sessions: Sessions, tmp_path: Path
) -> None:
    async with sessions() as session:
        await _draft(session)
        await session.commit()
        assert len((await session.scalars(select(Post))).all()) == 1
        await session.commit()  # nothing was written: nothing to commit
        # meanwhile another process sees the committed draft and writes, without waiting
        other = sqlite3.connect(tmp_path / "nexus.db", timeout=0)
        assert other.execute("SELECT count(*) FROM posts").fetchone() == (1,)
        other.execute("UPDATE posts SET text = 'changed elsewhere'")
        other.commit()
        other.close()
        post = (await session.scalars(select(Post).execution_options(populate_existing=True))).one()
    assert post.text == "changed elsewhere"


#: ~300,000 users in one statement: long enough to be cancelled while SQLite runs it.
SLOW_INSERT = text(
    "INSERT INTO users (id, language, digest_enabled, created_at) "
    "WITH RECURSIVE n(x) AS (SELECT 100 UNION ALL SELECT x + 1 FROM n LIMIT 300000) "
    "SELECT x, 'en', 1, '2026-12-03 00:00:00' FROM n"
)


async def test_a_write_cancelled_while_sqlite_runs_it_is_never_committed(
    sessions: Sessions,
) -> None:
    async def slow_write() -> None:
        async with sessions() as session:
            await session.execute(SLOW_INSERT)
            await session.commit()

    task = asyncio.create_task(slow_write())
    await asyncio.sleep(0.02)  # the statement is in SQLite's hands
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    async with sessions() as session:  # the next user of the one connection commits
        await _draft(session)
        await session.commit()
    async with sessions() as session:
        users = await session.scalar(select(func.count()).select_from(User))
        posts = await session.scalar(select(func.count()).select_from(Post))
    assert (users, posts) == (1, 1)
