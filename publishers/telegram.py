"""Publish plain-text posts to a Telegram channel with the Bot API over raw httpx.

Why raw httpx and not aiogram: publishers are pure adapters (no aiogram), get an injected
client and base URL, and the fake server in ``tests/fakes/telegram.py`` speaks the same wire.

Text goes out escaped with parse_mode=HTML, so whatever the draft contains (``R&D <beta>``)
appears verbatim. A text longer than one message is split (:func:`publishers.text.split_text`)
and sent as consecutive messages; only the first shows a link preview, so a thread doesn't get
cards in its middle.

Errors are mapped at the boundary. The token is part of every request URL, so neither the URL
nor the text of an httpx exception ever goes into a reason; the original exception is still
chained as ``__cause__`` for debugging. A 404 from the Bot API means the token is malformed
(our method names are fixed), so it is treated like 401.

Limits: given the process's shared :class:`~publishers.telegram_limits.TelegramLimits` (the same
instance the bot's ``TelegramThrottle`` uses), every ``sendMessage`` (each part of a split post)
waits for its turn with ``async with limits.slot(self.chat)``, so channel posts and the bot's own
messages count against the same per-chat and global windows. A 429 is reported to the limits
(``flood_wait``) so later sends to the channel wait it out, and then raised as ``RateLimited``;
the publisher never retries (the scheduler reschedules). While the channel is blocked for longer
than the limits will wait, ``slot`` raises ``FloodWait``, which becomes ``RateLimited`` with the
remaining time, without asking Telegram. The chat key is ``self.chat`` as normalised below
(``"@username"`` or ``"-100..."``), the same form the bot uses for ``NEXUS_CHANNEL``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import httpx

from publishers.base import PublishResult
from publishers.errors import (
    AuthExpired,
    Permanent,
    PublishError,
    RateLimited,
    Transient,
)
from publishers.http import send
from publishers.parts import already_posted_parts, note_posted, validate_parts
from publishers.telegram_limits import FloodWait, TelegramLimits
from publishers.text import TELEGRAM_TEXT_LIMIT, escape_html, split_text, utf16_len

_ADMIN_HINT = "add it as an administrator with the right to post"


def _split(text: str) -> list[str]:
    return split_text(text, TELEGRAM_TEXT_LIMIT, utf16_len)


class TelegramPublisher:
    """Posts to one channel (``chat`` is ``"@username"`` or a ``"-100..."`` id)."""

    platform = "telegram"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        token: str,
        chat: str,
        base_url: str = "https://api.telegram.org",
        limits: TelegramLimits | None = None,
    ) -> None:
        self._client = client
        self._limits = limits
        self._token = token
        self._base_url = base_url.rstrip("/")
        chat = str(chat).strip()
        if not chat.lstrip("-").isdigit() and not chat.startswith("@"):
            chat = "@" + chat
        self.chat = chat
        self.name = chat
        self._username: str | None = chat[1:] if chat.startswith("@") else None

    def __repr__(self) -> str:  # never show the token
        return f"TelegramPublisher(chat={self.chat!r})"

    # ------------------------------------------------------------------ protocol
    def validate(self, text: str) -> list[str]:
        return validate_parts(text, _split)

    async def publish(self, text: str, *, already_posted: Sequence[str] = ()) -> PublishResult:
        """Send ``text`` as one message, or as several in order if it is too long.

        ``already_posted``: the ``posted_part_ids`` of a failed earlier attempt with the *same*
        text; those parts are not sent again and their ids lead the result.
        """
        parts = _split(text)
        posted = already_posted_parts(parts, already_posted, "messages")
        for index in range(len(posted), len(parts)):
            payload: dict[str, Any] = {
                "chat_id": self.chat,
                "text": escape_html(parts[index]),
                "parse_mode": "HTML",
            }
            if index > 0:
                payload["link_preview_options"] = {"is_disabled": True}
            try:
                message = await self._send(payload)
            except PublishError as exc:
                note_posted(exc, posted, len(parts))
                raise
            posted.append(str(message["message_id"]))
        return PublishResult(
            external_id=posted[0], url=self._url(posted[0]), part_ids=tuple(posted)
        )

    async def delete(self, external_id: str) -> None:
        """Delete one message; for a split post call it for each of ``part_ids``."""
        try:
            await self._call(
                "deleteMessage", {"chat_id": self.chat, "message_id": int(external_id)}
            )
        except Permanent as exc:
            if "message to delete not found" in exc.reason:
                return  # already gone: deleting is idempotent
            raise

    async def verify(self) -> str:
        chat = await self._call("getChat", {"chat_id": self.chat})
        member = await self._call(
            "getChatMember", {"chat_id": self.chat, "user_id": await self._bot_id()}
        )
        status = member.get("status")
        if status not in ("administrator", "creator"):
            raise Permanent(f"the bot is not an admin of {self.name}: {_ADMIN_HINT}")
        if chat.get("type") == "channel" and status == "administrator":
            if member.get("can_post_messages") is False:
                raise Permanent(
                    f"the bot is an admin of {self.name} but may not post: {_ADMIN_HINT}"
                )
        if chat.get("username"):
            self._username = chat["username"]
        title = chat.get("title") or chat.get("first_name") or self.name
        return f"{title} ({self.name})" if title != self.name else title

    # ------------------------------------------------------------------ helpers
    def _url(self, message_id: str) -> str | None:
        if self._username:
            return f"https://t.me/{self._username}/{message_id}"
        if self.chat.startswith("-100"):
            return f"https://t.me/c/{self.chat[4:]}/{message_id}"
        return None

    async def _send(self, payload: dict[str, Any]) -> Any:
        """One ``sendMessage``, through the shared limits when there are any."""
        limits = self._limits
        if limits is None:
            return await self._call("sendMessage", payload)
        try:
            async with limits.slot(self.chat):
                try:
                    return await self._call("sendMessage", payload)
                except RateLimited as exc:  # still holding the chat: nobody cuts in
                    limits.flood_wait(self.chat, exc.retry_after)
                    raise
        except FloodWait as exc:
            wait = math.ceil(exc.retry_after)
            raise RateLimited(
                exc.retry_after,
                f"Telegram asked to wait before posting to {self.name} again; "
                f"{wait} more seconds to go",
            ) from exc

    async def _bot_id(self) -> int:
        prefix = self._token.split(":", 1)[0]
        if prefix.isdigit():
            return int(prefix)
        me = await self._call("getMe", {})
        return int(me["id"])

    async def _call(self, method: str, payload: dict[str, Any]) -> Any:
        url = f"{self._base_url}/bot{self._token}/{method}"
        response = await send(self._client, "POST", url, platform="Telegram", json=payload)
        try:
            body = response.json()
        except ValueError as exc:
            if response.status_code >= 500 or response.status_code == 200:
                raise Transient(
                    f"Telegram sent an unreadable answer (HTTP {response.status_code})"
                ) from exc
            raise Permanent(f"Telegram refused the request (HTTP {response.status_code})") from exc
        if response.is_success and isinstance(body, dict) and body.get("ok"):
            return body.get("result")
        raise self._error(response.status_code, body if isinstance(body, dict) else {})

    def _error(self, status: int, body: dict[str, Any]) -> PublishError:
        code = int(body.get("error_code") or status)
        description = str(body.get("description") or f"HTTP {code}").replace(self._token, "***")
        lowered = description.lower()
        parameters = body.get("parameters") or {}
        if code == 429 or "retry_after" in parameters:
            wait = float(parameters.get("retry_after") or 5)
            return RateLimited(wait, f"Telegram asked to wait {wait:g} seconds before posting")
        if code >= 500:
            return Transient(f"Telegram had a server error ({description}); will retry")
        if code in (401, 404):
            return AuthExpired(
                "the bot token was rejected: create a new one with @BotFather and update it"
            )
        if "chat not found" in lowered:
            return Permanent(
                f"Telegram can't find {self.name}: check the channel name and {_ADMIN_HINT}"
            )
        if code == 403 or "not enough rights" in lowered or "not a member" in lowered:
            return Permanent(f"the bot is not an admin of {self.name}: {_ADMIN_HINT}")
        return Permanent(f"Telegram refused the request: {description}")
