"""Start-up on an empty database: a bot and several workers start together and each runs the
migrations; the lock makes one of them migrate and the others find the schema up to date."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.cli import main
from storage.db import create_engine
from storage.migrate import MigrationError, current_revision, upgrade
from tests.conftest import POSTGRES_URL, reset_postgres
from tests.test_cli import nexus


async def test_concurrent_upgrades_on_an_empty_database_all_succeed(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(4)]  # one per process
    try:
        await asyncio.gather(*(upgrade(engine) for engine in engines))
        current, head = await current_revision(engines[0])
        assert current == head
        async with engines[0].connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert versions == [(head,)]
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_migration_that_fails_once_connected_says_so(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with pytest.raises(MigrationError) as caught:
            await upgrade(engine, "no-such-revision")
        assert "no-such-revision" in str(caught.value)
    finally:
        await engine.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="NEXUS_TEST_POSTGRES_URL is not set")
async def test_migrate_commands_started_together_on_empty_postgres_all_succeed(
    tmp_path: Path,
) -> None:
    assert POSTGRES_URL
    await reset_postgres(POSTGRES_URL)
    env = {"NEXUS_DATA_DIR": str(tmp_path / "data"), "NEXUS_DATABASE_URL": POSTGRES_URL}

    results = await asyncio.gather(*(nexus("migrate", cwd=tmp_path, **env) for _ in range(2)))

    for result in results:
        assert result.code == 0, result.err
        assert "Traceback" not in result.both and "cannot" not in result.both
    engine = create_engine(POSTGRES_URL)
    try:
        current, head = await current_revision(engine)
        assert current == head
    finally:
        await engine.dispose()


def test_a_schema_conflict_is_not_reported_as_an_unreachable_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / "nexus.db") as conn:  # a table in the way of the first migration
        conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
    monkeypatch.setenv("NEXUS_DATA_DIR", str(data))

    assert main(["migrate"]) == 1

    err = capsys.readouterr().err
    assert "schema" in err and "accounts" in err
    assert "cannot reach" not in err and "Traceback" not in err
