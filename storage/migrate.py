"""Apply Alembic migrations programmatically, on SQLite and PostgreSQL alike.

`nexus run` calls `upgrade` at start and `nexus migrate` on demand, so there is no alembic.ini to
keep next to the install.

Alembic (with Mako and Pygments, about 11 MB of a process's memory) is imported only when a
migration has to run: at most starts the schema is already at the head revision, which is read
from the migration files' ``revision``/``down_revision`` lines and the ``alembic_version`` table
without Alembic, so a long-running bot or worker does not carry it.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
VERSION_TABLE = "alembic_version"  # Alembic's default; migrations/env.py keeps it


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


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` (default: the newest) in one transaction."""
    if revision == "head":
        async with engine.connect() as conn:
            current = await conn.run_sync(_database_revision)
        if current is not None and current == head_revision():
            return  # nothing to do, and Alembic stays unloaded
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


async def current_revision(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """(the database's revision, the code's head revision)."""
    async with engine.connect() as conn:
        result: Any = await conn.run_sync(_current)
        return result  # type: ignore[no-any-return]
