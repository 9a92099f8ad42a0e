"""Word diffs: replaying the runs rebuilds both versions, and the changed share stays in range."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ai.wordiff import changed_share, word_ops

words = st.lists(
    st.sampled_from(["we", "ship", "dark", "mode", "today", "🚀", "v2.3!"]), max_size=30
)


@given(words, words)
def test_runs_rebuild_both_versions(old: list[str], new: list[str]) -> None:
    pieces = word_ops(" ".join(old), " ".join(new))
    assert [w for p in pieces if p.op != "added" for w in p.words] == old
    assert [w for p in pieces if p.op != "removed" for w in p.words] == new


@given(words, words)
def test_changed_share_is_a_fraction_and_zero_only_when_equal(
    old: list[str], new: list[str]
) -> None:
    share = changed_share(" ".join(old), " ".join(new))
    assert 0.0 <= share <= 1.0
    assert (share == 0.0) == (old == new)


def test_a_shortened_draft_counts_the_cut_words() -> None:
    assert changed_share("we ship dark mode today for everyone", "we ship dark mode") == 0.4286
    assert changed_share("", "") == 0.0
