"""Backups of a SQLite database while Nexus runs, restores while it does not.

A backup uses SQLite's online backup API (`sqlite3.Connection.backup`): it copies a consistent
snapshot even while the bot writes, into a temporary file that is renamed into place only once
complete, readable by the owner only. A restore checks that the file is a sound Nexus database
(``PRAGMA integrity_check`` and the Alembic version table), copies it next to the live database,
keeps the replaced database (and any write-ahead log of it) as ``.bak``, and renames the copy
into place: at every moment the database path holds either the old or the new database whole.

Every process that uses the data dir (`nexus run`, `nexus worker`) holds a shared `flock` on
``nexus.lock`` there for its lifetime; a restore takes it exclusively without waiting, so it
refuses to run while any of them is up, and none can start while it runs. The kernel drops a
dead process's lock, so a crash never leaves a stale lock behind.

Next to it, each running process also holds one numbered slot (``worker-1.lock``,
``worker-2.lock``, … taken exclusively, lowest free first). The slot names the process's claims
on publications (``<host>-<slot>``): two processes on one host never share a name, and a process
that restarts gets its old slot back, so it can take over its own dead claims at once.

Errors::

    BackupError        a backup or restore cannot be made; the message says why and what to do
    └── NexusIsRunning the data dir is in use (restore) or being restored (start)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import tempfile
from datetime import datetime
from pathlib import Path
from typing import IO

LOCK_FILE_NAME = "nexus.lock"
#: More processes than this on one data dir is a mistake, not a deployment.
MAX_SLOTS = 64
#: The SQLite files that belong with a database: it, its write-ahead log and shared memory.
_COMPANIONS = ("", "-wal", "-shm", "-journal")


class BackupError(Exception):
    """A backup or a restore cannot be made; `str()` says why and what to do."""


class NexusIsRunning(BackupError):
    """The data dir is in use by a running Nexus, or a restore holds it."""


class RunLock:
    """The shared lock a running Nexus holds on its data dir (see the module docstring)."""

    def __init__(self, handle: IO[str], slot: IO[str] | None = None, number: int = 0) -> None:
        self._handle: IO[str] | None = handle
        self._slot = slot
        #: This process's slot among those running on the data dir (1, 2, …); 0 for a restore.
        self.slot = number

    @classmethod
    def acquire(cls, data_dir: Path, *, exclusive: bool = False) -> RunLock:
        data_dir.mkdir(parents=True, exist_ok=True)
        handle = open(data_dir / LOCK_FILE_NAME, "a+")  # held open for the lifetime of the lock
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            if exclusive:
                raise NexusIsRunning(
                    f"Nexus is running on {data_dir} (nexus run or nexus worker): stop it first"
                ) from None
            raise NexusIsRunning(
                f"a restore into {data_dir} is in progress: start Nexus once it has finished"
            ) from None
        if exclusive:
            return cls(handle)
        for number in range(1, MAX_SLOTS + 1):
            slot = open(data_dir / f"worker-{number}.lock", "a+")
            try:
                fcntl.flock(slot, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                slot.close()
                continue
            return cls(handle, slot, number)
        handle.close()
        raise NexusIsRunning(f"{MAX_SLOTS} Nexus processes already run on {data_dir}")

    def release(self) -> None:
        for held in (self._slot, self._handle):
            if held is not None:
                fcntl.flock(held, fcntl.LOCK_UN)
                held.close()
        self._handle = self._slot = None


def default_backup_path(data_dir: Path, now: datetime) -> Path:
    """``nexus-backup-YYYYmmdd-HHMMSS.db`` beside the data dir (not inside what it backs up)."""
    return data_dir.resolve().parent / f"nexus-backup-{now:%Y%m%d-%H%M%S}.db"


def backup_sqlite(database: Path, target: Path) -> int:
    """Copy a consistent snapshot of `database` to `target` (0600, never overwritten). Returns
    the size in bytes."""
    if not database.is_file():
        raise BackupError(f"there is no database at {database} (run nexus migrate first?)")
    if target.exists():
        raise BackupError(f"{target} already exists: give another file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _private_temp(target)
    try:
        _copy(database, temp)
        os.link(temp, target)  # fails rather than replace a file that appeared meanwhile
    except FileExistsError:
        raise BackupError(f"{target} already exists: give another file name") from None
    except sqlite3.Error as exc:
        raise BackupError(f"the database could not be read: {exc}") from None
    finally:
        temp.unlink(missing_ok=True)
    return target.stat().st_size


def check_nexus_database(path: Path) -> str:
    """The schema revision of a sound Nexus database at `path`, else BackupError saying why."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            [verdict] = connection.execute("PRAGMA integrity_check").fetchone()
            if verdict != "ok":
                raise BackupError(f"{path} is damaged (integrity check: {verdict})")
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a Nexus backup (not a SQLite database: {exc})") from None
    if row is None:
        raise BackupError(f"{path} is not a Nexus backup (its schema version is empty)")
    return str(row[0])


def restore_sqlite(backup: Path, database: Path, now: datetime) -> tuple[str, Path | None]:
    """Put `backup` in place of `database` atomically. The caller holds the exclusive lock.
    Returns the backup's schema revision and where the replaced database was kept."""
    revision = check_nexus_database(backup)
    database.parent.mkdir(parents=True, exist_ok=True)
    temp = _private_temp(database)
    try:
        _copy(backup, temp)
        kept = _set_aside(database, now)
        os.replace(temp, database)
        _fsync_dir(database.parent)
    finally:
        temp.unlink(missing_ok=True)
    return revision, kept


def _set_aside(database: Path, now: datetime) -> Path | None:
    """Move the live database and its log files to ``<name>.<time>.bak`` (a log left beside
    the restored file would be replayed into it)."""
    if not database.exists():
        return None
    kept = database.with_name(f"{database.name}.{now:%Y%m%d-%H%M%S}.bak")
    for suffix in _COMPANIONS:
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{database}{suffix}", f"{kept}{suffix}")
    return kept


def _copy(source_path: Path, target: Path) -> None:
    """A consistent snapshot of one SQLite file into another (the online backup API), synced."""
    source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    _fsync(target)


def _private_temp(beside: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{beside.name}.", suffix=".tmp", dir=beside.parent)
    os.close(fd)
    os.chmod(name, 0o600)
    return Path(name)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
