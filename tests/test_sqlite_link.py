"""SQLite through `storage.db`'s engine, whose statements run on the event loop's thread
(`storage.sqlite_link`): what the rest of Nexus relies on still holds. A race is decided by a
conditional UPDATE's row count, a transaction that fails halfway leaves nothing, every row of a
query arrives, and a transaction that only read leaves the database free for the next writer (a
`nexus` command in another process), which sees what was committed. A write that finds another
process holding the database waits for it without stalling the loop; one whose caller is
cancelled meanwhile is rolled back, never committed by the next user of the connection. The
write-ahead log still reaches the database file, though SQLite's own checkpoints are off."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage import sqlite_link
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


@contextlib.contextmanager
def another_process_writing(database: Path) -> Iterator[sqlite3.Connection]:
    """Another process in the middle of a write transaction: it holds SQLite's write lock
    until the block ends (and then rolls back)."""
    other = sqlite3.connect(database, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_statements_run_on_the_event_loops_thread(sessions: Sessions) -> None:
    async with sessions() as session:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        await raw.driver_connection.create_function("thread_id", 0, threading.get_ident)
        ran_on = await session.scalar(text("SELECT thread_id()"))
    assert ran_on == threading.get_ident()


async def test_a_write_waits_for_another_process_without_stalling_the_loop(
    sessions: Sessions, tmp_path: Path
) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> int:
        async with sessions() as session:
            post = await _draft(session)
            await session.commit()
            return post.id

    ticking = asyncio.create_task(tick())
    try:
        with another_process_writing(tmp_path / "nexus.db"):
            writing = asyncio.create_task(write())
            await asyncio.sleep(0.3)  # the write waits for the lock (in aiosqlite's thread)
            assert not writing.done() and ticks >= 10  # and the loop went on meanwhile
        post_id = await asyncio.wait_for(writing, 10)  # the lock is free: it goes through
    finally:
        ticking.cancel()
    async with sessions() as session:
        assert await session.scalar(select(Post.id)) == post_id


async def test_a_write_cancelled_while_it_waits_for_the_lock_is_never_committed(
    sessions: Sessions, tmp_path: Path
) -> None:
    async def write() -> None:
        async with sessions() as session:
            await _draft(session, key="cancelled")
            await session.commit()

    with another_process_writing(tmp_path / "nexus.db"):
        task = asyncio.create_task(write())
        await asyncio.sleep(0.2)  # the INSERT waits in aiosqlite's thread
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    # the lock is free: the cancelled INSERT now runs in the thread, and is rolled back
    async with sessions() as session:  # before the next user of the one connection commits
        await _draft(session, key="next")
        await session.commit()
    async with sessions() as session:
        keys = (await session.scalars(select(Post.origin_key))).all()
    assert keys == ["next"]


async def test_the_write_ahead_log_reaches_the_database_file(
    sessions: Sessions, tmp_path: Path
) -> None:
    database = tmp_path / "nexus.db"
    before = database.stat().st_size
    for n in range(sqlite_link.CHECKPOINT_EVERY + 1):
        async with sessions() as session:
            await repo.create_draft(
                session, author_id=OWNER, brief="b", text=f"{n} " + "x" * 4000, offline=True
            )
            await session.commit()
    async with sessions() as session:  # waits its turn behind the checkpoint
        assert await session.scalar(select(func.count()).select_from(Post)) == n + 1
    # ~100 posts of 4 kB each: in the file itself, not only in the log
    assert database.stat().st_size > before + 300_000
