"""/stats on a big history: 10,000 published posts and 1,000,000 metric snapshots.

Seeds the database with core bulk inserts (executemany in batches of ``BATCH`` rows): one owner,
three accounts (Telegram, Mastodon, Bluesky), ``--posts`` posts published over the last 120 days
(one publication each, round-robin over the accounts, with counters), ``--snapshots`` snapshots
spread over those publications, 200 audience snapshots and 2,000 AI usage rows. Then it times,
each ``--runs`` times after one warm-up:

- query: everything /stats reads for "last 30 days, all platforms" (``metrics.stats.overview``:
  publications, follower trends, AI spend, platform list) plus ``metrics.best_time.best_time``;
- chart: ``metrics.chart.render_chart`` of that 30-day series (PNG, 1200×600);
- digest: one digest-style computation, the stats of yesterday plus the median of the last 7 days.

    python -m bench.stats [--database-url URL] [--posts N] [--snapshots N] [--runs N]

The default database is a SQLite file in a temp dir; for PostgreSQL pass e.g.
``postgresql+asyncpg://postgres@127.0.0.1:5432/test_c`` (schema ``public`` is dropped and
recreated). The last line is machine-readable:
``stats: query_p95_ms=… chart_p95_ms=… digest_ms=… db_rows=…``.
Targets: query p95 < 300 ms, query + chart < 1.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # `python bench/stats.py` from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from metrics.best_time import best_time
from metrics.chart import render_chart
from metrics.stats import day_start, overview, period_stats
from storage.db import create_engine, is_sqlite, make_session_factory
from storage.migrate import upgrade
from storage.models import (
    FIRST_BRAND_ID,
    Account,
    AccountSnapshot,
    AiUsage,
    MetricSnapshot,
    Post,
    Publication,
    User,
)

BATCH = 20_000
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Berlin")
SPAN_DAYS = 120


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def _bulk(engine: AsyncEngine, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        async with engine.begin() as conn:
            await conn.execute(insert(table), rows[start : start + BATCH])


async def seed(engine: AsyncEngine, posts: int, snapshots: int) -> int:
    rng = random.Random(42)
    async with engine.begin() as conn:
        await conn.execute(insert(User.__table__), [{"id": 1, "language": "en", "created_at": NOW}])
        await conn.execute(
            insert(Account.__table__),
            [
                {"id": i + 1, "platform": p, "handle": h, "title": h, "enabled": True}
                for i, (p, h) in enumerate(
                    [("telegram", "@bench"), ("mastodon", "@b@m.example"), ("bluesky", "b.bsky")]
                )
            ],
        )
    times = [NOW - timedelta(seconds=rng.uniform(0, SPAN_DAYS * 86400)) for _ in range(posts)]
    await _bulk(
        engine,
        Post.__table__,
        [
            {
                "id": i + 1,
                "author_id": 1,
                "brief": "b",
                "text": f"post {i}",
                "status": "published",
                "published_at": when,
                "created_at": when,
                "updated_at": when,
            }
            for i, when in enumerate(times)
        ],
    )
    await _bulk(
        engine,
        Publication.__table__,
        [
            {
                "id": i + 1,
                "post_id": i + 1,
                "account_id": i % 3 + 1,
                "text": f"post {i}",
                "status": "published",
                "external_id": str(i + 1),
                "url": f"https://example.com/{i + 1}",
                "published_at": when,
                "likes": rng.randint(0, 200),
                "reposts": rng.randint(0, 30),
                "replies": rng.randint(0, 20),
                "metrics_at": when + timedelta(hours=1),
                "metrics_stage": 5,
                "created_at": when,
                "updated_at": when,
            }
            for i, when in enumerate(times)
        ],
    )
    per_pub = max(1, snapshots // posts)
    rows: list[dict[str, Any]] = []
    for i, when in enumerate(times):
        for k in range(per_pub):
            rows.append(
                {
                    "publication_id": i + 1,
                    "taken_at": when + timedelta(hours=k + 1),
                    "likes": k,
                    "reposts": 0,
                    "replies": 0,
                }
            )
        if len(rows) >= BATCH * 5:
            await _bulk(engine, MetricSnapshot.__table__, rows)
            rows = []
    await _bulk(engine, MetricSnapshot.__table__, rows)
    await _bulk(
        engine,
        AccountSnapshot.__table__,
        [
            {"account_id": a, "taken_at": NOW - timedelta(hours=6 * k), "followers": 1000 + k}
            for a in (1, 2)
            for k in range(100)
        ],
    )
    await _bulk(
        engine,
        AiUsage.__table__,
        [
            {
                "at": NOW - timedelta(hours=k),
                "model": "claude",
                "purpose": "draft",
                "input_tokens": 1200,
                "output_tokens": 300,
                "cost_usd": 0.01,
            }
            for k in range(2000)
        ],
    )
    async with engine.connect() as conn:
        counted = 0
        for table in (Post, Publication, MetricSnapshot, AccountSnapshot, AiUsage):
            counted += int(await conn.scalar(select(func.count()).select_from(table)) or 0)
        return counted


async def main(args: argparse.Namespace) -> None:
    url = args.database_url
    if url is None:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='nexus-bench-')}/stats.db"
    engine = create_engine(url)
    if not is_sqlite(url):
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(engine)
    started = time.perf_counter()
    rows = await seed(engine, args.posts, args.snapshots)
    print(f"seeded {rows} rows in {time.perf_counter() - started:.1f} s ({engine.dialect.name})")
    sessions = make_session_factory(engine)

    async def query() -> Any:
        async with sessions() as session:
            # as /stats asks in the (only) brand: every query scoped to the brand's posts
            ov = await overview(session, now=NOW, days=30, tz=TZ, brand_id=FIRST_BRAND_ID)
            await best_time(session, now=NOW, tz=TZ, brand_id=FIRST_BRAND_ID)
            return ov

    ov = await query()  # warm-up
    query_ms = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        ov = await query()
        query_ms.append((time.perf_counter() - t0) * 1000)
    render_chart(ov.stats.days, title="warm-up")
    chart_ms = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        png = render_chart(ov.stats.days, title="Last 30 days · all platforms")
        chart_ms.append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    async with sessions() as session:
        today = day_start(NOW, TZ)
        yesterday = await period_stats(
            session, since=today - timedelta(days=1), until=today, tz=TZ, brand_id=FIRST_BRAND_ID
        )
        week = await period_stats(
            session, since=today - timedelta(days=7), until=today, tz=TZ, brand_id=FIRST_BRAND_ID
        )
    digest_ms = (time.perf_counter() - t0) * 1000
    await engine.dispose()

    print(
        f"30 days: {ov.stats.publications} posts, engagement {ov.stats.total_engagement}, "
        f"median {ov.stats.median_engagement}; yesterday {yesterday.publications} posts, "
        f"7-day median {week.median_engagement}; chart {len(png)} bytes"
    )
    print(
        f"query p50={sorted(query_ms)[len(query_ms) // 2]:.1f} ms, "
        f"query+chart p95={p95([q + c for q, c in zip(query_ms, chart_ms, strict=True)]):.0f} ms"
    )
    print(
        f"stats: query_p95_ms={p95(query_ms):.1f} chart_p95_ms={p95(chart_ms):.1f} "
        f"digest_ms={digest_ms:.1f} db_rows={rows}"
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--snapshots", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
