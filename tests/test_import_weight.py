"""What a running Nexus carries: heavy libraries are loaded only by the code that uses them.

An idle `nexus run` used to hold ~300 MB, against ~165 MB for a bare aiogram bot, mostly
libraries imported at start that most processes never touch (bench/memory.py measures it). Each
check runs in a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from storage.db import create_engine
from storage.migrate import current_revision, head_revision, upgrade

ROOT = Path(__file__).resolve().parent.parent

#: Loaded only where used: the /stats chart, drafting with Claude, feed polling, image fitting.
HEAVY = ("matplotlib", "anthropic", "feedparser", "PIL", "numpy", "httpx2")


def loaded_after(script: str, *, cwd: Path) -> set[str]:
    """Top-level modules present in ``sys.modules`` after ``script`` ran in a new interpreter."""
    code = textwrap.dedent(script) + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}


def test_building_the_app_as_nexus_run_does_loads_no_heavy_library(tmp_path: Path) -> None:
    loaded = loaded_after(
        f"""
        import bot.cli
        from bot.app import build_app
        from config.settings import Settings

        settings = Settings(
            _env_file=None,
            TELEGRAM_BOT_TOKEN="123456:TEST-TOKEN",
            NEXUS_OWNER_IDS="1001",
            NEXUS_CHANNEL="@nexus_channel",
            NEXUS_DATA_DIR={str(tmp_path / "data")!r},
            NEXUS_SECRET_KEY="{"A" * 43}=",
        )
        build_app(settings)
        """,
        cwd=tmp_path,
    )
    assert "aiogram" in loaded and "bot" in loaded  # the script did run the app's imports
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


async def test_a_restart_on_a_current_schema_does_not_load_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nexus.db'}"
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    loaded = loaded_after(
        f"""
        import asyncio
        from storage.db import create_engine
        from storage.migrate import upgrade

        asyncio.run(upgrade(create_engine({url!r})))
        """,
        cwd=tmp_path,
    )
    assert "sqlalchemy" in loaded and "alembic" not in loaded


async def test_the_head_read_from_the_files_is_alembics_head_and_old_schemas_still_upgrade(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'nexus.db'}")
    try:
        await upgrade(engine, "0002")  # a database left behind by an older release
        current, head = await current_revision(engine)
        assert current == "0002" and head == head_revision() and head != "0002"
        await upgrade(engine)
        assert await current_revision(engine) == (head, head)
    finally:
        await engine.dispose()
