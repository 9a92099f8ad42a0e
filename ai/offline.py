"""A deterministic drafter with no network, used when ANTHROPIC_API_KEY is not set.

It exists so the draft → approve → publish loop works out of the box: the brief becomes a tidy
post (the request verb dropped, capitalised, punctuated, a closing line in roughly the brand's
tone, hashtags from the key words), and "shorter"/"longer" regenerations do something visible.
It is not clever, and does not pretend to be: drafts carry ``offline=True`` and the UI shows
its "offline draft" label (the catalogue's ``preview.offline``) next to them instead of the label
being written into the post, so an approved offline draft publishes without it.

Same request, same draft: no randomness, no clock. A plain "regenerate" picks a closing line the
previous draft does not already use.

Learned preferences that a program can check (length, emoji, hashtags, banned phrases; see
:mod:`ai.preferences`) are applied to every offline draft.
"""

from __future__ import annotations

import re
import unicodedata
import zlib

from ai.models import Draft, DraftRequest, text_length
from ai.preferences import Checks, contains_banned, drop_banned, keep_emoji, parse_rules
from publishers.blank import is_blank

_SHORTER = re.compile(
    r"\b(short|shorter|brief|briefer|concise|tighter|trim|cut|less)\b|корот|кратк|сократ",
    re.IGNORECASE,
)
_LONGER = re.compile(
    r"\b(long|longer|expand|elaborate|more detail|more details|detailed)\b|длинн|подробн",
    re.IGNORECASE,
)
_REQUEST_PREFIXES = (
    re.compile(
        r"^(please\s+)?(write|draft|make|create|compose|prepare)\s+(me\s+)?(an?\s+)?"
        r"([\w-]+\s+)?(post|announcement|message|update|note)\s+(about|on|for|that)\s+",
        re.IGNORECASE,
    ),
    re.compile(r"^(please\s+)?(post|write|talk|tell\s+\w+)\s+about\s+", re.IGNORECASE),
    re.compile(r"^(please\s+)?(share|mention|announce)\s+that\s+", re.IGNORECASE),
    re.compile(r"^(please\s+)?(share|mention)\s+", re.IGNORECASE),
    re.compile(
        r"^(пожалуйста\s+)?(напиши|сделай|подготовь|опубликуй)\s+(пост|анонс|сообщение|новость)"
        r"\s+(о|об|про)\s+",
        re.IGNORECASE,
    ),
    re.compile(r"^(пожалуйста\s+)?(анонсируй|расскажи\s+(о|об|про))\s+", re.IGNORECASE),
)
_ANNOUNCE = re.compile(r"^(please\s+)?announce\s+", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_WORD = re.compile(r"[^\W\d_]{4,}")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")

_PLAYFUL = ("playful", "fun", "casual", "friendly", "witty", "cheerful", "informal", "warm")
_FORMAL = ("formal", "professional", "serious", "corporate", "business", "official")
_CLOSINGS = {
    "playful": (
        "Take it for a spin and tell us what you think!",
        "We can't wait to hear what you think!",
        "Go try it, then come back and tell us all about it!",
    ),
    "formal": (
        "Further details will follow.",
        "We welcome your feedback.",
        "Thank you for your continued support.",
    ),
    "neutral": (
        "Stay tuned for more.",
        "Let us know what you think.",
        "More news soon.",
    ),
    "ru": (
        "Следите за новостями.",
        "Расскажите, что думаете.",
        "Скоро расскажем больше.",
    ),
}
_STOPWORDS = frozenset(
    """about after again also and announce announcing because been before being between both
    could does doing down during each from further have having here into just made make more
    most much need only other over please post same should some such than that their them then
    there these they this those through under very want were what when where which while will
    with would write your yours today really just который чтобы этот эта это были будет можно
    нужно очень также тоже""".split()
)


class OfflineDrafter:
    """:class:`~ai.drafter.Drafter` that never touches the network."""

    async def draft(self, request: DraftRequest) -> Draft:
        return offline_draft(request)

    async def check(self) -> str:
        return "offline drafter (no ANTHROPIC_API_KEY)"

    async def aclose(self) -> None:
        return None


def offline_draft(request: DraftRequest) -> Draft:
    """The whole offline drafting rule, as a pure function (easy to property-test)."""
    instruction = request.instruction or ""
    shorter = bool(_SHORTER.search(instruction))
    longer = bool(_LONGER.search(instruction)) and not shorter
    brief = _tidy(request.brief) or "Quick update."
    closings = _closings(request, brief)
    seed = zlib.crc32(f"{brief}\x00{request.previous_draft or ''}".encode())

    previous = _tidy(request.previous_draft or "")
    if previous and (shorter or longer):
        sentences = _sentences(previous)
        if shorter:
            text = sentences[0] if len(sentences) > 1 else _clip(previous, len(previous) // 2 + 1)
        else:
            extra = [c for c in closings if c not in previous][:1]
            text = " ".join([previous, *extra])
    else:
        headline = _headline(brief, request)
        unused = [c for c in closings if c not in previous] or list(closings)
        parts = [headline]
        if unused and not shorter:
            parts.append(unused[seed % len(unused)])
            if longer and len(unused) > 1:
                parts.append(unused[(seed + 1) % len(unused)])
        text = " ".join(parts)
        if shorter:
            text = _clip(text, 140)

    hashtags = [] if "hashtag" in request.voice.dont.casefold() else _hashtags(brief)
    return _learned(text, hashtags, request, parse_rules(request.learned, request.platform))


#: A learned length limit below this is taken for a misreading and ignored.
MIN_LEARNED_CHARS = 20


def _learned(text: str, hashtags: list[str], request: DraftRequest, checks: Checks) -> Draft:
    """Apply the learned checks: banned phrases out, emoji and hashtags cut to their limits,
    and the draft fitted into the tighter of the two length limits."""
    text = drop_banned(text, checks.banned)
    if checks.max_emoji is not None:
        text = keep_emoji(text, checks.max_emoji)
    tags = [tag for tag in hashtags if not contains_banned(tag, checks.banned)]
    if checks.max_hashtags is not None:
        tags = tags[: checks.max_hashtags]
    limit = request.max_chars
    if checks.max_chars is not None and checks.max_chars >= MIN_LEARNED_CHARS:
        limit = min(limit, checks.max_chars)
    draft = _fit(text or "…", tags, limit)
    if checks.banned:  # a clip may cut a word into a banned phrase; a tag's tidying may make one
        draft = draft.model_copy(
            update={
                "text": drop_banned(draft.text, checks.banned) or "…",
                "hashtags": [t for t in draft.hashtags if not contains_banned(t, checks.banned)],
            }
        )
    return draft


def _tidy(text: str) -> str:
    """Drop control characters and collapse whitespace: one clean line of text."""
    kept = "".join(ch if unicodedata.category(ch) != "Cc" or ch in "\n\t" else " " for ch in text)
    return " ".join(kept.split())


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s] or [text]


def _headline(brief: str, request: DraftRequest) -> str:
    """Turn the owner's request ("announce v2.3 with dark mode") into the post's first line."""
    text, announcing = brief, False
    for pattern in _REQUEST_PREFIXES:
        stripped = pattern.sub("", text, count=1)
        if stripped != text and not is_blank(stripped):
            text = stripped
            break
    else:
        stripped = _ANNOUNCE.sub("", text, count=1)
        if stripped != text and not is_blank(stripped):
            text, announcing = stripped, not _CYRILLIC.search(stripped)
    if announcing:
        text = "Announcing " + text
    if text[0].islower():
        text = text[0].upper() + text[1:]
    if text[-1] not in ".!?…":
        text += "!" if announcing else "."
    emoji = _first_emoji(request.voice.example)
    if emoji and "emoji" not in request.voice.dont.casefold() and not text.startswith(emoji):
        text = f"{emoji} {text}"
    return text


def _closings(request: DraftRequest, brief: str) -> tuple[str, ...]:
    """Closing lines in the brief's language (English or Russian) and the voice's tone."""
    if _CYRILLIC.search(brief):
        return _CLOSINGS["ru"]
    if not _LATIN.search(brief):
        return ()  # another script: better no closing than one in the wrong language
    tone = f"{request.voice.tone} {request.voice.do}".casefold()
    if any(word in tone for word in _PLAYFUL):
        return _CLOSINGS["playful"]
    if any(word in tone for word in _FORMAL):
        return _CLOSINGS["formal"]
    return _CLOSINGS["neutral"]


def _first_emoji(text: str) -> str:
    for ch in text:
        if unicodedata.category(ch) == "So":
            return ch
    return ""


def _hashtags(brief: str) -> list[str]:
    tags: list[str] = []
    for word in _WORD.findall(brief):
        key = word.casefold()
        if key not in _STOPWORDS and key not in (t.casefold() for t in tags):
            tags.append(word.lower())
        if len(tags) == 3:
            break
    return tags


def _clip(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` UTF-16 units, at a word boundary where possible."""
    if text_length(text) <= limit:
        return text
    budget = limit - 1  # room for the ellipsis
    used, end = 0, 0
    for i, ch in enumerate(text):
        used += text_length(ch)
        if used > budget:
            break
        end = i + 1
    cut = text[:end]
    space = cut.rfind(" ")
    if space > end // 2:
        cut = cut[:space]
    cut = cut.rstrip(" ,;:-–—")
    return (cut or text[:end]) + "…"


def _fit(text: str, hashtags: list[str], max_chars: int) -> Draft:
    """Build the Draft, dropping hashtags and then clipping the text until it fits."""
    draft = Draft(text=text, hashtags=hashtags, offline=True)
    while draft.hashtags and draft.length() > max_chars:
        draft = draft.model_copy(update={"hashtags": draft.hashtags[:-1]})
    if draft.length() > max_chars:
        draft = Draft(text=_clip(draft.text, max_chars), offline=True)
    return draft
