"""Idle memory of `nexus run` against a bare aiogram polling bot, and with 10,000 queued posts.

Each subject is a real OS process started with this interpreter and long-polling the loopback
Telegram fake (``tests.fakes.telegram.FakeTelegram``), which runs in this process:

* baseline: a bare aiogram bot (one echo handler, ``start_polling``), the least any Telegram bot
  on aiogram holds;
* nexus, idle: ``python -m bot run`` (offline drafter) restarted on a SQLite data dir that is
  already migrated and knows the owner and the channel: the steady state of a deployment;
* nexus, first start: the same on an empty data dir (it migrates the schema, so Alembic is
  loaded, about 11 MB more; printed for information);
* nexus with N scheduled posts (``--scheduled``, 10,000): the idle case with N posts scheduled
  over the next 30 days, one pending publication each (bulk ORM inserts), so whatever the
  process loads at start because of a long queue shows up.

RSS is read from ``/proc/<pid>/status`` (VmRSS) of the process and all its descendants, every
0.5 s once the process polls Telegram; it has *settled* when the last ``--window`` seconds of
samples lie within 1 MB, and the figure is their mean. Last line::

    memory: idle_rss_mb=… baseline_rss_mb=… ratio=… rss_10k_scheduled_mb=… first_start_rss_mb=…

Targets: ratio (idle / baseline) ≤ 1.3; the scheduled posts cost at most 50 MB more than idle.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # `python bench/memory.py` from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select

from storage import repositories as repo
from storage.crypto import generate_key
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import Post, PostStatus, Publication, User
from tests.fakes.telegram import FakeTelegram

OWNER = 1001
CHANNEL = "@nexus_channel"
ROOT = Path(__file__).resolve().parent.parent

BASELINE_BOT = """
import asyncio, sys
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

dp = Dispatcher()

@dp.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "?")

session = AiohttpSession(api=TelegramAPIServer.from_base(sys.argv[2]))
asyncio.run(dp.start_polling(Bot(sys.argv[1], session=session)))
"""


class BenchError(Exception):
    pass


def tree_rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` and every descendant, in kB (a worker thread pool is in-process)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total += int(found.group(1)) if found else 0
    return total


async def settled_rss_mb(
    proc: asyncio.subprocess.Process, tg: FakeTelegram, window: float, timeout: float
) -> float:
    """Wait for the process to poll Telegram, then for its RSS to stop moving; the mean RSS."""
    start = time.monotonic()
    await tg.wait_for(lambda: any(c.method == "getUpdates" for c in tg.calls), timeout)
    samples: list[float] = []
    needed = max(2, int(window / 0.5))
    while time.monotonic() - start < timeout:
        if proc.returncode is not None:
            raise BenchError(f"the process exited with {proc.returncode} before settling")
        samples.append(tree_rss_kb(proc.pid) / 1024)
        recent = samples[-needed:]
        if len(recent) == needed and max(recent) - min(recent) < 1.0:
            return statistics.mean(recent)
        await asyncio.sleep(0.5)
    raise BenchError(f"RSS did not settle within {timeout:.0f} s: last samples {samples[-6:]}")


async def measure(
    argv: list[str], env: dict[str, str], cwd: Path, args: argparse.Namespace
) -> float:
    async with FakeTelegram() as tg:
        tg.add_user(OWNER, "Owner", "en")
        tg.add_channel(CHANNEL.lstrip("@"))
        env = env | {"TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_SERVER": tg.base_url}
        argv = [part.format(token=tg.token, url=tg.base_url) for part in argv]
        log = (cwd / "process.log").open("wb")
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        try:
            return await settled_rss_mb(proc, tg, args.window, args.timeout)
        except BenchError as exc:
            tail = (cwd / "process.log").read_text(errors="replace")[-2000:]
            raise BenchError(f"{exc}\n--- its output ---\n{tail}") from exc
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
            log.close()


def clean_env(data: Path) -> dict[str, str]:
    """The caller's environment without any Nexus setting, plus this run's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEXUS_", "ANTHROPIC_"))}
    return env | {
        "PYTHONPATH": str(ROOT),
        "NEXUS_OWNER_IDS": str(OWNER),
        "NEXUS_CHANNEL": CHANNEL,
        "NEXUS_DATA_DIR": str(data),
        "NEXUS_SECRET_KEY": generate_key(),
        "NEXUS_HTTP_PORT": "0",
        "NEXUS_LOG_LEVEL": "WARNING",
    }


async def seed(data: Path, posts: int) -> None:
    """A migrated database with ``posts`` posts scheduled over the next 30 days."""
    data.mkdir(parents=True)
    engine = create_engine(f"sqlite+aiosqlite:///{data / 'nexus.db'}")
    try:
        await upgrade(engine)
        async with make_session_factory(engine)() as session:
            session.add(User(id=OWNER, language="en"))
            account = await repo.ensure_account(session, "telegram", CHANNEL)
            await session.commit()
            if not posts:
                return
            now = datetime.now(UTC)
            spread = timedelta(days=30) / posts
            await session.execute(
                insert(Post),
                [
                    {
                        "author_id": OWNER,
                        "brief": f"brief {i}",
                        "text": f"Scheduled post number {i}: a paragraph of ordinary length.",
                        "status": PostStatus.SCHEDULED,
                        "offline": True,
                        "scheduled_at": now + timedelta(hours=1) + i * spread,
                    }
                    for i in range(posts)
                ],
            )
            rows = (await session.execute(select(Post.id, Post.text, Post.scheduled_at))).all()
            await session.execute(
                insert(Publication),
                [
                    {"post_id": i, "account_id": account.id, "text": t, "next_attempt_at": at}
                    for i, t, at in rows
                ],
            )
            await session.commit()
    finally:
        await engine.dispose()


async def amain(args: argparse.Namespace) -> int:
    python = sys.executable
    nexus = [python, "-m", "bot", "run"]
    with tempfile.TemporaryDirectory(prefix="nexus-memory-") as tmp:
        work = Path(tmp)

        async def run(name: str, argv: list[str], posts: int | None) -> float:
            (work / name).mkdir()
            if posts is not None:
                await seed(work / name / "data", posts)
            return await measure(argv, clean_env(work / name / "data"), work / name, args)

        baseline = await run("baseline", [python, "-c", BASELINE_BOT, "{token}", "{url}"], None)
        print(f"baseline (bare aiogram polling):     {baseline:7.1f} MB", flush=True)
        first = await run("first", nexus, None)
        print(f"nexus run, first start (migrates):   {first:7.1f} MB", flush=True)
        idle = await run("idle", nexus, 0)
        print(f"nexus run, idle:                     {idle:7.1f} MB", flush=True)
        loaded = await run("scheduled", nexus, args.scheduled)
        print(f"nexus run, {args.scheduled:,} posts scheduled: {loaded:7.1f} MB", flush=True)
    ratio = idle / baseline
    print(
        f"memory: idle_rss_mb={idle:.1f} baseline_rss_mb={baseline:.1f} ratio={ratio:.2f} "
        f"rss_10k_scheduled_mb={loaded:.1f} first_start_rss_mb={first:.1f}"
    )
    return 0 if ratio <= 1.3 and loaded - idle <= 50 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduled", type=int, default=10_000, help="posts in the long queue")
    parser.add_argument("--window", type=float, default=3.0, help="seconds of stable RSS")
    parser.add_argument("--timeout", type=float, default=120.0, help="per process, seconds")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(amain(args))
    except BenchError as exc:
        print(f"memory: failed: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
