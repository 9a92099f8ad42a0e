"""The grammar of checkable learned preferences, and the offline drafter obeying them: examples
of each kind of rule, then properties over any brief and any limits (the edges: strict vs.
inclusive bounds, zero emoji, phrases that reappear when another is removed)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ai.models import DraftRequest, text_length
from ai.offline import MIN_LEARNED_CHARS, offline_draft
from ai.preferences import (
    Checks,
    contains_banned,
    count_emoji,
    drop_banned,
    keep_emoji,
    parse_rule,
    parse_rules,
)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("Keep posts under 900 characters", Checks(max_chars=899)),
        ("At most 280 chars", Checks(max_chars=280)),
        ("No longer than 500 characters", Checks(max_chars=500)),
        ("Posts should stay below 1000 characters.", Checks(max_chars=999)),
        ("No more than two emoji", Checks(max_emoji=2)),
        ("Use at most 1 emoji per post", Checks(max_emoji=1)),
        ("No emoji", Checks(max_emoji=0)),
        ("Never use emojis", Checks(max_emoji=0)),
        ("fewer than three emoji", Checks(max_emoji=2)),
        ("No hashtags", Checks(max_hashtags=0)),
        ("At most 2 hashtags", Checks(max_hashtags=2)),
        ("one hashtag at most", Checks(max_hashtags=1)),
        ("Never say 'excited to announce'", Checks(banned=("excited to announce",))),
        (
            'Don\'t use “game-changer” or "revolutionary"',
            Checks(banned=("revolutionary", "game-changer")),
        ),
        ("Avoid the word 'synergy'", Checks(banned=("synergy",))),
        ("Say 'thanks' at the end", Checks()),  # not a prohibition
        ("Write in a warm, plain voice", Checks()),
        ("No more than 5 sentences", Checks()),
    ],
)
def test_rules_that_a_program_can_check(rule: str, expected: Checks) -> None:
    parsed = parse_rule(rule)
    assert parsed.max_chars == expected.max_chars
    assert parsed.max_emoji == expected.max_emoji
    assert parsed.max_hashtags == expected.max_hashtags
    assert set(parsed.banned) == set(expected.banned)


def test_a_rule_for_another_platform_does_not_bind_telegram() -> None:
    rule = "Keep LinkedIn posts under 900 characters"
    assert parse_rule(rule, "telegram") == Checks()
    assert parse_rule(rule, "linkedin").max_chars == 899
    assert parse_rule("Tweets: no hashtags", "x").max_hashtags == 0
    assert parse_rule("Tweets: no hashtags", "telegram") == Checks()


def test_the_tightest_limit_wins_and_banned_phrases_add_up() -> None:
    checks = parse_rules(
        [
            "At most 500 characters",
            "Keep posts under 300 characters",
            "No more than 3 emoji",
            "No emoji",
            "Never say 'synergy'",
            "avoid 'leverage'",
        ]
    )
    assert checks == Checks(
        max_chars=299, max_emoji=0, max_hashtags=None, banned=("synergy", "leverage")
    )


def test_the_offline_drafter_follows_the_learned_rules() -> None:
    request = DraftRequest(
        brief="announce that we are excited to announce the brand new dashboard with charts",
        voice={"example": "🚀 Ship it! 🎉"},
        learned=[
            "Keep posts under 60 characters",
            "No emoji",
            "At most 1 hashtag",
            "Never say 'excited to announce'",
        ],
    )
    draft = offline_draft(request)
    post = draft.compose()
    assert text_length(post) < 60
    assert count_emoji(post) == 0
    assert len(draft.hashtags) <= 1
    assert "excited to announce" not in post.lower()


def test_without_learned_rules_the_draft_is_unchanged() -> None:
    request = DraftRequest(brief="announce v2.3 with dark mode")
    assert offline_draft(request) == offline_draft(request.model_copy(update={"learned": []}))
    noise = request.model_copy(update={"learned": ["Write in a warm voice"]})
    assert offline_draft(noise) == offline_draft(request)


# --- properties ----------------------------------------------------------------------------

NUMBER = st.integers(min_value=1, max_value=99_999)


@given(NUMBER, st.sampled_from(["under", "below", "less than", "fewer than", "shorter than"]))
def test_strict_bounds_allow_one_less(n: int, word: str) -> None:
    assert parse_rule(f"Keep posts {word} {n} characters").max_chars == n - 1


@given(NUMBER, st.sampled_from(["at most", "no more than", "up to", "no longer than", "max"]))
def test_inclusive_bounds_allow_the_number(n: int, word: str) -> None:
    assert parse_rule(f"{word} {n} characters".capitalize()).max_chars == n


WORDS = st.text(alphabet=st.characters(categories=["Ll", "Lu"]), min_size=3, max_size=8)
EMOJI = st.sampled_from(["🚀", "🎉", "✨", "🔥", "❤️", "👍🏽", "☕"])


@settings(max_examples=150, deadline=None)
@given(
    brief=st.lists(st.one_of(WORDS, EMOJI), min_size=1, max_size=40).map(" ".join),
    max_chars=st.integers(min_value=MIN_LEARNED_CHARS + 1, max_value=400),
    max_emoji=st.integers(min_value=0, max_value=3),
    max_tags=st.integers(min_value=0, max_value=3),
    banned=st.lists(WORDS, max_size=3),
)
# a hashtag tidied from "AAİA" reads "aaia": the banned "AIA" appears only after tidying
@example(brief="AAİA", max_chars=32, max_emoji=0, max_tags=1, banned=["AIA"])
def test_offline_drafts_obey_any_learned_limits(
    brief: str, max_chars: int, max_emoji: int, max_tags: int, banned: list[str]
) -> None:
    rules = [
        f"Keep posts under {max_chars} characters",
        f"No more than {max_emoji} emoji",
        f"At most {max_tags} hashtags",
        *[f"Never say '{phrase}'" for phrase in banned],
    ]
    draft = offline_draft(DraftRequest(brief=brief, learned=rules))
    post = draft.compose()
    assert text_length(post) <= max_chars - 1
    assert count_emoji(post) <= max_emoji
    assert len(draft.hashtags) <= max_tags
    assert not contains_banned(post, banned), post


@given(st.text(max_size=80), st.lists(st.text(min_size=1, max_size=4), max_size=3))
def test_dropping_banned_phrases_leaves_none(text: str, banned: list[str]) -> None:
    cleaned = drop_banned(text, banned)
    if any(phrase.strip() for phrase in banned):
        assert not contains_banned(cleaned, [p for p in banned if p.strip()])


@given(st.lists(st.one_of(WORDS, EMOJI), max_size=20).map(" ".join), st.integers(0, 5))
def test_keeping_emoji_keeps_the_first_ones_and_the_words(text: str, limit: int) -> None:
    kept = keep_emoji(text, limit)
    assert count_emoji(kept) == min(limit, count_emoji(text))
    assert [w for w in kept.split() if count_emoji(w) == 0] == [
        w for w in text.split() if count_emoji(w) == 0
    ]
