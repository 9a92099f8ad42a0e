"""The deterministic check of one target's text before anything is published.

The preview shows it for every variant ("X 241/280 ✓", "LinkedIn 3120/3000 ✗ …") and the
dispatcher refuses a target that fails it, so what the owner approves is exactly what the
platform's own rules accept: counts use the platform's measure, problems come from the
publisher's ``validate``.
"""

from __future__ import annotations

from dataclasses import dataclass

from publishers.base import Publisher
from publishers.errors import TextTooLong
from publishers.registry import PLATFORMS


@dataclass(frozen=True)
class VariantCheck:
    count: int
    limit: int
    #: How many posts the text becomes (a thread or split message); 0 when it can't be split.
    parts: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_variant(publisher: Publisher, text: str, *, media_count: int = 0) -> VariantCheck:
    rules = PLATFORMS[publisher.platform].text
    problems = tuple(publisher.validate(text, media_count=media_count))
    try:
        parts = rules.parts(text)
    except TextTooLong:
        parts = 0
    return VariantCheck(rules.measure(text), rules.limit, parts, problems)
