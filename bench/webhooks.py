"""Signed webhook intake: accepted events/s and latency, against a bare aiohttp handler.

Nexus is the real application from ``bot.app.build_app`` on a SQLite file in a temporary
directory (WAL, ``synchronous=NORMAL`` as ``storage.db`` sets it), with one webhook source; only
its HTTP server is started (no Telegram polling). An event counts as accepted when the server
answers 202, which it does only after the transaction holding the event has committed; at the
end the bench checks that the events table holds exactly that many rows.

The load comes from a separate process (an aiohttp client over loopback), so the sender's own
work does not share the server's event loop. Each request is a unique, correctly signed event.

* open loop at rising target rates (``--rates``, default 250 500 1000 2000/s, ``--seconds``
  each): request i is due at start + i/rate whatever happened to the earlier ones, and latency is
  measured from that due time (a late sender cannot hide queueing);
* an unthrottled run: ``--concurrency`` (64) senders back to back, ``--events`` (5000) in all.

The baseline is a bare aiohttp handler that only answers 200, measured the same way.

By default the rules engine is not subscribed (``Nexus.event_listeners`` emptied): this measures
the intake. ``--with-rules`` keeps it, so every accepted event is also claimed, matched against
the (empty) rule set and marked done, as in production.

    python -m bench.webhooks [--quick] [--rates 250 500 …] [--seconds S] [--events N]

The last line is machine-readable:
``webhooks: events_per_s=… p50_ms=… p99_ms_at_500=… baseline_per_s=… ratio=…``
(events_per_s and baseline_per_s from the unthrottled runs; p50/p99 at 500 events/s offered).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import logging
import math
import multiprocessing
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # `python bench/webhooks.py` from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from automation.server import WRITER, HttpServer
from automation.signatures import sign
from bot.app import Nexus, build_app, freeze_startup_objects, prepare_database
from config.settings import Settings
from storage.crypto import generate_key
from storage.models import Event, Source

SECRET = "bench-secret"
SOURCE = "bench"
LATENCY_RATE = 500.0
NEXUS_ENV = [k for k in os.environ if k.startswith("NEXUS_") or k.startswith("TELEGRAM_")]


# ------------------------------------------------------------------ the load (child process)
@dataclass
class LoadResult:
    sent: int
    accepted: int
    other: dict[int, int]
    elapsed: float
    latencies: list[float]  # seconds, from each request's due time
    max_sender_lag: float


def _request(run: str, i: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"type": "bench.tick", "id": f"{run}-{i}", "n": i}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Nexus-Signature": sign(SECRET, body, int(time.time())),
    }
    return body, headers


async def _load(url: str, run: str, rate: float | None, total: int, concurrency: int) -> LoadResult:
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send(i: int, due: float) -> None:
            body, headers = _request(run, i)
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1
            latencies.append(time.perf_counter() - due)

        # warm the connections so the first requests do not pay for TCP handshakes
        await asyncio.gather(*(send(-1 - k, time.perf_counter()) for k in range(concurrency)))
        statuses.clear()
        latencies.clear()
        lag = 0.0
        start = time.perf_counter()
        if rate is None:  # closed loop: `concurrency` senders, back to back
            counter = iter(range(total))

            async def sender() -> None:
                for i in counter:
                    await send(i, time.perf_counter())

            await asyncio.gather(*(sender() for _ in range(concurrency)))
        else:  # open loop: request i is due at start + i / rate
            tasks = []
            i = 0
            while i < total:
                now = time.perf_counter()
                while i < total and start + i / rate <= now:
                    due = start + i / rate
                    lag = max(lag, now - due)
                    tasks.append(asyncio.create_task(send(i, due)))
                    i += 1
                if i < total:
                    await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    accepted = statuses.pop(202, 0) + statuses.pop(200, 0)
    return LoadResult(total, accepted, statuses, elapsed, latencies, lag)


def run_load(url: str, run: str, rate: float | None, total: int, concurrency: int) -> LoadResult:
    """Entry point in the load process."""
    return asyncio.run(_load(url, run, rate, total, concurrency))


# ------------------------------------------------------------------ the two servers
class Subject:
    name = ""
    url = ""

    async def start(self) -> None:
        raise NotImplementedError

    async def stored(self) -> int | None:
        return None

    async def stop(self) -> None:
        raise NotImplementedError


class BareSubject(Subject):
    """An aiohttp handler that only answers 200: the cost of HTTP itself on this machine."""

    name = "bare aiohttp"

    async def start(self) -> None:
        async def ok(request: web.Request) -> web.Response:
            return web.Response(status=200)

        app = web.Application()
        app.router.add_post("/webhooks/{source}", ok)
        self.server = HttpServer(app, "127.0.0.1", 0)
        await self.server.start()
        self.url = f"{self.server.url}/webhooks/{SOURCE}"

    async def stop(self) -> None:
        await self.server.stop()


class NexusSubject(Subject):
    name = "nexus"

    def __init__(self, workdir: Path, *, with_rules: bool = False) -> None:
        self.workdir = workdir
        self.with_rules = with_rules
        self.app: Nexus | None = None

    async def start(self) -> None:
        data = self.workdir / "data"
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            TELEGRAM_BOT_TOKEN="123456:bench-token-never-used",
            NEXUS_DATA_DIR=str(data),
            NEXUS_DATABASE_URL=f"sqlite+aiosqlite:///{data / 'nexus.db'}",
            NEXUS_SECRET_KEY=generate_key(),
            NEXUS_HTTP_PORT=0,
            NEXUS_WEBHOOK_RATE=1_000_000,  # measure the intake, not the per-source limit
        )
        await prepare_database(settings)
        self.app = app = build_app(settings, with_scheduler=False)
        async with app.sessions() as session:
            session.add(
                Source(kind="webhook", name=SOURCE, secret=app.vault.encrypt({"secret": SECRET}))
            )
            await session.commit()
        if not self.with_rules:
            app.event_listeners.clear()  # the intake alone: the rules engine is not woken
        await app.http_server.start()
        freeze_startup_objects()  # as `nexus run` does
        self.url = f"{app.http_server.url}/webhooks/{SOURCE}"

    async def stored(self) -> int:
        assert self.app is not None
        async with self.app.sessions() as session:
            return int(await session.scalar(select(func.count(Event.id))) or 0)

    def batches(self) -> tuple[int, int]:
        assert self.app is not None
        writer = self.app.http_server.app[WRITER]
        return writer.batches, writer.written

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.aclose()


# ------------------------------------------------------------------ measuring
def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


class BenchError(Exception):
    pass


@dataclass
class Figures:
    """One subject's runs: by offered rate (None: unthrottled), with the server's CPU per event
    (the event loop and the SQLite thread; steadier than wall-clock figures on a busy box)."""

    name: str
    runs: dict[float | None, LoadResult] = field(default_factory=dict)
    cpu_us: dict[float | None, float] = field(default_factory=dict)
    accepted: int = 0

    @property
    def max_per_s(self) -> float:
        result = self.runs[None]
        return result.accepted / result.elapsed


async def _run(
    subject: Subject,
    figures: Figures,
    pool: concurrent.futures.Executor,
    args: argparse.Namespace,
    rate: float | None,
) -> None:
    loop = asyncio.get_running_loop()
    total = args.events if rate is None else max(1, round(rate * args.seconds))
    run = "max" if rate is None else f"r{rate:g}"
    cpu = time.process_time()
    result = await loop.run_in_executor(
        pool, run_load, subject.url, run, rate, total, args.concurrency
    )
    cpu = time.process_time() - cpu
    figures.accepted += result.accepted + args.concurrency  # the warm-up requests too
    if result.accepted != result.sent:
        raise BenchError(f"{subject.name}: {result.other} of {result.sent} not accepted")
    figures.runs[rate] = result
    figures.cpu_us[rate] = cpu / (result.sent + args.concurrency) * 1e6
    lat = result.latencies
    offered = "unthrottled" if rate is None else f"{rate:g}/s offered"
    print(
        f"  {subject.name:<12} {offered:>16}: {result.sent / result.elapsed:7.1f}/s, p50 "
        f"{percentile(lat, 50) * 1000:7.1f} ms, p99 {percentile(lat, 99) * 1000:7.1f} ms, "
        f"max {max(lat) * 1000:7.1f} ms; server CPU {figures.cpu_us[rate]:4.0f} µs/event; "
        f"sender lag max {result.max_sender_lag * 1000:.0f} ms"
    )


async def measure(
    subjects: list[Subject], pool: concurrent.futures.Executor, args: argparse.Namespace
) -> list[Figures]:
    """Each rate for every subject back to back, so a busy moment on the machine hurts both
    alike rather than whichever happened to run then."""
    figures = [Figures(subject.name) for subject in subjects]
    for rate in [*args.rates, None]:
        for subject, figure in zip(subjects, figures, strict=True):
            await _run(subject, figure, pool, args, rate)
    for subject, figure in zip(subjects, figures, strict=True):
        stored = await subject.stored()
        if stored is None:
            continue
        if stored != figure.accepted:
            raise BenchError(f"{subject.name}: {stored} rows stored, {figure.accepted} accepted")
        if isinstance(subject, NexusSubject):
            batches, written = subject.batches()
            print(
                f"  {subject.name:<12} {stored} events stored = accepted; {batches} commits, "
                f"{written / max(1, batches):.1f} events per commit on average"
            )
    return figures


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhooks", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="a ~15 s smoke run")
    parser.add_argument("--rates", type=float, nargs="+", help="offered rates (250 500 1000 2000)")
    parser.add_argument("--seconds", type=float, help="length of each open-loop run (4)")
    parser.add_argument("--events", type=int, help="events in the unthrottled run (5000)")
    parser.add_argument("--concurrency", type=int, default=64, help="connections (64)")
    parser.add_argument(
        "--with-rules",
        action="store_true",
        help="keep the rules engine subscribed (each accepted event is then also processed)",
    )
    args = parser.parse_args(argv)
    args.rates = args.rates or [250.0, 500.0, 1000.0, 2000.0]
    if LATENCY_RATE not in args.rates:
        args.rates.append(LATENCY_RATE)
    args.rates.sort()
    args.seconds = args.seconds or (1.5 if args.quick else 4.0)
    args.events = args.events or (2000 if args.quick else 5000)
    return args


async def amain(args: argparse.Namespace) -> int:
    print(
        f"webhooks: open loop at {', '.join(f'{r:g}' for r in args.rates)} events/s for "
        f"{args.seconds:g} s each, then {args.events} unthrottled ({args.concurrency} in flight); "
        "load from a separate process over loopback; SQLite file (WAL, synchronous=NORMAL); "
        + ("the rules engine processes every event" if args.with_rules else "intake only")
    )
    spawn = multiprocessing.get_context("spawn")
    with (
        concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool,
        tempfile.TemporaryDirectory(prefix="nexus-bench-") as workdir,
    ):
        nexus = NexusSubject(Path(workdir), with_rules=args.with_rules)
        subjects: list[Subject] = [BareSubject(), nexus]
        try:
            for subject in subjects:
                await subject.start()
            base, figures = await measure(subjects, pool, args)
        finally:
            for subject in subjects:
                await subject.stop()
    at_500 = figures.runs[LATENCY_RATE].latencies
    p50, p99 = percentile(at_500, 50) * 1000, percentile(at_500, 99) * 1000
    ratio = figures.max_per_s / base.max_per_s
    ok = figures.max_per_s >= 1000 and p99 < 50
    print(
        f"  targets: >= 1000 events/s ({figures.max_per_s:.0f}), p99 < 50 ms at "
        f"{LATENCY_RATE:g}/s ({p99:.1f} ms): {'met' if ok else 'MISSED'}"
    )
    print(
        f"webhooks: events_per_s={figures.max_per_s:.1f} p50_ms={p50:.1f} "
        f"p99_ms_at_500={p99:.1f} baseline_per_s={base.max_per_s:.1f} ratio={ratio:.3f}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    for name in NEXUS_ENV:  # nothing from the developer's environment
        os.environ.pop(name, None)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(amain(args))
    except BenchError as exc:
        print(f"webhooks: FAILED: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
