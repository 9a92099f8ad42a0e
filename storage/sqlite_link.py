"""aiosqlite with one trip to its thread per statement, for the SQLite engine (`storage.db`).

aiosqlite runs every call of the sqlite3 module in the connection's own thread, and SQLAlchemy's
adapter makes four calls per statement: open a cursor, execute, fetch the rows, close the cursor.
Each is a trip to that thread and back (a queue put that wakes it, the GIL handed over, the
result posted through the event loop's self-pipe), and each costs far more than the statement
itself: ~55 trips per message in bench/bot_loop.py. Here a cursor is only a place for results
on the event loop's side: executing opens a sqlite3 cursor, runs the statement, fetches every
row and closes it in one trip, and fetching reads what was fetched. A commit or a rollback with
no transaction open (`Connection._idle`) makes no trip at all. The rest is aiosqlite's own.

All rows of a statement are fetched at once (so are they with SQLAlchemy's buffered results,
which is what the project uses; a "server side" cursor here is buffered too).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import aiosqlite

_Description = tuple[tuple[Any, ...], ...] | None
_Outcome = tuple[_Description, int, int | None, list[Any]]


def _run(connection: sqlite3.Connection, many: bool, sql: str, parameters: Any) -> _Outcome:
    """In the connection's thread: the statement's description, row count, last row id and
    rows."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class Cursor:
    """What SQLAlchemy's aiosqlite adapter uses of `aiosqlite.Cursor`, one trip per execute."""

    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.description: _Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def _execute(self, many: bool, sql: str, parameters: Any) -> Cursor:
        outcome: _Outcome = await self._connection._execute(
            _run, self._connection._conn, many, sql, parameters
        )
        self.description, self.rowcount, self.lastrowid, self._rows = outcome
        return self

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        return await self._execute(False, sql, parameters)

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> Cursor:
        return await self._execute(True, sql, parameters)

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []


class Connection(aiosqlite.Connection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Calls handed to the thread, and how many of them it has finished (counted there,
        #: after the call returns): equal when the connection is at rest.
        self._sent = 0
        self._finished = 0

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def counted() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                self._finished += 1

        self._sent += 1
        return await super()._execute(counted)

    def cursor(self) -> Cursor:  # type: ignore[override]
        """A cursor, made without a trip to the thread (it has no sqlite3 cursor to open)."""
        return Cursor(self)

    def _idle(self) -> bool:
        """No transaction open. sqlite3 opens one only before a write, so a transaction that
        only read has nothing to commit or roll back, and the pool rolls back every connection
        handed back after a commit; sqlite3 itself does nothing then. This is read here, not in
        the thread, and only while the thread has nothing of this connection in hand (a call
        whose caller was cancelled still runs there: its rollback then waits its turn)."""
        return (
            self._sent == self._finished
            and self._connection is not None
            and not self._connection.in_transaction
        )

    async def commit(self) -> None:
        if not self._idle():
            await super().commit()

    async def rollback(self) -> None:
        if not self._idle():
            await super().rollback()


async def connect(database: str, **kwargs: Any) -> Connection:
    """Like `aiosqlite.connect` (``kwargs`` go to `sqlite3.connect`), with `Cursor`s."""
    connection = Connection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy's adapter does: never hold up an exit
    await connection  # starts the thread and opens the database in it
    return connection
