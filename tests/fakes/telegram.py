"""A loopback Telegram Bot API server for tests.

Why a server and not mocks: the bot (aiogram) and the publishers (raw httpx) must be tested
through the same wire format Telegram uses, so that encoding bugs (form vs JSON bodies, JSON
strings inside form fields, UTF-16 offsets, HTML escaping) show up in tests and not in
production. The fake listens on 127.0.0.1 on a random free port and serves
``{base_url}/bot{token}/{method}``, so ``TelegramAPIServer.from_base(fake.base_url)`` and
``httpx`` both talk to it unchanged.

It reproduces the rules that bite in practice (HTML parse_mode with Telegram's tag set,
length limits counted in UTF-16 after parsing, "message is not modified", 64-byte
callback_data, chat not found / not an admin, 429 with retry_after) and is deliberately a bit
*stricter* than Telegram in one place: a bare ``&`` that does not start an entity is rejected
(Telegram quietly keeps it), because it always means some text was not escaped.

Tests drive it with ``user_sends``/``user_taps`` (queued as updates for long polling),
inspect ``messages()``/``calls``, and inject trouble with ``fail_next``/``delay``/``latency``.
``wait_for`` is event-driven: the predicate is re-checked whenever the server handles a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

from tests.fakes.loopback import LosesAnswers

_MAX_TEXT = 4096
_MAX_CAPTION = 1024


class ApiError(Exception):
    """Raised inside handlers; becomes an ``{"ok": false, ...}`` answer with that status."""

    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


#: Bots may delete a message only while it is younger than 48 hours.
DELETE_WINDOW_S = 48 * 3600


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


_MAX_PHOTO_BYTES = 10 * 1024 * 1024


def _check_photo(data: bytes) -> bytes:
    """sendPhoto's own checks on an upload: a readable image, at most 10 MB, width + height at
    most 10000 and a side ratio of at most 20."""
    if not data:
        raise _bad("file must be non-empty")
    if len(data) > _MAX_PHOTO_BYTES:
        raise _bad("PHOTO_SAVE_FILE_INVALID")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = image.size
    except Exception as exc:  # any decoding failure is what Telegram calls it
        raise _bad("IMAGE_PROCESS_FAILED") from exc
    if width + height > 10_000 or max(width, height) > 20 * min(width, height):
        raise _bad("PHOTO_INVALID_DIMENSIONS")
    return data


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# ---------------------------------------------------------------- HTML parse_mode
_TAG_RE = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>"
)
_ATTR_RE = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_PLAIN_RE = re.compile(r"[^<&]+")  # text up to the next tag or entity
_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAGS = dict(
    (tag, kind)
    for kind, tags in {
        "bold": "b strong",
        "italic": "i em",
        "underline": "u ins",
        "strikethrough": "s strike del",
        "spoiler": "span tg-spoiler",
        "text_link": "a",
        "code": "code",
        "pre": "pre",
        "blockquote": "blockquote",
        "custom_emoji": "tg-emoji",
    }.items()  # fmt: skip
    for tag in tags.split()
)


def _unescape(value: str) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _NAMED:
            return _NAMED[name]
        return chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:]))

    return _ENTITY_RE.sub(repl, value)


def parse_html(source: str) -> tuple[str, list[dict]]:
    """Parse Telegram HTML into (plain text, entities with UTF-16 offsets), or raise 400."""
    out: list[str] = []
    pos = 0  # UTF-16 offset of the end of ``out``
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[dict] = []
    i = 0

    def fail(reason: str) -> ApiError:
        return _bad(f"can't parse entities: {reason} at byte offset {len(source[:i].encode())}")

    while i < len(source):
        ch = source[i]
        if ch == "&":
            m = _ENTITY_RE.match(source, i)
            if not m:
                raise fail("Unsupported HTML entity; escape '&' as &amp;")
            piece = _unescape(m.group(0))
            out.append(piece)
            pos += utf16_len(piece)
            i = m.end()
            continue
        if ch != "<":
            plain = _PLAIN_RE.match(source, i)
            assert plain is not None  # ch is neither "<" nor "&"
            out.append(plain.group())
            pos += utf16_len(plain.group())
            i = plain.end()
            continue
        m = _TAG_RE.match(source, i)
        if not m:
            raise fail('Unsupported start tag ""')
        closing, name, raw_attrs = m.group(1) == "/", m.group(2).lower(), m.group(3)
        if closing:
            if not stack:
                raise fail("Unexpected end tag")
            open_name, attrs, start = stack.pop()
            if open_name != name:
                raise fail(f'Unmatched end tag, expected "</{open_name}>", found "</{name}>"')
            entity = _entity_for(open_name, attrs, start, pos - start, stack, entities)
            if entity:
                entities.append(entity)
        else:
            if name not in _TAGS:
                raise fail(f'Unsupported start tag "{name}"')
            attrs = {
                a.group(1).lower(): _unescape(a.group(2) or a.group(3) or a.group(4) or "")
                for a in _ATTR_RE.finditer(raw_attrs)
            }
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise fail('Tag "span" must have class "tg-spoiler"')
            if name == "tg-emoji" and not attrs.get("emoji-id"):
                raise fail('Tag "tg-emoji" must have attribute "emoji-id"')
            stack.append((name, attrs, pos))
        i = m.end()
    if stack:
        raise _bad(
            f"can't parse entities: Can't find end tag corresponding to start tag "
            f'"{stack[-1][0]}"'
        )
    return "".join(out), entities


def _entity_for(
    name: str, attrs: dict[str, str], offset: int, length: int, stack: list, done: list[dict]
) -> dict | None:
    kind = _TAGS[name]
    if name == "code" and stack and stack[-1][0] == "pre":
        language = attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1][1]["language"] = language.removeprefix("language-")
            return None
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    if kind == "text_link":
        if not attrs.get("href"):
            return None
        entity["url"] = attrs["href"]
    elif kind == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    elif kind == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = attrs["emoji-id"]
    return entity


def _strip_text(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Telegram trims surrounding whitespace; entity offsets move with it."""
    stripped = text.lstrip()
    shift = utf16_len(text) - utf16_len(stripped)
    stripped = stripped.rstrip()
    end = utf16_len(stripped)
    fixed = []
    for e in entities:
        start, stop = max(e["offset"] - shift, 0), min(e["offset"] + e["length"] - shift, end)
        if stop > start:
            fixed.append({**e, "offset": start, "length": stop - start})
    fixed.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, fixed


