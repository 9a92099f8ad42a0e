"""A loopback Discord webhook server for tests (the execute/get/delete endpoints a publisher uses).

It serves, on 127.0.0.1 and a random port, one webhook at ``/api/webhooks/{id}/{token}``
(``/api/v10/webhooks/...`` too):

* ``POST`` executes it: JSON ``content`` / ``embeds`` / ``allowed_mentions`` / ``flags`` (a
  webhook may set only SUPPRESS_EMBEDS, 4, and SUPPRESS_NOTIFICATIONS, 4096); 204 without
  ``?wait=true``, the created message with it. It checks what Discord checks: content at most
  2000 characters (50035 "Invalid Form Body" with the nested ``errors`` tree), not empty
  (50006 "Cannot send an empty message"), ``allowed_mentions.parse`` values; it records whether
  the message would ping (``mention_everyone``) the way Discord decides it.
  A multipart execute carries ``payload_json`` and up to 10 files ``files[n]`` (at most 10 MB
  each: 413 "Request entity too large" otherwise), which become the message's attachments.
* ``GET`` returns the webhook object (name, channel, guild; the token too, as Discord does);
* ``GET .../messages/{id}`` returns a message the webhook sent, with its ``reactions`` (set with
  ``react(message_id, emoji, count)``);
* ``DELETE .../messages/{id}`` deletes a message the webhook sent (204; 10008 when unknown).

A wrong token is 401 "Invalid Webhook Token" (50027); a deleted webhook (``delete_webhook()``)
is 404 "Unknown Webhook" (10015). Every execute answers with Discord's rate-limit headers for a
bucket of ``bucket_size`` messages. Tests inspect ``messages`` / ``calls``, inject trouble with
``fail_next(status, body, headers)`` and slow answers with ``delay(seconds)``.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes.loopback import HttpFailure, LoopbackServer

MAX_FILES = 10
MAX_FILE_BYTES = 10 * 1024 * 1024  # the upload limit of a server without boosts


@dataclass
class Upload:
    field: str
    filename: str
    data: bytes
    content_type: str


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    files: list[Upload] = field(default_factory=list)


@dataclass
class Message:
    id: str
    content: str
    embeds: list[dict[str, Any]]
    allowed_mentions: dict[str, Any] | None
    mention_everyone: bool
    attachments: list[Upload] = field(default_factory=list)
    reactions: dict[str, int] = field(default_factory=dict)
    """Emoji → how many people reacted with it (set by tests with :meth:`FakeDiscord.react`)."""
    deleted: bool = False
    flags: int = 0
    """SUPPRESS_EMBEDS (4): Discord shows no link previews under this message."""


#: The message flags a webhook execute may set.
WEBHOOK_FLAGS = 4 | 4096

RATE_LIMITED = {"message": "You are being rate limited.", "retry_after": 1.5, "global": False}


class FakeDiscord(LoopbackServer):
    client_max_size = 30 * 1024 * 1024
    calls: list[Call]

    def __init__(
        self,
        *,
        webhook_id: str = "1234567890123456789",
        token: str = "dIsCoRd-WeBhOoK-sEcReT-tOkEn_0123456789",
        name: str = "Nexus",
        channel_id: str = "1100000000000000001",
        guild_id: str | None = "1000000000000000001",
        bucket_size: int = 5,
    ) -> None:
        super().__init__()
        self.webhook_id, self.token, self.name = webhook_id, token, name
        self.channel_id, self.guild_id = channel_id, guild_id
        self.guild_in_messages = True
        """Whether created messages carry ``guild_id`` (``verify`` still learns it)."""
        self.bucket_size = bucket_size
        self.messages_by_id: dict[str, Message] = {}
        self.deleted_webhook = False
        self._ids = itertools.count(1_300_000_000_000_000_001)
        self._executions = 0

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/api/webhooks/{self.webhook_id}/{self.token}"

    # ------------------------------------------------------------ scenario control
    def fail_next(
        self,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Make ``times`` webhook requests fail after ``after`` succeed (Discord's error JSON
        ``{"message", "code"}`` unless ``body`` is given)."""
        failure = HttpFailure(
            status, body or {"message": f"{status}: error", "code": 0}, headers or {}
        )
        self._queue_failure(None, failure, times=times, after=after)

    def rate_limit_next(self, retry_after: float = 1.5, *, after: int = 0) -> None:
        """A 429 exactly as Discord sends it for a webhook bucket."""
        self.fail_next(
            429,
            {**RATE_LIMITED, "retry_after": retry_after},
            {
                "Retry-After": str(int(retry_after) + 1),
                "X-RateLimit-Limit": str(self.bucket_size),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Scope": "user",
            },
            after=after,
        )

    def delay(self, seconds: float) -> None:  # type: ignore[override]  # one webhook: no key
        super().delay(None, seconds)

    def react(self, message_id: str, emoji: str, count: int) -> None:
        """Readers reacted ``count`` times with ``emoji`` to a message."""
        self.messages_by_id[message_id].reactions[emoji] = count

    def delete_webhook(self) -> None:
        self.deleted_webhook = True

    # ------------------------------------------------------------ inspection
    @property
    def messages(self) -> list[Message]:
        return [m for m in self.messages_by_id.values() if not m.deleted]

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # ------------------------------------------------------------ plumbing
    async def _handle(self, request: web.Request) -> web.Response:
        try:
            body, files = await _read_body(request)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"message": "400: Bad Request", "code": 0}, status=400)
        self.calls.append(Call(request.method, request.path, dict(request.query), body, files))
        if failure := await self._checkpoint(None):
            return failure.response()
        m = re.fullmatch(r"/api(?:/v\d+)?/webhooks/(\d+)/([^/]+)(?:/messages/(\d+))?", request.path)
        if m is None:
            return web.json_response({"message": "404: Not Found", "code": 0}, status=404)
        webhook_id, token, message_id = m.groups()
        if webhook_id != self.webhook_id or self.deleted_webhook:
            return web.json_response({"message": "Unknown Webhook", "code": 10015}, status=404)
        if token != self.token:
            return web.json_response(
                {"message": "Invalid Webhook Token", "code": 50027}, status=401
            )
        if message_id is not None:
            return self._message(request.method, message_id)
        if request.method == "GET":
            return web.json_response(self._webhook_json())
        if request.method == "POST":
            return self._execute(body, request.query.get("wait") == "true", files)
        return web.json_response({"message": "405: Method Not Allowed", "code": 0}, status=405)

    def _message(self, method: str, message_id: str) -> web.Response:
        message = self.messages_by_id.get(message_id)
        if message is None or message.deleted:
            return web.json_response({"message": "Unknown Message", "code": 10008}, status=404)
        if method == "DELETE":
            message.deleted = True
            return web.Response(status=204)
        if method == "GET":
            return web.json_response(self._message_json(message))
        return web.json_response({"message": "405: Method Not Allowed", "code": 0}, status=405)

    def _execute(self, body: dict[str, Any], wait: bool, files: list[Upload]) -> web.Response:
        content = body.get("content")
        embeds = body.get("embeds") or []
        if len(files) > MAX_FILES:
            return _form_error("files", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
        if any(len(f.data) > MAX_FILE_BYTES for f in files):
            return web.json_response(
                {"message": "Request entity too large", "code": 40005}, status=413
            )
        if content is not None and not isinstance(content, str):
            return _form_error("content", "BASE_TYPE_BAD_STRING", "Must be a string.")
        if content is not None and len(content) > 2000:
            return _form_error(
                "content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."
            )
        if not (content or "").strip() and not embeds and not files:
            return web.json_response(
                {"message": "Cannot send an empty message", "code": 50006}, status=400
            )
        flags = body.get("flags", 0)
        if not isinstance(flags, int) or flags & ~WEBHOOK_FLAGS:
            return _form_error("flags", "MESSAGE_FLAGS_INVALID", "Invalid flags for a webhook.")
        allowed = body.get("allowed_mentions")
        parse = ["everyone", "roles", "users"]
        if allowed is not None:
            parse = allowed.get("parse", [])
            if not isinstance(parse, list) or any(
                p not in ("everyone", "roles", "users") for p in parse
            ):
                return _form_error(
                    "allowed_mentions",
                    "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                    "Value must be one of {'everyone', 'roles', 'users'}.",
                )
        text = content or ""
        everyone = "everyone" in parse and ("@everyone" in text or "@here" in text)
        message = Message(
            str(next(self._ids)), text, list(embeds), allowed, everyone, files, flags=flags
        )
        self.messages_by_id[message.id] = message
        self._executions += 1
        remaining = self.bucket_size - 1 - (self._executions - 1) % self.bucket_size
        headers = {
            "X-RateLimit-Bucket": "fake-bucket",
            "X-RateLimit-Limit": str(self.bucket_size),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset-After": "0.800",
        }
        if not wait:
            return web.Response(status=204, headers=headers)
        return web.json_response(self._message_json(message), headers=headers)

    def _message_json(self, message: Message) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": message.id,
            "type": 0,
            "content": message.content,
            "channel_id": self.channel_id,
            "author": {"id": self.webhook_id, "username": self.name, "bot": True},
            "embeds": message.embeds,
            "flags": message.flags,
            "attachments": [
                {
                    "id": str(1_400_000_000_000_000_000 + n),
                    "filename": f.filename,
                    "size": len(f.data),
                    "url": f"https://cdn.discordapp.com/attachments/{self.channel_id}/{n}/"
                    f"{f.filename}",
                    "content_type": f.content_type,
                }
                for n, f in enumerate(message.attachments)
            ],
            "reactions": [
                {
                    "count": count,
                    "count_details": {"burst": 0, "normal": count},
                    "me": False,
                    "me_burst": False,
                    "emoji": {"id": None, "name": emoji},
                    "burst_colors": [],
                }
                for emoji, count in message.reactions.items()
            ],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": message.mention_everyone,
            "webhook_id": self.webhook_id,
            "timestamp": "2026-11-22T09:00:00.000000+00:00",
        }
        if self.guild_id and self.guild_in_messages:
            data["guild_id"] = self.guild_id
        return data

    def _webhook_json(self) -> dict[str, Any]:
        return {
            "type": 1,
            "id": self.webhook_id,
            "name": self.name,
            "avatar": None,
            "channel_id": self.channel_id,
            "guild_id": self.guild_id,
            "application_id": None,
            "token": self.token,
        }


async def _read_body(request: web.Request) -> tuple[dict[str, Any], list[Upload]]:
    """The JSON body, or for a multipart request its ``payload_json`` and ``files[n]`` parts
    (Discord ignores other fields' names, and takes the parts in the order sent)."""
    if request.content_type != "multipart/form-data":
        raw = await request.read()
        return (json.loads(raw) if raw else {}), []
    body: dict[str, Any] = {}
    files: list[Upload] = []
    async for part in await request.multipart():
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "payload_json":
            body = json.loads(await part.text())
        elif part.filename and re.fullmatch(r"files\[\d+\]", str(part.name)):
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            data = bytes(await part.read())
            files.append(Upload(str(part.name), part.filename, data, content_type))
    return body, files


def _form_error(field_name: str, code: str, message: str) -> web.Response:
    return web.json_response(
        {
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": {field_name: {"_errors": [{"code": code, "message": message}]}},
        },
        status=400,
    )
