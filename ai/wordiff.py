"""Word-level differences between two versions of a post.

Two features read them: the preview after a reply-to-steer shows what changed as a compact word
diff, and learning measures how much of a draft the owner rewrote before approving it (the
median share of changed words). Words are compared with their punctuation; whitespace never
counts as a change.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

Op = Literal["same", "added", "removed"]


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of words that is the same in both versions, only in the new one, or only in the old."""

    op: Op
    words: tuple[str, ...]


def word_ops(before: str, after: str) -> list[Piece]:
    """The runs that turn `before` into `after`; a replacement is a removal then an addition."""
    old, new = before.split(), after.split()
    pieces: list[Piece] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces.append(Piece("same", tuple(old[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece("removed", tuple(old[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("added", tuple(new[j1:j2])))
    return pieces


def changed_share(before: str, after: str) -> float:
    """How much of the text changed, 0.0 (untouched) to 1.0 (all rewritten): the word edit
    distance of the longest common runs, over the longer version's word count."""
    old, new = before.split(), after.split()
    longest = max(len(old), len(new))
    if longest == 0:
        return 0.0
    kept = sum(
        size
        for *_, size in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_matching_blocks()
    )
    return round((longest - kept) / longest, 4)
