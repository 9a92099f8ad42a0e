"""Dispatcher throughput and lateness: N posts × 3 Telegram channels falling due in one instant.

Every mode seeds N posts through ``scheduler.lifecycle.schedule_post`` (one pending publication
per enabled account: three Telegram channels ``@bench_a``, ``@bench_b``, ``@bench_c``) with a
placeholder due time, starts its worker process(es), waits until they are warm (engine
connected, SQL compiled by an empty ``run_once``, HTTP connections open), then moves every
publication to one instant T = now + 1 s with a single UPDATE. Each worker sleeps until T on the
real clock (``SystemClock``) and calls ``run_once()`` until it finds nothing more to do.

Process layout (the same in every mode): the loopback Telegram fake
(``tests.fakes.telegram.FakeTelegram``, one per mode, all three channels on it) runs alone in
this process; each dispatcher is a separate OS process (``multiprocessing``, spawn) with its
own engine, session factory, httpx client and ``TelegramLimits`` (rate limits lifted:
``group_limit = global_limit = 10**6``), like ``nexus worker`` processes. So the fake's CPU never
counts against the dispatcher, and two workers really can use two cores (on a 2-core machine
they share them with the fake and PostgreSQL: see the CPU lines).

Modes: ``baseline`` (a bare httpx loop sending the same N×3 ``sendMessage`` requests with
``DispatchConfig().concurrency`` requests in flight), ``baseline-per-chat`` (the same, but one
request in flight per channel, as ``TelegramLimits`` allows), ``sqlite`` (a SQLite file in a temp
dir, 1 worker), ``pg-1w`` and ``pg-2w`` (PostgreSQL, schema ``public`` dropped and recreated
first; skipped with a reason when the server is unreachable).

Figures: lateness of a message = the fake's wall-clock receive time − T; pubs/s = N×3 / (time
from T until the last worker's last ``run_once`` returned, i.e. every outcome recorded and every
post settled). Exactly-once is checked in every mode (N×3 distinct channel messages, each post's
text once per channel, all publications published at attempt 1, every post settled and reported
once) and a violation fails the run.

    python -m bench.dispatch [--quick] [--posts N] [--pg-url URL] [--no-pg] [--profile FILE]

The last line is machine-readable:
``dispatch: pubs_per_s=… baseline_per_s=… ratio=… p99_late_s=… max_late_s=… pg_2w_speedup=…
peak_rss_mb=…`` (pubs/s and lateness from the SQLite mode; ratio = SQLite pubs/s / baseline;
peak RSS = the largest dispatcher worker process).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import math
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/dispatch.py` from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import func, select, update

from bench.harness import postgres_problem, reset_postgres
from bot.app import TargetPublishers, prepare_database
from config.settings import Settings
from publishers.telegram_limits import TelegramLimits
from publishers.text import escape_html
from scheduler.clock import SystemClock
from scheduler.dispatcher import DispatchConfig, PublicationDispatcher
from scheduler.lifecycle import schedule_post
from scheduler.notify import PublishReport, SilentNotifier
from storage import repositories as repo
from storage.crypto import Vault, generate_key
from storage.db import create_engine, make_session_factory
from storage.models import Post, PostStatus, Publication, PublicationStatus, User
from tests.fakes.telegram import FakeTelegram

OWNER = 1001
CHANNELS = ("@bench_a", "@bench_b", "@bench_c")
TEXT = "bench post {i}: dispatcher throughput & lateness <check>"
#: Its own database (created if missing), so the bench never wipes the test suite's `test` db
#: while a test run uses it; `--pg-url .../test` works too.
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/nexus_bench"
NEXUS_ENV = (
    "TELEGRAM_BOT_TOKEN TELEGRAM_API_SERVER NEXUS_OWNER_IDS NEXUS_CHANNEL NEXUS_DATA_DIR "
    "NEXUS_DATABASE_URL NEXUS_SECRET_KEY ANTHROPIC_API_KEY ANTHROPIC_BASE_URL NEXUS_AI_MODEL "
    "NEXUS_TIMEZONE NEXUS_LOG_LEVEL"
).split()
LEAD_S = 1.0  # T = now + LEAD_S once every worker is ready


class BenchError(Exception):
    pass


# ------------------------------------------------------------------ the fake, recording sends
class BenchTelegram(FakeTelegram):
    """The fake, recording each ``sendMessage`` with its wall-clock receive time."""

    def __init__(self) -> None:
        super().__init__()
        self.sends: list[tuple[float, str, str]] = []  # (received at, chat, html text)

    async def _m_sendmessage(self, params: dict, files: dict) -> dict:
        received = time.time()
        result = await super()._m_sendmessage(params, files)
        self.sends.append((received, str(params.get("chat_id")), str(params.get("text"))))
        return result


# ------------------------------------------------------------------ worker processes
def _settings(spec: dict[str, Any]) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        TELEGRAM_BOT_TOKEN=spec["token"],
        TELEGRAM_API_SERVER=spec["base_url"],
        NEXUS_OWNER_IDS=str(OWNER),
        NEXUS_DATA_DIR=spec["data_dir"],
        NEXUS_DATABASE_URL=spec["db_url"],
    )


def _new_http() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))  # as bot.app builds it


async def _warm_http(http: httpx.AsyncClient, spec: dict[str, Any], n: int) -> None:
    url = f"{spec['base_url']}/bot{spec['token']}/getMe"
    await asyncio.gather(*(http.post(url, json={}) for _ in range(n)))


class RecordingNotifier(SilentNotifier):
    def __init__(self) -> None:
        self.settled: list[tuple[int, str]] = []

    async def post_settled(self, report: PublishReport) -> None:
        self.settled.append((report.post_id, str(report.status)))


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _sleep_until(wall: float) -> None:
    delay = wall - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


class _Problems(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(f"{record.name}: {record.getMessage()[:160]}")


async def _nexus_worker(conn: Connection, spec: dict[str, Any]) -> dict[str, Any]:
    settings = _settings(spec)
    engine = create_engine(settings.resolved_database_url)
    notifier = RecordingNotifier()
    config = DispatchConfig()
    async with _new_http() as http:
        limits = TelegramLimits(group_limit=10**6, global_limit=10**6)
        publishers = TargetPublishers(
            settings, http, limits, Vault(generate_key()), make_session_factory(engine)
        )
        dispatcher = PublicationDispatcher(
            make_session_factory(engine), publishers.for_account, notifier, SystemClock(), config
        )
        assert await dispatcher.run_once() == 0  # warm: connections, compiled SQL; none due
        await _warm_http(http, spec, config.concurrency)
        conn.send(("ready", _maxrss_mb()))
        due = conn.recv()
        profile = cProfile.Profile() if spec.get("profile") else None
        await _sleep_until(due)
        started, cpu0 = time.time(), _cpu()
        if profile is not None:
            profile.enable()
        attempted = passes = 0
        while n := await dispatcher.run_once():
            attempted += n
            passes += 1
        if profile is not None:
            profile.disable()
            profile.dump_stats(spec["profile"])
        ended, cpu1 = time.time(), _cpu()
    await engine.dispose()
    return {
        "attempted": attempted,
        "passes": passes,
        "settled": notifier.settled,
        "started": started,
        "ended": ended,
        "cpu_s": cpu1 - cpu0,
    }


async def _baseline_worker(conn: Connection, spec: dict[str, Any]) -> dict[str, Any]:
    """A bare httpx loop: the same sendMessage requests, ``width`` in flight at once."""
    url = f"{spec['base_url']}/bot{spec['token']}/sendMessage"
    width: int = spec["width"]
    per_chat: bool = spec["per_chat"]
    queues = [
        [
            {"chat_id": chat, "text": escape_html(TEXT.format(i=i)), "parse_mode": "HTML"}
            for i in range(spec["posts"])
        ]
        for chat in CHANNELS
    ]
    async with _new_http() as http:
        await _warm_http(http, spec, width)
        conn.send(("ready", _maxrss_mb()))
        due = conn.recv()
        await _sleep_until(due)
        started, cpu0 = time.time(), _cpu()
        failures = 0

        async def lane(payloads: list[dict[str, Any]]) -> None:
            nonlocal failures
            while payloads:
                response = await http.post(url, json=payloads.pop())
                failures += not response.json().get("ok")

        if per_chat:  # one request in flight per channel (what the per-chat lock allows)
            lanes = [lane(q) for q in queues]
        else:  # round-robin over the channels, `width` in flight
            shared = [p for trio in zip(*queues, strict=True) for p in trio][::-1]
            lanes = [lane(shared) for _ in range(width)]
        await asyncio.gather(*lanes)
        ended, cpu1 = time.time(), _cpu()
    return {
        "attempted": spec["posts"] * len(CHANNELS) - failures,
        "failures": failures,
        "started": started,
        "ended": ended,
        "cpu_s": cpu1 - cpu0,
    }


def _worker_main(conn: Connection, spec: dict[str, Any]) -> None:
    problems = _Problems()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().addHandler(problems)
    try:
        work = _nexus_worker if spec["kind"] == "nexus" else _baseline_worker
        result = asyncio.run(work(conn, spec))
        result["maxrss_mb"] = _maxrss_mb()
        result["problems"] = problems.seen
        conn.send(("done", result))
    except BaseException as exc:  # report, don't hang the parent
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        conn.close()


# ------------------------------------------------------------------ database set-up and checks
async def seed(settings: Settings, posts: int, placeholder: datetime) -> None:
    """N posts, each scheduled by the app's own path onto the three channels."""
    await prepare_database(settings)
    engine = create_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    try:
        async with sessions() as session:
            session.add(User(id=OWNER, language="en"))
            for chat in CHANNELS:
                await repo.ensure_account(session, "telegram", chat)
            rows = [
                Post(author_id=OWNER, brief=f"b{i}", text=TEXT.format(i=i), offline=True)
                for i in range(posts)
            ]
            session.add_all(rows)
            await session.commit()
            for post in rows:
                if not await schedule_post(session, post, placeholder):
                    raise BenchError(f"could not schedule post {post.id}")
    finally:
        await engine.dispose()


