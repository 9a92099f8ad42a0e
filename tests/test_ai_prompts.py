"""Prompt builders are pure functions: test their text directly."""

from __future__ import annotations

from ai.models import BrandVoice, DraftRequest
from ai.prompts import (
    DRAFT_TOOL_NAME,
    MAX_EXAMPLE_POSTS,
    build_system_prompt,
    build_user_message,
    examples_section,
    too_long_feedback,
    voice_section,
)


def test_system_prompt_carries_voice_examples_and_rules() -> None:
    request = DraftRequest(
        brief="announce v2.3",
        voice=BrandVoice(
            tone="warm", audience="designers", do="use 'we'", dont="no jargon", example="Hi!"
        ),
        recent_posts=["First post", "Second post"],
        max_chars=1024,
    )
    prompt = build_system_prompt(request)
    for expected in (
        "Tone: warm",
        "Audience: designers",
        "Always: use 'we'",
        "Never: no jargon",
        "Example of the voice: Hi!",
        "<post>\nFirst post\n</post>",
        "<post>\nSecond post\n</post>",
        "Telegram channel",
        "Plain text only",
        "1024 characters",
        "language of the brief",
        DRAFT_TOOL_NAME,
    ):
        assert expected in prompt, expected


def test_empty_voice_and_no_posts_leave_sections_out() -> None:
    prompt = build_system_prompt(DraftRequest(brief="hello"))
    assert "<brand_voice>" not in prompt and "<posts_that_did_well>" not in prompt
    assert voice_section(BrandVoice()) == ""
    assert examples_section([]) == ""


def test_only_the_last_posts_are_examples_and_long_ones_are_clipped() -> None:
    posts = [f"post number {i}" for i in range(10)] + ["x" * 5000]
    section = examples_section(posts)
    assert section.count("<post>") == MAX_EXAMPLE_POSTS
    assert "post number 5" not in section and "post number 9" in section
    assert "x" * 5000 not in section and "…" in section


def test_blank_recent_posts_are_dropped() -> None:
    request = DraftRequest(brief="hi", recent_posts=["", "   ", " kept "])
    assert request.recent_posts == ["kept"]


def test_new_draft_message() -> None:
    message = build_user_message(DraftRequest(brief="  announce v2.3  "))
    assert message.startswith("Brief: announce v2.3\n")
    assert "new post" in message
    assert "previous_draft" not in message


def test_regeneration_message_has_previous_draft_and_instruction() -> None:
    message = build_user_message(
        DraftRequest(brief="announce v2.3", previous_draft="Old text.", instruction="shorter")
    )
    assert message.startswith("Brief: announce v2.3")
    assert "<previous_draft>\nOld text.\n</previous_draft>" in message
    assert "<instruction>\nshorter\n</instruction>" in message


def test_regeneration_without_instruction_asks_for_a_different_version() -> None:
    message = build_user_message(
        DraftRequest(brief="announce v2.3", previous_draft="Old text.", instruction="  ")
    )
    assert "<instruction>" not in message
    assert "different version" in message


def test_too_long_feedback_names_both_numbers() -> None:
    text = too_long_feedback(5000, 4096)
    assert "5000" in text and "4096" in text and DRAFT_TOOL_NAME in text
