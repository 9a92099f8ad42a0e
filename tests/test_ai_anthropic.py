"""AnthropicDrafter against the loopback Anthropic API: the real SDK, real HTTP, no patching."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ai import (
    AIAuthError,
    AIBadAnswer,
    AIError,
    AIOverloaded,
    AIRateLimited,
    AIRequestRejected,
    AITimeout,
    AIUnavailable,
    BrandVoice,
    DraftRequest,
    OfflineDrafter,
    make_drafter,
)
from ai.anthropic_drafter import AnthropicDrafter
from ai.prompts import DRAFT_TOOL_NAME
from tests.fakes.anthropic import FakeAnthropic

MODEL = "claude-sonnet-4-6"
KEY = "sk-ant-test-key-5ecret"


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic(api_key=KEY) as server:
        yield server


@pytest.fixture
async def drafter(fake: FakeAnthropic) -> AsyncIterator[AnthropicDrafter]:
    client = AnthropicDrafter(KEY, MODEL, base_url=fake.base_url, timeout=5.0, max_retries=0)
    yield client
    await client.aclose()


def request(**overrides: object) -> DraftRequest:
    fields: dict[str, object] = {
        "brief": "announce v2.3 with dark mode",
        "voice": BrandVoice(tone="playful, short sentences", audience="indie developers"),
        "recent_posts": ["We shipped v2.2! Faster sync, fewer bugs.", "Hello, world."],
    }
    fields.update(overrides)
    return DraftRequest.model_validate(fields)


async def test_draft_happy_path(fake: FakeAnthropic, drafter: AnthropicDrafter) -> None:
    fake.reply_tool(
        {"text": "  Dark mode is here in v2.3!  ", "hashtags": ["#release", "DarkMode"]}
    )

    draft = await drafter.draft(request())

    assert draft.text == "Dark mode is here in v2.3!"
    assert draft.hashtags == ["release", "DarkMode"]
    assert draft.compose() == "Dark mode is here in v2.3!\n\n#release #DarkMode"
    assert draft.offline is False
    assert draft.model == MODEL
    assert draft.input_tokens > 0 and draft.output_tokens > 0

    sent = fake.last_request
    assert sent["model"] == MODEL
    assert "playful, short sentences" in sent["system"]
    assert "indie developers" in sent["system"]
    assert "We shipped v2.2! Faster sync, fewer bugs." in sent["system"]
    assert "4096" in sent["system"]
    assert sent["tool_choice"] == {"type": "tool", "name": DRAFT_TOOL_NAME}
    [tool] = sent["tools"]
    assert tool["name"] == DRAFT_TOOL_NAME
    assert tool["input_schema"]["required"] == ["text"]
    assert tool["input_schema"]["properties"]["text"]["maxLength"] == 4096
    assert sent["messages"] == [
        {"role": "user", "content": sent["messages"][0]["content"]},
    ]
    assert "announce v2.3 with dark mode" in sent["messages"][0]["content"]
    assert fake.pending == 0


async def test_default_responder_echoes_the_brief(
    fake: FakeAnthropic, drafter: AnthropicDrafter
) -> None:
    draft = await drafter.draft(request())
    assert draft.text.startswith("Draft: ")
    assert "announce v2.3 with dark mode" in draft.text


async def test_usage_tokens_are_recorded(fake: FakeAnthropic, drafter: AnthropicDrafter) -> None:
    fake.reply(
        {
            "content": [{"type": "tool_use", "name": DRAFT_TOOL_NAME, "input": {"text": "Hi"}}],
            "usage": {"input_tokens": 321, "output_tokens": 12},
        }
    )
    draft = await drafter.draft(request())
    assert (draft.input_tokens, draft.output_tokens) == (321, 12)


async def test_regenerate_with_instruction(fake: FakeAnthropic, drafter: AnthropicDrafter) -> None:
    fake.reply_tool({"text": "v2.3: dark mode."})

    draft = await drafter.draft(
        request(
            previous_draft="Big news! v2.3 brings dark mode to every screen.", instruction="shorter"
        )
    )

    assert draft.text == "v2.3: dark mode."
    content = fake.last_request["messages"][0]["content"]
    assert "Big news! v2.3 brings dark mode to every screen." in content
    assert "shorter" in content
    assert "announce v2.3 with dark mode" in content


async def test_too_long_answer_is_sent_back_once(
    fake: FakeAnthropic, drafter: AnthropicDrafter
) -> None:
    def answer(text: str, tags: list[str], tokens: int) -> dict[str, object]:
        block = {
            "type": "tool_use",
            "name": DRAFT_TOOL_NAME,
            "input": {"text": text, "hashtags": tags},
        }
        return {"content": [block], "usage": {"input_tokens": tokens, "output_tokens": tokens}}

    fake.reply(answer("word " * 30, [], 100))
    fake.reply(answer("Short and sweet.", ["news"], 10))

    draft = await drafter.draft(request(max_chars=100))

    assert draft.compose() == "Short and sweet.\n\n#news"
    assert len(fake.requests) == 2
    retry = fake.requests[1]["messages"]
    assert [m["role"] for m in retry] == ["user", "assistant", "user"]
    [result] = retry[2]["content"]
    assert result["type"] == "tool_result" and result["is_error"] is True
    assert result["tool_use_id"] == retry[1]["content"][0]["id"]
    assert "limit is 100" in result["content"]
    assert (draft.input_tokens, draft.output_tokens) == (110, 110)  # both calls counted


async def test_too_long_twice_is_a_bad_answer(
    fake: FakeAnthropic, drafter: AnthropicDrafter
) -> None:
    fake.reply_tool({"text": "x" * 200})
    fake.reply_tool({"text": "y" * 200})

    with pytest.raises(AIBadAnswer) as caught:
        await drafter.draft(request(max_chars=100))

    assert caught.value.retryable
    assert "100" in caught.value.user_message
    assert len(fake.requests) == 2


async def test_hashtags_count_towards_the_limit(
    fake: FakeAnthropic, drafter: AnthropicDrafter
) -> None:
    fake.reply_tool({"text": "a" * 90, "hashtags": ["longhashtag"]})  # 90 + 2 + 12 = 104
    fake.reply_tool({"text": "a" * 90})
    draft = await drafter.draft(request(max_chars=100))
    assert draft.length() == 90
    assert len(fake.requests) == 2


async def test_text_only_answer_is_a_bad_answer(
    fake: FakeAnthropic, drafter: AnthropicDrafter
) -> None:
    fake.reply_text("Sure! Here is your post: Dark mode is here.")
    with pytest.raises(AIBadAnswer, match="expected a submit_draft tool call, got text"):
        await drafter.draft(request())


@pytest.mark.parametrize(
    "tool_input",
    [
        {"hashtags": ["x"]},  # no text
        {"text": 42},
        {"text": "   "},
        {"text": "ok", "hashtags": "not-a-list"},
    ],
)
async def test_invalid_tool_input_is_a_bad_answer(
    fake: FakeAnthropic, drafter: AnthropicDrafter, tool_input: dict[str, object]
) -> None:
    fake.reply_tool(tool_input)
    with pytest.raises(AIBadAnswer, match="invalid submit_draft input") as caught:
        await drafter.draft(request())
    assert caught.value.__cause__ is not None


async def test_wrong_tool_name_is_a_bad_answer(
    fake: FakeAnthropic, drafter: AnthropicDrafter
) -> None:
    fake.reply_tool({"text": "hi"}, name="something_else")
    with pytest.raises(AIBadAnswer):
        await drafter.draft(request())


async def test_cut_off_answer_is_a_bad_answer(
    fake: FakeAnthropic, drafter: AnthropicDrafter
) -> None:
    fake.reply(
        {
            "content": [{"type": "tool_use", "name": DRAFT_TOOL_NAME, "input": {"text": "Da"}}],
            "stop_reason": "max_tokens",
        }
    )
    with pytest.raises(AIBadAnswer, match="max_tokens"):
        await drafter.draft(request())


async def test_refusal_is_a_bad_answer_not_worth_retrying(
    fake: FakeAnthropic, drafter: AnthropicDrafter
) -> None:
    fake.reply({"content": [], "stop_reason": "refusal"})
    with pytest.raises(AIBadAnswer) as caught:
        await drafter.draft(request())
    assert not caught.value.retryable
    assert "declined" in caught.value.user_message


@pytest.mark.parametrize(
    ("status", "error_type", "expected", "retryable"),
    [
        (401, "authentication_error", AIAuthError, False),
        (403, "permission_error", AIAuthError, False),
        (400, "invalid_request_error", AIRequestRejected, False),
        (404, "not_found_error", AIRequestRejected, False),
        (429, "rate_limit_error", AIRateLimited, True),
        (529, "overloaded_error", AIOverloaded, True),
        (500, "api_error", AIUnavailable, True),
        (503, "api_error", AIUnavailable, True),
    ],
)
async def test_status_errors_are_mapped(
    fake: FakeAnthropic,
    drafter: AnthropicDrafter,
    status: int,
    error_type: str,
    expected: type[AIError],
    retryable: bool,
) -> None:
    fake.fail(status, error_type, "simulated")

    with pytest.raises(expected) as caught:
        await drafter.draft(request())

    error = caught.value
    assert type(error) is expected
    assert error.retryable is retryable
    assert error.user_message
    assert error.request_id and error.request_id.startswith("req_")
    assert str(status) in str(error)
    assert type(error.__cause__).__module__.startswith("anthropic")
    assert KEY not in str(error) and KEY not in error.user_message and KEY not in repr(error)


async def test_rate_limit_carries_retry_after(
    fake: FakeAnthropic, drafter: AnthropicDrafter
) -> None:
    fake.fail(
        429, "rate_limit_error", "Number of requests has exceeded your rate limit", retry_after=30
    )

    with pytest.raises(AIRateLimited) as caught:
        await drafter.draft(request())

    assert caught.value.retry_after == 30.0
    assert "30 seconds" in caught.value.user_message


async def test_wrong_key_is_an_auth_error_without_the_key(fake: FakeAnthropic) -> None:
    wrong = "sk-ant-wrong-key-abcdef"
    client = AnthropicDrafter(wrong, MODEL, base_url=fake.base_url, max_retries=0)
    try:
        with pytest.raises(AIAuthError) as caught:
            await client.draft(request())
    finally:
        await client.aclose()
    error = caught.value
    assert "ANTHROPIC_API_KEY" in error.user_message
    for text in (str(error), error.user_message, repr(error), repr(client)):
        assert wrong not in text


async def test_timeout_is_mapped(fake: FakeAnthropic) -> None:
    client = AnthropicDrafter(KEY, MODEL, base_url=fake.base_url, timeout=0.2, max_retries=0)
    fake.delay(5)
    try:
        with pytest.raises(AITimeout) as caught:
            await client.draft(request())
    finally:
        await client.aclose()
    assert caught.value.retryable


async def test_connection_refused_is_unavailable() -> None:
    async with FakeAnthropic() as server:
        base_url = server.base_url  # closed again: nothing listens there now
    client = AnthropicDrafter(KEY, MODEL, base_url=base_url, timeout=2.0, max_retries=0)
    try:
        with pytest.raises(AIUnavailable):
            await client.draft(request())
    finally:
        await client.aclose()


async def test_sdk_retries_are_left_to_the_sdk(fake: FakeAnthropic) -> None:
    """With max_retries=1 a single 529 is absorbed by the SDK's own retry."""
    client = AnthropicDrafter(KEY, MODEL, base_url=fake.base_url, max_retries=1)
    fake.fail(529, "overloaded_error", retry_after=0)
    fake.reply_tool({"text": "Made it."})
    try:
        draft = await client.draft(request())
    finally:
        await client.aclose()
    assert draft.text == "Made it."
    assert fake.calls.count("POST /v1/messages") == 2


