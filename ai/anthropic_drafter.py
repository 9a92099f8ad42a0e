"""Drafts with Claude through the Anthropic Messages API.

Structured output goes through tool use: the request offers one tool, ``submit_draft``, whose
input schema comes from :class:`DraftAnswer`, and forces it with ``tool_choice``. The tool input
is then validated with pydantic, so a draft either arrives as clean fields or fails loudly as
:class:`~ai.errors.AIBadAnswer`, never as half-parsed prose.

Length policy: a draft whose composed post (text plus hashtag line) is over
``request.max_chars`` is sent back once, as an ``is_error`` tool result saying how long it was;
if the second answer is still too long, :class:`~ai.errors.AIBadAnswer` is raised. Token usage of
both calls is added up on the returned :class:`~ai.models.Draft`.

Every SDK exception is mapped at this boundary by :func:`ai.errors.map_sdk_error`. The SDK
retries 408/409/429/5xx/connection errors itself (``max_retries``, honouring ``retry-after``), so
what reaches us has already been retried.
"""

from __future__ import annotations

from typing import Any, cast

import anthropic
import httpx2
from pydantic import BaseModel, Field, ValidationError

from ai.errors import AIBadAnswer, map_sdk_error
from ai.models import Draft, DraftRequest, ToolAnswer
from ai.prompts import (
    DRAFT_TOOL_NAME,
    build_system_prompt,
    build_user_message,
    too_long_feedback,
)
from publishers.blank import is_blank

# Room for the JSON around the post and for scripts that take more than one token per character.
_TOKEN_OVERHEAD = 512
_MAX_TOKENS_CAP = 16_000


class VariantAnswer(BaseModel):
    platform: str = Field(description="The platform key exactly as listed in <targets>.")
    text: str = Field(description="The post for that platform, hashtags inline if wanted.")


class DraftAnswer(BaseModel):
    """The ``submit_draft`` tool input: what Claude must hand back."""

    text: str = Field(
        description="The post itself: plain text, no HTML or Markdown, no hashtags.",
    )
    hashtags: list[str] = Field(
        default_factory=list,
        description='0 to 3 hashtags without \'#\', e.g. ["release", "darkmode"].',
    )
    variants: list[VariantAnswer] = Field(
        default_factory=list,
        description="One adapted version per platform listed in <targets>, if any.",
    )


def draft_tool(max_chars: int) -> dict[str, Any]:
    """The tool definition sent with every request; the schema carries the length limit."""
    schema = DraftAnswer.model_json_schema()
    schema["properties"]["text"]["maxLength"] = max_chars
    return {
        "name": DRAFT_TOOL_NAME,
        "description": (
            "Submit the finished post for the owner to review. Call exactly once with the"
            f" complete post; text plus hashtags must fit in {max_chars} characters."
        ),
        "input_schema": schema,
    }


def max_tokens_for(max_chars: int) -> int:
    return min(_MAX_TOKENS_CAP, max_chars + _TOKEN_OVERHEAD)


