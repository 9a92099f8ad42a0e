"""Start the real `nexus` command as a subprocess against loopback fakes.

Benchmarks that need the product as a user runs it (its CLI, its settings, its own process
lifetime: `nexus run`, `nexus worker`) share this: the environment a subprocess gets is built in
one place (:func:`nexus_env`, add a new setting there), and every process runs in its own
process group, so a SIGKILL reaches whatever it started and nothing outlives the bench
(:class:`NexusProcess`, :class:`Processes`). The PostgreSQL set-up every bench needs is here too
(:func:`postgres_problem` creates the database if missing, :func:`reset_postgres` empties it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import create_engine

#: What each command logs once it is up (the CLI's own log line).
READY_LINES = {"run": "Nexus is running", "worker": "Nexus worker is running"}
#: Prefixes of the variables Nexus reads: the bench's own environment never leaks into a run.
_NEXUS_PREFIXES = ("NEXUS_", "TELEGRAM_", "ANTHROPIC_")


def nexus_env(
    *,
    telegram_token: str,
    telegram_api: str,
    owner_ids: Sequence[int],
    data_dir: Path,
    database_url: str,
    channel: str | None = None,
    api_urls: Mapping[str, str] | None = None,
    secret_key: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a `nexus` subprocess: the bench's own, minus any Nexus setting, plus
    these. Everything points at loopback fakes; the HTTP server takes a free port (several
    processes run side by side); ``extra`` adds or overrides any other variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_NEXUS_PREFIXES)}
    env.update(
        {
            "TELEGRAM_BOT_TOKEN": telegram_token,
            "TELEGRAM_API_SERVER": telegram_api,
            "NEXUS_OWNER_IDS": ",".join(str(i) for i in owner_ids),
            "NEXUS_DATA_DIR": str(data_dir),
            "NEXUS_DATABASE_URL": database_url,
            "NEXUS_HTTP_PORT": "0",
            "NEXUS_LOG_LEVEL": "INFO",
            # the fakes are on loopback, which the hardened outbound client refuses otherwise
            "NEXUS_ALLOW_PRIVATE_URLS": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if channel:
        env["NEXUS_CHANNEL"] = channel
    if api_urls:
        env["NEXUS_API_URLS"] = ",".join(f"{k}={v}" for k, v in api_urls.items())
    if secret_key:
        env["NEXUS_SECRET_KEY"] = secret_key
    env.update(extra or {})
    return env


class NexusProcess:
    """One `python -m bot <command>` (the `nexus` CLI) in its own process group; its output
    goes to ``log_path`` (appended, so restarts of one role share a log)."""

    def __init__(
        self, command: str, proc: asyncio.subprocess.Process, log_path: Path, log_from: int
    ) -> None:
        self.command = command
        self.proc = proc
        self.log_path = log_path
        self.log_from = log_from  # where this process's output starts in the log

    @classmethod
    async def start(
        cls, command: str, env: Mapping[str, str], log_path: Path, *args: str
    ) -> NexusProcess:
        with log_path.open("ab") as log:
            log_from = log.tell()
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                command,
                *args,
                env=dict(env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches all of it
            )
        return cls(command, proc, log_path, log_from)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def exited(self) -> bool:
        return self.proc.returncode is not None

    async def kill(self, sig: signal.Signals = signal.SIGKILL, timeout: float = 10.0) -> None:
        """Send ``sig`` to the whole process group and wait for the process to end."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), timeout)
        if self.proc.returncode is None:  # a SIGTERM that was ignored
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()

    def ready(self) -> bool:
        """Whether the process has logged that it is up (see ``READY_LINES``)."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self.log_from)
                output = log.read().decode(errors="replace")
        except OSError:
            return False
        return READY_LINES.get(self.command, "\0") in output

    async def wait_ready(self, timeout: float, poll: float = 0.05) -> bool:
        """Wait until :meth:`ready` (False if the process ended or ``timeout`` passed)."""
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.exited or time.monotonic() > deadline:
                return False
            await asyncio.sleep(poll)
        return True

    def tail(self, lines: int = 15) -> str:
        """The last lines of the process's output (to explain an unexpected exit)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Processes:
    """The processes of one run; ``async with`` kills every group that is still alive, on any
    way out (an error, a timeout, Ctrl+C)."""

    def __init__(self) -> None:
        self.started: list[NexusProcess] = []

    async def start(
        self, command: str, env: Mapping[str, str], log_path: Path, *args: str
    ) -> NexusProcess:
        process = await NexusProcess.start(command, env, log_path, *args)
        self.started.append(process)
        return process

    async def kill_all(self) -> None:
        await asyncio.gather(*(p.kill() for p in self.started if not p.exited))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.shield(self.kill_all())


# ------------------------------------------------------------------ PostgreSQL for bench runs
async def reset_postgres(url: str) -> None:
    """A fresh, empty schema ``public`` (everything of an earlier run dropped)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


async def postgres_problem(url: str) -> str | None:
    """Why PostgreSQL can't be used (None: it can); creates the database if it is missing."""
    engine = create_engine(url)
    try:
        async with asyncio.timeout(5):
            await _create_database(url)
        async with asyncio.timeout(5):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    finally:
        await engine.dispose()
    return None


async def _create_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with admin.connect() as conn:
            found = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
            )
            if not found:
                await conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        await admin.dispose()
