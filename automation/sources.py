"""Event sources: signed webhooks (plain or GitHub) and RSS/Atom feeds; the service behind
/sources. Each function is one transaction.

A webhook's secret is generated here, stored encrypted, and returned once to be shown to the
owner; nothing logs it and nothing shows it again. Adding a feed fetches it first (an HTML page
or an unreachable URL is refused with the reason) and stores its current entries as already
processed events, so adding a feed does not flood the chat with its back catalogue.

Errors::

    SourceError   the name is not a valid URL slug, or is taken
    FeedError     (automation.feeds) the feed cannot be used
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from automation.feeds import Fetched, fetch_feed, store_items
from publishers.outbound import GuardedClient
from storage import scope
from storage.crypto import Vault
from storage.models import Source

WEBHOOK_KINDS = ("webhook", "github")
FEED_MODES = ("draft", "rules")
_SLUG = re.compile(r"^[a-z0-9-]{1,40}$")


class SourceError(ValueError):
    """A source cannot be added as asked; the message says why."""


def webhook_url(base_url: str, name: str) -> str:
    """Where a webhook source receives events: {NEXUS_PUBLIC_URL or http://host:port}/..."""
    return f"{base_url.rstrip('/')}/webhooks/{name}"


async def list_sources(session: AsyncSession) -> Sequence[Source]:
    return (await session.scalars(select(Source).order_by(Source.id))).all()


async def _name_taken(session: AsyncSession, name: str) -> bool:
    """Whether any brand has a source of this name (it is the webhook's URL: unique to all)."""
    taken = select(Source.id).where(Source.name == name).execution_options(**scope.EVERY_BRAND)
    return await session.scalar(taken) is not None


async def add_webhook(
    session: AsyncSession, vault: Vault, kind: str, name: str
) -> tuple[Source, str]:
    """A new webhook source and its secret (in clear: show it once, then forget it)."""
    if kind not in WEBHOOK_KINDS:
        raise SourceError(f"unknown webhook kind {kind!r}")
    name = name.strip().lower()
    if not _SLUG.match(name):
        raise SourceError("use 1–40 lowercase letters, digits and dashes, e.g. github-releases")
    if await _name_taken(session, name):
        raise SourceError(f"a source named {name} already exists")
    secret = secrets.token_hex(32)
    source = Source(kind=kind, name=name, secret=vault.encrypt({"secret": secret}))
    session.add(source)
    await session.commit()
    return source, secret


async def check_feed(client: GuardedClient, url: str) -> Fetched:
    """Fetch and parse a feed now; FeedError (with the reason) if it cannot be used."""
    return await fetch_feed(client, url.strip())


def _feed_slug(url: str) -> str:
    host = (urlsplit(url).hostname or "feed").removeprefix("www.")
    return re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-")[:40] or "feed"


async def add_feed(session: AsyncSession, fetched: Fetched, url: str, mode: str) -> Source:
    """Store a checked feed (see `check_feed`) with its current entries marked as seen."""
    if mode not in FEED_MODES:
        raise SourceError(f"unknown feed mode {mode!r}")
    base = _feed_slug(url)
    name, n = base, 1
    while await _name_taken(session, name):
        n += 1
        name = f"{base}-{n}"
    source = Source(
        kind="feed",
        name=name,
        url=url.strip(),
        mode=mode,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
    )
    session.add(source)
    await session.flush()
    await store_items(session, source.id, fetched.items, status="done")
    await session.commit()
    return source


async def delete_source(session: AsyncSession, source_id: int) -> Source | None:
    """Forget a source and its events (its URL stops accepting webhooks)."""
    source = await session.get(Source, source_id)
    if source is not None:
        await session.delete(source)
        await session.commit()
    return source
