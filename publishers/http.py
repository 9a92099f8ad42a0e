"""The HTTP boundary every publisher shares: send a request, read a JSON answer.

:func:`send` maps httpx's failures with the same plain reasons on every platform (the httpx
exception, whose text may hold a URL with a token, is only chained as ``__cause__``), split by
whether the request can have reached the platform:

* **certainly not** → :class:`~publishers.errors.Transient`: the connection was never made
  (``ConnectError``, ``ConnectTimeout``), no connection was free (``PoolTimeout``), or the
  request could not even be built (``UnsupportedProtocol``, ``LocalProtocolError``,
  ``ProxyError``). Safe to resend.
* **maybe** → :class:`~publishers.errors.OutcomeUnknown`: the request was (partly) written and
  then the answer timed out (``ReadTimeout``, ``WriteTimeout``), the connection dropped
  (``ReadError``, ``WriteError``, ``RemoteProtocolError``) or the answer was unreadable
  (``DecodingError``). The platform may have acted. Only for requests that change something:
  a read (``idempotent``, by default GET/HEAD/OPTIONS/PUT/DELETE) is plain ``Transient``.

What an answer *means* stays in each publisher's own ``_error``: an HTTP 5xx is an answer, and
every publisher reads it as "not done" (``Transient``); see the README's table for why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from publishers.errors import OutcomeUnknown, Permanent, Transient
from publishers.outbound import RefusedURL, TooLarge

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    httpx.ProxyError,
)


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    platform: str,
    name_network_error: bool = False,
    idempotent: bool | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """``client.request(method, url, **kwargs)``, with transport failures as ``Transient`` or,
    when the request may have been acted on, ``OutcomeUnknown``.

    A URL the hardened client refuses (``publishers.outbound``: a private address, http where
    https is needed) is ``Permanent``, with the refusal's plain reason: nothing was sent. An
    oversized answer came after sending, so it is read like any broken answer.

    ``platform`` is the name the reasons use (``"Telegram"``); ``name_network_error`` adds the
    httpx exception's class name to the network-error reason. ``idempotent``: whether sending
    the request twice does no harm (default: by HTTP method; VK and Telegram read over POST).
    """
    if idempotent is None:
        idempotent = method.upper() in _IDEMPOTENT_METHODS
    try:
        return await client.request(method, url, **kwargs)
    except RefusedURL as exc:  # refused before connecting: the owner's server URL is the problem
        raise Permanent(exc.reason) from exc
    except _NEVER_SENT as exc:
        if isinstance(exc, httpx.TimeoutException):
            raise Transient(f"{platform} did not answer in time; will retry") from exc
        detail = f"network error: {type(exc).__name__}" if name_network_error else "network error"
        raise Transient(f"could not reach {platform} ({detail}); will retry") from exc
    except httpx.TooManyRedirects as exc:
        raise Transient(f"the request to {platform} failed ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        if isinstance(exc, httpx.TimeoutException):
            what = f"{platform} did not answer in time"
        elif isinstance(exc, TooLarge):
            what = f"{platform}'s answer was too large ({exc.reason})"
        else:
            what = f"the connection to {platform} broke ({type(exc).__name__})"
        if idempotent:
            raise Transient(f"{what}; will retry") from exc
        raise OutcomeUnknown(f"{what} after the request was sent; it may have gone out") from exc


def parse_json(response: httpx.Response) -> Any | None:
    """The decoded JSON body, or ``None`` when it is not JSON (an empty body included)."""
    try:
        return response.json()
    except ValueError:
        return None


def json_body(response: httpx.Response) -> Any | None:
    """Like :func:`parse_json`, but an empty body reads as ``{}``."""
    return parse_json(response) if response.content else {}


def json_result(
    response: httpx.Response,
    *,
    platform: str,
    error: Callable[[httpx.Response, dict[str, Any]], Exception],
) -> Any:
    """The JSON body of a successful answer; otherwise raise ``error(response, body or {})``.

    A successful answer that is not JSON is ``Transient`` ("<platform> sent an unreadable
    answer"); an empty one reads as ``{}``.
    """
    body = json_body(response)
    if response.is_success:
        if body is None:
            raise Transient(f"{platform} sent an unreadable answer (HTTP {response.status_code})")
        return body
    raise error(response, body if isinstance(body, dict) else {})
