"""Errors a drafter raises, and the one place SDK errors are translated into them.

Handlers catch :class:`AIError` and show ``exc.user_message`` to the owner; ``str(exc)`` is the
technical detail for logs. ``retryable`` says whether trying the same request again later can
succeed (the UI offers "try again" only then). No message ever contains the API key: the
boundary scrubs it from everything it copies out of an SDK error.

    AIError                      .user_message, .retryable, .request_id
    ├── AIAuthError              401/403: bad or revoked key                  not retryable
    ├── AIRequestRejected        other 4xx: unknown model, request refused    not retryable
    ├── AIRateLimited            429, .retry_after seconds (or None)          retryable
    ├── AIOverloaded             529: Anthropic is overloaded                 retryable
    ├── AITimeout                no answer within the client timeout         retryable
    ├── AIUnavailable            5xx or no connection                         retryable
    └── AIBadAnswer              answer is not a usable draft                 retryable

Anthropic SDK exceptions are mapped by :func:`map_sdk_error` and raised ``from`` the original,
so the traceback keeps the SDK detail while callers depend only on this module.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import anthropic


class AIError(Exception):
    """Base of every drafting failure. ``str()`` is for logs, ``user_message`` for the chat."""

    user_message: str = "Drafting failed. Try again in a moment."
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        user_message: str | None = None,
        retryable: bool | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        if user_message is not None:
            self.user_message = user_message
        if retryable is not None:
            self.retryable = retryable
        self.request_id = request_id


class AIAuthError(AIError):
    user_message = (
        "Claude rejected the API key. Check ANTHROPIC_API_KEY (it may be mistyped or revoked) "
        "and restart Nexus."
    )
    retryable = False


class AIRequestRejected(AIError):
    user_message = (
        "Claude refused the request. Check the model name in the settings; "
        "if it looks right, try a shorter brief."
    )
    retryable = False


class AIRateLimited(AIError):
    user_message = "Claude's rate limit was reached. Try again in a minute."
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        user_message: str | None = None,
        request_id: str | None = None,
    ) -> None:
        if user_message is None and retry_after is not None:
            wait = max(1, round(retry_after))
            user_message = (
                f"Claude's rate limit was reached. Try again in {wait} second{'s' * (wait != 1)}."
            )
        super().__init__(message, user_message=user_message, request_id=request_id)
        self.retry_after = retry_after


class AIOverloaded(AIError):
    user_message = "Claude is overloaded right now. Try again in a few minutes."
    retryable = True


class AITimeout(AIError):
    user_message = "Claude took too long to answer. Try again."
    retryable = True


class AIUnavailable(AIError):
    user_message = "Couldn't reach Claude (network or server error). Try again in a few minutes."
    retryable = True


class AIBadAnswer(AIError):
    user_message = "Claude's answer couldn't be used as a draft. Tap regenerate to try again."
    retryable = True


def redact(text: str, secret: str | None) -> str:
    """Replace every occurrence of ``secret`` in ``text`` (a belt-and-braces key scrub)."""
    if secret:
        text = text.replace(secret, "***")
    return text


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def map_sdk_error(exc: anthropic.AnthropicError, *, api_key: str | None = None) -> AIError:
    """Translate an Anthropic SDK exception into our hierarchy (the caller raises it ``from``).

    Order matters: ``APITimeoutError`` is a subclass of ``APIConnectionError`` and
    ``OverloadedError`` of ``InternalServerError``.
    """
    import anthropic  # only a process that talks to Claude has the SDK loaded (tens of MB)

    detail = redact(f"{type(exc).__name__}: {exc}", api_key)
    if isinstance(exc, anthropic.APIStatusError):
        request_id = exc.request_id
        detail = redact(
            f"Anthropic API {exc.status_code} {exc.type or ''}: {exc.api_message or exc}",
            api_key,
        )
        if request_id:
            detail += f" (request-id {request_id})"
        if isinstance(exc, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
            return AIAuthError(detail, request_id=request_id)
        if isinstance(exc, anthropic.RateLimitError):
            retry_after = parse_retry_after(exc.response.headers)
            return AIRateLimited(detail, retry_after=retry_after, request_id=request_id)
        if isinstance(exc, anthropic.OverloadedError):
            return AIOverloaded(detail, request_id=request_id)
        if exc.status_code >= 500:
            return AIUnavailable(detail, request_id=request_id)
        if exc.status_code == 404:
            return AIRequestRejected(
                detail,
                user_message=(
                    "Claude doesn't know the configured model. Check the model name "
                    "(for example claude-sonnet-4-6) in the settings."
                ),
                request_id=request_id,
            )
        return AIRequestRejected(detail, request_id=request_id)
    if isinstance(exc, anthropic.APITimeoutError):
        return AITimeout(detail)
    if isinstance(exc, anthropic.APIConnectionError):
        return AIUnavailable(detail)
    if isinstance(exc, anthropic.APIResponseValidationError):
        return AIBadAnswer(detail)
    return AIError(detail)
