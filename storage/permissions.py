"""Private files: the data dir and everything in it belong to the user Nexus runs as.

The data dir holds drafts, events and rules (the database), the secret key and the owner's
images. With the usual umask (022) a new directory is 0755 and SQLite makes ``nexus.db``,
``-wal`` and ``-shm`` 0644: any local user could read them. So ``nexus run``/``worker``/
``migrate`` set a 077 umask for the process (:func:`restrict_umask`: whatever is created later,
a WAL file included, is private), and every start tightens what an older install left looser
(:func:`make_private`). ``nexus check`` names what is still too open (:func:`too_open`), with
the chmod that fixes it.

Directories become 0700 and files 0600; symlinks are neither followed nor changed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PRIVATE_UMASK = 0o077
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
#: SQLite's companions of a database file (rollback journal, write-ahead log, shared memory).
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def restrict_umask() -> int:
    """Make everything this process creates private from now on; returns the old umask."""
    return os.umask(PRIVATE_UMASK)


@dataclass(frozen=True)
class Loose:
    """A path readable or writable by others: its mode and the one it should have."""

    path: Path
    mode: int
    wanted: int

    def advice(self) -> str:
        """One line: what is wrong and the command that fixes it."""
        kind = "directory" if self.wanted == PRIVATE_DIR else "file"
        return (
            f"{self.path} is a {kind} with mode {self.mode:04o}, open to other local users: "
            f"chmod {self.wanted:o} {self.path}"
        )


def sqlite_files(database: Path | None) -> list[Path]:
    """The SQLite database file and its companions (existing or not)."""
    if database is None:
        return []
    return [database.with_name(database.name + suffix) for suffix in SQLITE_SUFFIXES]


def _private_paths(data_dir: Path, database: Path | None) -> Iterator[tuple[Path, int]]:
    """Every existing path that should be private, with the mode it should have."""
    if data_dir.is_dir():
        yield data_dir, PRIVATE_DIR
        for root, dirs, files in os.walk(data_dir):
            for name in dirs:
                yield Path(root) / name, PRIVATE_DIR
            for name in files:
                yield Path(root) / name, PRIVATE_FILE
    for path in sqlite_files(database):  # also when NEXUS_DATABASE_URL points elsewhere
        if data_dir not in path.parents:
            yield path, PRIVATE_FILE


def too_open(data_dir: Path, database: Path | None = None) -> list[Loose]:
    """The paths under ``data_dir`` (and the SQLite files) that others may use at all."""
    loose = []
    for path, wanted in _private_paths(data_dir, database):
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode):
            continue
        mode = stat.S_IMODE(info.st_mode)
        if mode & ~PRIVATE_DIR:  # any group or other bit
            loose.append(Loose(path, mode, wanted))
    return loose


def make_private(data_dir: Path, database: Path | None = None) -> list[Loose]:
    """Create ``data_dir`` (0700) and take group and other access off everything in it and
    off the SQLite files; returns what was changed."""
    data_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    changed = too_open(data_dir, database)
    for item in changed:
        os.chmod(item.path, item.mode & PRIVATE_DIR)  # the owner keeps what it had
    return changed
