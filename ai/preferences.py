"""The learned preferences a program can check: a small grammar over the distilled rules.

Claude reads every learned preference as prose. The offline drafter cannot, so this module picks
out the few kinds of rule that are mechanical, and the offline drafter applies them:

- length: "keep posts under 900 characters", "at most 280 chars", "no longer than 500 characters"
  ("under/below/less than/fewer than/shorter than N" means at most N-1);
- emoji: "no emoji", "never use emoji", "no more than two emoji", "at most 1 emoji";
- hashtags: "no hashtags", "at most 2 hashtags", "one hashtag at most";
- banned phrases: a negative rule (never, avoid, don't, do not, no, stop) with quoted text:
  "never say 'excited to announce'", "avoid “game-changer”".

A rule naming another platform ("keep LinkedIn posts under 900 characters") applies to that
platform only. Anything else is ignored here (Claude still reads it). Numbers may be digits or
the words one to ten.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

_NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "a single": 1,
    "single": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_NUM = r"(\d{1,6}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"
_STRICT = r"under|below|less than|fewer than|shorter than"
_INCLUSIVE = (
    r"at most|no more than|not more than|no longer than|not longer than|up to|max(?:imum)?|"
    r"within|a maximum of|limit(?:ed)? to"
)
_BOUND = rf"(?P<bound>{_STRICT}|{_INCLUSIVE})\s+(?P<n>{_NUM})"
_LENGTH = re.compile(rf"{_BOUND}\s*(?:characters?|chars?|symbols?)\b", re.IGNORECASE)
_EMOJI_MAX = re.compile(rf"{_BOUND}\s+emojis?\b", re.IGNORECASE)
_EMOJI_MAX_AFTER = re.compile(rf"\b(?P<n>{_NUM})\s+emojis?\s+(?:at most|max(?:imum)?)\b", re.I)
_EMOJI_NONE = re.compile(
    r"\b(?:no|never use|never|without|avoid|zero|don'?t use|do not use|skip|drop)\s+"
    r"(?:any\s+|the\s+)?emojis?\b",
    re.IGNORECASE,
)
_TAGS_MAX = re.compile(rf"{_BOUND}\s+hash-?tags?\b", re.IGNORECASE)
_TAGS_MAX_AFTER = re.compile(rf"\b(?P<n>{_NUM})\s+hash-?tags?\s+(?:at most|max(?:imum)?)\b", re.I)
_TAGS_NONE = re.compile(
    r"\b(?:no|never use|never|without|avoid|zero|don'?t use|do not use|skip|drop)\s+"
    r"(?:any\s+|the\s+)?hash-?tags?\b",
    re.IGNORECASE,
)
_NEGATIVE = re.compile(r"^\s*(?:never|avoid|don'?t|do not|no|stop|ban)\b", re.IGNORECASE)
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|«([^»]+)»|‘([^’]+)’|(?<![\w])'([^']+)'(?![\w])")
#: How a rule names a platform; the key is the platform as ``DraftRequest.platform`` names it.
_PLATFORM_NAMES = {
    "telegram": re.compile(r"\btelegram\b", re.I),
    "linkedin": re.compile(r"\blinked-?in\b", re.I),
    "x": re.compile(r"(?i:\btwitter\b|\btweets?\b)|\bX\b"),
    "mastodon": re.compile(r"\bmastodon\b|\btoots?\b", re.I),
    "bluesky": re.compile(r"\bbluesky\b|\bbsky\b", re.I),
    "threads": re.compile(r"\bthreads\b", re.I),
    "instagram": re.compile(r"\binstagram\b", re.I),
    "vk": re.compile(r"\bvk\b|\bvkontakte\b", re.I),
    "discord": re.compile(r"\bdiscord\b", re.I),
}


@dataclass(frozen=True)
class Checks:
    """The mechanical limits in force for one platform (None: no such rule)."""

    max_chars: int | None = None
    max_emoji: int | None = None
    max_hashtags: int | None = None
    banned: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return self == Checks()


def _number(text: str) -> int:
    text = text.strip().lower()
    return int(text) if text.isdigit() else _NUMBER_WORDS[" ".join(text.split())]


def _bound(match: re.Match[str]) -> int:
    n = _number(match.group("n"))
    bound = match.groupdict().get("bound") or ""
    strict = re.fullmatch(_STRICT, bound, re.IGNORECASE) is not None
    return max(0, n - 1) if strict else n


def _applies(rule: str, platform: str) -> bool:
    """A rule that names platforms applies to those only; one that names none, to all."""
    named = [key for key, pattern in _PLATFORM_NAMES.items() if pattern.search(rule)]
    return not named or platform in named


def _smaller(current: int | None, new: int | None) -> int | None:
    if new is None:
        return current
    return new if current is None else min(current, new)


def parse_rule(rule: str, platform: str = "telegram") -> Checks:
    """The mechanical part of one learned preference, for ``platform``."""
    if not _applies(rule, platform):
        return Checks()
    length = _LENGTH.search(rule)
    emoji = _EMOJI_MAX.search(rule) or _EMOJI_MAX_AFTER.search(rule)
    tags = _TAGS_MAX.search(rule) or _TAGS_MAX_AFTER.search(rule)
    banned: tuple[str, ...] = ()
    if _NEGATIVE.search(rule):
        banned = tuple(
            phrase.strip()
            for groups in _QUOTED.findall(rule)
            for phrase in groups
            if phrase.strip()
        )
    return Checks(
        max_chars=_bound(length) if length else None,
        max_emoji=_bound(emoji) if emoji else (0 if _EMOJI_NONE.search(rule) else None),
        max_hashtags=_bound(tags) if tags else (0 if _TAGS_NONE.search(rule) else None),
        banned=banned,
    )


def parse_rules(rules: Iterable[str], platform: str = "telegram") -> Checks:
    """Every rule's checks combined: the tightest limit wins, banned phrases add up."""
    combined = Checks()
    for rule in rules:
        checks = parse_rule(rule, platform)
        combined = Checks(
            max_chars=_smaller(combined.max_chars, checks.max_chars),
            max_emoji=_smaller(combined.max_emoji, checks.max_emoji),
            max_hashtags=_smaller(combined.max_hashtags, checks.max_hashtags),
            banned=combined.banned + tuple(b for b in checks.banned if b not in combined.banned),
        )
    return combined


