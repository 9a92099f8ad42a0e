"""`nexus backup` and `nexus restore` as the owner runs them (real subprocesses, real SQLite
files): a backup taken while a writer is busy restores into a new data dir where the app sees
the same queue and accounts; a restore is refused while Nexus runs, and a file that is not a
Nexus database is refused with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from bot.app import prepare_database
from config.settings import Settings
from scheduler.lifecycle import schedule_post
from storage import repositories as repo
from storage.backup import LOCK_FILE_NAME
from storage.crypto import KEY_FILE_NAME
from storage.encrypted import unreadable_values
from storage.models import Event, Post, PostStatus, Source, User
from tests.clock import FakeClock
from tests.conftest import OWNER, running
from tests.test_cli import nexus
from tests.test_e2e_variants import connect


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Backups are SQLite's (PostgreSQL has pg_dump): these tests use a SQLite file only."""
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'nexus.db'}"


def env_for(data_dir: Path) -> dict[str, str]:
    return {"NEXUS_DATA_DIR": str(data_dir)}


async def test_backup_while_writing_then_restore_into_a_new_data_dir(
    make_settings: Callable[..., Settings], clock: FakeClock, tmp_path: Path
) -> None:
    source_settings = make_settings(NEXUS_DATABASE_URL=None)
    async with running(source_settings, clock) as app:
        await connect(app, "mastodon", "@nexus@masto.test", {"access_token": "t0k3n-mastodon"})
        async with app.sessions() as session:
            await session.merge(User(id=OWNER))
            await session.flush()
            for n in range(3):
                post = await repo.create_draft(
                    session, author_id=OWNER, brief=f"p{n}", text=f"queued {n}", offline=False
                )
                await session.commit()
                when = clock.now() + timedelta(days=n + 1)
                assert await schedule_post(session, post, when)
            hooks = Source(kind="webhook", name="hooks")
            session.add(hooks)
            await session.commit()
            hooks_id = hooks.id

        stop = asyncio.Event()

        async def writer() -> int:
            """Webhook events streaming in while the backup runs."""
            written = 0
            while not stop.is_set():
                async with app.sessions() as session:
                    rows = [
                        {
                            "source_id": hooks_id,
                            "external_id": f"w-{written + i}",
                            "type": "push",
                            "payload": json.dumps({"n": written + i}),
                            "status": "done",
                            "received_at": clock.now(),
                        }
                        for i in range(20)
                    ]
                    await session.execute(insert(Event), rows)
                    await session.commit()
                written += 20
                await asyncio.sleep(0.005)
            return written

        writing = asyncio.create_task(writer())
        await asyncio.sleep(0.1)
        file = tmp_path / "backups" / "nightly.db"
        backed_up = await nexus(
            "backup", str(file), cwd=tmp_path, **env_for(source_settings.data_dir)
        )
        stop.set()
        written = await writing
        assert backed_up.code == 0, backed_up.both
        assert "secret key is NOT in the backup" in backed_up.out
        assert str((source_settings.data_dir / KEY_FILE_NAME).resolve()) in backed_up.out
        assert stat.S_IMODE(file.stat().st_mode) == 0o600

        # while the source app runs, restoring into its data dir is refused
        refused = await nexus(
            "restore", str(file), cwd=tmp_path, **env_for(source_settings.data_dir)
        )
        assert refused.code == 1 and "Nexus is running" in refused.err and "stop it" in refused.err
        assert "Traceback" not in refused.both

    assert written > 0
    target_dir = tmp_path / "restored"
    target_dir.mkdir()
    shutil.copy2(source_settings.data_dir / KEY_FILE_NAME, target_dir / KEY_FILE_NAME)
    restored = await nexus("restore", str(file), cwd=tmp_path, **env_for(target_dir))
    assert restored.code == 0, restored.both
    assert "schema revision" in restored.out

    target_settings = make_settings(NEXUS_DATABASE_URL=None, NEXUS_DATA_DIR=str(target_dir))
    async with running(target_settings, clock) as app, app.sessions() as session:
        accounts = [(a.platform, a.handle) for a in await repo.enabled_accounts(session)]
        assert ("mastodon", "@nexus@masto.test") in accounts
        queued = await session.scalars(
            select(Post.text).where(Post.status == PostStatus.SCHEDULED).order_by(Post.id)
        )
        assert list(queued) == ["queued 0", "queued 1", "queued 2"]
        assert await unreadable_values(session, app.vault) == []
        events = await session.scalar(select(func.count(Event.id)))
        assert events is not None and 0 <= events <= written and events % 20 == 0  # whole batches


async def test_restore_keeps_the_replaced_database_and_refuses_a_foreign_file(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(NEXUS_DATABASE_URL=None)
    await prepare_database(settings)
    file = tmp_path / "copy.db"
    assert (await nexus("backup", str(file), cwd=tmp_path, **env_for(settings.data_dir))).code == 0
    again = await nexus("backup", str(file), cwd=tmp_path, **env_for(settings.data_dir))
    assert again.code == 1 and "already exists" in again.err

    junk = tmp_path / "notes.txt"
    junk.write_text("not a database at all " * 100)
    before = (settings.data_dir / "nexus.db").read_bytes()
    refused = await nexus("restore", str(junk), cwd=tmp_path, **env_for(settings.data_dir))
    assert refused.code == 1 and "not a Nexus backup" in refused.err
    assert (settings.data_dir / "nexus.db").read_bytes() == before

    restored = await nexus("restore", str(file), cwd=tmp_path, **env_for(settings.data_dir))
    assert restored.code == 0, restored.both
    [kept] = list(settings.data_dir.glob("nexus.db.*.bak"))
    assert kept.read_bytes() == before and str(kept) in restored.out
    assert (settings.data_dir / LOCK_FILE_NAME).exists()


async def test_backup_on_postgresql_prints_the_pg_dump_command_without_the_password(
    tmp_path: Path,
) -> None:
    url = "postgresql+asyncpg://nexus:hunter2-secret@db.example:5433/nexus"
    result = await nexus("backup", cwd=tmp_path, NEXUS_DATABASE_URL=url, **env_for(tmp_path))
    assert result.code == 1
    assert "pg_dump --format=custom --file=nexus-backup-" in result.out
    assert "postgresql://nexus@db.example:5433/nexus" in result.out
    assert "hunter2" not in result.both
    with contextlib.suppress(FileNotFoundError):
        assert not list(tmp_path.glob("nexus-backup-*"))
