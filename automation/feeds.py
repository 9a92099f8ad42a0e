"""RSS/Atom feeds: fetch (conditionally), parse, and turn new entries into events.

Every entry becomes an `Event` of type ``rss.item`` keyed by the entry's id (else its link,
else a hash of title and date); the (source, external id) unique constraint is the memory of
what was seen, so restarts and several workers never draft an entry twice. The engine then
drafts a summary ("draft" mode) or runs the rules on it ("rules" mode).

Feeds are fetched through the hardened client (`publishers.outbound`): a feed URL, or a
redirect, that points inside the network is refused with the reason, as are answers past the
size cap or the deadline.

A feed that fails (network, HTTP error, not a feed, a refused address) counts consecutive
failures; the owner is told once, when the count reaches `ALERT_AFTER`, not at every poll; a
success resets it.

Errors::

    FeedError     the URL could not be fetched or is not a feed; str() is the reason
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automation.engine import AutomationEngine, FailureSink
from publishers.outbound import GuardedClient, RefusedURL, TooLarge
from scheduler.clock import Clock
from storage.models import Event, Source

log = logging.getLogger(__name__)

#: Consecutive failures after which the owner hears about a feed (once).
ALERT_AFTER = 3
ITEM_EVENT = "rss.item"
_SUMMARY_CHARS = 2000
_TAG = re.compile(r"<[^>]+>")


class FeedError(Exception):
    """A feed URL that cannot be used right now: unreachable, an HTTP error, or not a feed."""


@dataclass(frozen=True)
class FeedItem:
    key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Fetched:
    """One fetch: not modified (304), or the feed's title and entries with the validators."""

    not_modified: bool
    title: str = ""
    items: list[FeedItem] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None


async def fetch_feed(
    client: GuardedClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched:
    """GET and parse a feed, conditionally when validators are given; FeedError if unusable.

    feedparser is lenient on purpose: a "bozo" feed (unescaped &, a wrong encoding declaration)
    that still yields entries is accepted, as feed readers do; an HTML page is not."""
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        response = await client.fetch(url, headers=headers)
    except (RefusedURL, TooLarge) as exc:
        raise FeedError(exc.reason) from exc
    except httpx.HTTPError as exc:
        raise FeedError(f"could not fetch it ({type(exc).__name__}: {exc})") from exc
    if response.status_code == 304:
        return Fetched(not_modified=True, etag=etag, last_modified=last_modified)
    if response.status_code >= 400:
        raise FeedError(f"the server answered HTTP {response.status_code}")
    import feedparser  # here, not at the top: only processes that poll feeds pay for it

    parsed = feedparser.parse(
        response.content,
        response_headers={"content-type": response.headers.get("content-type", "")},
    )
    entries = list(parsed.entries)
    if not entries and (parsed.bozo or not parsed.version):
        problem = parsed.get("bozo_exception")
        detail = f": {problem}" if problem else ""
        raise FeedError(f"it is not an RSS or Atom feed{detail}")
    title = _plain(parsed.feed.get("title", "")) or url
    return Fetched(
        not_modified=False,
        title=title,
        items=[_item(entry, title) for entry in entries],
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
    )


def _plain(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", text or "")).split())


def _item(entry: Any, feed_title: str) -> FeedItem:
    title = _plain(entry.get("title", ""))
    link = entry.get("link", "") or ""
    published = entry.get("published") or entry.get("updated") or ""
    key = entry.get("id") or link
    if not key:
        key = "sha256:" + hashlib.sha256(f"{title}\n{published}".encode()).hexdigest()
    if len(key) > 255:  # the column's width: a long id is kept as its hash
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    summary = _plain(entry.get("summary", ""))[:_SUMMARY_CHARS]
    payload = {
        "title": title,
        "link": link,
        "summary": summary,
        "published": published,
        "feed": feed_title,
    }
    return FeedItem(key, payload)


async def store_items(
    session: AsyncSession, source_id: int, items: list[FeedItem], *, status: str
) -> list[int]:
    """Store the entries not seen before as events; returns the new events' ids, oldest
    entry first (feeds list the newest first). Not committed."""
    new_ids = []
    for item in reversed(items):
        seen = await session.scalar(
            select(Event.id).where(Event.source_id == source_id, Event.external_id == item.key)
        )
        if seen is not None:
            continue
        event = Event(
            source_id=source_id,
            external_id=item.key,
            type=ITEM_EVENT,
            payload=json.dumps(item.payload, ensure_ascii=False),
            status=status,
        )
        try:
            async with session.begin_nested():  # another worker may store it at the same time
                session.add(event)
        except IntegrityError:
            continue
        new_ids.append(event.id)
    return new_ids


class FeedPoller:
    """The periodic feed job: `poll_all` every NEXUS_FEED_POLL_MINUTES."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: GuardedClient,
        engine: AutomationEngine,
        clock: Clock,
        observe: Callable[[str], None] = lambda result: None,
    ) -> None:
        self.observe = observe
        self.sessions = sessions
        self.client = client
        self.engine = engine
        self.clock = clock

    @property
    def failures(self) -> FailureSink:
        """A failing feed is reported like a failing rule (the engine's sink: the alerts)."""
        return self.engine.failures

    async def poll_all(self) -> None:
        async with self.sessions() as session:
            ids = list(
                (
                    await session.scalars(
                        select(Source.id)
                        .where(Source.kind == "feed", Source.enabled)
                        .order_by(Source.id)
                    )
                ).all()
            )
        for source_id in ids:
            try:
                await self.poll(source_id)
            except Exception:  # one broken feed must not stop the others
                log.exception("polling feed source %s crashed", source_id)

    async def poll(self, source_id: int) -> int:
        """Poll one feed; returns how many new entries it had."""
        async with self.sessions() as session:
            source = await session.get(Source, source_id)
            await session.commit()
        if source is None or source.url is None:
            return 0
        try:
            fetched = await fetch_feed(
                self.client, source.url, etag=source.etag, last_modified=source.last_modified
            )
        except FeedError as exc:
            self.observe("failed")
            await self._failed(source, str(exc))
            return 0
        self.observe("unchanged" if fetched.not_modified else "fetched")
        async with self.sessions() as session:
            values: dict[str, Any] = {"polled_at": self.clock.now(), "failures": 0}
            values["last_error"] = None
            if not fetched.not_modified:
                values |= {"etag": fetched.etag, "last_modified": fetched.last_modified}
            await session.execute(update(Source).where(Source.id == source_id).values(**values))
            new_ids = (
                []
                if fetched.not_modified
                else await store_items(session, source_id, fetched.items, status="new")
            )
            await session.commit()
        if source.failures >= ALERT_AFTER:
            log.info("feed %s recovered after %s failures", source.name, source.failures)
        for event_id in new_ids:
            await self.engine.process(event_id)
        return len(new_ids)

    async def _failed(self, source: Source, reason: str) -> None:
        async with self.sessions() as session:
            await session.execute(
                update(Source)
                .where(Source.id == source.id)
                .values(
                    failures=Source.failures + 1,
                    last_error=reason[:1000],
                    polled_at=self.clock.now(),
                )
            )
            failures = await session.scalar(select(Source.failures).where(Source.id == source.id))
            await session.commit()
        log.warning("feed %s failed (%s in a row): %s", source.name, failures, reason)
        if failures == ALERT_AFTER:
            await self.failures.automation_failed(
                source.brand_id,
                f"feed {source.name}",
                f"{ALERT_AFTER} polls in a row failed; last: {reason}",
            )
