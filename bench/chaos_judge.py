"""The chaos benchmark's rules: what a post looks like on a platform (whole, partial,
duplicated), how the owner's questions and reports are read off the chat, and the verdict per
(post, target). Pure functions over recorded state, so they are tested on their own
(tests/test_bench_chaos.py); `bench/chaos.py` runs the rounds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.fakes.telegram import FakeMessage, parse_html
from ui.texts import Html, Texts

CHANNEL = "@chaos_channel"
#: How each target is named in the owner's chat (the account's title).
LABELS = {
    "telegram": CHANNEL,
    "x": "chaos-x",
    "bluesky": "chaos-bluesky",
    "mastodon": "chaos-mastodon",
    "vk": "chaos-vk",
}
#: Platforms where a long post is a reply chain (Telegram sends consecutive messages).
THREADED = frozenset({"x", "bluesky", "mastodon"})


@dataclass(frozen=True)
class Shape:
    """One post of the mix: how many words (unique tokens) and images."""

    words: int
    images: int = 0


#: ~7 characters a word: 12 words fit anywhere; 60 are a 2-part thread on X and Bluesky;
#: 130 are 4 parts on X and Bluesky and 2 on Mastodon.
MIX = (Shape(12), Shape(12), Shape(60), Shape(130), Shape(130), Shape(12, 1), Shape(100, 1))


@dataclass(frozen=True)
class Planned:
    key: int
    post_id: int
    shape: Shape


def post_text(key: int, words: int) -> str:
    return " ".join(f"k{key}w{i:03d}" for i in range(words))


# ------------------------------------------------------------------ what the platforms hold
@dataclass(frozen=True)
class Piece:
    """One record on a platform: a message, a tweet, a Bluesky post, a status."""

    id: str
    text: str
    parent: str | None = None
    images: int = 0


@dataclass(frozen=True)
class Presence:
    state: str  # "none", "whole", "partial"
    duplicated: bool


def presence(pieces: Sequence[Piece], post: Planned, threaded: bool) -> Presence:
    """What a person sees of ``post`` among a platform's records (in creation order)."""
    token = re.compile(rf"\bk{post.key}w(\d+)\b")
    mine = [(p, [int(n) for n in token.findall(p.text)]) for p in pieces]
    mine = [(p, words) for p, words in mine if words]
    if not mine:
        return Presence("none", False)
    seen = [w for _, words in mine for w in words]
    duplicated = len(seen) != len(set(seen))
    whole = set(seen) == set(range(post.shape.words))
    whole &= sum(p.images for p, _ in mine) >= post.shape.images
    if not duplicated:
        whole &= seen == sorted(seen)
        if threaded:
            whole &= all(b.parent == a.id for (a, _), (b, _) in zip(mine, mine[1:], strict=False))
    return Presence("whole" if whole else "partial", duplicated)


# ------------------------------------------------------------------ what the owner was told
_EN = Texts("en")
_POSTED, _AGAIN = _EN.plain("btn.posted"), _EN.plain("btn.send_again")
_PUBLISH_NOW, _DROP_OVERDUE = _EN.plain("btn.publish_now"), _EN.plain("btn.drop_overdue")
_REPORT_KEYS = ("publish.done", "publish.partial", "publish.failed")


@dataclass(frozen=True)
class Card:
    """A question in the owner's chat: about one target ("is it there?") or a whole post
    (overdue, ``platform`` None)."""

    message_id: int
    post_id: int
    platform: str | None
    buttons: dict[str, str]  # label -> callback data

    def answer(self, whole: bool) -> str:
        """The button a person presses (its callback data) after looking at the platform:
        "Yes" only when the whole post is there, else "Send again"; an overdue post goes out
        now."""
        if self.platform is None:
            return self.buttons[_PUBLISH_NOW]
        return self.buttons[_POSTED if whole else _AGAIN]


def card_of(message: FakeMessage) -> Card | None:
    buttons = dict(message.buttons())
    number = re.search(r"#(\d+)", message.text)
    if number is None:
        return None
    if _POSTED in buttons and _AGAIN in buttons:
        platform = next((p for p, label in LABELS.items() if label in message.text), None)
        if platform is None:
            return None
        return Card(message.message_id, int(number.group(1)), platform, buttons)
    if _PUBLISH_NOW in buttons and _DROP_OVERDUE in buttons:
        return Card(message.message_id, int(number.group(1)), None, buttons)
    return None


def report_lines(messages: Sequence[FakeMessage], post_id: int) -> list[str] | None:
    """The lines of the latest publish report of ``post_id`` (one per target), if any."""
    heads = [parse_html(_EN(k, post_id=post_id, lines=Html("")))[0].strip() for k in _REPORT_KEYS]
    for message in reversed(messages):
        first, _, rest = message.text.partition("\n")
        if first.strip() in heads:
            return rest.split("\n\n")[0].splitlines()
    return None


@dataclass
class Told:
    asked: bool = False
    published: bool = False
    failed: bool = False


def told(lines: Sequence[str] | None, asked: bool, platform: str) -> Told:
    label = LABELS[platform]
    mine = [line for line in lines or () if label in line]
    return Told(
        asked=asked,
        published=any(line.startswith("✅") for line in mine),
        failed=any(line.startswith("❌") for line in mine),
    )


@dataclass
class Verdict:
    lost: int = 0
    duplicated: int = 0
    holes: int = 0
    #: Whole on the platform, but the owner was neither told it was published nor asked (not
    #: a loss, but the owner does not know the truth).
    untold: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, post: Planned, platform: str, seen: Presence, owner: Told) -> None:
        where = f"#{post.post_id}/{platform}"
        informed = owner.asked or owner.failed
        if seen.duplicated:
            self.duplicated += 1
            self.notes.append(f"{where} duplicated")
        if seen.state == "none" and (owner.published or not informed):
            self.lost += 1
            self.notes.append(
                f"{where} lost" + (" (reported published)" if owner.published else "")
            )
        if seen.state == "whole" and not (owner.published or owner.asked):
            self.untold += 1
        if seen.state == "partial" and (owner.published or not informed):
            self.holes += 1
            self.notes.append(
                f"{where} partial" + (" (reported published)" if owner.published else "")
            )
