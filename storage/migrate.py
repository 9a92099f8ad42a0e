"""Apply Alembic migrations programmatically, on SQLite and PostgreSQL alike.

`nexus run`, `nexus worker` and `nexus migrate` call `upgrade` at start, so there is no
alembic.ini to keep next to the install. A bot and any number of workers may start together on
an empty database: the migration runs under a lock every process shares (a PostgreSQL advisory
lock held by the migrating transaction; on SQLite an exclusive `flock` on a file next to the
database), so one process migrates and the others wait, then find the schema up to date.

Errors: failing to connect is left as SQLAlchemy's (or the OS's) own error: the database cannot
be reached. Anything that goes wrong once connected, while migrating, is :class:`MigrationError`,
so a start-up failure names its real cause.

Alembic (with Mako and Pygments, about 11 MB of a process's memory) is imported only when a
migration has to run: at most starts the schema is already at the head revision, which is read
from the migration files' ``revision``/``down_revision`` lines and the ``alembic_version`` table
without Alembic, so a long-running bot or worker does not carry it.
"""

from __future__ import annotations

import ast
import asyncio
import fcntl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
VERSION_TABLE = "alembic_version"  # Alembic's default; migrations/env.py keeps it
#: The PostgreSQL advisory lock key every Nexus process takes to migrate ("nexus" in ASCII).
MIGRATION_LOCK_KEY = 0x6E65787573
#: The lock file next to a SQLite database file (``nexus.db`` → ``nexus.db.migrate.lock``).
SQLITE_LOCK_SUFFIX = ".migrate.lock"


class MigrationError(Exception):
    """The database was reached but its schema could not be brought up to date."""


def _config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "storage:migrations")
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(_config(connection), revision)


def _current(connection: Connection) -> tuple[str | None, str | None]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config(connection)).get_current_head()
    return MigrationContext.configure(connection).get_current_revision(), head


def head_revision() -> str | None:
    """The code's single head revision, read from the files in migrations/versions without
    importing them (they import Alembic); None when there is not exactly one head."""
    parent_of: dict[str, Any] = {}
    for path in VERSIONS.glob("*.py"):
        values: dict[str, Any] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign):
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value  # `revision: str = "0004"`
            else:
                continue
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                values[target.id] = ast.literal_eval(value)
        if "revision" in values:
            parent_of[values["revision"]] = values.get("down_revision")
    parents: set[Any] = set()
    for down in parent_of.values():
        parents.update(down if isinstance(down, tuple | list) else [down])
    heads = set(parent_of) - parents
    return heads.pop() if len(heads) == 1 else None


def _database_revision(connection: Connection) -> str | None:
    """The revision stamped in the database; None when it has none, or more than one."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def _sqlite_lock_path(engine: AsyncEngine) -> Path | None:
    """The lock file of a SQLite file database; None for PostgreSQL and in-memory SQLite."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + SQLITE_LOCK_SUFFIX)


@asynccontextmanager
async def _file_lock(path: Path | None) -> AsyncIterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (waiting in a thread, off the event loop); the
    kernel releases it if the process dies."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        await asyncio.to_thread(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest) in one transaction, under the
    migration lock; raises :class:`MigrationError` if that fails once the database is reached.
    A schema already at the head is left alone without taking the lock or loading Alembic."""
    if revision == "head":
        async with engine.connect() as conn:
            current = await conn.run_sync(_database_revision)
        if current is not None and current == head_revision():
            return
    async with _file_lock(_sqlite_lock_path(engine)), engine.connect() as conn:
        from alembic.util import CommandError

        sqlite = conn.dialect.name == "sqlite"
        try:
            if sqlite:
                await _sqlite_foreign_keys(conn, on=False)
            async with conn.begin():
                if conn.dialect.name == "postgresql":
                    # released with the transaction: the next process then sees the new schema
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                await conn.run_sync(_upgrade, revision)
                if sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise MigrationError(f"foreign keys broken by the migration: {broken}")
        except (SQLAlchemyError, CommandError) as exc:
            raise MigrationError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            if sqlite:
                await _sqlite_foreign_keys(conn, on=True)


async def _sqlite_foreign_keys(conn: AsyncConnection, *, on: bool) -> None:
    """Switch SQLite's foreign keys (only possible outside a transaction). Off while migrating:
    Alembic rebuilds a table to add a foreign key, and dropping the old table with keys on would
    cascade its ON DELETE to the children (a migration must never delete a post's
    publications); SQLite's own ALTER TABLE procedure says the same."""
    await conn.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    await conn.commit()


async def current_revision(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """(the database's revision, the code's head revision)."""
    async with engine.connect() as conn:
        result: Any = await conn.run_sync(_current)
        return result  # type: ignore[no-any-return]
