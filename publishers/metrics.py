"""What every publisher's ``fetch_metrics`` and ``validate`` share.

:func:`read_metrics` turns a platform's JSON object into :class:`~publishers.base.Metrics` from
dotted field paths (``"likes.count"``), summing several where the platform splits one of our
counters (X's retweets and quotes are both reposts). :func:`post_deleted` is the one reason a
post that vanished from the platform gets. :func:`media_count_problems` is the plain-words
"too many images" check ``validate`` and ``publish`` both use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from publishers.base import MediaLimits, Metrics
from publishers.errors import Permanent


def _number(data: Any, path: str) -> int | None:
    value = data
    for key in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _total(data: Any, paths: Sequence[str]) -> int:
    return sum(_number(data, path) or 0 for path in paths)


def read_metrics(
    data: Any,
    *,
    likes: Sequence[str],
    reposts: Sequence[str] = (),
    replies: Sequence[str],
    views: str | None = None,
) -> Metrics:
    """Counters from ``data`` at these dotted paths; a missing counter reads as 0.

    ``views`` is None for a platform that shows no views; a views field the answer lacks
    (X leaves out impressions of old posts) gives ``views=None`` as well.
    """
    return Metrics(
        likes=_total(data, likes),
        reposts=_total(data, reposts),
        replies=_total(data, replies),
        views=_number(data, views) if views else None,
    )


def post_deleted(platform: str) -> Permanent:
    """The error for a post that is no longer on ``platform`` (``"X"``)."""
    return Permanent(f"the post was deleted on {platform}")


def media_count_problems(platform: str, limits: MediaLimits, media_count: int) -> list[str]:
    """``["X takes at most 4 images; this post has 6"]``, or ``[]`` when they fit."""
    if media_count <= limits.max_count:
        return []
    noun = "image" if limits.max_count == 1 else "images"
    return [f"{platform} takes at most {limits.max_count} {noun}; this post has {media_count}"]


def check_media_count(platform: str, limits: MediaLimits, media_count: int) -> None:
    """Raise :class:`Permanent` with :func:`media_count_problems`' reason if there are too many."""
    if problems := media_count_problems(platform, limits, media_count):
        raise Permanent(problems[0])
