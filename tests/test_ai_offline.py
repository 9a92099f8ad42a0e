"""OfflineDrafter: deterministic, no network, always a usable draft that fits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ai import BrandVoice, DraftRequest, OfflineDrafter, make_drafter, text_length
from ai.offline import offline_draft
from publishers.blank import is_blank

briefs = st.text(min_size=1, max_size=600).filter(lambda s: not is_blank(s))
voices = st.builds(
    BrandVoice,
    tone=st.sampled_from(["", "playful", "formal and professional", "dry"]),
    dont=st.sampled_from(["", "no emoji", "no hashtags"]),
    example=st.sampled_from(["", "🚀 We shipped it!", "Plain words."]),
)
instructions = st.sampled_from([None, "shorter", "longer", "more formal", "короче"])


@settings(max_examples=200, deadline=None)
@given(
    brief=briefs,
    voice=voices,
    max_chars=st.integers(min_value=20, max_value=4096),
    previous=st.one_of(
        st.none(), st.text(min_size=1, max_size=800).filter(lambda s: not is_blank(s))
    ),
    instruction=instructions,
)
def test_any_brief_gives_a_fitting_deterministic_draft(
    brief: str, voice: BrandVoice, max_chars: int, previous: str | None, instruction: str | None
) -> None:
    request = DraftRequest(
        brief=brief,
        voice=voice,
        max_chars=max_chars,
        previous_draft=previous,
        instruction=instruction,
    )
    draft = offline_draft(request)
    assert draft.text.strip()
    assert draft.offline is True
    assert draft.model is None and draft.input_tokens == draft.output_tokens == 0
    assert text_length(draft.compose()) <= max_chars
    assert offline_draft(request) == draft


async def test_offline_drafter_turns_a_brief_into_a_post() -> None:
    drafter = OfflineDrafter()
    draft = await drafter.draft(DraftRequest(brief="announce v2.3 with dark mode"))
    assert draft.text.startswith("Announcing v2.3 with dark mode!")
    assert "ANTHROPIC_API_KEY" not in draft.compose()  # the label is a flag, not post text
    assert draft.offline
    assert "dark" in draft.hashtags
    assert "announce" not in draft.hashtags


async def test_check_and_aclose_need_no_network() -> None:
    drafter = make_drafter(None, "claude-sonnet-4-6")
    assert await drafter.check() == "offline drafter (no ANTHROPIC_API_KEY)"
    await drafter.aclose()
    await drafter.aclose()


def test_shorter_and_longer_change_the_length() -> None:
    base = DraftRequest(brief="write a post about our new pricing page with yearly plans")
    first = offline_draft(base)
    shorter = offline_draft(
        base.model_copy(update={"previous_draft": first.text, "instruction": "shorter"})
    )
    longer = offline_draft(
        base.model_copy(update={"previous_draft": first.text, "instruction": "make it longer"})
    )
    assert len(shorter.text) < len(first.text) < len(longer.text)
    assert longer.text.startswith(first.text)


def test_plain_regeneration_gives_a_different_closing() -> None:
    base = DraftRequest(brief="we fixed the login bug")
    first = offline_draft(base)
    again = offline_draft(base.model_copy(update={"previous_draft": first.text}))
    assert again.text != first.text
    assert again.text.split(".")[0] == first.text.split(".")[0]


def test_voice_is_respected_lightly() -> None:
    playful = offline_draft(
        DraftRequest(brief="new stickers", voice=BrandVoice(tone="playful", example="🎉 yay"))
    )
    formal = offline_draft(DraftRequest(brief="new stickers", voice=BrandVoice(tone="formal")))
    plain = offline_draft(
        DraftRequest(
            brief="new stickers",
            voice=BrandVoice(example="🎉 yay", dont="no emoji, no hashtags"),
        )
    )
    assert playful.text.startswith("🎉 New stickers.") and playful.text.endswith("!")
    assert formal.text.startswith("New stickers.") and "🎉" not in formal.text
    assert "🎉" not in plain.text and plain.hashtags == []


def test_brief_language_is_kept() -> None:
    draft = offline_draft(DraftRequest(brief="анонсируй версию 2.3 с тёмной темой"))
    assert draft.text.startswith("Версию 2.3 с тёмной темой.")
    assert not any(ch.isascii() and ch.isalpha() for ch in draft.compose())


def test_tiny_limit_drops_hashtags_then_clips() -> None:
    draft = offline_draft(
        DraftRequest(brief="announce the brand new collaborative whiteboard", max_chars=24)
    )
    assert draft.hashtags == []
    assert text_length(draft.text) <= 24
    assert draft.text.endswith("…")


def test_emoji_count_as_two_units() -> None:
    draft = offline_draft(DraftRequest(brief="🚀" * 40, max_chars=21))
    assert text_length(draft.compose()) <= 21
    assert "\ud83d" not in draft.text  # never a split surrogate
