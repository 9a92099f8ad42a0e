"""Blank means blank: text of only invisible characters is empty wherever user text is read.

Property tests over the classifier, and end to end: a brief of zero-width characters gets the
clear "the brief is empty" answer and Claude is never called."""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable

from hypothesis import given
from hypothesis import strategies as st

from ai.models import DraftRequest
from bot.app import Nexus
from publishers.blank import is_blank, is_invisible, visible
from tests.conftest import OWNER
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.telegram import FakeTelegram

#: What people paste by accident: zero-width space/non-joiner/joiner, word joiner, BOM, soft
#: hyphen, bidi marks, the Hangul filler, ordinary and exotic spaces.
NAMED_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u3164 \t\n\u00a0\u2003\u3000"

invisible_char = st.one_of(
    st.sampled_from(NAMED_INVISIBLE),
    st.characters(categories=["Cf", "Zs", "Zl", "Zp", "Cc"]),
)
#: Letters, digits, punctuation, symbols (emoji included): each one shows.
visible_char = st.characters(categories=["L", "N", "P", "S"]).filter(lambda c: not is_invisible(c))


@given(st.text(invisible_char))
def test_only_invisible_characters_is_blank(text: str) -> None:
    assert is_blank(text)
    assert visible(text) == ""


@given(st.text(invisible_char), visible_char, st.text(), st.text(invisible_char))
def test_one_visible_character_is_not_blank(before: str, shown: str, rest: str, after: str) -> None:
    text = before + shown + rest + after
    assert not is_blank(text)
    kept = visible(text)
    assert kept.startswith(shown)  # only the invisible edges go
    assert (shown + rest).startswith(kept)


def test_the_invisible_set_is_small_and_named() -> None:
    """Letters that merely look blank elsewhere stay visible (only known fillers are not)."""
    assert not is_blank("a")
    assert not is_blank("🌙")
    assert not is_blank("\U0001fae8")  # an emoji newer than some Unicode tables
    assert is_blank("\u3164\u115f")  # Hangul fillers, used to fake empty names
    assert unicodedata.category("\u3164") == "Lo"


def test_the_drafter_refuses_a_blank_brief() -> None:
    """Defence in depth: even a caller that skipped the handler's check cannot draft it."""
    try:
        DraftRequest(brief="\u200b\ufeff")
    except ValueError as exc:
        assert "brief is empty" in str(exc)
    else:
        raise AssertionError("a blank brief was accepted")


async def test_an_invisible_brief_is_empty_and_claude_is_not_called(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: Callable[..., Awaitable[Nexus]]
) -> None:
    await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url)
    sent = await tg.user_sends(OWNER, "\u200b\u200d\ufeff")
    answer = await tg.wait_message(
        OWNER, lambda m: m.message_id > sent["message_id"] and "is empty" in m.text
    )
    assert "The brief is empty" in answer.text
    assert ai.requests == []
    assert not any(c.method == "sendChatAction" for c in tg.calls)  # no "typing…" either