async def make_due(settings: Settings, due: datetime) -> None:
    """Every publication (and post) falls due at the same instant."""
    engine = create_engine(settings.resolved_database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(Publication).values(next_attempt_at=due))
            await conn.execute(update(Post).values(scheduled_at=due))
    finally:
        await engine.dispose()


async def check_database(settings: Settings, posts: int) -> None:
    engine = create_engine(settings.resolved_database_url)
    try:
        async with engine.connect() as conn:
            pubs = dict(
                (
                    await conn.execute(
                        select(Publication.status, func.count()).group_by(Publication.status)
                    )
                ).all()
            )
            attempts = dict(
                (
                    await conn.execute(
                        select(Publication.attempts, func.count()).group_by(Publication.attempts)
                    )
                ).all()
            )
            post_states = dict(
                (await conn.execute(select(Post.status, func.count()).group_by(Post.status))).all()
            )
    finally:
        await engine.dispose()
    total = posts * len(CHANNELS)
    if pubs != {PublicationStatus.PUBLISHED: total} or attempts != {1: total}:
        raise BenchError(f"publications not all published once: {pubs}, attempts {attempts}")
    if post_states != {PostStatus.PUBLISHED: posts}:
        raise BenchError(f"posts not all published: {post_states}")


def check_fake(tg: BenchTelegram, posts: int, name: str) -> None:
    """Exactly once: every (channel, post text) pair arrived, none twice."""
    expected = {(chat, escape_html(TEXT.format(i=i))) for chat in CHANNELS for i in range(posts)}
    seen = [(chat, html) for _, chat, html in tg.sends]
    if len(seen) != len(expected) or set(seen) != expected:
        dupes = len(seen) - len(set(seen))
        raise BenchError(
            f"{name}: {len(seen)} sendMessage calls for {len(expected)} expected "
            f"({dupes} duplicates, {len(expected - set(seen))} missing)"
        )
    for chat in CHANNELS:
        if len(tg.messages(chat)) != posts:
            raise BenchError(f"{name}: {chat} holds {len(tg.messages(chat))} messages")


