"""Telegram text rules: escaping, counting and splitting plain-text drafts.

Drafts are plain text. Telegram counts message length after entity parsing in UTF-16 code
units, so we measure the *plain* text with :func:`utf16_len` (escaping adds characters that
the parser removes again) and escape only when sending.

:func:`split_text` cuts only at whitespace, preferring in turn paragraph breaks (a blank
line), line breaks, sentence ends and finally any space between words; so a word, URL or
grapheme cluster (emoji with modifiers, letters with combining marks) is never cut. Non-
breaking spaces (U+00A0, U+2007, U+202F) are not cut at either: they mean "keep together".
"""

from __future__ import annotations

import bisect
import re
import sys
from collections.abc import Callable

from publishers.errors import TextTooLong

TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024

_NON_BREAKING = "\u00a0\u2007\u202f"
#: Every character where a text may be cut (and which is stripped from the parts' edges).
BREAKABLE_SPACE = "".join(
    c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace() and c not in _NON_BREAKING
)
_GAP_RE = re.compile(f"[{re.escape(BREAKABLE_SPACE)}]+")
_SENTENCE_END_RE = re.compile(r"[.!?…。！？][\"'’”»)\]]*$")

# Priorities of a cut, best first.
_PARAGRAPH, _LINE, _SENTENCE, _WORD = 0, 1, 2, 3


def escape_html(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` for parse_mode=HTML (quotes need no escaping in text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts it (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


def _strip(text: str) -> str:
    return text.strip(BREAKABLE_SPACE)


def split_text(text: str, limit: int, measure: Callable[[str], int] = utf16_len) -> list[str]:
    """Split ``text`` into stripped, non-empty parts that each measure at most ``limit``.

    Parts are as long as possible; each ends at the best boundary available (paragraph, line,
    sentence, word, in that order). Whitespace-only text gives ``[]``. ``measure`` must grow
    with the text (true for ``len`` and :func:`utf16_len`).

    Raises :class:`TextTooLong` when one word or link alone measures more than ``limit``.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    text = _strip(text)
    if not text:
        return []
    gaps = [(m.start(), m.end(), _rank(text, m)) for m in _GAP_RE.finditer(text)]
    gap_starts = [g[0] for g in gaps]
    parts: list[str] = []
    start = 0
    while True:
        if measure(text[start:]) <= limit:
            parts.append(text[start:])
            return parts
        # Gaps after ``start`` whose preceding chunk still fits: a prefix of the gap list,
        # since ``measure`` grows with the chunk. Binary search for its end.
        first = bisect.bisect_right(gap_starts, start)
        lo, hi = first, len(gaps)
        while lo < hi:
            mid = (lo + hi) // 2
            if measure(text[start : gaps[mid][0]]) <= limit:
                lo = mid + 1
            else:
                hi = mid
        fitting = gaps[first:lo]
        if not fitting:
            end = gaps[first][0] if first < len(gaps) else len(text)
            word = text[start:end]
            preview = word if len(word) <= 40 else word[:37] + "..."
            raise TextTooLong(
                f"the text contains a word or link that is too long to fit in one message "
                f"({measure(word)} characters, the limit is {limit}): {preview}"
            )
        best = min(g[2] for g in fitting)
        cut_start, cut_end, _ = next(g for g in reversed(fitting) if g[2] == best)
        parts.append(text[start:cut_start])
        start = cut_end


def _rank(text: str, gap: re.Match[str]) -> int:
    newlines = gap.group().count("\n")
    if newlines >= 2:
        return _PARAGRAPH
    if newlines == 1:
        return _LINE
    if _SENTENCE_END_RE.search(text[max(gap.start() - 8, 0) : gap.start()]):
        return _SENTENCE
    return _WORD
