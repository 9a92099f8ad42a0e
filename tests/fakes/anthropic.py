"""A loopback Anthropic API (Messages + Models) for tests, on 127.0.0.1 and a random port.

The real ``anthropic`` SDK talks to it over HTTP (it uses httpx2, which respx cannot intercept),
so tests exercise the SDK's own request building, response parsing and error classes.

    async with FakeAnthropic() as ai:
        drafter = AnthropicDrafter(ai.api_key, "claude-sonnet-4-6", base_url=ai.base_url,
                                   max_retries=0)
        ai.reply_tool({"text": "Hello", "hashtags": []})   # next POST /v1/messages answer
        ai.fail(529, "overloaded_error")                    # the one after that
        ...
        ai.requests[-1]["system"]                           # what the SDK sent

Wire format follows the real API: the key (``x-api-key``, or ``Authorization: Bearer`` as SDK 2.x
sends it) and ``anthropic-version`` are required,
bodies are validated (model, max_tokens, non-empty alternating messages starting with ``user``,
``tool_result`` answering the previous ``tool_use``, a forced tool that exists), every response
has a ``request-id`` header, errors are ``{"type": "error", "error": {"type", "message"}}``.
Model names are the ones the installed SDK knows (unknown ones get 404 ``not_found_error``);
pass ``models=[...]`` to change that.

Queued answers (``reply_text``, ``reply_tool``, ``fail``) are consumed in order by
``POST /v1/messages``; a queued failure at the head of the queue is also consumed by the
``/v1/models`` endpoints, so ``check()`` can be failed the same way. ``delay`` holds the next
requests of either kind. When nothing is queued, ``responder(body)`` (or the default responder)
answers; it returns a partial message dict, e.g. ``{"content": [{"type": "text", "text": "hi"}]}``,
and missing fields (id, model, stop_reason, usage, ...) are filled in.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import typing
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from anthropic.types.model_param import ModelParam

ANTHROPIC_VERSION = "2023-06-01"
_DEFAULT_MODELS: tuple[str, ...] = typing.get_args(typing.get_args(ModelParam)[0])
_CREATED_AT = "2025-01-01T00:00:00Z"


@dataclass
class _Reply:
    message: dict[str, Any]
    name_from_request: bool = False


@dataclass
class _Failure:
    status: int
    error_type: str
    message: str
    retry_after: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


class _BadRequest(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


class FakeAnthropic:
    def __init__(self, api_key: str = "sk-ant-test-key", *, models: list[str] | None = None):
        self.api_key = api_key
        self.models: list[str] = list(models if models is not None else _DEFAULT_MODELS)
        self.requests: list[dict[str, Any]] = []  # JSON bodies of POST /v1/messages
        self.calls: list[str] = []  # "POST /v1/messages", "GET /v1/models", ... in order
        self.headers: list[dict[str, str]] = []  # request headers, parallel to calls
        self.responder: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.base_url = ""
        self._queue: deque[_Reply | _Failure] = deque()
        self._delays: deque[float] = deque()
        self._gates: deque[asyncio.Event] = deque()
        #: Requests being held by ``hold`` right now.
        self.holding = 0
        self._ids = itertools.count(1)
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> FakeAnthropic:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_get("/v1/models", self._list_models)
        app.router.add_get("/v1/models/{model_id}", self._get_model)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        try:
            await web.SockSite(self._runner, sock).start()
        except BaseException:
            sock.close()
            raise
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def close(self) -> None:
        self._closing.set()  # wake delayed handlers so shutdown does not wait for them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeAnthropic:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ----------------------------------------------------------------- scripting

    def reply_text(self, text: str) -> None:
        """Next answer: one text block, ``stop_reason="end_turn"``."""
        self._queue.append(
            _Reply({"content": [{"type": "text", "text": text}], "stop_reason": "end_turn"})
        )

    def reply_tool(self, input: dict[str, Any], name: str | None = None) -> None:  # noqa: A002
        """Next answer: one tool_use block; ``name`` defaults to the tool the request forces."""
        block = {"type": "tool_use", "id": "", "name": name or "", "input": input}
        self._queue.append(
            _Reply({"content": [block], "stop_reason": "tool_use"}, name_from_request=not name)
        )

    def reply(self, message: dict[str, Any]) -> None:
        """Next answer: a partial message dict (e.g. a custom ``stop_reason`` or usage)."""
        self._queue.append(_Reply(message))

    def fail(
        self,
        status: int,
        error_type: str,
        message: str = "Simulated failure from FakeAnthropic",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Next ``times`` requests fail: 401 authentication_error, 429 rate_limit_error,
        529 overloaded_error, 500 api_error, 404 not_found_error, ..."""
        for _ in range(times):
            self._queue.append(_Failure(status, error_type, message, retry_after))

    def delay(self, seconds: float, times: int = 1) -> None:
        """Hold the next ``times`` requests (any endpoint) for ``seconds`` before answering."""
        self._delays.extend([seconds] * times)

    def hold(self, times: int = 1) -> asyncio.Event:
        """Hold the next ``times`` requests (any endpoint) until the returned event is set (or
        the server closes): Claude "thinking" for exactly as long as a test needs, no sleeps.
        ``holding`` counts the requests waiting at the gate."""
        gate = asyncio.Event()
        self._gates.extend([gate] * times)
        return gate

    @property
    def last_request(self) -> dict[str, Any]:
        return self.requests[-1]

    @property
    def pending(self) -> int:
        """Queued answers not consumed yet (assert 0 at the end of a scripted test)."""
        return len(self._queue)

    # ----------------------------------------------------------------- handlers

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        early = await self._preamble(request)
        if early is not None:
            return early
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._error(400, "invalid_request_error", "The request body is not valid JSON")
        if isinstance(body, dict):
            self.requests.append(body)
        try:
            forced = _validate_messages_body(body, self.models)
        except _BadRequest as exc:
            return self._error(exc.status, exc.error_type, exc.message)
        if self._queue:
            item = self._queue.popleft()
            if isinstance(item, _Failure):
                return self._failure(item)
            message = json.loads(json.dumps(item.message))
            if item.name_from_request:
                tools = body.get("tools") or []
                fallback = tools[0].get("name", "tool") if tools else "tool"
                for block in message["content"]:
                    if block.get("type") == "tool_use" and not block.get("name"):
                        block["name"] = forced or fallback
        else:
            message = (self.responder or default_responder)(body)
        return self._json(self._complete(message, body))

    async def _list_models(self, request: web.Request) -> web.StreamResponse:
        early = await self._preamble(request, models=True)
        if early is not None:
            return early
        ids = list(self.models)
        try:
            limit = int(request.query.get("limit", "20"))
        except ValueError:
            return self._error(400, "invalid_request_error", "limit: must be an integer")
        if not 1 <= limit <= 1000:
            return self._error(400, "invalid_request_error", "limit: must be between 1 and 1000")
        after, before = request.query.get("after_id"), request.query.get("before_id")
        if after in ids:
            page = ids[ids.index(after) + 1 :][:limit]
            has_more = ids.index(after) + 1 + limit < len(ids)
        elif before in ids:
            start = max(0, ids.index(before) - limit)
            page = ids[start : ids.index(before)]
            has_more = start > 0
        else:
            page, has_more = ids[:limit], limit < len(ids)
        return self._json(
            {
                "data": [_model_info(model_id) for model_id in page],
                "has_more": has_more,
                "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None,
            }
        )

    async def _get_model(self, request: web.Request) -> web.StreamResponse:
        early = await self._preamble(request, models=True)
        if early is not None:
            return early
        model_id = request.match_info["model_id"]
        if model_id not in self.models:
            return self._error(404, "not_found_error", f"model: {model_id}")
        return self._json(_model_info(model_id))

    # ----------------------------------------------------------------- helpers

    async def _preamble(
        self, request: web.Request, *, models: bool = False
    ) -> web.StreamResponse | None:
        """Record the call, apply a delay, check the headers; a response means stop here."""
        self.calls.append(f"{request.method} {request.path}")
        self.headers.append(dict(request.headers))
        if self._gates:
            gate = self._gates.popleft()
            self.holding += 1
            waiters = [
                asyncio.ensure_future(gate.wait()),
                asyncio.ensure_future(self._closing.wait()),
            ]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
                self.holding -= 1
        if self._delays:
            seconds = self._delays.popleft()
            try:
                await asyncio.wait_for(self._closing.wait(), seconds)
            except TimeoutError:
                pass
        if not self._authorized(request):
            return self._error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return self._error(
                400, "invalid_request_error", "anthropic-version: header is required"
            )
        if models and self._queue and isinstance(self._queue[0], _Failure):
            return self._failure(self._queue.popleft())  # type: ignore[arg-type]
        return None

    def _authorized(self, request: web.Request) -> bool:
        # The API takes the key as ``x-api-key``; SDK 2.x sends ``Authorization: Bearer <key>``.
        return request.headers.get("x-api-key") == self.api_key or (
            request.headers.get("authorization") == f"Bearer {self.api_key}"
        )

    def _complete(self, message: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        n = next(self._ids)
        content = message.get("content", [])
        for i, block in enumerate(content):
            if block.get("type") == "tool_use" and not block.get("id"):
                block["id"] = f"toolu_fake{n:06d}{i:02d}"
        has_tool = any(block.get("type") == "tool_use" for block in content)
        usage = {
            "input_tokens": _estimate_tokens(body.get("system"), body.get("messages")),
            "output_tokens": _estimate_tokens(content),
        }
        usage.update(message.get("usage", {}))
        return {
            "id": message.get("id", f"msg_fake{n:08d}"),
            "type": "message",
            "role": "assistant",
            "model": message.get("model", body["model"]),
            "content": content,
            "stop_reason": message.get("stop_reason", "tool_use" if has_tool else "end_turn"),
            "stop_sequence": message.get("stop_sequence"),
            "usage": usage,
        }

    def _request_id(self) -> str:
        return f"req_fake{next(self._ids):010d}"

    def _json(self, payload: dict[str, Any], status: int = 200, **headers: str) -> web.Response:
        return web.json_response(
            payload, status=status, headers={"request-id": self._request_id(), **headers}
        )

    def _error(self, status: int, error_type: str, message: str, **headers: str) -> web.Response:
        payload = {"type": "error", "error": {"type": error_type, "message": message}}
        return self._json(payload, status, **headers)

    def _failure(self, failure: _Failure) -> web.Response:
        headers = dict(failure.headers)
        if failure.retry_after is not None:
            headers["retry-after"] = str(failure.retry_after)
        return self._error(failure.status, failure.error_type, failure.message, **headers)


def default_responder(body: dict[str, Any]) -> dict[str, Any]:
    """Echo answer: a forced tool gets ``{"text": "Draft: <last user text>", "hashtags": []}``."""
    text = " ".join(_last_user_text(body.get("messages", [])).split())[:200].strip()
    forced = _forced_tool(body)
    if forced:
        block = {
            "type": "tool_use",
            "name": forced,
            "input": {"text": f"Draft: {text}", "hashtags": []},
        }
        return {"content": [block], "stop_reason": "tool_use"}
    return {"content": [{"type": "text", "text": f"Draft: {text}"}], "stop_reason": "end_turn"}


def _forced_tool(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool":
        return choice.get("name")
    return None


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or []:
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            parts.append(_content_text(block.get("content")))
    return "\n".join(parts)


def _estimate_tokens(*parts: Any) -> int:
    """A stable stand-in for token counts: about four characters of JSON per token."""
    return max(1, len(json.dumps(parts, ensure_ascii=False)) // 4)


def _model_info(model_id: str) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": _display_name(model_id),
        "created_at": _CREATED_AT,
        "lifecycle": "active",
    }


def _display_name(model_id: str) -> str:
    """``claude-sonnet-4-6`` -> ``Claude Sonnet 4.6`` (date suffixes dropped)."""
    words, version = [], []
    for part in model_id.split("-"):
        if part.isdigit() and len(part) <= 2:
            version.append(part)
        elif not part.isdigit():
            words.append(part.capitalize())
    return " ".join([*words, ".".join(version)] if version else words)


def _validate_messages_body(body: Any, models: list[str]) -> str | None:
    """Raise _BadRequest like the real API would; return the forced tool name, if any."""

    def bad(message: str) -> _BadRequest:
        return _BadRequest(400, "invalid_request_error", message)

    if not isinstance(body, dict):
        raise bad("The request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad("model: Field required")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0:
        raise bad("max_tokens: Field required (a non-negative integer)")
    if body.get("stream"):
        raise bad("stream: FakeAnthropic does not support streaming")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad("messages: at least one message is required")
    pending_tool_ids: set[str] = set()
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise bad(f"messages.{i}: must be an object")
        role = message.get("role")
        expected = "user" if i % 2 == 0 else "assistant"
        if role not in ("user", "assistant"):
            raise bad(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if role != expected:
            raise bad(
                f"messages.{i}.role: roles must alternate between 'user' and 'assistant',"
                " starting with 'user'"
            )
        content = message.get("content")
        if isinstance(content, str):
            blocks: list[dict[str, Any]] = [{"type": "text", "text": content}]
        elif isinstance(content, list) and content and all(isinstance(b, dict) for b in content):
            blocks = content
        else:
            raise bad(f"messages.{i}.content: must be a non-empty string or list of blocks")
        if any(b.get("type") == "text" and not str(b.get("text", "")).strip() for b in blocks):
            raise bad(f"messages.{i}: text content blocks must contain non-whitespace text")
        result_ids = {str(b.get("tool_use_id")) for b in blocks if b.get("type") == "tool_result"}
        if role == "user":
            missing = pending_tool_ids - result_ids
            if missing:
                raise bad(
                    f"messages.{i}: tool_use ids were found without tool_result blocks"
                    f" immediately after: {', '.join(sorted(missing))}"
                )
            unexpected = result_ids - pending_tool_ids
            if unexpected:
                raise bad(
                    f"messages.{i}.content: unexpected tool_use_id found in tool_result blocks:"
                    f" {', '.join(sorted(unexpected))}"
                )
            pending_tool_ids = set()
        else:
            pending_tool_ids = {str(b.get("id")) for b in blocks if b.get("type") == "tool_use"}
    if messages[-1].get("role") == "assistant" and pending_tool_ids:
        raise bad("messages: the final assistant message has tool_use blocks without results")
    tools = body.get("tools") or []
    names = {t.get("name") for t in tools if isinstance(t, dict)}
    for j, tool in enumerate(tools):
        if not isinstance(tool, dict) or not tool.get("name"):
            raise bad(f"tools.{j}.name: Field required")
        if tool.get("type") in (None, "custom") and not isinstance(tool.get("input_schema"), dict):
            raise bad(f"tools.{j}.input_schema: Field required")
    forced = _forced_tool(body)
    if forced is not None and forced not in names:
        raise bad(f"tool_choice: tool '{forced}' not found in tools")
    if model not in models:
        raise _BadRequest(404, "not_found_error", f"model: {model}")
    return forced
