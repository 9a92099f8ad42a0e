"""Prometheus metrics of one running app, served at ``GET /metrics`` (text format 0.0.4).

Each app owns a `CollectorRegistry` (never the global one), so tests and several apps in one
process do not share counts. Three kinds of numbers:

- **Counted in-process** as things happen, through the small ``observe_*`` methods that the
  components receive as plain callables (one line at each call site; the components do not
  import this module): publications by platform and outcome, publish lateness, webhook answers,
  alerts sent, feed polls. They start at zero with the process, as Prometheus counters do.
- **Read from the database at scrape time** (cheap indexed counts): queue depth (scheduled posts,
  pending publications) and unknown outcomes waiting for the owner.
- **Summed from the ``ai_usage`` table at scrape time**: AI calls, tokens and cost by model and
  purpose. The table is the durable record the monthly budget already uses, so these counters
  cover every process (bot and workers) and survive restarts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import AiUsage, Post, PostStatus, Publication, PublicationStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Seconds late: a post due at 12:00 that went out at 12:00:03 is 3 s late.
LATENESS_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, float("inf"))


class _AiUsage(Collector):
    """AI calls, tokens and cost, from the rows summed at the last scrape."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, int, int, int, float]] = []

    def collect(self) -> Iterator[Metric]:
        calls = CounterMetricFamily("nexus_ai_calls", "AI calls", labels=["model", "purpose"])
        tokens = CounterMetricFamily(
            "nexus_ai_tokens", "AI tokens used", labels=["model", "purpose", "direction"]
        )
        cost = CounterMetricFamily(
            "nexus_ai_cost_usd", "Estimated AI cost in USD", labels=["model", "purpose"]
        )
        for model, purpose, n, tokens_in, tokens_out, usd in self.rows:
            calls.add_metric([model, purpose], n)
            tokens.add_metric([model, purpose, "input"], tokens_in)
            tokens.add_metric([model, purpose, "output"], tokens_out)
            cost.add_metric([model, purpose], usd)
        yield from (calls, tokens, cost)


class Observability:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.publications = Counter(
            "nexus_publications",
            "Publication attempts by platform and outcome (published, retry, failed, unknown)",
            ["platform", "outcome"],
            registry=r,
        )
        self.lateness = Histogram(
            "nexus_publish_lateness_seconds",
            "From when a publication fell due (its scheduled time, or its retry's) to published",
            ["platform"],
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.webhooks = Counter(
            "nexus_webhook_events",
            "Webhook requests by answer (accepted, duplicate, bad_signature, unknown_source, ...)",
            ["answer"],
            registry=r,
        )
        self.alerts = Counter("nexus_alerts_sent", "Alerts sent by kind", ["kind"], registry=r)
        self.feed_polls = Counter(
            "nexus_feed_polls",
            "Feed polls by result (fetched, unchanged, failed)",
            ["result"],
            registry=r,
        )
        self.scheduled_posts = Gauge(
            "nexus_queue_scheduled_posts", "Posts scheduled and not yet settled", registry=r
        )
        self.pending_publications = Gauge(
            "nexus_queue_pending_publications", "Publications waiting to be sent", registry=r
        )
        self.unknown_publications = Gauge(
            "nexus_unknown_publications",
            "Publications whose outcome is unknown, waiting for the owner's answer",
            registry=r,
        )
        self._ai = _AiUsage()
        r.register(self._ai)

    # --- call sites (one line each) ---------------------------------------------------------

    def observe_publication(self, platform: str, outcome: str, late_s: float | None) -> None:
        self.publications.labels(platform, outcome).inc()
        if late_s is not None:
            self.lateness.labels(platform).observe(max(0.0, late_s))

    def observe_webhook(self, answer: str) -> None:
        self.webhooks.labels(answer).inc()

    def observe_alert(self, kind: str) -> None:
        self.alerts.labels(kind).inc()

    def observe_feed_poll(self, result: str) -> None:
        self.feed_polls.labels(result).inc()

    # --- scrape -------------------------------------------------------------------------------

    async def render(self, sessions: async_sessionmaker[AsyncSession]) -> bytes:
        """The text exposition, after reading the database-backed numbers."""
        async with sessions() as session:
            scheduled = select(func.count(Post.id)).where(Post.status == PostStatus.SCHEDULED)
            self.scheduled_posts.set(await session.scalar(scheduled) or 0)
            self.pending_publications.set(await _publications(session, PublicationStatus.PENDING))
            self.unknown_publications.set(await _publications(session, PublicationStatus.UNKNOWN))
            self._ai.rows = _ai_rows(
                await session.execute(
                    select(
                        AiUsage.model,
                        AiUsage.purpose,
                        func.count(),
                        func.sum(AiUsage.input_tokens),
                        func.sum(AiUsage.output_tokens),
                        func.sum(AiUsage.cost_usd),
                    ).group_by(AiUsage.model, AiUsage.purpose)
                )
            )
        return generate_latest(self.registry)


async def _publications(session: AsyncSession, status: PublicationStatus) -> int:
    """How many publications are in `status` (an indexed count)."""
    count = select(func.count(Publication.id)).where(Publication.status == status)
    return int(await session.scalar(count) or 0)


def _ai_rows(rows: Iterable[Any]) -> list[tuple[str, str, int, int, int, float]]:
    return [
        (str(m), str(p), int(n or 0), int(i or 0), int(o or 0), float(c or 0))
        for m, p, n, i, o, c in rows
    ]
