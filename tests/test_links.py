"""Briefs from links (ai.links) and the word diff of a steered preview (ui.views.word_diff)."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from ai.links import (
    MAX_MAIN_TEXT,
    extract,
    first_link,
    keep_link,
    link_brief,
    link_of,
    without_link,
)
from ui.views import word_diff


def test_the_extract_prefers_open_graph_and_keeps_only_content() -> None:
    page = extract(
        "https://example.com/a",
        "<html><head><title> Plain   title </title>"
        "<meta name='description' content='Meta description'></head>"
        "<body><header>HEADER</header><nav>NAV</nav><script>SCRIPT()</script>"
        "<p>First  paragraph.</p><div>Second<br>line</div><aside>ASIDE</aside>"
        "<footer>FOOTER</footer></body></html>",
    )
    assert page.title == "Plain title"
    assert page.description == "Meta description"
    assert page.text == "First paragraph.\nSecond\nline"


@given(st.text(max_size=8000))
def test_any_page_extracts_within_the_caps(junk: str) -> None:
    page = extract("https://example.com", junk)
    assert len(page.text) <= MAX_MAIN_TEXT + 1


def test_the_first_link_drops_the_sentence_punctuation() -> None:
    assert first_link("see https://example.com/a?b=1.") == "https://example.com/a?b=1"
    assert first_link("(https://example.com/x), ok") == "https://example.com/x"
    assert first_link("no link here, ftp://x") is None
    assert without_link("read https://e.com/x now", "https://e.com/x") == "read now"


@given(st.text(max_size=200).filter(lambda s: "\n" not in s))
def test_a_link_brief_names_its_link_and_a_draft_keeps_it(words: str) -> None:
    url = "https://example.com/post?id=1"
    brief = link_brief(words, url, None)
    assert link_of(brief) == url
    assert url in keep_link("a draft that forgot it", url)
    assert keep_link(f"has it: {url}", url) == f"has it: {url}"
    assert keep_link("no link", None) == "no link"


words = st.lists(st.sampled_from(["a", "b", "c", "<x>", "&", "dark", "mode"]), max_size=60)


@given(words, words)
def test_the_word_diff_is_balanced_html_within_its_budget(old: list[str], new: list[str]) -> None:
    diff = word_diff(" ".join(old), " ".join(new), budget=80)
    assert diff.count("<s>") == diff.count("</s>") and diff.count("<b>") == diff.count("</b>")
    visible = html.unescape(re.sub(r"</?[sb]>", "", diff))
    assert len(visible) <= 80 + 2
    if old == new:
        assert diff == ""


def test_the_word_diff_marks_changes_and_folds_long_unchanged_runs() -> None:
    before = "one two three four five six seven eight nine ten Thursday eleven"
    after = "one two three four five six seven eight nine ten Friday eleven"
    assert word_diff(before, after) == "… eight nine ten <s>Thursday</s> <b>Friday</b> eleven"