# ---------------------------------------------------------------- state
@dataclass
class Call:
    method: str
    params: dict
    at: float


@dataclass
class FakeMessage:
    message_id: int
    chat_id: int
    text: str
    html: str | None
    entities: list[dict]
    reply_markup: dict | None
    edited: bool = False
    deleted: bool = False
    photo: bool = False
    file: bytes | None = None
    """The uploaded photo's bytes (``None`` when sent by file id or URL)."""
    media_group_id: str | None = None
    document_id: str | None = None
    date: int = field(default_factory=lambda: int(time.time()))

    def buttons(self) -> list[tuple[str, str]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [
            (b["text"], b.get("callback_data") or b.get("url") or "") for row in rows for b in row
        ]


_NESTED = set(
    "reply_markup entities caption_entities link_preview_options media allowed_updates "
    "commands scope reply_parameters".split()
)
_INTS = {"message_id", "offset", "limit", "timeout", "user_id", "cache_time", "message_thread_id"}
_BOOLS = {"disable_notification", "protect_content", "show_alert", "drop_pending_updates"}
_ACTIONS = set(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note".split()
)


class FakeTelegram(LosesAnswers):
    def __init__(
        self, token: str = "123456:TEST-TOKEN", bot_username: str = "nexus_test_bot"
    ) -> None:
        LosesAnswers.__init__(self)
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.base_url = ""
        self.calls: list[Call] = []
        self.callback_answers: dict[str, dict] = {}
        self.deleted_user_messages: set[tuple[int, int]] = set()  # (chat id, message id)
        self.commands: list[dict] = []
        self.member_counts: dict[int, int] = {}
        """Channel id → what ``getChatMemberCount`` answers (1 when not set)."""
        self._chats: dict[int, dict] = {}
        self._admin: dict[int, bool] = {}
        self._members: dict[int, set[int]] = {}  # group id -> the users in it
        self._users: dict[int, dict] = {}
        self._msgs: dict[int, list[FakeMessage]] = {}
        self._raw: dict[tuple[int, int], dict] = {}  # (chat, message_id) -> Message dict
        self._next_id: dict[int, int] = {}
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._queries: dict[str, bool] = {}  # id -> answered
        self._query_ids = itertools.count(1)
        self._files = itertools.count(1)
        #: file_id -> (file name, bytes): documents users sent and the bot sent
        self.documents: dict[str, tuple[str, bytes]] = {}
        self._allowed: list[str] = []
        self._poll_generation = 0
        self._failures: dict[str, list[ApiError | None]] = {}
        self._delays: dict[str, float] = {}
        self._latency: tuple[float, float, random.Random] | None = None
        self._holds: dict[tuple[str, str], asyncio.Event] = {}
        self._changed = asyncio.Event()
        self._closing = False
        self._closed = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------ lifecycle
    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1:``port`` (0: a free one), e.g. a port that refused connections
        until now, as Telegram does when the network comes back."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.*}", self._download)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        self._closing = True
        self._closed.set()
        self.release()
        self._notify()  # wakes pending long polls so they answer [] at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------ scenario set-up
    def add_user(self, user_id: int, first_name: str = "Owner", language_code: str = "en") -> None:
        self._users[user_id] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        self._chats[user_id] = {"id": user_id, "type": "private", "first_name": first_name}

    def add_channel(
        self,
        username: str | None = "nexus_channel",
        *,
        chat_id: int | None = None,
        bot_is_admin: bool = True,
        title: str | None = None,
    ) -> int:
        if chat_id is None:
            chat_id = -1001000000000 - len(self._chats)
        chat: dict[str, Any] = {"id": chat_id, "type": "channel"}
        chat["title"] = title or (f"Channel {username}" if username else "Private channel")
        if username:
            chat["username"] = username.lstrip("@")
        self._chats[chat_id] = chat
        self._admin[chat_id] = bot_is_admin
        return chat_id

    def set_bot_admin(self, chat_id: int, is_admin: bool) -> None:
        self._admin[chat_id] = is_admin

    def add_group(
        self, title: str, members: list[int], *, chat_id: int | None = None, bot_member: bool = True
    ) -> int:
        """A (super)group with these users in it (add them with ``add_user`` first) and, with
        ``bot_member``, the bot: a bot that is not in the group can neither read nor write it."""
        if chat_id is None:
            chat_id = -1002000000000 - len(self._chats)
        self._chats[chat_id] = {"id": chat_id, "type": "supergroup", "title": title}
        self._members[chat_id] = set(members)
        self._admin[chat_id] = bot_member  # for a group: whether the bot is in it
        return chat_id

    def set_bot_member(self, chat_id: int, member: bool) -> None:
        """The bot added to (or removed from) a group."""
        self._admin[chat_id] = member

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Make ``times`` calls of ``method`` fail with this error, after ``after`` succeed."""
        params = {"retry_after": retry_after} if retry_after is not None else None
        if error_code == 429 and retry_after is not None and "retry after" not in description:
            description = f"Too Many Requests: retry after {retry_after}"
        queue = self._failures.setdefault(method.lower(), [])
        queue.extend([None] * after)
        queue.extend(ApiError(error_code, description, params) for _ in range(times))

    def delay(self, method: str, seconds: float) -> None:
        """Make every call of ``method`` wait ``seconds`` before answering (0 removes it)."""
        self._delays[method.lower()] = seconds

    def latency(self, low: float, high: float, rng: random.Random | None = None) -> None:
        """Make every call but ``getUpdates`` (a long poll keeps its own timing) wait a random
        ``low``–``high`` seconds before it is handled; ``latency(0, 0)`` removes it."""
        self._latency = (low, high, rng or random.Random()) if high > 0 else None

    def hold(self, method: str, chat_id: int | str) -> asyncio.Event:
        """Leave calls of ``method`` to ``chat_id`` unanswered (a send hanging mid-flight) until
        the returned event is set; the call then completes as usual. ``close()`` ends it too."""
        release = asyncio.Event()
        self._holds[(method.lower(), str(chat_id))] = release
        return release

    async def _held(self, method: str, params: dict) -> None:
        release = self._holds.get((method.lower(), str(params.get("chat_id"))))
        if release is None:
            return
        waits = [asyncio.ensure_future(e.wait()) for e in (release, self._closed)]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def calls_to(self, method: str, chat_id: int | str) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and str(c.params.get("chat_id")) == str(chat_id)
        ]

    # ------------------------------------------------------------ user actions
    async def user_sends(
        self,
        user_id: int,
        text: str,
        *,
        reply_to: int | None = None,
        forward_origin: dict | None = None,
        entities: list[dict] | None = None,
        in_chat: int | None = None,
    ) -> dict:
        """A text message from the user; ``reply_to`` makes it a reply to that message of the
        chat (as Telegram does, the replied message comes along, without its own reply),
        ``forward_origin`` a forward (see :meth:`channel_origin`), ``entities`` its formatting
        (a ``text_link`` hides its URL behind words, as forwarded posts often do); ``in_chat``
        sends it in a group the user is in (the bot must be in it to see it)."""
        chat_id = user_id if in_chat is None else in_chat
        message = self._user_message(user_id, in_chat)
        message["text"] = text
        m = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?", text)
        if m and forward_origin is None:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": m.end()}]
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            original = self._raw[(chat_id, reply_to)]
            message["reply_to_message"] = {
                k: v for k, v in original.items() if k != "reply_to_message"
            }
        if forward_origin is not None:
            message["forward_origin"] = forward_origin
        if in_chat is None or self._admin.get(in_chat):  # a bot outside the group sees nothing
            self._queue({"message": message})
        return message

    def channel_origin(self, username: str, message_id: int, title: str = "") -> dict:
        """The ``forward_origin`` of a post forwarded from a public channel."""
        chat = {
            "id": -1000000000000 - sum(map(ord, username)),
            "type": "channel",
            "title": title or username,
            "username": username,
        }
        return {
            "type": "channel",
            "date": int(time.time()),
            "chat": chat,
            "message_id": message_id,
        }

    async def user_sends_photo(
        self,
        user_id: int,
        caption: str | None = None,
        *,
        image: bytes | None = None,
        media_group_id: str | None = None,
    ) -> dict:
        """A photo from the user; with ``image`` its sizes can be downloaded (getFile), as the
        Bot API serves them; ``media_group_id`` makes it one item of an album."""
        message = self._user_message(user_id)
        message["photo"] = self._photo_sizes()
        if image is not None:
            for size in message["photo"]:
                self.documents[size["file_id"]] = ("photo.jpg", image)
                size["file_size"] = len(image)
        if caption:
            message["caption"] = caption
        if media_group_id:
            message["media_group_id"] = media_group_id
        self._queue({"message": message})
        return message

    async def user_sends_document(
        self, user_id: int, filename: str, content: bytes, caption: str | None = None
    ) -> dict:
        message = self._user_message(user_id)
        file_id = f"doc{next(self._files)}"
        self.documents[file_id] = (filename, content)
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": filename,
            "file_size": len(content),
        }
        if caption:
            message["caption"] = caption
        self._queue({"message": message})
        return message

    def document_of(self, message: FakeMessage) -> tuple[str, bytes]:
        """The (file name, bytes) of a document message the bot sent."""
        assert message.document_id is not None, f"not a document: {message}"
        return self.documents[message.document_id]

    async def user_taps(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        force: bool = False,
        inaccessible: bool = False,
        in_chat: int | None = None,
    ) -> str:
        """Queue a button tap. Raises ValueError if no such button (unless ``force``).
        ``inaccessible``: the message comes as Telegram sends one the bot can no longer see
        (an InaccessibleMessage: chat, id and date 0); ``in_chat``: a button under a message
        in a group the user is in."""
        chat_id = user_id if in_chat is None else in_chat
        if in_chat is not None and user_id not in self._members.get(in_chat, set()):
            raise ValueError(f"user {user_id} is not in group {in_chat}")
        found = [m for m in self._msgs.get(chat_id, []) if m.message_id == message_id]
        if not found or found[0].deleted:
            raise ValueError(f"no bot message {message_id} in chat {chat_id}")
        if not force and callback_data not in [d for _, d in found[0].buttons()]:
            raise ValueError(f"message {message_id} has no button {callback_data!r}: {found[0]}")
        query_id = str(next(self._query_ids))
        self._queries[query_id] = False
        raw = self._raw[(chat_id, message_id)]
        query = {
            "id": query_id,
            "from": self._users[user_id],
            "message": {"chat": raw["chat"], "message_id": message_id, "date": 0}
            if inaccessible
            else raw,
            "chat_instance": f"ci{chat_id}",
            "data": callback_data,
        }
        self._queue({"callback_query": query})
        return query_id

    # ------------------------------------------------------------ channel reactions (metrics)
    #: Update types Telegram sends only when ``allowed_updates`` names them explicitly.
    OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

    @classmethod
    def _deliverable(cls, update: dict, allowed: set[str]) -> bool:
        kinds = update.keys() - {"update_id"}
        return bool(allowed & kinds) if allowed else not kinds & cls.OPT_IN_UPDATES

    def channel_reactions(
        self, chat_id: int | str, message_id: int, counts: dict[str, int], *, paid: int = 0
    ) -> dict:
        """Queue a ``message_reaction_count`` update, as Telegram sends it (anonymously, to a bot
        that is an admin of the channel) when a channel message's reactions change: the current
        total per emoji (``counts``) plus ``paid`` star reactions."""
        chat = self._resolve(chat_id)
        if chat["type"] != "channel":
            raise ValueError("reaction counts are sent for channel messages only")
        if not self._admin.get(chat["id"]):
            raise ValueError("Telegram sends reaction counts only to channel admins")
        if (chat["id"], message_id) not in self._raw:
            raise ValueError(f"no message {message_id} in channel {chat_id}")
        reactions: list[dict[str, Any]] = [
            {"type": {"type": "emoji", "emoji": emoji}, "total_count": count}
            for emoji, count in counts.items()
            if count > 0
        ]
        if paid:
            reactions.append({"type": {"type": "paid"}, "total_count": paid})
        update = {
            "chat": {k: v for k, v in chat.items() if k in ("id", "type", "title", "username")},
            "message_id": message_id,
            "date": int(time.time()),
            "reactions": reactions,
        }
        self._queue({"message_reaction_count": update})
        return update

    # ------------------------------------------------------------ end of channel reactions

    # ------------------------------------------------------------ inspection
    def messages(self, chat_id: int | str) -> list[FakeMessage]:
        try:
            chat = self._resolve(chat_id)
        except ApiError:
            raise ValueError(f"unknown chat {chat_id!r}: add_user/add_channel first") from None
        return [m for m in self._msgs.get(chat["id"], []) if not m.deleted]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = "\n".join(f"  {c.method} {c.params}" for c in self.calls[-15:])
                raise TimeoutError(f"condition not met in {timeout}s; recent calls:\n{recent}")
            event = self._changed
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    async def wait_message(
        self,
        chat_id: int | str,
        predicate: Callable[[FakeMessage], bool] = lambda m: True,
        timeout: float = 5.0,
    ) -> FakeMessage:
        found: list[FakeMessage] = []

        def check() -> bool:
            found[:] = [m for m in self.messages(chat_id) if predicate(m)]
            return bool(found)

        await self.wait_for(check, timeout)
        return found[0]

    # ------------------------------------------------------------ plumbing
    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _queue(self, update: dict) -> None:
        self._updates.append({"update_id": next(self._update_ids), **update})
        self._notify()

    def _user_message(self, user_id: int, in_chat: int | None = None) -> dict:
        if user_id not in self._users:
            raise ValueError(f"unknown user {user_id}: call add_user first")
        chat_id = user_id if in_chat is None else in_chat
        if in_chat is not None and user_id not in self._members.get(in_chat, set()):
            raise ValueError(f"user {user_id} is not in group {in_chat}")
        msg_id = self._new_id(chat_id)
        message = {
            "message_id": msg_id,
            "date": int(time.time()),
            "chat": self._chats[chat_id],
            "from": self._users[user_id],
        }
        self._raw[(chat_id, msg_id)] = message
        return message

    def _new_id(self, chat_id: int) -> int:
        self._next_id[chat_id] = self._next_id.get(chat_id, 0) + 1
        return self._next_id[chat_id]

    def _photo_sizes(self) -> list[dict]:
        n = next(self._files)
        return [
            {"file_id": f"photo{n}_{w}", "file_unique_id": f"u{n}_{w}", "width": w, "height": w}
            for w in (90, 320, 800)
        ]

    def _bot_user(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Nexus",
            "username": self.bot_username,
        }

    def _resolve(self, chat_id: Any) -> dict:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            name = chat_id[1:].lower()
            for chat in self._chats.values():
                if chat.get("username", "").lower() == name:
                    return chat
            raise _bad("chat not found")
        try:
            chat = self._chats.get(int(chat_id))
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise _bad("chat not found")
        return chat

    def _writable(self, chat_id: Any) -> dict:
        chat = self._resolve(chat_id)
        if chat["type"] == "channel" and not self._admin.get(chat["id"]):
            raise ApiError(403, "Forbidden: bot is not a member of the channel chat")
        if chat["type"] == "supergroup" and not self._admin.get(chat["id"]):
            raise ApiError(403, "Forbidden: bot is not a member of the supergroup chat")
        return chat

    async def _read_params(self, request: web.Request) -> tuple[dict, dict[str, bytes]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        ctype = request.content_type
        if ctype == "application/json":
            body = await request.read()
            if body:
                params.update(json.loads(body))
            return params, files
        if ctype == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if part.filename:  # type: ignore[union-attr]
                    files[part.name] = await part.read()  # type: ignore[union-attr,arg-type]
                    params[f"_filename_{part.name}"] = part.filename  # type: ignore[union-attr]
                else:
                    params[part.name] = await part.text()  # type: ignore[union-attr]
        elif ctype == "application/x-www-form-urlencoded":
            params.update(await request.post())
        for key, value in list(params.items()):
            if not isinstance(value, str):
                continue
            try:
                if key in _NESTED:
                    params[key] = json.loads(value)
                elif key in _INTS or (key == "chat_id" and re.fullmatch(r"-?\d+", value)):
                    params[key] = int(value)
                elif key in _BOOLS:
                    params[key] = value.lower() == "true"
            except ValueError as exc:
                raise _bad(f"can't parse {key}: {exc}") from exc
        return params, files

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            try:
                params, files = await self._read_params(request)
            except json.JSONDecodeError as exc:
                raise _bad("can't parse JSON body") from exc
            self.calls.append(Call(method, params, time.time()))
            self._notify()  # a call that hangs is already seen
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = getattr(self, f"_m_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            seconds = self._delays.get(method.lower(), 0.0)
            if self._latency is not None and method.lower() != "getupdates":
                low, high, rng = self._latency
                seconds += rng.uniform(low, high)
            if seconds:
                with contextlib.suppress(TimeoutError):  # close() cuts delays short
                    await asyncio.wait_for(self._closed.wait(), seconds)
            await self._held(method, params)
            if (failures := self._failures.get(method.lower())) and (error := failures.pop(0)):
                raise error
            result = await handler(params, files)
            body: dict[str, Any] = {"ok": True, "result": result}
            status = 200
        except ApiError as err:
            body = {"ok": False, "error_code": err.code, "description": err.description}
            if err.parameters:
                body["parameters"] = err.parameters
            status = err.code
        finally:
            self._notify()
        return await self._deliver(
            request, method.lower(), web.json_response(body, status=status), self._closed
        )

    def _markup(self, params: dict) -> dict | None:
        markup = params.get("reply_markup")
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None  # reply keyboards are accepted but not echoed back, as in Telegram
        for row in markup["inline_keyboard"]:
            for button in row:
                if not button.get("text"):
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
                if data is None and not button.keys() & {
                    "url",
                    "switch_inline_query",
                    "pay",
                    "web_app",
                    "login_url",
                    "copy_text",
                    "switch_inline_query_current_chat",
                }:
                    raise _bad("can't parse inline keyboard button: field is missing")
        return markup

    def _formatted(self, params: dict, key: str, limit: int, what: str) -> tuple[str, list]:
        raw = params.get(key) or ""
        if params.get("parse_mode") in (None, ""):
            text, entities = (
                raw,
                list(params.get("entities" if key == "text" else "caption_entities") or []),
            )
        elif str(params["parse_mode"]).lower() == "html":
            text, entities = parse_html(raw)
        else:
            raise _bad(f"unsupported parse_mode {params['parse_mode']!r} in this fake")
        text, entities = _strip_text(text, entities)
        if not text and key == "text":
            raise _bad("message text is empty")
        if utf16_len(text) > limit:
            raise _bad(f"message {what} too long")
        return text, entities

    def _store(self, chat: dict, msg: FakeMessage, extra: dict) -> dict:
        raw: dict[str, Any] = {"message_id": msg.message_id, "date": msg.date, "chat": chat}
        if chat["type"] == "channel":
            raw["sender_chat"] = chat
        else:
            raw["from"] = self._bot_user()
        raw.update(extra)
        self._raw[(chat["id"], msg.message_id)] = raw
        self._msgs.setdefault(chat["id"], []).append(msg)
        return raw

    def _reply_to(self, chat: dict, params: dict) -> dict:
        """``reply_to_message`` for a message sent as a reply (kept on later edits, as Telegram
        does, so a button under a reply can find the message it answers)."""
        ref = params.get("reply_parameters") or {}
        message_id = ref.get("message_id") or params.get("reply_to_message_id")
        if not message_id:
            return {}
        original = self._raw.get((chat["id"], int(message_id)))
        if original is None:
            if ref.get("allow_sending_without_reply"):
                return {}
            raise _bad("message to be replied not found")
        return {"reply_to_message": {k: v for k, v in original.items() if k != "reply_to_message"}}

    def _render(self, msg: FakeMessage) -> dict:
        raw = dict(self._raw[(msg.chat_id, msg.message_id)])
        for key in ("text", "caption", "entities", "caption_entities", "reply_markup"):
            raw.pop(key, None)
        prefix = "caption" if msg.photo or msg.document_id else "text"
        if msg.text:
            raw[prefix] = msg.text
        if msg.entities:
            raw["entities" if prefix == "text" else "caption_entities"] = msg.entities
        if msg.reply_markup:
            raw["reply_markup"] = msg.reply_markup
        if msg.edited:
            raw["edit_date"] = int(time.time())
        self._raw[(msg.chat_id, msg.message_id)] = raw
        return raw

    def _find(self, params: dict, action: str) -> FakeMessage:
        chat = self._writable(params.get("chat_id"))
        for msg in self._msgs.get(chat["id"], []):
            if msg.message_id == params.get("message_id") and not msg.deleted:
                return msg
        raise _bad(f"message to {action} not found")

    # ------------------------------------------------------------ API methods
    async def _m_getme(self, params: dict, files: dict) -> dict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_deletewebhook(self, params: dict, files: dict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_setmycommands(self, params: dict, files: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be a list of at most 100 BotCommand")
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", ""))) <= 256:
                raise _bad(
                    "command description is empty"
                    if not c.get("description")
                    else "BOT_COMMAND_DESCRIPTION_INVALID"
                )
        self.commands = commands
        return True

    async def _m_getupdates(self, params: dict, files: dict) -> list[dict]:
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll still waiting now answers 409, as Telegram does
        offset = int(params.get("offset") or 0)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if "allowed_updates" in params and params["allowed_updates"] is not None:
            self._allowed = list(params["allowed_updates"])
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)

        def ready() -> list[dict]:
            allowed = set(self._allowed)
            found = [u for u in self._updates if self._deliverable(u, allowed)]
            return found[-1:] if offset < 0 else found[:limit]

        while not (found := ready()) and not self._closing:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass
        return found

    async def _m_getchat(self, params: dict, files: dict) -> dict:
        chat = self._resolve(params.get("chat_id"))
        if chat["type"] == "channel" and not chat.get("username") and not self._admin[chat["id"]]:
            raise _bad("chat not found")  # private channels are invisible to outsiders
        kinds = "unlimited_gifts limited_gifts unique_gifts premium_subscription"
        gifts = dict.fromkeys(f"{kinds} gifts_from_channels".split(), False)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    async def _m_getchatmember(self, params: dict, files: dict) -> dict:
        chat = self._resolve(params.get("chat_id"))
        user_id = params.get("user_id")
        if user_id == self.bot_id:
            if chat["type"] == "private" or not self._admin.get(chat["id"]):
                return {
                    "status": "member" if chat["type"] == "private" else "left",
                    "user": self._bot_user(),
                }
            no = "can_be_edited is_anonymous can_restrict_members can_promote_members "
            no += "can_manage_video_chats can_send_welcome_messages"
            yes = "can_manage_chat can_delete_messages can_change_info can_invite_users "
            yes += "can_post_stories can_edit_stories can_delete_stories can_post_messages "
            yes += "can_edit_messages"
            rights = dict.fromkeys(no.split(), False) | dict.fromkeys(yes.split(), True)
            return {"status": "administrator", "user": self._bot_user(), **rights}
        if user_id in self._users and chat["id"] == user_id:
            return {"status": "member", "user": self._users[user_id]}
        if user_id in self._users and user_id in self._members.get(chat["id"], set()):
            return {"status": "member", "user": self._users[user_id]}
        raise _bad("user not found")

    async def _m_sendmessage(self, params: dict, files: dict) -> dict:
        chat = self._writable(params.get("chat_id"))
        text, entities = self._formatted(params, "text", _MAX_TEXT, "is")
        markup = self._markup(params)
        reply = self._reply_to(chat, params)
        msg = FakeMessage(
            self._new_id(chat["id"]), chat["id"], text, params.get("text"), entities, markup
        )
        self._store(chat, msg, reply)
        return self._render(msg)

    async def _m_editmessagetext(self, params: dict, files: dict) -> dict:
        if "inline_message_id" in params:
            raise _bad("inline messages are not supported by this fake")
        msg = self._find(params, "edit")
        if msg.photo:
            raise _bad("there is no text in the message to edit")
        text, entities = self._formatted(params, "text", _MAX_TEXT, "is")
        markup = self._markup(params)
        if (text, entities, markup) == (msg.text, msg.entities, msg.reply_markup):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        msg.text, msg.entities, msg.html, msg.reply_markup = text, entities, params["text"], markup
        msg.edited = True
        return self._render(msg)

    async def _m_editmessagereplymarkup(self, params: dict, files: dict) -> dict:
        msg = self._find(params, "edit")
        markup = self._markup(params)
        if markup == msg.reply_markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        msg.reply_markup, msg.edited = markup, True
        return self._render(msg)

    async def _m_deletemessage(self, params: dict, files: dict) -> bool:
        """Bots may delete their own messages, and the user's messages in a private chat."""
        chat = self._writable(params.get("chat_id"))
        key = (chat["id"], params.get("message_id"))
        user_message = self._raw.get(key)
        if chat["type"] == "private" and user_message and "from" in user_message:
            if user_message["from"]["id"] == chat["id"] and key not in self.deleted_user_messages:
                self.deleted_user_messages.add(key)
                return True
        message = self._find(params, "delete")
        if time.time() - message.date > DELETE_WINDOW_S:
            raise _bad("message can't be deleted")
        message.deleted = True
        return True

    async def _m_answercallbackquery(self, params: dict, files: dict) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if self._queries.get(query_id, True):
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._queries[query_id] = True
        self.callback_answers[query_id] = params
        return True

    async def _m_sendchataction(self, params: dict, files: dict) -> bool:
        self._writable(params.get("chat_id"))
        if params.get("action") not in _ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _photo(self, ref: Any, files: dict[str, bytes], key: str) -> bytes | None:
        """Check a photo reference (``attach://name``, the multipart field ``key``, a file id or
        an URL) the way Telegram does; the uploaded bytes, if it was an upload."""
        if isinstance(ref, str) and ref.startswith("attach://"):
            ref = files.get(ref.removeprefix("attach://"))
        elif ref is None:
            ref = files.get(key)
        if isinstance(ref, bytes | bytearray):
            return _check_photo(bytes(ref))
        known = {p["file_id"] for raw in self._raw.values() for p in raw.get("photo", [])}
        if not isinstance(ref, str) or not (
            ref.startswith(("http://", "https://")) or ref in known
        ):
            raise _bad("wrong file identifier/HTTP URL specified")
        return None

    def _photo_message(
        self, chat: dict, params: dict, extra: dict, file: bytes | None = None
    ) -> dict:
        caption, entities = self._formatted(params, "caption", _MAX_CAPTION, "caption is")
        markup = self._markup(params)
        msg = FakeMessage(
            self._new_id(chat["id"]),
            chat["id"],
            caption,
            params.get("caption"),
            entities,
            markup,
            photo=True,
            file=file,
            media_group_id=extra.get("media_group_id"),
        )
        self._store(chat, msg, {"photo": self._photo_sizes(), **extra})
        return self._render(msg)

    async def _m_sendphoto(self, params: dict, files: dict) -> dict:
        chat = self._writable(params.get("chat_id"))
        file = self._photo(params.get("photo"), files, "photo")
        return self._photo_message(chat, params, {}, file)

    async def _m_getchatmembercount(self, params: dict, files: dict) -> int:
        chat = self._resolve(params.get("chat_id"))
        if chat["type"] == "channel" and not chat.get("username") and not self._admin[chat["id"]]:
            raise _bad("chat not found")
        return self.member_counts.get(chat["id"], 1)

    async def _m_sendmediagroup(self, params: dict, files: dict) -> list[dict]:
        chat = self._writable(params.get("chat_id"))
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _bad("wrong number of media files: must be 2-10")
        uploads = []
        for item in media:
            if item.get("type") != "photo":
                raise _bad("only photo media groups are supported by this fake")
            uploads.append(self._photo(item.get("media"), files, ""))
        group = {"media_group_id": str(next(self._files))}
        for item in media:  # every caption is checked before anything is posted
            self._formatted(item, "caption", _MAX_CAPTION, "caption is")
        return [
            self._photo_message(chat, item, group, file)
            for item, file in zip(media, uploads, strict=True)
        ]

    async def _m_senddocument(self, params: dict, files: dict) -> dict:
        chat = self._writable(params.get("chat_id"))
        ref = params.get("document")
        key = ref.removeprefix("attach://") if isinstance(ref, str) else "document"
        content = files.get(key)
        if not content:
            raise _bad("there is no document in the request")
        caption, entities = self._formatted(params, "caption", _MAX_CAPTION, "caption is")
        file_id = f"doc{next(self._files)}"
        self.documents[file_id] = (params.get(f"_filename_{key}") or "document", bytes(content))
        msg = FakeMessage(
            self._new_id(chat["id"]),
            chat["id"],
            caption,
            params.get("caption"),
            entities,
            self._markup(params),
            document_id=file_id,
        )
        self._store(chat, msg, {"document": {"file_id": file_id, "file_unique_id": file_id}})
        return self._render(msg)

    async def _m_getfile(self, params: dict, files: dict) -> dict:
        file_id = params.get("file_id")
        if file_id not in self.documents:
            raise _bad("invalid file_id")
        name, content = self.documents[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(content),
            "file_path": f"documents/{file_id}",
        }

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        file_id = request.match_info["path"].removeprefix("documents/")
        if file_id not in self.documents:
            return web.Response(status=404)
        return web.Response(body=self.documents[file_id][1])
