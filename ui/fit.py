"""Telegram's size limits for what the bot sends, and the tools that keep views inside them.

Telegram counts a message after entity parsing, in UTF-16 units: 4,096 for a text, 1,024 for a
caption. Views clip each long user field with `clip` (so one field cannot push the rest out)
and offer the whole of it elsewhere (`parts`, sent as messages of their own); `fit_html` is the
last line, cutting an already rendered Telegram-HTML text at the limit with its tags kept
balanced, so an oversized view shows clipped instead of never showing at all.
"""

from __future__ import annotations

import html
import re

from publishers.errors import TextTooLong
from publishers.text import split_text, utf16_len

#: Telegram's limits, after entity parsing (UTF-16 units).
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
#: What a clipped text ends with.
ELLIPSIS = "…"

#: A tag, an entity, or a run of text, in Telegram's HTML (which has no comments or CDATA).
_TOKEN = re.compile(r"<[^>]*>|&[#\w]+;|[^<&]+|[<&]")
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z0-9-]+)")


def clip(text: str, limit: int) -> str:
    """``text`` if it measures at most ``limit`` UTF-16 units, else its head and "…" (never
    splitting a surrogate pair: whole code points are kept)."""
    if utf16_len(text) <= limit:
        return text
    room = limit - utf16_len(ELLIPSIS)
    head = text[:room]
    while utf16_len(head) > room:
        head = head[:-1]
    return head.rstrip() + ELLIPSIS


def is_clipped(text: str, limit: int) -> bool:
    return utf16_len(text) > limit


def visible_len(source: str) -> int:
    """The length Telegram counts for Telegram-HTML ``source``: tags are not counted, an entity
    is its one character."""
    total = 0
    for token in _TOKEN.findall(source):
        if token.startswith("<") and len(token) > 1:
            continue
        total += utf16_len(html.unescape(token)) if token.startswith("&") else utf16_len(token)
    return total


def fit_html(source: str, limit: int = TEXT_LIMIT) -> str:
    """``source`` (Telegram HTML) cut so its visible text is at most ``limit`` units, ending in
    "…", with every tag still open at the cut closed in order."""
    if len(source) <= limit // 2 or visible_len(source) <= limit:
        return source  # (a code point is at most 2 units: short sources need no parse)
    room = limit - utf16_len(ELLIPSIS)
    out: list[str] = []
    open_tags: list[str] = []
    used = 0
    for token in _TOKEN.findall(source):
        if token.startswith("<") and len(token) > 1:
            name_match = _TAG_NAME.match(token)
            name = name_match.group(1).lower() if name_match else ""
            if token.startswith("</"):
                if name in open_tags:
                    while open_tags and open_tags.pop() != name:
                        pass
                    out.append(token)
            elif not token.endswith("/>"):
                open_tags.append(name)
                out.append(token)
            continue
        text = html.unescape(token) if token.startswith("&") else token
        size = utf16_len(text)
        if used + size <= room:
            out.append(token if token.startswith("&") else html.escape(text, quote=False))
            used += size
            continue
        out.append(html.escape(clip(text, room - used + 1)[:-1], quote=False))
        break
    out.append(ELLIPSIS)
    out.extend(f"</{name}>" for name in reversed(open_tags))
    return "".join(out)


def parts(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Plain ``text`` in pieces of at most ``limit`` units each, split at paragraph, sentence
    or word boundaries where it can (a piece of one unbroken word is cut), for sending a long
    field whole."""
    try:
        return split_text(text, limit)
    except TextTooLong:  # a "word" longer than a message (a pasted blob): plain cuts
        pieces: list[str] = []
        piece: list[str] = []
        size = 0
        for char in text:
            width = utf16_len(char)
            if piece and size + width > limit:
                pieces.append("".join(piece))
                piece, size = [], 0
            piece.append(char)
            size += width
        return [*pieces, "".join(piece)] if piece else pieces