async def test_unknown_model_is_rejected_with_a_hint(fake: FakeAnthropic) -> None:
    client = AnthropicDrafter(KEY, "claude-nonexistent-9", base_url=fake.base_url, max_retries=0)
    try:
        with pytest.raises(AIRequestRejected) as caught:
            await client.draft(request())
    finally:
        await client.aclose()
    assert "model" in caught.value.user_message


async def test_check_ok(fake: FakeAnthropic, drafter: AnthropicDrafter) -> None:
    line = await drafter.check()
    assert MODEL in line and "key accepted" in line
    assert "\n" not in line
    assert fake.calls == [f"GET /v1/models/{MODEL}"]


async def test_check_bad_key(fake: FakeAnthropic) -> None:
    client = AnthropicDrafter("sk-ant-revoked", MODEL, base_url=fake.base_url, max_retries=0)
    try:
        with pytest.raises(AIAuthError) as caught:
            await client.check()
    finally:
        await client.aclose()
    assert "sk-ant-revoked" not in str(caught.value)


async def test_check_maps_server_errors(fake: FakeAnthropic, drafter: AnthropicDrafter) -> None:
    fake.fail(529, "overloaded_error")
    with pytest.raises(AIOverloaded):
        await drafter.check()


async def test_make_drafter_picks_by_key(
    fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
    assert isinstance(make_drafter(None, MODEL), OfflineDrafter)
    assert isinstance(make_drafter("   ", MODEL), OfflineDrafter)

    client = make_drafter(KEY, MODEL, max_retries=0)  # base_url from ANTHROPIC_BASE_URL
    try:
        assert isinstance(client, AnthropicDrafter)
        assert KEY not in repr(client)
        assert "key accepted" in await client.check()
    finally:
        await client.aclose()
