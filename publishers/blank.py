"""Blank means blank: text made only of invisible characters counts as empty.

``str.strip()`` keeps zero-width spaces and joiners (U+200B–U+200D), the word joiner (U+2060),
the byte-order mark (U+FEFF), soft hyphens and the other format characters, so a brief of only
those looked like text and was sent to Claude. Every check of user text for emptiness goes
through :func:`visible` instead. It lives here, beside the platforms' text rules, because
handlers and ai both may import publishers (and nothing here needs more than ``unicodedata``).
"""

from __future__ import annotations

import unicodedata

#: Characters that render as nothing but are letters or marks to Unicode (fillers and joiners).
_INVISIBLE_NON_FORMAT = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")
#: Control characters (Cc), format characters (Cf: ZWSP, ZWJ, ZWNJ, word joiner, BOM, soft
#: hyphen, bidi marks…), lone surrogates and separators never show as text. Unassigned code
#: points (Cn) count as visible: they may be emoji newer than Python's Unicode tables.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})


def is_invisible(char: str) -> bool:
    """Whether one character shows nothing on its own (whitespace included)."""
    return (
        char.isspace()
        or char in _INVISIBLE_NON_FORMAT
        or unicodedata.category(char) in _INVISIBLE_CATEGORIES
    )


def visible(text: str | None) -> str:
    """``text`` without invisible characters at either end: ``""`` when nothing is visible.

    Inside the text nothing changes (a ZWJ joins an emoji sequence, a soft hyphen marks where a
    word may break)."""
    if not text:
        return ""
    start, end = 0, len(text)
    while start < end and is_invisible(text[start]):
        start += 1
    while end > start and is_invisible(text[end - 1]):
        end -= 1
    return text[start:end]


def is_blank(text: str | None) -> bool:
    """True when ``text`` has no visible character at all."""
    return not visible(text)
