"""Models and error helpers of the ai package."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ai.errors import AIError, AIRateLimited, parse_retry_after, redact
from ai.models import BrandVoice, Draft, DraftRequest, text_length


def test_brand_voice_is_empty() -> None:
    assert BrandVoice().is_empty()
    assert BrandVoice(tone="   ").is_empty()
    assert not BrandVoice(dont="no emoji").is_empty()


def test_draft_text_is_stripped_and_required() -> None:
    assert Draft(text="  hi \n").text == "hi"
    with pytest.raises(ValidationError):
        Draft(text=" \n ")


def test_hashtags_are_tidied() -> None:
    draft = Draft(text="x", hashtags=["#Dark Mode!", "darkmode", "", "#", "релиз", "#v2_3"])
    assert draft.hashtags == ["DarkMode", "релиз", "v2_3"]
    assert draft.compose() == "x\n\n#DarkMode #релиз #v2_3"
    assert Draft(text="x").compose() == "x"


def test_length_counts_utf16_units() -> None:
    assert text_length("abc") == 3
    assert text_length("🚀") == 2
    assert Draft(text="🚀", hashtags=["a"]).length() == 2 + 2 + 2


def test_request_validation() -> None:
    with pytest.raises(ValidationError):
        DraftRequest(brief="   ")
    with pytest.raises(ValidationError):
        DraftRequest(brief="x", max_chars=5)
    request = DraftRequest(brief="x", previous_draft="", instruction="")
    assert request.previous_draft is None and request.instruction is None
    assert not request.is_regeneration
    assert DraftRequest(brief="x", previous_draft="old").is_regeneration
    assert DraftRequest(brief="x").max_chars == 4096


def test_parse_retry_after() -> None:
    assert parse_retry_after({"retry-after": "12"}) == 12.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    date = "Wed, 21 Oct 2015 07:28:30 GMT"
    assert parse_retry_after({"retry-after": date}, now=1445412500.0) == 10.0


def test_error_messages() -> None:
    error = AIRateLimited("429", retry_after=1.2)
    assert error.retryable and error.retry_after == 1.2
    assert "1 second." in error.user_message
    assert AIRateLimited("429").user_message.endswith("in a minute.")
    assert AIError("x", user_message="custom", retryable=True).retryable
    assert redact("key sk-abc in text", "sk-abc") == "key *** in text"
    assert redact("nothing", None) == "nothing"
