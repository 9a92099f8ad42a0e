"""Publish plain-text posts to a Telegram channel with the Bot API over raw httpx.

Why raw httpx and not aiogram: publishers are pure adapters (no aiogram), get an injected
client and base URL, and the fake server in ``tests/fakes/telegram.py`` speaks the same wire.

Text goes out escaped with parse_mode=HTML, so whatever the draft contains (``R&D <beta>``)
appears verbatim. A text longer than one message is split (:func:`publishers.text.split_text`)
and sent as consecutive messages; only the first shows a link preview, so a thread doesn't get
cards in its middle.

Media (already fitted to :data:`TELEGRAM_MEDIA_LIMITS`): one image goes out with ``sendPhoto``,
2–10 as an album with ``sendMediaGroup`` (multipart uploads referenced as ``attach://photoN``).
A text that fits a caption (1024 UTF-16 units after entity parsing, i.e. of the plain text) is the
photo's caption (the album's: on its first item); a longer one follows the photos as ordinary
messages. Every message id is in ``part_ids``, in order; an album counts as one step of a split
post, taking as many slots of the limits as it has photos.

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

import json
import math
from collections.abc import Sequence
from typing import Any

import httpx

from publishers.base import MediaLimits, Metrics, PublishResult
from publishers.errors import (
    AuthExpired,
    Permanent,
    PublishError,
    RateLimited,
    Transient,
)
from publishers.http import send
from publishers.media import MediaItem, load_media
from publishers.parts import validate_post
from publishers.telegram_limits import FloodWait, TelegramLimits
from publishers.text import (
    TELEGRAM_CAPTION_LIMIT,
    TELEGRAM_TEXT_LIMIT,
    escape_html,
    split_text,
    utf16_len,
)
from publishers.thread import OnConfirmed, post_thread

_ADMIN_HINT = "add it as an administrator with the right to post"

TELEGRAM_MEDIA_LIMITS = MediaLimits(
    max_count=10, max_bytes=10 * 1024 * 1024, max_side=2560, formats=("image/jpeg", "image/png")
)
"""sendPhoto takes up to 10 MB; Telegram shows photos at most 2560 px on the long side (bigger
ones are scaled down on its side anyway); an album holds 2–10 photos."""


def _split(text: str) -> list[str]:
    return split_text(text, TELEGRAM_TEXT_LIMIT, utf16_len)


def _caption_fits(text: str) -> bool:
    return utf16_len(text) <= TELEGRAM_CAPTION_LIMIT


class TelegramPublisher:
    """Posts to one channel (``chat`` is ``"@username"`` or a ``"-100..."`` id)."""

    platform = "telegram"
    media_limits = TELEGRAM_MEDIA_LIMITS

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
    def validate(self, text: str, *, media_count: int = 0) -> list[str]:
        return validate_post(
            text, _split, title="Telegram", limits=self.media_limits, media_count=media_count
        )

    async def publish(
        self,
        text: str,
        *,
        already_posted: Sequence[str] = (),
        media: Sequence[MediaItem] = (),
        key: str = "",
        on_confirmed: OnConfirmed | None = None,
    ) -> PublishResult:
        """Send ``text`` as one message, or as several in order if it is too long; with
        ``media``, the photo (or album) comes first.

        A text that fits a caption (1024 UTF-16 units) goes on the photo, or on the album's first
        photo; a longer one follows as messages of its own. ``already_posted``: the
        ``posted_part_ids`` of a failed earlier attempt with the *same* text and media; those
        messages are not sent again (an album is one step: all its ids or none) and their ids
        lead the result. Telegram has no idempotency key: a message that may have gone out
        raises ``OutcomeUnknown`` (``key`` is unused).
        """
        files = [load_media(item) for item in media]
        if len(files) > self.media_limits.max_count:
            raise Permanent(self.validate(text, media_count=len(files))[0])
        parts = _split(text) if text.strip() or not files else []
        caption = None
        if files and len(parts) == 1 and _caption_fits(parts[0]):
            caption, parts = parts[0], []
        posted = [str(i) for i in already_posted]
        if files and not posted:
            posted = await self._send_media(files, caption)  # one step: all its ids or none
            if parts and on_confirmed is not None:
                await on_confirmed(tuple(posted))
        elif files and len(posted) < len(files):
            raise Permanent(
                f"{len(posted)} messages were recorded as posted but the album has "
                f"{len(files)} photos: delete them and publish again"
            )
        media_ids, texts_posted = posted[: len(files)], posted[len(files) :]

        async def send_part(index: int, previous: str | None) -> str:
            payload: dict[str, Any] = {
                "chat_id": self.chat,
                "text": escape_html(parts[index]),
                "parse_mode": "HTML",
            }
            if index > 0 or files:
                payload["link_preview_options"] = {"is_disabled": True}
            message = await self._send("sendMessage", payload)
            return str(message["message_id"])

        if parts or not files:
            texts_posted = await post_thread(
                parts,
                texts_posted,
                send_part,
                noun="messages",
                lead=media_ids,
                on_confirmed=on_confirmed,
            )
        posted = media_ids + texts_posted
        return PublishResult(
            external_id=posted[0], url=self._url(posted[0]), part_ids=tuple(posted)
        )

    async def fetch_metrics(self, result: PublishResult) -> Metrics:
        """Always empty counters: the Bot API has no call to read a channel post's reactions or
        views. Reactions reach the bot as ``message_reaction_count`` updates instead (when it is
        an admin and asks for them in ``allowed_updates``); the bot side records those."""
        return Metrics()

    async def audience(self) -> int:
        """How many members (subscribers) the channel has now (``getChatMemberCount``)."""
        return int(await self._call("getChatMemberCount", {"chat_id": self.chat}))

    async def delete(self, external_id: str) -> None:
        """Delete one message; for a split post call it for each of ``part_ids``."""
        try:
            await self._call(
                "deleteMessage", {"chat_id": self.chat, "message_id": int(external_id)}
            )
        except Permanent as exc:
            if "message to delete not found" in exc.reason:
                return  # already gone: deleting is idempotent
            if "message can't be deleted" in exc.reason:
                raise Permanent(
                    "Telegram lets bots delete only messages younger than 48 hours; delete "
                    "it in the channel"
                ) from exc
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

    async def _send_media(
        self, files: list[tuple[bytes, str, str]], caption: str | None
    ) -> list[str]:
        """One ``sendPhoto`` or one ``sendMediaGroup`` (multipart uploads); the message ids."""
        with_caption: dict[str, str] = {}
        if caption is not None:
            with_caption = {"caption": escape_html(caption), "parse_mode": "HTML"}
        if len(files) == 1:
            data, name, mime = files[0]
            form = {"chat_id": self.chat, **with_caption}
            message = await self._send("sendPhoto", form, files={"photo": (name, data, mime)})
            return [str(message["message_id"])]
        items = [
            {"type": "photo", "media": f"attach://photo{n}", **(with_caption if n == 0 else {})}
            for n in range(len(files))
        ]
        uploads = {f"photo{n}": (name, data, mime) for n, (data, name, mime) in enumerate(files)}
        form = {"chat_id": self.chat, "media": json.dumps(items, ensure_ascii=False)}
        messages = await self._send("sendMediaGroup", form, files=uploads, cost=len(files))
        return [str(m["message_id"]) for m in messages]

    async def _send(
        self,
        method: str,
        payload: dict[str, Any],
        *,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        cost: int = 1,
    ) -> Any:
        """One sending call (``cost`` messages), through the shared limits when there are any."""
        limits = self._limits
        if limits is None:
            return await self._call(method, payload, files=files)
        try:
            async with limits.slot(self.chat, cost):
                try:
                    return await self._call(method, payload, files=files)
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

    async def _call(
        self,
        method: str,
        payload: dict[str, Any],
        *,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        """A Bot API call: JSON, or multipart form fields plus ``files`` when uploading."""
        url = f"{self._base_url}/bot{self._token}/{method}"
        body: dict[str, Any] = {"data": payload, "files": files} if files else {"json": payload}
        response = await send(
            self._client,
            "POST",
            url,
            platform="Telegram",
            idempotent=not method.startswith("send"),  # every Bot API call is a POST
            **body,
        )
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
