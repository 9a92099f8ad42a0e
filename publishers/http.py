"""The HTTP boundary every publisher shares: send a request, read a JSON answer.

:func:`send` maps httpx's failures into :class:`~publishers.errors.Transient` with the same plain
reasons on every platform (the httpx exception, whose text may hold a URL with a token, is only
chained as ``__cause__``). What an answer *means* stays in each publisher's own ``_error``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from publishers.errors import Permanent, Transient
from publishers.outbound import RefusedURL, TooLarge


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    platform: str,
    name_network_error: bool = False,
    **kwargs: Any,
) -> httpx.Response:
    """``client.request(method, url, **kwargs)``, with transport failures as ``Transient``.

        A URL the hardened client refuses (``publishers.outbound``: a private address, http where
    https is needed) or an oversized answer is ``Permanent``, with the refusal's plain reason.
    ``platform`` is the name the reasons use (``"Telegram"``); ``name_network_error`` adds the
        httpx exception's class name to the network-error reason.
    """
    try:
        return await client.request(method, url, **kwargs)
    except (RefusedURL, TooLarge) as exc:  # the owner's server URL: retrying will not help
        raise Permanent(exc.reason) from exc
    except httpx.TimeoutException as exc:
        raise Transient(f"{platform} did not answer in time; will retry") from exc
    except httpx.TransportError as exc:
        detail = f"network error: {type(exc).__name__}" if name_network_error else "network error"
        raise Transient(f"could not reach {platform} ({detail}); will retry") from exc
    except httpx.HTTPError as exc:
        raise Transient(f"the request to {platform} failed ({type(exc).__name__})") from exc


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
