"""Private files: whatever the umask, a start leaves the data dir 0700 and its files 0600, and
`nexus check` names anything looser with the chmod that fixes it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from storage.crypto import KEY_FILE_NAME
from storage.files import write_media
from storage.permissions import make_private, too_open


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The usual 022 umask, under which new files are world-readable; restored afterwards
    (the commands under test set the process's umask)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("NEXUS_DATA_DIR", str(data))
    monkeypatch.setenv("NEXUS_LOG_LEVEL", "ERROR")
    return data


def test_a_fresh_install_is_private_under_a_permissive_umask(
    permissive_umask: None, env: Path
) -> None:
    assert main(["migrate"]) == 0
    assert mode(env) == 0o700
    db = env / "nexus.db"
    assert mode(db) == 0o600
    # what the process creates from now on is private too: images, the WAL, new folders
    relative = write_media(env, b"\x89PNG fake", "image/png")
    assert mode(env / relative) == 0o600 and mode((env / relative).parent) == 0o700
    assert too_open(env, db) == []


def test_an_old_loose_install_is_tightened_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "media").mkdir(parents=True)
    files = [data / name for name in ("nexus.db", "nexus.db-wal", "nexus.db-shm", KEY_FILE_NAME)]
    for path in files:
        path.write_bytes(b"x")
        path.chmod(0o644)
    data.chmod(0o755)
    (data / "media").chmod(0o755)
    outside = tmp_path / "elsewhere.db"  # NEXUS_DATABASE_URL outside the data dir
    outside.write_bytes(b"x")
    outside.chmod(0o664)
    link = data / "link"
    link.symlink_to(tmp_path / "not-ours")  # left alone, never followed

    changed = make_private(data, outside)

    assert {c.path for c in changed} == {data, data / "media", outside, *files}
    assert mode(data) == mode(data / "media") == 0o700
    assert all(mode(path) == 0o600 for path in [*files, outside])
    assert too_open(data, outside) == []


def test_check_warns_about_a_readable_database(
    monkeypatch: pytest.MonkeyPatch, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = os.umask(0o022)
    try:
        assert main(["migrate"]) == 0
    finally:
        os.umask(old)
    (env / "nexus.db").chmod(0o644)
    capsys.readouterr()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST-TOKEN")
    monkeypatch.setenv("TELEGRAM_API_SERVER", "http://127.0.0.1:9")  # nothing listens there
    main(["check"])
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if line.startswith("warn")]
    assert warnings == [
        f"warn  permissions: {env / 'nexus.db'} is a file with mode 0644, open to other "
        f"local users: chmod 600 {env / 'nexus.db'}"
    ]