class AnthropicDrafter:
    """:class:`~ai.drafter.Drafter` backed by Claude.

    ``base_url=None`` lets the SDK use ``ANTHROPIC_BASE_URL`` or the public API. ``http_client``
    (an ``httpx2.AsyncClient``) may be injected; it is then the caller's to close.
    """

    def __init__(
        self,
        api_key: str,
        model: str,
        *,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("AnthropicDrafter needs an API key; use OfflineDrafter without one")
        self.model = model
        self._api_key = api_key
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
        )

    def __repr__(self) -> str:  # never show the key
        return f"AnthropicDrafter(model={self.model!r}, base_url={str(self._client.base_url)!r})"

    async def draft(self, request: DraftRequest) -> Draft:
        system = build_system_prompt(request)
        tool = draft_tool(request.max_chars)
        messages: list[dict[str, Any]] = [{"role": "user", "content": build_user_message(request)}]
        input_tokens = output_tokens = 0
        for attempt in range(2):
            message = await self._forced(system, tool, messages, max_tokens_for(request.max_chars))
            input_tokens += message.usage.input_tokens
            output_tokens += message.usage.output_tokens
            block = _tool_use(message, DRAFT_TOOL_NAME)
            draft = _validate(block.input, message.model, request_id=_request_id(message))
            draft = draft.model_copy(
                update={"input_tokens": input_tokens, "output_tokens": output_tokens}
            )
            length = draft.length()
            if length <= request.max_chars:
                return draft
            if attempt == 0:
                messages += [
                    {"role": "assistant", "content": [_tool_use_param(block)]},
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": block.id,
                                "is_error": True,
                                "content": too_long_feedback(length, request.max_chars),
                            }
                        ],
                    },
                ]
        raise AIBadAnswer(
            f"draft is {length} characters after a retry; the limit is {request.max_chars}",
            user_message=(
                f"Claude's draft was longer than {request.max_chars} characters twice."
                " Try again, or ask for a shorter post."
            ),
        )

    async def check(self) -> str:
        """Fetch the configured model's card: proves the key works and the model name exists."""
        try:
            info = await self._client.models.retrieve(self.model)
        except anthropic.AnthropicError as exc:
            raise map_sdk_error(exc, api_key=self._api_key) from exc
        note = f", {info.lifecycle}" if getattr(info, "lifecycle", "active") != "active" else ""
        return f"Anthropic API: key accepted, model {info.id} ({info.display_name}{note})"

    async def aclose(self) -> None:
        await self._client.close()

    async def _forced(
        self, system: str, tool: dict[str, Any], messages: list[dict[str, Any]], max_tokens: int
    ) -> anthropic.types.Message:
        """One Messages call that must answer with `tool`; SDK errors mapped."""
        try:
            return await self._client.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                system=system,
                # Plain dicts in the documented wire shape; the SDK's TypedDicts add nothing here.
                messages=cast(Any, messages),
                tools=cast(Any, [tool]),
                tool_choice={"type": "tool", "name": tool["name"]},
            )
        except anthropic.AnthropicError as exc:
            raise map_sdk_error(exc, api_key=self._api_key) from exc

    async def call_tool(
        self, *, system: str, messages: list[dict[str, Any]], tool: dict[str, Any], max_tokens: int
    ) -> ToolAnswer:
        """One forced call of `tool` for other structured answers than a draft (a /plan):
        its input unvalidated (the caller validates), or AIBadAnswer when there is none."""
        message = await self._forced(system, tool, messages, max_tokens)
        block = _tool_use(message, tool["name"])
        return ToolAnswer(
            input=block.input,
            tool_use_id=block.id,
            model=message.model,
            input_tokens=message.usage.input_tokens,
            output_tokens=message.usage.output_tokens,
        )


def _request_id(message: anthropic.types.Message) -> str | None:
    return getattr(message, "_request_id", None)


def _tool_use(message: anthropic.types.Message, name: str) -> Any:
    """The block calling tool ``name`` in the answer, or AIBadAnswer saying why there is none."""
    request_id = _request_id(message)
    if message.stop_reason == "refusal":
        raise AIBadAnswer(
            f"model refused (stop_reason=refusal, message {message.id})",
            user_message="Claude declined to write this post. Rephrase the brief and try again.",
            retryable=False,
            request_id=request_id,
        )
    if message.stop_reason == "max_tokens":
        raise AIBadAnswer(
            f"answer cut off at max_tokens (message {message.id})", request_id=request_id
        )
    for block in message.content:
        if block.type == "tool_use" and block.name == name:
            return block
    kinds = ", ".join(block.type for block in message.content) or "nothing"
    raise AIBadAnswer(
        f"expected a {name} tool call, got {kinds} (message {message.id})",
        request_id=request_id,
    )


def _validate(tool_input: object, model: str, *, request_id: str | None) -> Draft:
    try:
        answer = DraftAnswer.model_validate(tool_input)
        return Draft(
            text=answer.text,
            hashtags=answer.hashtags,
            model=model,
            variants={v.platform: v.text for v in answer.variants if not is_blank(v.text)},
        )
    except ValidationError as exc:
        # Field names and error kinds only: the input is model output, not secret, but long.
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'input'}: {err['msg']}" for err in exc.errors()
        )
        raise AIBadAnswer(
            f"invalid {DRAFT_TOOL_NAME} input: {problems}", request_id=request_id
        ) from exc


def _tool_use_param(block: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
