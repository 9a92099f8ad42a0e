"""Publish posts to a Discord channel through a webhook (raw httpx, no bot account).

Posting: ``POST {webhook_url}?wait=true`` (JSON ``{"content", "allowed_mentions": {"parse":
[]}}``; ``wait=true`` makes Discord answer with the created message). ``allowed_mentions``
with an empty ``parse`` list means ``@everyone``, ``@here``, role and user mentions in AI text
are shown but never ping anyone. No ``embeds`` of our own are sent: Discord unfurls the links
in ``content`` into preview embeds by itself. The messages after the first of a split post
carry ``flags`` = SUPPRESS_EMBEDS (4), so a long post shows one preview, under its first
message, not one per part (as on Telegram, where later parts have link previews off).

Length: 2000 characters (code points) per message; longer text goes out as consecutive
messages, cut at whitespace (:func:`publishers.text.split_text`). Between parts, when Discord
says the bucket is empty (``X-RateLimit-Remaining: 0``), the publisher waits
``X-RateLimit-Reset-After`` seconds (at most ``max_bucket_wait``) instead of running into a 429.

Images (already fitted to :data:`DISCORD_MEDIA_LIMITS`) go with the first message as a multipart
request: the JSON as ``payload_json`` (with ``attachments: [{id, filename}]``) and the files as
``files[0]``…``files[9]``. A post of images only sends no text.

Metrics: ``GET {webhook_url}/messages/{id}`` for each part; the counts of its ``reactions`` are
summed into likes.

URL: ``https://discord.com/channels/{guild_id}/{channel_id}/{message_id}`` when the guild is
known (from the message, or the webhook's, which :meth:`verify` reads when the account is
connected and hands to ``on_tokens`` to be stored with it), else ``None``.

Errors: 429 → :class:`RateLimited` after the body's ``retry_after`` (seconds, float), else
``X-RateLimit-Reset-After``, else ``Retry-After``; 401 (invalid token) and 404 "Unknown
Webhook" (code 10015: the webhook was deleted) → :class:`AuthExpired`; 400 and other 4xx →
:class:`Permanent` with Discord's message; 5xx, timeouts, network errors → :class:`Transient`.
The webhook URL holds its token: it never appears in a reason or repr. Mind that httpx logs
request URLs at INFO level (logger ``httpx``): keep that logger at WARNING.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from publishers.base import MediaLimits, Metrics, PublishResult
from publishers.errors import (
    AuthExpired,
    Permanent,
    PublishError,
    RateLimited,
    Transient,
)
from publishers.http import json_result, send
from publishers.media import MediaItem, load_media
from publishers.parts import validate_post
from publishers.text import split_text
from publishers.thread import OnConfirmed, post_thread

DISCORD_MESSAGE_LIMIT = 2000
DEFAULT_RATE_LIMIT_WAIT = 5.0
UNKNOWN_WEBHOOK = 10015
UNKNOWN_MESSAGE = 10008
#: Message flag: Discord shows no link preview embeds under the message.
SUPPRESS_EMBEDS = 1 << 2
DISCORD_MEDIA_LIMITS = MediaLimits(
    max_count=10,
    max_bytes=10 * 1024 * 1024,
    max_side=4096,
    formats=("image/jpeg", "image/png", "image/gif", "image/webp"),
)
"""10 attachments per message; 10 MB per file is the upload limit of a server without boosts.
Discord sets no pixel limit; 4096 keeps previews sharp without wasting bytes."""
_WEBHOOK_PATH_RE = re.compile(r"/webhooks/(\d+)/([A-Za-z0-9_.\-]+)/?$")


def discord_length(text: str) -> int:
    """Length as Discord counts ``content`` against 2000 (Unicode code points)."""
    return len(text)


class DiscordWebhookPublisher:
    """Posts into the channel of the webhook at ``webhook_url``."""

    platform = "discord"
    media_limits = DISCORD_MEDIA_LIMITS

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        webhook_url: str,
        guild_id: str | None = None,
        on_tokens: Callable[[dict[str, str]], Awaitable[None]] | None = None,
        max_bucket_wait: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        parts = urlsplit(webhook_url.strip())
        match = _WEBHOOK_PATH_RE.search(parts.path)
        if parts.scheme not in ("http", "https") or match is None:
            raise ValueError(
                "not a Discord webhook URL (expected https://discord.com/api/webhooks/<id>/<token>)"
            )
        self._client = client
        self._url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.webhook_id = match.group(1)
        self._token = match.group(2)
        self._max_bucket_wait = max_bucket_wait
        self._sleep = sleep
        self.guild_id = guild_id or None
        #: Receives ``{"guild_id": ...}`` when :meth:`verify` learns the webhook's guild, to be
        #: stored with the account: a webhook's message carries no guild, its link needs it.
        self._on_tokens = on_tokens
        self.channel_id: str | None = None
        self.name = f"Discord webhook {self.webhook_id}"
        """The webhook's name and channel once :meth:`verify` ran."""

    def __repr__(self) -> str:  # the URL holds the token
        return f"DiscordWebhookPublisher(webhook_id={self.webhook_id!r})"

    # ------------------------------------------------------------------ protocol
    def validate(self, text: str, *, media_count: int = 0) -> list[str]:
        return validate_post(
            text, self.split, title="Discord", limits=self.media_limits, media_count=media_count
        )

    def split(self, text: str) -> list[str]:
        return split_text(text, DISCORD_MESSAGE_LIMIT, discord_length)

    async def publish(
        self,
        text: str,
        *,
        already_posted: Sequence[str] = (),
        media: Sequence[MediaItem] = (),
        key: str = "",
        on_confirmed: OnConfirmed | None = None,
    ) -> PublishResult:
        """Send ``text`` as one message or several consecutive ones; ``media`` are attached
        to the first.

        ``already_posted``: the confirmed parts of a failed attempt with the same text; only
        the rest is sent (the first message, and so the images, went out already). Webhooks
        take no idempotency key: a message that may have gone out raises ``OutcomeUnknown``
        (``key`` is unused).
        """
        files = [load_media(item) for item in media]
        if len(files) > self.media_limits.max_count:
            raise Permanent(self.validate(text, media_count=len(files))[0])
        parts = self.split(text) if text.strip() or not files else [""]
        first: dict[str, Any] | None = None

        async def send_part(index: int, previous: str | None) -> str:
            nonlocal first
            payload: dict[str, Any] = {"content": parts[index], "allowed_mentions": {"parse": []}}
            if index > 0:
                payload["flags"] = SUPPRESS_EMBEDS
            response = await self._execute(payload, files if index == 0 else [])
            message = self._result(response)
            if index == 0:
                first = message
            if index + 1 < len(parts):
                await self._respect_bucket(response)
            return str(message["id"])

        posted = await post_thread(
            parts, already_posted, send_part, noun="messages", on_confirmed=on_confirmed
        )
        guild = (first or {}).get("guild_id") or self.guild_id
        channel = (first or {}).get("channel_id") or self.channel_id
        url = f"https://discord.com/channels/{guild}/{channel}/{posted[0]}"
        return PublishResult(
            external_id=posted[0],
            url=url if guild and channel else None,
            part_ids=tuple(posted),
        )

    async def fetch_metrics(self, result: PublishResult) -> Metrics:
        """Reactions of every message of the post, summed into ``likes`` (a webhook can read
        the messages it sent; Discord has no reposts, and no views for anyone)."""
        likes = 0
        for message_id in result.part_ids or (result.external_id,):
            message = self._result(await self._request("GET", f"{self._url}/messages/{message_id}"))
            likes += sum(int(r.get("count") or 0) for r in message.get("reactions") or [])
        return Metrics(likes=likes)

    async def delete(self, external_id: str) -> None:
        """Delete one message the webhook sent; a message already gone is not an error."""
        try:
            self._result(await self._request("DELETE", f"{self._url}/messages/{external_id}"))
        except _UnknownMessage:
            return

    async def verify(self) -> str:
        """Check the webhook still exists; return ``'webhook "name" in channel <id>'``."""
        webhook = self._result(await self._request("GET", self._url))
        guild = str(webhook["guild_id"]) if webhook.get("guild_id") else None
        if guild != self.guild_id and guild and self._on_tokens is not None:
            await self._on_tokens({"guild_id": guild})
        self.guild_id = guild
        self.channel_id = str(webhook["channel_id"]) if webhook.get("channel_id") else None
        self.name = (
            f'webhook "{webhook.get("name") or self.webhook_id}" in channel {self.channel_id}'
        )
        return self.name

    # ------------------------------------------------------------------ helpers
    async def _respect_bucket(self, response: httpx.Response) -> None:
        if response.headers.get("X-RateLimit-Remaining") != "0":
            return
        try:
            wait = float(response.headers.get("X-RateLimit-Reset-After") or 0)
        except ValueError:
            return
        if wait > 0:
            await self._sleep(min(wait, self._max_bucket_wait))

    async def _execute(
        self, payload: dict[str, Any], files: list[tuple[bytes, str, str]]
    ) -> httpx.Response:
        """Execute the webhook: JSON, or multipart (``payload_json`` + ``files[n]``) with files."""
        params = {"wait": "true"}
        if not files:
            return await self._request("POST", self._url, params=params, json=payload)
        payload = {
            **payload,
            "attachments": [{"id": n, "filename": name} for n, (_, name, _) in enumerate(files)],
        }
        uploads = {f"files[{n}]": (name, data, mime) for n, (data, name, mime) in enumerate(files)}
        form = {"payload_json": json.dumps(payload, ensure_ascii=False)}
        return await self._request("POST", self._url, params=params, data=form, files=uploads)

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return await send(
            self._client, method, url, platform="Discord", name_network_error=True, **kwargs
        )

    def _result(self, response: httpx.Response) -> Any:
        return json_result(response, platform="Discord", error=self._error)

    def _error(self, response: httpx.Response, body: dict[str, Any]) -> PublishError:
        status = response.status_code
        code = body.get("code")
        message = str(body.get("message") or f"HTTP {status}")
        detail = _first_field_error(body.get("errors"))
        if detail:
            message = f"{message}: {detail}"
        message = message.replace(self._token, "***")
        if status == 429:
            wait = _retry_after(body, response.headers)
            scope = "all requests" if body.get("global") else "this webhook"
            return RateLimited(
                wait, f"Discord asked to wait {wait:g} seconds before posting ({scope})"
            )
        if status >= 500 or status == 408:
            return Transient(f"Discord had a server error ({message}); will retry")
        if status == 404 and code == UNKNOWN_MESSAGE:
            return _UnknownMessage(f"Discord could not find the message: {message}")
        if status == 404 or (status in (401, 403) and code != 50013):
            return AuthExpired(
                "the Discord webhook was deleted or its link is no longer valid: "
                "create a new webhook and reconnect"
            )
        return Permanent(f"Discord refused the message: {message}")


def _retry_after(body: dict[str, Any], headers: httpx.Headers) -> float:
    for value in (
        body.get("retry_after"),
        headers.get("X-RateLimit-Reset-After"),
        headers.get("Retry-After"),
    ):
        try:
            if value is not None:
                return max(float(value), 0.0)
        except (TypeError, ValueError):
            continue
    return DEFAULT_RATE_LIMIT_WAIT


def _first_field_error(errors: Any) -> str | None:
    """The first ``_errors[].message`` in Discord's nested form-error tree."""
    if not isinstance(errors, dict):
        return None
    found = errors.get("_errors")
    if isinstance(found, list) and found and isinstance(found[0], dict):
        return str(found[0].get("message") or "") or None
    for value in errors.values():
        if message := _first_field_error(value):
            return message
    return None


class _UnknownMessage(Permanent):
    """404 with code 10008: the message is gone (``delete`` ignores it)."""
