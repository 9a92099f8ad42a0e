"""Checks every publisher runs before sending: the text splits into parts, the images fit.

Sending the parts themselves is :mod:`publishers.thread`.
"""

from __future__ import annotations

from collections.abc import Callable

from publishers.base import MediaLimits
from publishers.errors import TextTooLong


def validate_parts(text: str, split: Callable[[str], list[str]]) -> list[str]:
    """``validate`` for a publisher that splits with ``split``: the problems in plain words."""
    if not text.strip():
        return ["the post is empty"]
    try:
        split(text)
    except TextTooLong as exc:
        return [exc.reason]
    return []


def validate_media(title: str, limits: MediaLimits, media_count: int) -> list[str]:
    """The problems with ``media_count`` images on a platform called ``title``."""
    if media_count > limits.max_count:
        most = "1 image" if limits.max_count == 1 else f"{limits.max_count} images"
        return [f"{title} takes at most {most}; this post has {media_count}"]
    if limits.required and media_count == 0:
        return [f"{title} needs an image: send a photo with the brief"]
    return []


def validate_post(
    text: str,
    split: Callable[[str], list[str]],
    *,
    title: str,
    limits: MediaLimits,
    media_count: int,
) -> list[str]:
    """``validate`` for a publisher that splits text and takes images: an empty text is fine
    when there are images to post."""
    problems = validate_media(title, limits, media_count)
    if media_count and not text.strip():
        return problems
    return problems + validate_parts(text, split)