# ------------------------------------------------------------------ one mode
@dataclass
class ModeResult:
    name: str
    workers: int
    total: int
    elapsed_s: float  # T → last worker done
    last_send_s: float  # T → last sendMessage received by the fake
    late: list[float]
    worker_cpu_s: list[float]
    fake_cpu_s: float
    machine_busy_cores: float
    seed_s: float = 0.0
    postgres_cpu_s: float = 0.0
    maxrss_mb: float = 0.0
    ready_rss_mb: float = 0.0  # peak RSS when warm, before T (imports, engine, connections)
    passes: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.total / self.elapsed_s

    def pct(self, p: float) -> float:
        ordered = sorted(self.late)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine, from /proc/stat (0, 0 if unavailable)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


_CONTEXT: Any = None


def _mp_context() -> Any:
    """forkserver with this module preloaded: importing ``bot.app`` (aiogram, anthropic) takes
    seconds, so it is done once and each worker is a fork of a clean, loop-free server."""
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = mp.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(["bot.app", "tests.fakes.telegram"])
    return _CONTEXT


def _postgres_cpu() -> float:
    """CPU seconds of the local PostgreSQL server's processes so far (their own, plus reaped
    children's: a backend whose connection closed counts in the postmaster's cutime)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        if "(postgres)" not in raw[: raw.find(")") + 1]:
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


async def _recv(conn: Connection, timeout: float) -> Any:
    if not await asyncio.to_thread(conn.poll, timeout):
        raise BenchError(f"a worker said nothing for {timeout:.0f} s")
    kind, payload = conn.recv()
    if kind == "error":
        raise BenchError(f"worker failed: {payload}")
    return payload


async def run_mode(
    name: str,
    *,
    posts: int,
    workers: int,
    db_url: str | None,
    data_dir: Path,
    baseline: str | None = None,
    profile: str | None = None,
) -> ModeResult:
    ctx = _mp_context()
    async with BenchTelegram() as tg:
        for chat in CHANNELS:
            tg.add_channel(chat.lstrip("@"))
        spec: dict[str, Any] = {
            "token": tg.token,
            "base_url": tg.base_url,
            "data_dir": str(data_dir),
            "db_url": db_url or "",
            "posts": posts,
        }
        seed_s = 0.0
        settings = None
        if db_url is not None:
            settings = _settings(spec)
            t = time.perf_counter()
            await seed(settings, posts, datetime.now(UTC) + timedelta(days=1))
            seed_s = time.perf_counter() - t
            spec["kind"] = "nexus"
        else:
            spec |= {
                "kind": "baseline",
                "width": DispatchConfig().concurrency,
                "per_chat": baseline == "per_chat",
            }
        procs, conns = [], []
        for k in range(workers):
            parent, child = ctx.Pipe()
            worker_spec = spec | {"profile": profile if k == 0 else None}
            proc = ctx.Process(target=_worker_main, args=(child, worker_spec), daemon=True)
            proc.start()
            child.close()
            procs.append(proc)
            conns.append(parent)
        try:
            ready_rss = [await _recv(conn, 120) for conn in conns]  # warm and waiting
            due = time.time() + LEAD_S
            if settings is not None:
                await make_due(settings, datetime.fromtimestamp(due, UTC))
            for conn in conns:
                conn.send(due)
            await _sleep_until(due)
            cpu0, (busy0, all0), pg0 = _cpu(), _busy_jiffies(), _postgres_cpu()
            results = await asyncio.gather(*(_recv(c, 300) for c in conns))
            cpu1, (busy1, all1), pg1 = _cpu(), _busy_jiffies(), _postgres_cpu()
        finally:
            for proc in procs:
                await asyncio.to_thread(proc.join, 30)
                if proc.is_alive():
                    proc.kill()
        total = posts * len(CHANNELS)
        check_fake(tg, posts, name)
        if sum(r["attempted"] for r in results) != total:
            raise BenchError(f"{name}: attempted {[r['attempted'] for r in results]} != {total}")
        if settings is not None:
            settled = sorted(pid for r in results for pid, _ in r["settled"])
            if len(settled) != posts or len(set(settled)) != posts:
                raise BenchError(f"{name}: {len(settled)} settle reports for {posts} posts")
            if any(status != PostStatus.PUBLISHED for r in results for _, status in r["settled"]):
                raise BenchError(f"{name}: a post settled as something other than published")
            await check_database(settings, posts)
        ended = max(r["ended"] for r in results)
        cores = os.cpu_count() or 1
        return ModeResult(
            name=name,
            workers=workers,
            total=total,
            elapsed_s=ended - due,
            last_send_s=max(t for t, _, _ in tg.sends) - due,
            late=[t - due for t, _, _ in tg.sends],
            worker_cpu_s=[r["cpu_s"] for r in results],
            fake_cpu_s=cpu1 - cpu0,
            machine_busy_cores=(busy1 - busy0) / (all1 - all0) * cores if all1 > all0 else 0,
            seed_s=seed_s,
            postgres_cpu_s=pg1 - pg0,
            maxrss_mb=max(r["maxrss_mb"] for r in results),
            ready_rss_mb=max(ready_rss),
            passes=[r.get("passes", 0) for r in results],
            problems=[p for r in results for p in r["problems"]],
        )


def describe(r: ModeResult) -> None:
    cpu = " + ".join(f"{c:.2f}" for c in r.worker_cpu_s)
    print(
        f"  {r.name:<18} {r.total} sends in {r.elapsed_s:6.2f} s = {r.per_s:7.1f}/s "
        f"(last send at T+{r.last_send_s:.2f} s)"
        + (f"; seeding took {r.seed_s:.1f} s" if r.seed_s else "")
    )
    print(
        f"  {'':<18} lateness p50 {r.pct(50):.3f} s, p99 {r.pct(99):.3f} s, "
        f"max {max(r.late):.3f} s, first {min(r.late):.3f} s"
    )
    print(
        f"  {'':<18} CPU: worker(s) {cpu} s, fake {r.fake_cpu_s:.2f} s "
        f"({r.fake_cpu_s / r.elapsed_s:.0%} of a core), machine busy "
        f"{r.machine_busy_cores:.2f} of {os.cpu_count()} cores; worker peak RSS "
        f"{r.maxrss_mb:.0f} MB ({r.ready_rss_mb:.0f} MB when warm, before T)"
        + (f"; run_once passes {r.passes}" if any(r.passes) else "")
    )
    others = r.machine_busy_cores * r.elapsed_s - sum(r.worker_cpu_s) - r.fake_cpu_s
    others -= r.postgres_cpu_s
    print(
        f"  {'':<18} CPU budget of the run: {r.machine_busy_cores * r.elapsed_s:.2f} core-s busy"
        f" = workers {sum(r.worker_cpu_s):.2f} + fake {r.fake_cpu_s:.2f} + PostgreSQL "
        f"{r.postgres_cpu_s:.2f} + everything else on the machine {max(others, 0):.2f}"
    )
    if r.problems:
        print(f"  {'':<18} {len(r.problems)} warnings/errors logged, e.g. {r.problems[:2]}")


# ------------------------------------------------------------------ main
def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dispatch", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run (200 posts)")
    parser.add_argument("--posts", type=int, help="posts, each to 3 channels (1000)")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("NEXUS_TEST_POSTGRES_URL", DEFAULT_PG),
        help="PostgreSQL URL; its schema public is DROPPED (default: %(default)s)",
    )
    parser.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL modes")
    parser.add_argument("--profile", metavar="FILE", help="cProfile of the SQLite worker's run")
    args = parser.parse_args(argv)
    if args.posts is None:
        args.posts = 200 if args.quick else 1000
    if args.posts < 1:
        parser.error("--posts must be positive")
    return args


async def amain(args: argparse.Namespace) -> int:
    n = args.posts
    conc = DispatchConfig().concurrency
    print(
        f"dispatch: {n} posts × {len(CHANNELS)} Telegram channels due at one instant; "
        f"DispatchConfig() defaults (batch {DispatchConfig().batch_size}, concurrency {conc}); "
        f"fake in this process, each worker its own process; {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory(prefix="nexus-bench-") as tmp:
        work = Path(tmp)
        base = await run_mode("baseline", posts=n, workers=1, db_url=None, data_dir=work)
        describe(base)
        serial = await run_mode(
            "baseline-per-chat", posts=n, workers=1, db_url=None, data_dir=work, baseline="per_chat"
        )
        describe(serial)
        sqlite_url = f"sqlite+aiosqlite:///{work / 'nexus.db'}"
        lite = await run_mode(
            "sqlite", posts=n, workers=1, db_url=sqlite_url, data_dir=work, profile=args.profile
        )
        describe(lite)
        if args.profile:
            print(f"  cProfile of the SQLite worker's run written to {args.profile}")
        pg: list[ModeResult] = []
        reason = "--no-pg" if args.no_pg else await postgres_problem(args.pg_url)
        if reason:
            print(f"  PostgreSQL modes skipped: {reason}")
        else:
            for workers in (1, 2):
                await reset_postgres(args.pg_url)
                result = await run_mode(
                    f"pg-{workers}w", posts=n, workers=workers, db_url=args.pg_url, data_dir=work
                )
                describe(result)
                pg.append(result)
    ratio = lite.per_s / base.per_s
    speedup = f"{pg[1].per_s / pg[0].per_s:.2f}" if len(pg) == 2 else "n/a"
    rss = max(r.maxrss_mb for r in (lite, *pg))
    ok_ratio, ok_late = ratio >= 0.6, lite.pct(99) < 1.0
    ok_pg = len(pg) == 2 and pg[1].per_s / pg[0].per_s >= 1.6
    print(
        f"  targets: ratio >= 0.6 ({ratio:.3f}) {'met' if ok_ratio else 'MISSED'}; "
        f"p99 lateness < 1 s ({lite.pct(99):.3f} s) {'met' if ok_late else 'MISSED'}; "
        f"pg 2 workers >= 1.6x ({speedup}) {'met' if ok_pg else 'MISSED'}"
    )
    print(
        f"dispatch: pubs_per_s={lite.per_s:.1f} baseline_per_s={base.per_s:.1f} "
        f"ratio={ratio:.3f} p99_late_s={lite.pct(99):.3f} max_late_s={max(lite.late):.3f} "
        f"pg_2w_speedup={speedup} peak_rss_mb={rss:.0f}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    for name in NEXUS_ENV:  # nothing from the developer's environment (workers inherit it)
        os.environ.pop(name, None)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(amain(args))
    except BenchError as exc:
        print(f"dispatch: FAILED: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
