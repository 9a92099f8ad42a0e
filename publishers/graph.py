"""What Meta's Graph APIs (Threads, Instagram) share: their error format and media containers.

Both answer errors as ``{"error": {"message", "type", "code", "error_subcode"}}`` and both
publish in two steps: create a *container* (``image_url`` for pictures, which Meta's servers
download), wait until its status is ``FINISHED``, then publish it. The mapping of codes:

    190                           → AuthExpired   (token expired or revoked)
    4, 17, 32, 613 (+ subcodes)   → RateLimited   (Graph gives no reset time: a fixed wait)
    1, 2, or 5xx without a code   → Transient
    anything else                 → Permanent with Meta's own message

No reason ever contains the access token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

import httpx

from publishers.errors import AuthExpired, Permanent, PublishError, RateLimited, Transient
from publishers.http import parse_json, send

GRAPH_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
GRAPH_RATE_LIMIT_WAIT = 60.0


def graph_error(
    status: int,
    error: dict[str, Any] | None,
    *,
    platform: str,
    token: str,
    account: str,
    rate_limit_subcodes: Collection[int] = (),
    rate_limit_wait: float = GRAPH_RATE_LIMIT_WAIT,
) -> PublishError:
    """The :mod:`publishers.errors` exception for a Graph answer with HTTP ``status`` and
    ``error`` (the body's ``"error"`` object, or ``None`` when there is none)."""
    if error is None:
        if status == 401:
            return AuthExpired(f"{platform} rejected the access token: reconnect the account")
        if status == 429:
            return RateLimited(rate_limit_wait, f"{platform} asked to slow down")
        if status >= 500 or status < 400:
            return Transient(f"{platform} sent an unexpected answer (HTTP {status}); will retry")
        return Permanent(f"{platform} refused the request (HTTP {status})")
    code = _int(error.get("code"))
    subcode = _int(error.get("error_subcode"))
    message = str(error.get("error_user_msg") or error.get("message") or f"error {code}")
    if token:
        message = message.replace(token, "***")
    if code == 190:
        return AuthExpired(
            f"{platform} rejected the access token for {account}: reconnect the account"
        )
    if code in GRAPH_RATE_LIMIT_CODES or subcode in rate_limit_subcodes:
        wait = rate_limit_wait
        return RateLimited(wait, f"{platform} asked to wait {wait:g} seconds ({message})")
    if code in (1, 2) or (code == 0 and status >= 500):
        return Transient(f"{platform} had a temporary problem ({message}); will retry")
    return Permanent(f"{platform} refused the post: {message}")


async def wait_until_finished(
    status_of: Callable[[], Awaitable[tuple[str, str]]],
    *,
    platform: str,
    attempts: int,
    interval: float,
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    """Poll a container with ``status_of()`` → ``(status, detail)`` until it is FINISHED.

    ERROR → ``Permanent`` (Meta could not use the media; ``detail`` says why), EXPIRED →
    ``Transient`` (a container lives 24 hours; a retry makes a new one), still IN_PROGRESS
    after ``attempts`` polls ``interval`` seconds apart → ``Transient``.
    """
    for attempt in range(max(attempts, 1)):
        status, detail = await status_of()
        if status in ("FINISHED", "PUBLISHED"):
            return
        if status == "ERROR":
            why = f": {detail}" if detail else ""
            raise Permanent(f"{platform} could not process the image{why}")
        if status == "EXPIRED":
            raise Transient(f"the {platform} upload expired before it was published; will retry")
        if attempt + 1 < attempts:
            await sleep(interval)
    raise Transient(f"{platform} is still processing the image; will retry")


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


async def graph_call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    params: dict[str, str],
    *,
    token: str,
    platform: str,
    error: Callable[[int, dict[str, Any] | None], PublishError],
) -> Any:
    """One Graph request: form-encoded with ``access_token`` in the body for POST, in the query
    otherwise (as the Graph API wants). The JSON answer, or ``error(status, body["error"])``."""
    sent = {**params, "access_token": token}
    if method == "POST":
        response = await send(client, method, url, platform=platform, data=sent)
    else:
        response = await send(client, method, url, platform=platform, params=sent)
    body = parse_json(response)
    if response.is_success and isinstance(body, dict) and "error" not in body:
        return body
    found = body.get("error") if isinstance(body, dict) else None
    raise error(response.status_code, found if isinstance(found, dict) else None)
