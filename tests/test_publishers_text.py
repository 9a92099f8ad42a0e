"""Properties of the Telegram text rules: splitting never cuts words, escaping round-trips."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publishers.errors import Permanent, TextTooLong
from publishers.text import (
    BREAKABLE_SPACE,
    TELEGRAM_CAPTION_LIMIT,
    TELEGRAM_TEXT_LIMIT,
    escape_html,
    split_text,
    utf16_len,
)
from tests.fakes.telegram import parse_html

_GAP = re.compile(f"[{re.escape(BREAKABLE_SPACE)}]+")
FAST = settings(max_examples=200, deadline=None)

# Grapheme clusters that must never be cut: ZWJ family, flag, skin tone, combining marks.
CLUSTERS = ["👨‍👩‍👧‍👦", "🇺🇦", "👍🏽", "é", "ñ̃", "a", "Я", "字", "&", "<", ">", '"']
words = st.one_of(
    st.lists(st.sampled_from(CLUSTERS), min_size=1, max_size=6).map("".join),
    st.text(
        st.characters(exclude_categories=("Zs", "Zl", "Zp", "Cc", "Cs")), min_size=1, max_size=8
    ),
    st.sampled_from(["https://example.com/a/very/long/path?q=1&r=2", "end.", "why?", "(yes!)"]),
)
separators = st.sampled_from([" ", "  ", "\n", "\n\n", "\n \n", "\t", " \u00a0"])


@st.composite
def documents(draw: st.DrawFn) -> str:
    items = draw(st.lists(st.tuples(words, separators), min_size=1, max_size=60))
    return "".join(w + s for w, s in items)


def tokens(text: str) -> list[str]:
    return [t for t in _GAP.split(text) if t]


def check_parts(text: str, parts: list[str], limit: int, measure=utf16_len) -> None:
    assert all(parts), "parts are non-empty"
    assert all(p == p.strip(BREAKABLE_SPACE) for p in parts), "parts are stripped"
    assert all(measure(p) <= limit for p in parts), "parts fit"
    assert tokens(" ".join(parts)) == tokens(text), "words survive, in order"
    position = 0
    for part in parts:  # every part is a verbatim slice of the text, in order
        found = text.find(part, position)
        assert found >= 0
        position = found + len(part)


@FAST
@given(documents(), st.integers(min_value=1, max_value=120))
def test_split_parts_fit_and_keep_every_word(text: str, limit: int) -> None:
    longest = max((utf16_len(t) for t in tokens(text)), default=0)
    if longest > limit:
        with pytest.raises(TextTooLong):
            split_text(text, limit)
        return
    check_parts(text, split_text(text, limit), limit)


@FAST
@given(st.text(), st.integers(min_value=1, max_value=50))
def test_split_arbitrary_text_with_len(text: str, limit: int) -> None:
    longest = max((len(t) for t in tokens(text)), default=0)
    try:
        parts = split_text(text, limit, measure=len)
    except TextTooLong:
        assert longest > limit  # only a single over-long token may fail
        return
    assert longest <= limit
    check_parts(text, parts, limit, measure=len)


@FAST
@given(st.lists(st.sampled_from(CLUSTERS), min_size=1, max_size=40), st.integers(11, 40))
def test_graphemes_are_never_cut(clusters: list[str], limit: int) -> None:
    text = " ".join(clusters)
    parts = split_text(text, limit)
    assert [c for p in parts for c in p.split(" ")] == clusters


def test_prefers_paragraphs_then_lines_then_sentences() -> None:
    text = "One two three.\n\nFour five. Six seven\neight nine."
    assert split_text(text, 32) == ["One two three.", "Four five. Six seven\neight nine."]
    assert split_text(text, 15) == ["One two three.", "Four five.", "Six seven", "eight nine."]
    assert split_text(text, 25) == ["One two three.", "Four five. Six seven", "eight nine."]
    assert split_text("Alpha beta. Gamma delta epsilon", 22) == [
        "Alpha beta.",
        "Gamma delta epsilon",
    ]
    assert split_text("  \n ", 10) == []
    assert split_text("short", TELEGRAM_TEXT_LIMIT) == ["short"]


def test_utf16_measure_and_too_long_token() -> None:
    assert utf16_len("a😀") == 3
    assert split_text("😀😀 😀", 4) == ["😀😀", "😀"]
    url = "https://example.com/" + "x" * TELEGRAM_CAPTION_LIMIT
    with pytest.raises(TextTooLong) as err:
        split_text(f"see {url} now", TELEGRAM_CAPTION_LIMIT)
    assert isinstance(err.value, Permanent)
    assert "too long" in err.value.reason and str(TELEGRAM_CAPTION_LIMIT) in err.value.reason


def test_escape_html_escapes_only_what_telegram_needs() -> None:
    assert escape_html('R&D <beta> "q"') == 'R&amp;D &lt;beta&gt; "q"'


@FAST
@given(st.text())
def test_escaping_round_trips_through_telegram_html(text: str) -> None:
    parsed, entities = parse_html(escape_html(text))
    assert parsed == text
    assert entities == []
    assert utf16_len(parsed) == utf16_len(text)


def test_draft_with_markup_like_text_comes_out_verbatim() -> None:
    assert parse_html(escape_html("R&D <beta> &amp; <b>"))[0] == "R&D <beta> &amp; <b>"
