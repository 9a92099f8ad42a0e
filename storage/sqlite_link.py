"""aiosqlite whose statements run on the event loop's thread, for the SQLite engine
(`storage.db`).

aiosqlite runs every call of the sqlite3 module in the connection's own thread. Each call is a
trip there and back: a queue put that wakes the thread, the GIL handed over twice, the result
posted through the event loop's self-pipe. Each trip costs far more than the statement itself
(a few microseconds for the indexed, single-row statements Nexus runs), and the two threads
fighting over the GIL cost context switches on top: handing every statement to the thread was
~half of the CPU per message in bench/bot_loop.py.

So a statement runs right here, on the loop's thread, in one go (execute, fetch every row,
close the cursor), whenever the connection's thread has nothing of it in hand. SQLite is told
not to wait for locks here (a busy timeout of 0): when another connection holds the write lock
(a `nexus` command in another process), SQLite says "busy" at once, having done nothing, and
the statement goes to the thread, which waits up to the connection's ``timeout`` without
stalling the loop. Commits and rollbacks run here the same way; one with no transaction open
(`Connection._idle`) does nothing at all. With ``synchronous=NORMAL`` (`storage.db`) a commit
only appends to the write-ahead log; what syncs the disk is copying the log into the database
file (a checkpoint), which SQLite would do in whichever commit finds the log long: here it is
done in the thread instead, every `CHECKPOINT_EVERY` commits. The rest is aiosqlite's own.

The price: a statement holds the loop for as long as SQLite takes to run it. Nexus's statements
are indexed and small (the slowest of a brief, inserting the post, takes ~0.15 ms); the
migrations run before the bot starts.

A cursor is only a place for results on the loop's side: all rows of a statement are fetched
at once (so are they with SQLAlchemy's buffered results, which is what the project uses; a
"server side" cursor here is buffered too).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import aiosqlite

log = logging.getLogger(__name__)

_Description = tuple[tuple[Any, ...], ...] | None
_Outcome = tuple[_Description, int, int | None, list[Any]]
T = TypeVar("T")

#: Commits between two checkpoints of the write-ahead log (SQLite's own default is about every
#: 1,000 pages; a draft writes a few).
CHECKPOINT_EVERY = 100


def _run(many: bool, sql: str, parameters: Any, connection: sqlite3.Connection) -> _Outcome:
    """The statement's description, row count, last row id and rows."""
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


def _waiting(
    connection: sqlite3.Connection, timeout_ms: int, call: Callable[[sqlite3.Connection], T]
) -> T:
    """In the connection's thread: ``call``, waiting up to ``timeout_ms`` for another
    connection's lock (the loop's side never waits)."""
    connection.execute(f"PRAGMA busy_timeout={timeout_ms:d}")
    try:
        return call(connection)
    finally:
        connection.execute("PRAGMA busy_timeout=0")


def _checkpoint(connection: sqlite3.Connection) -> None:
    """In the connection's thread: copy what the write-ahead log holds into the database file,
    as far as no reader still needs it (PASSIVE: it never waits for anyone)."""
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error as error:  # the next one tries again; SQLite's data is safe meanwhile
        log.warning("SQLite checkpoint failed: %s", error)


def _busy(error: sqlite3.OperationalError) -> bool:
    """SQLite would have had to wait for another connection's lock (and did nothing)."""
    return error.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class Cursor:
    """What SQLAlchemy's aiosqlite adapter uses of `aiosqlite.Cursor`: an execute runs the
    statement (`Connection.statement`) and keeps its rows."""

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
        outcome = await self._connection.statement(many, sql, parameters)
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
    def __init__(self, *args: Any, busy_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Calls handed to the thread, and how many of them it has finished (counted there,
        #: after the call returns): equal when the connection is at rest.
        self._sent = 0
        self._finished = 0
        #: How long a call that finds the database locked waits for it, in the thread.
        self._busy_timeout_ms = round(busy_timeout * 1000)
        self._commits = 0

    async def _call(self, call: Callable[[sqlite3.Connection], T]) -> T:
        """``call(sqlite3 connection)``: here, unless the thread still has a call of this
        connection in hand (one whose caller was cancelled, or a checkpoint: this one waits
        its turn behind it) or SQLite finds the database locked (then in the thread, which
        waits for the lock)."""
        if self._at_rest():
            try:
                return call(self._conn)
            except sqlite3.OperationalError as error:
                if not _busy(error):
                    raise
        result: T = await self._execute(_waiting, self._conn, self._busy_timeout_ms, call)
        return result

    async def statement(self, many: bool, sql: str, parameters: Any) -> _Outcome:
        return await self._call(partial(_run, many, sql, parameters))

    def _at_rest(self) -> bool:
        """The thread has no call of this connection in hand (read here, not in the thread)."""
        return self._sent == self._finished and self._connection is not None

    def _counted(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Callable[[], T]:
        """``fn(*args, **kwargs)`` for the thread, counted as sent now and as finished there."""

        def counted() -> T:
            try:
                return fn(*args, **kwargs)
            finally:
                self._finished += 1

        self._sent += 1
        return counted

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await super()._execute(self._counted(fn, *args, **kwargs))

    def _checkpoint_soon(self) -> None:
        """Queue a checkpoint for the thread, awaited by nobody: the calls that come meanwhile
        find the thread busy and queue behind it."""
        self._tx.put_nowait((None, self._counted(_checkpoint, self._conn)))

    def cursor(self) -> Cursor:  # type: ignore[override]
        """A cursor, made without a trip to the thread (it has no sqlite3 cursor to open)."""
        return Cursor(self)

    def _idle(self) -> bool:
        """No transaction open. sqlite3 opens one only before a write, so a transaction that
        only read has nothing to commit or roll back, and the pool rolls back every connection
        handed back after a commit; sqlite3 itself does nothing then. This is read only while
        the thread has nothing of this connection in hand (a call whose caller was cancelled
        still runs there: its rollback then waits its turn)."""
        return self._at_rest() and not self._conn.in_transaction

    async def commit(self) -> None:
        if self._idle():
            return
        await self._call(sqlite3.Connection.commit)
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0:
            self._checkpoint_soon()

    async def rollback(self) -> None:
        if not self._idle():
            await self._call(sqlite3.Connection.rollback)


async def connect(database: str, *, timeout: float = 5.0, **kwargs: Any) -> Connection:
    """Like `aiosqlite.connect` (``kwargs`` go to `sqlite3.connect`), with `Cursor`s; a call
    that finds the database locked waits up to ``timeout`` seconds, in the thread. SQLite's
    own checkpoints are off: `Connection.commit` has them done in the thread."""
    connection = Connection(
        partial(sqlite3.connect, database, timeout=0, **kwargs),
        busy_timeout=timeout,
        iter_chunk_size=64,
    )
    connection._thread.daemon = True  # as SQLAlchemy's adapter does: never hold up an exit
    await connection  # starts the thread and opens the database in it
    await connection._call(lambda db: db.execute("PRAGMA wal_autocheckpoint=0"))
    return connection
