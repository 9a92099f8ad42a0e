"""A modest forecast for a draft, from the owner's own published posts and their metrics.

Once ``MIN_HISTORY`` published posts have synced metrics, each draft is compared with them on
four factors: time of day (night, morning, afternoon, evening, in the owner's time zone), length
(short, medium, long), images (with or without) and hashtags (with or without). For each factor,
the median engagement of the past posts in the draft's bucket is set against the overall median
(+1 on both sides, so a quiet channel with medians of 0 does not divide by zero), and the ratio
is shrunk towards 1 when the bucket holds few posts. The ratios multiply into a score: "likely
above your median" from ×1.25, "likely below" under ×0.8, "about" between. The factor whose ratio
is furthest from 1 is the main reason.

It is not a model of the audience and does not claim to be: a few medians, honestly labelled.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import scope
from storage.models import Post, PostMedia, PostStatus, Publication, PublicationStatus

MIN_HISTORY = 20
#: How many of the latest published posts the forecast reads.
HISTORY_LIMIT = 500
#: A bucket of n posts keeps n / (n + SHRINK) of its (log) effect.
SHRINK = 5
ABOVE, BELOW = 1.25, 0.8
SHORT_CHARS, LONG_CHARS = 280, 1000

FactorName = Literal["hour", "length", "media", "hashtags"]
Verdict = Literal["above", "about", "below"]
_HASHTAG = re.compile(r"(?<!\w)#\w")


@dataclass(frozen=True)
class Features:
    """What the forecast looks at in a post: one bucket per factor."""

    hour: str
    length: str
    media: str
    hashtags: str

    def bucket(self, name: FactorName) -> str:
        return str(getattr(self, name))


def features(text: str, media_count: int, at: datetime, tz: ZoneInfo) -> Features:
    hour = at.astimezone(tz).hour
    day_part = ("night", "morning", "afternoon", "evening")[hour // 6]
    size = "short" if len(text) < SHORT_CHARS else "long" if len(text) > LONG_CHARS else "medium"
    return Features(
        hour=day_part,
        length=size,
        media="media_yes" if media_count else "media_no",
        hashtags="tags_yes" if _HASHTAG.search(text) else "tags_no",
    )


@dataclass(frozen=True)
class PastPost:
    features: Features
    engagement: float


@dataclass(frozen=True)
class Factor:
    name: FactorName
    bucket: str
    #: The bucket's (shrunk) median engagement over the overall median.
    ratio: float


@dataclass(frozen=True)
class Forecast:
    verdict: Verdict
    score: float
    #: The factor with the largest effect, for "main reason".
    reason: Factor
    factors: tuple[Factor, ...]


FACTORS: tuple[FactorName, ...] = ("hour", "length", "media", "hashtags")


def forecast(history: Sequence[PastPost], draft: Features) -> Forecast | None:
    """The forecast for a draft with ``draft`` features; None below ``MIN_HISTORY`` posts."""
    if len(history) < MIN_HISTORY:
        return None
    overall = statistics.median(p.engagement for p in history) + 1
    factors = []
    for name in FACTORS:
        bucket = draft.bucket(name)
        same = [p.engagement for p in history if p.features.bucket(name) == bucket]
        if not same:
            factors.append(Factor(name, bucket, 1.0))
            continue
        log_ratio = math.log((statistics.median(same) + 1) / overall)
        weight = len(same) / (len(same) + SHRINK)
        factors.append(Factor(name, bucket, math.exp(log_ratio * weight)))
    score = math.prod(f.ratio for f in factors)
    verdict: Verdict = "above" if score >= ABOVE else "below" if score <= BELOW else "about"
    reason = max(factors, key=lambda f: abs(math.log(f.ratio)))
    return Forecast(verdict, score, reason, tuple(factors))


def _history_statement() -> Select[str, datetime, int, int]:
    engagement = func.sum(Publication.likes + Publication.reposts + Publication.replies)
    media = select(func.count(PostMedia.id)).where(PostMedia.post_id == Post.id).scalar_subquery()
    return (
        select(Post.text, Post.published_at, media, engagement)
        .join(Publication, Publication.post_id == Post.id)
        .where(
            Post.status.in_([PostStatus.PUBLISHED, PostStatus.PARTIAL]),
            Post.published_at.is_not(None),
            Publication.status == PublicationStatus.PUBLISHED,
            Publication.metrics_at.is_not(None),
            Post.brand_id == bindparam("brand_id", type_=Integer),
        )
        .group_by(Post.id, Post.text, Post.published_at)
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(HISTORY_LIMIT)
        .execution_options(**scope.bound_to("brand_id"))  # its posts', and what hangs off them
    )


#: Built once: every preview reads it, and building it (and its cache key, which SQLAlchemy
#: then remembers on the statement) cost more than running it (~0.65 of ~1.1 ms).
_HISTORY = _history_statement()


async def history(session: AsyncSession, tz: ZoneInfo, brand_id: int) -> list[PastPost]:
    """The brand's latest published posts with synced metrics, each with its total engagement
    (a brand's audience is its own: another brand's posts say nothing about it)."""
    rows = await session.execute(_HISTORY, {"brand_id": brand_id})
    return [
        PastPost(features(text, count or 0, published_at, tz), float(total or 0))
        for text, published_at, count, total in rows
    ]


async def forecast_post(
    session: AsyncSession, post: Post, at: datetime, tz: ZoneInfo
) -> Forecast | None:
    """The forecast for ``post`` going out at ``at``; None while the history is too short."""
    past = await history(session, tz, post.brand_id)
    return forecast(past, features(post.text, len(post.media), at, tz))
