"""Deterministic adaptation of a draft to a platform's shape.

Claude writes a variant per target itself; this is the rule for the rest: the offline drafter,
a platform Claude skipped, a variant that came back over a limit it cannot thread around, and
the owner's edit of the main text (variants they did not touch follow it). Counting uses the
platform's own rules (``publishers.registry.TextRules``), the same ones the preview shows.
"""

from __future__ import annotations

from ai.models import Draft
from publishers.blank import is_blank, visible
from publishers.registry import PLATFORMS, TextRules


def rules_for(platform: str) -> TextRules:
    return PLATFORMS[platform].text


def fit_text(text: str, rules: TextRules) -> str:
    """``text`` if the platform takes it (as one post or a thread), else cut at a word."""
    text = visible(text)
    if rules.threads or rules.measure(text) <= rules.limit:
        return text
    words = text.split(" ")
    while len(words) > 1 and rules.measure(" ".join(words) + "…") > rules.limit:
        words.pop()
    cut = " ".join(words).rstrip(" ,;:-–—")
    while cut and rules.measure(cut + "…") > rules.limit:  # one overlong word
        cut = cut[:-1]
    return cut + "…"


def adapt(draft: Draft, platform: str) -> str:
    """The draft's main post shaped for ``platform``: hashtags kept only where they help and
    fit, text cut at a word for platforms without threads."""
    rules = rules_for(platform)
    if rules.hashtags and draft.hashtags:
        composed = draft.compose()
        if rules.threads or rules.measure(composed) <= rules.limit:
            return composed
    return fit_text(draft.text, rules)


def variant_for(draft: Draft, platform: str) -> str:
    """The drafter's own variant for ``platform`` if it wrote one that fits, else adapted."""
    written = draft.variants.get(platform)
    if written is not None and not is_blank(written):
        return fit_text(written, rules_for(platform))
    return adapt(draft, platform)