# --- applying them ---------------------------------------------------------------------------


def is_emoji(ch: str) -> bool:
    """A pictograph (the Unicode "other symbol" category, which is where emoji live)."""
    return unicodedata.category(ch) == "So" and not _is_modifier(ch)


def _is_modifier(ch: str) -> bool:
    """What belongs to the emoji before it: a variation selector, a joiner, a skin tone."""
    return ch in "\ufe0f\u200d" or "\U0001f3fb" <= ch <= "\U0001f3ff"


def count_emoji(text: str) -> int:
    return sum(1 for ch in text if is_emoji(ch))


def keep_emoji(text: str, limit: int) -> str:
    """``text`` with only its first ``limit`` emoji (and their variation selectors)."""
    out: list[str] = []
    kept, dropping = 0, False
    for ch in text:
        if is_emoji(ch):
            dropping = kept >= limit
            kept += 1
            if dropping:
                continue
        elif _is_modifier(ch) and dropping:
            continue
        else:
            dropping = False
        out.append(ch)
    return " ".join("".join(out).split())


def _pattern(banned: Iterable[str]) -> re.Pattern[str] | None:
    phrases = sorted({p.strip() for p in banned if p.strip()}, key=len, reverse=True)
    if not phrases:
        return None
    return re.compile("|".join(map(re.escape, phrases)), re.IGNORECASE)


def contains_banned(text: str, banned: Iterable[str]) -> bool:
    pattern = _pattern(banned)
    return pattern is not None and pattern.search(text) is not None


def drop_banned(text: str, banned: Iterable[str]) -> str:
    """``text`` without any of the banned phrases (case-insensitively), whitespace tidied."""
    pattern = _pattern(banned)
    if pattern is None:
        return text
    while pattern.search(text):  # removing one may join the words around it into another
        text = " ".join(pattern.sub(" ", text).split())
    text = text.lstrip(" ,;:-–—")
    first = text[:1].upper()
    return first + text[1:] if len(first) == 1 else text
