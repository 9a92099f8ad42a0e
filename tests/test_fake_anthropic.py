"""The loopback Anthropic API speaks the real wire format (checked with plain httpx)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.fakes.anthropic import FakeAnthropic

MODEL = "claude-sonnet-4-6"


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as server:
        yield server


@pytest.fixture
async def http(fake: FakeAnthropic) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"x-api-key": fake.api_key, "anthropic-version": "2023-06-01"}
    async with httpx.AsyncClient(base_url=fake.base_url, headers=headers) as client:
        yield client


def body(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Hello there"}],
    }
    payload.update(overrides)
    return payload


async def test_base_url_is_loopback(fake: FakeAnthropic) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:")


async def test_default_text_answer(fake: FakeAnthropic, http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/messages", json=body())
    assert response.status_code == 200
    assert response.headers["request-id"].startswith("req_")
    message = response.json()
    assert message["id"].startswith("msg_")
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["model"] == MODEL
    assert message["content"] == [{"type": "text", "text": "Draft: Hello there"}]
    assert message["stop_reason"] == "end_turn" and message["stop_sequence"] is None
    assert message["usage"]["input_tokens"] > 0 and message["usage"]["output_tokens"] > 0
    assert fake.requests == [body()]


async def test_default_forced_tool_answer(http: httpx.AsyncClient) -> None:
    tools = [{"name": "submit_draft", "input_schema": {"type": "object"}}]
    response = await http.post(
        "/v1/messages",
        json=body(tools=tools, tool_choice={"type": "tool", "name": "submit_draft"}),
    )
    message = response.json()
    [block] = message["content"]
    assert block["type"] == "tool_use" and block["name"] == "submit_draft"
    assert block["id"].startswith("toolu_")
    assert block["input"] == {"text": "Draft: Hello there", "hashtags": []}
    assert message["stop_reason"] == "tool_use"


async def test_queue_is_consumed_in_order(fake: FakeAnthropic, http: httpx.AsyncClient) -> None:
    tools = [{"name": "submit_draft", "input_schema": {"type": "object"}}]
    forced = body(tools=tools, tool_choice={"type": "tool", "name": "submit_draft"})
    fake.reply_text("one")
    fake.fail(500, "api_error", "boom")
    fake.reply_tool({"text": "three"})
    first = (await http.post("/v1/messages", json=forced)).json()
    second = await http.post("/v1/messages", json=forced)
    third = (await http.post("/v1/messages", json=forced)).json()
    assert first["content"] == [{"type": "text", "text": "one"}]
    assert second.status_code == 500
    assert second.json() == {"type": "error", "error": {"type": "api_error", "message": "boom"}}
    assert third["content"][0]["name"] == "submit_draft"
    assert third["content"][0]["input"] == {"text": "three"}
    assert fake.pending == 0


async def test_custom_responder(fake: FakeAnthropic, http: httpx.AsyncClient) -> None:
    fake.responder = lambda req: {"content": [{"type": "text", "text": req["model"]}]}
    message = (await http.post("/v1/messages", json=body())).json()
    assert message["content"][0]["text"] == MODEL


async def test_auth_is_checked(fake: FakeAnthropic) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as client:
        versioned = {"anthropic-version": "2023-06-01"}
        wrong = await client.post(
            "/v1/messages", json=body(), headers={**versioned, "x-api-key": "nope"}
        )
        bearer = await client.post(
            "/v1/messages",
            json=body(),
            headers={**versioned, "authorization": f"Bearer {fake.api_key}"},
        )
        unversioned = await client.post(
            "/v1/messages", json=body(), headers={"x-api-key": fake.api_key}
        )
    assert wrong.status_code == 401
    assert wrong.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
    }
    assert bearer.status_code == 200
    assert unversioned.status_code == 400
    assert "anthropic-version" in unversioned.json()["error"]["message"]


@pytest.mark.parametrize(
    "bad",
    [
        {"model": None},
        {"max_tokens": None},
        {"max_tokens": "10"},
        {"messages": []},
        {"messages": [{"role": "assistant", "content": "hi"}]},
        {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]},
        {"messages": [{"role": "user", "content": ""}]},
        {"messages": [{"role": "system", "content": "x"}]},
        {"stream": True},
        {
            "tools": [{"name": "a", "input_schema": {}}],
            "tool_choice": {"type": "tool", "name": "b"},
        },
        {
            "messages": [
                {"role": "user", "content": "a"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t1", "name": "a", "input": {}}],
                },
                {"role": "user", "content": "no result"},
            ]
        },
    ],
)
async def test_invalid_requests_get_400(http: httpx.AsyncClient, bad: dict[str, Any]) -> None:
    payload = {k: v for k, v in body(**bad).items() if v is not None}
    response = await http.post("/v1/messages", json=payload)
    assert response.status_code == 400
    error = response.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"


async def test_tool_result_round_trip_is_valid(http: httpx.AsyncClient) -> None:
    messages = [
        {"role": "user", "content": "a"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "a", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "too long"}],
        },
    ]
    response = await http.post("/v1/messages", json=body(messages=messages))
    assert response.status_code == 200
    assert response.json()["content"][0]["text"] == "Draft: too long"


async def test_unknown_model_is_404(http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/messages", json=body(model="gpt-4"))
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


async def test_rate_limit_has_retry_after(fake: FakeAnthropic, http: httpx.AsyncClient) -> None:
    fake.fail(429, "rate_limit_error", retry_after=7, times=2)
    first = await http.post("/v1/messages", json=body())
    second = await http.post("/v1/messages", json=body())
    third = await http.post("/v1/messages", json=body())
    assert [first.status_code, second.status_code, third.status_code] == [429, 429, 200]
    assert first.headers["retry-after"] == "7"
    assert first.json()["error"]["type"] == "rate_limit_error"


async def test_models_listing_paginates(fake: FakeAnthropic, http: httpx.AsyncClient) -> None:
    fake.models = ["m1", "m2", "m3"]
    page = (await http.get("/v1/models", params={"limit": 2})).json()
    assert [m["id"] for m in page["data"]] == ["m1", "m2"]
    assert page["has_more"] is True and page["first_id"] == "m1" and page["last_id"] == "m2"
    assert page["data"][0]["type"] == "model" and page["data"][0]["display_name"]
    assert page["data"][0]["created_at"]
    rest = (await http.get("/v1/models", params={"limit": 2, "after_id": "m2"})).json()
    assert [m["id"] for m in rest["data"]] == ["m3"] and rest["has_more"] is False
    one = await http.get("/v1/models/m3")
    assert one.json()["id"] == "m3"
    assert (await http.get("/v1/models/nope")).status_code == 404


async def test_models_endpoints_consume_queued_failures_only(
    fake: FakeAnthropic, http: httpx.AsyncClient
) -> None:
    fake.fail(529, "overloaded_error")
    fake.reply_text("kept for messages")
    assert (await http.get("/v1/models")).status_code == 529
    assert (await http.get("/v1/models")).status_code == 200
    assert fake.pending == 1
    assert fake.calls == ["GET /v1/models", "GET /v1/models"]


async def test_delay_holds_the_answer_and_close_is_quick() -> None:
    fake = FakeAnthropic()
    await fake.start()
    fake.delay(0.2)
    headers = {"x-api-key": fake.api_key, "anthropic-version": "2023-06-01"}
    async with httpx.AsyncClient(base_url=fake.base_url, headers=headers) as client:
        started = time.monotonic()
        assert (await client.post("/v1/messages", json=body())).status_code == 200
        assert time.monotonic() - started >= 0.2
        fake.delay(30)
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/v1/messages", json=body(), timeout=0.1)
    started = time.monotonic()
    await fake.close()
    assert time.monotonic() - started < 2
