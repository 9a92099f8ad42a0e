"""Routing helpers shared by the routers: the filter that hands a callback handler the message
its button sits under, the filter that keeps plain messages out of the commands and dialogues,
and the flags a handler is registered with (the capability it needs, the typing indicator).

A callback query's `message` is a `Message` only while the bot can still see it; a message that
is too old (or deleted) arrives as an `InaccessibleMessage`. `TappedMessage` is set on each
router's callback observer, so every handler gets a `message: Message` parameter instead of an
`isinstance` guard, and a tap on an inaccessible message falls through to the fallback router,
which answers it ("too old, send the command again").
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from storage.roles import Can


class TappedMessage(Filter):
    """Passes a callback query whose message is still accessible, injecting it as ``message``."""

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Any]:
        if isinstance(query.message, Message):
            return {"message": query.message}
        return False


class CommandOrDialogue(Filter):
    """Passes a command (a text or caption starting with "/"), a message of a chat in the
    middle of a dialogue (any FSM state) and anything said in a group: the only messages the
    command-and-dialogue routers take. A plain message in a private chat with no dialogue open
    (a brief, a forward, a link, a photo, a reply to a preview) skips all of them in one check,
    on its way to the routers that take it (`handlers.build_routers`)."""

    async def __call__(self, message: Message, raw_state: str | None = None) -> bool:
        said = message.text or message.caption or ""
        return said.startswith("/") or raw_state is not None or message.chat.type != "private"


#: Handler flags for a handler that may take seconds (an AI call): the chat shows "typing…"
#: while it runs, from 0.3 s on (an instant answer needs no indicator, and skipping it saves a
#: Telegram call); `bot.middlewares.ChatActions`, aiogram's `ChatActionMiddleware` for messages
#: and taps alike.
TYPING = {"chat_action": {"action": "typing", "initial_sleep": 0.3}}


#: The ``can`` flag of a handler open to anyone who reached it, member or not (the invite link).
ANYONE = "anyone"


def needs(capability: Can | str, **more: Any) -> dict[str, Any]:
    """Handler flags: the capability a member's role must grant (`bot.middlewares.RoleGate`),
    plus any other flags (``needs(Can.DRAFT, **TYPING)``)."""
    return {"can": capability, **more}
