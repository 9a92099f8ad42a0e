"""Engine and session factory for SQLite (default) and PostgreSQL.

SQLite gets WAL mode, foreign keys on, a busy timeout of 30 s (for other processes, such as
`nexus migrate`), aiosqlite with statements run on the event loop's thread (`storage.sqlite_link`,
which waits for another process's lock in aiosqlite's thread instead), and a pool of one
connection: sessions queue for it in asyncio. Code must therefore
never hold a session open while it opens a second one, and should end its transaction before a
slow network call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_link


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    database = make_url(url).database if is_sqlite(url) else None
    return Path(database) if database and database != ":memory:" else None


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; for SQLite the file's directory is created and the pragmas set."""
    if not is_sqlite(url):
        return create_async_engine(url, pool_pre_ping=True, **kwargs)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # One connection: SQLite has one writer anyway, and writers queueing in asyncio for the pool
    # wait far less than writers contending inside SQLite, whose busy handler sleeps in steps of
    # up to 100 ms (20 concurrent chats: p50 65 ms → 12 ms in bench/bot_loop.py).
    engine = create_async_engine(
        url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0, **kwargs
    )

    @event.listens_for(engine.sync_engine, "do_connect")
    def _one_trip_per_statement(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        # aiosqlite, with statements run on the loop's thread (storage.sqlite_link); the connect
        # args' timeout is how long a statement waits for another process's lock
        return dialect.loaded_dbapi.connect(*cargs, async_creator_fn=sqlite_link.connect, **cparams)

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
