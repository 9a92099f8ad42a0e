"""What a post costs or uses on each platform: the approval card's figures and the spend ledger.

Pure (no database, no network): live quota reads are the publishers' own (``HasQuota`` in
:mod:`publishers.base`), and counting our own writes from the ledger is the caller's.

- **X** is pay-per-use: every post costs ``XPrices.post`` ($0.015), or ``XPrices.link_post``
  ($0.20) when it carries a link; a thread pays for each part (``NEXUS_X_PRICE_POST``,
  ``NEXUS_X_PRICE_LINK_POST``: prices change).
- **Threads** allows 250 API posts per profile in a moving 24 hours, read live from
  ``GET /{user}/threads_publishing_limit`` (a reply chain counts every part).
- **Instagram** allows ``content_publishing_limit`` posts (50, lately 100) in a moving 24 hours,
  read live from ``GET /{ig-user}/content_publishing_limit``.
- **Bluesky** counts *write points*: a ``createRecord`` costs 3, and an account may spend
  5,000 an hour and 35,000 a day. Nobody can read them back, so we count our own writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

#: Bluesky's repo write costs and limits (per account).
BLUESKY_POINTS_PER_RECORD = 3
BLUESKY_HOURLY_POINTS = 5000
BLUESKY_DAILY_POINTS = 35000

#: Windows, as the owner reads them (a key of the texts) and as a duration.
WINDOWS: dict[str, timedelta] = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "month": timedelta(days=30),
}


@dataclass(frozen=True)
class XPrices:
    """X's pay-per-use prices in US dollars, per post (each part of a thread is one)."""

    post: float = 0.015
    link_post: float = 0.20


@dataclass(frozen=True)
class Cost:
    """What publishing one text costs: ``usd`` for ``parts`` posts, ``links`` of them priced
    as posts with a link."""

    usd: float
    parts: int
    links: int


def price(parts: int, links: int, prices: XPrices) -> Cost:
    """The cost of ``parts`` posts of which ``links`` carry a link."""
    links = min(links, parts)
    usd = links * prices.link_post + (parts - links) * prices.post
    return Cost(round(usd, 6), parts, links)


@dataclass(frozen=True)
class Quota:
    """A posting quota: ``used`` of ``limit`` in a moving ``window`` ("day", "hour"), in
    ``unit`` ("posts" or "points")."""

    used: int
    limit: int
    window: str = "day"
    unit: str = "posts"

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)

    def fits(self, need: int = 1) -> bool:
        """Whether ``need`` more (posts or points) still fit."""
        return self.used + need <= self.limit


@dataclass(frozen=True)
class Usage:
    """One target's figure on the approval card: a cost (X), a quota (Threads, Instagram,
    Bluesky), or ``unknown`` when a live read failed (never blocking the preview)."""

    cost: Cost | None = None
    quota: Quota | None = None
    unknown: bool = False


def bluesky_quota(points_hour: int, points_day: int) -> Quota:
    """Bluesky's write points as the tighter of its two windows: the hour's unless the day's
    share is larger."""
    if points_day / BLUESKY_DAILY_POINTS > points_hour / BLUESKY_HOURLY_POINTS:
        return Quota(points_day, BLUESKY_DAILY_POINTS, "day", "points")
    return Quota(points_hour, BLUESKY_HOURLY_POINTS, "hour", "points")


def bluesky_points(parts: int) -> int:
    """The write points a post of ``parts`` records costs (images are blobs: no points)."""
    return parts * BLUESKY_POINTS_PER_RECORD


def rolling_reset(
    oldest_in_window: datetime | None, window: timedelta, now: datetime, fallback: timedelta
) -> datetime:
    """When a moving-window quota frees a place: when the oldest post in the window leaves it;
    ``now + fallback`` when we do not know of one (posts made elsewhere fill the window)."""
    if oldest_in_window is not None and oldest_in_window + window > now:
        return oldest_in_window + window
    return now + fallback
