"""Outer middlewares on `dp.update` (so they see messages and callback queries alike).

`OwnerGate` runs first: only NEXUS_OWNER_IDS get through; anyone else gets one polite refusal
(no database, no AI call) and is logged. Updates that carry no user at all are dropped, except
channel reaction counts (anonymous by nature; Telegram only sends them for channels where the bot
is an admin, and they only ever update the counters of our own posts). `SessionMiddleware` then
opens the per-update database session, records the user, and hands handlers `session`, `t`
(texts in the user's language) and `tz` (the user's time zone); whatever a handler leaves
uncommitted when it fails is rolled back. `ChatActions` (inner, on messages and callback
queries) shows "typing…" while a handler flagged `chat_action` runs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.flags import get_flag
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User
from aiogram.utils.chat_action import ChatActionMiddleware
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler.clock import Clock, SystemClock
from scheduler.dispatcher import PublisherFor
from storage import repositories as repo
from ui.texts import Texts, language_for

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

#: Strangers remembered as already refused (so each hears it once); bounded against floods.
_MAX_REMEMBERED = 10_000


class OwnerGate(BaseMiddleware):
    def __init__(self, owner_ids: frozenset[int]) -> None:
        self.owner_ids = owner_ids
        self._refused: set[int] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None and isinstance(event, Update) and event.message_reaction_count:
            return await handler(event, data)
        if user is None or user.is_bot:
            return None  # channel posts and service updates are not commands
        if user.id in self.owner_ids:
            return await handler(event, data)
        await self._refuse(event, user, data["bot"])
        return None

    async def _refuse(self, event: TelegramObject, user: User, bot: Bot) -> None:
        first_time = user.id not in self._refused
        if first_time and len(self._refused) < _MAX_REMEMBERED:
            self._refused.add(user.id)
        log.warning("refused an update from a stranger: user id %s", user.id)
        text = Texts(language_for(user.language_code)).plain("refused", user_id=user.id)
        if isinstance(event, Update) and event.callback_query:
            await event.callback_query.answer(text, show_alert=True)
        elif first_time and isinstance(event, Update) and event.message:
            await bot.send_message(event.message.chat.id, text, parse_mode=None)


class SessionMiddleware(BaseMiddleware):
    """A database session per update, with the owner's language (``t``) and time zone (``tz``).

    ``session.info["publisher_for"]`` carries the factory of target publishers, so whatever
    renders a preview can check each target's text with the platform's own rules;
    ``session.info["tz"]`` and ``["clock"]`` let it tell the time of the owner (the forecast) and
    the clock its quota figures are counted at.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        default_tz: str,
        publisher_for: PublisherFor | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.sessions = sessions
        self.default_tz = default_tz
        self.publisher_for = publisher_for
        self.clock = clock or SystemClock()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        language = language_for(user.language_code if user else None)
        async with self.sessions() as session:
            session.info["publisher_for"] = self.publisher_for
            session.info["clock"] = self.clock
            timezone = None
            if user is not None:  # (anonymous updates: see OwnerGate)
                row, _changed = await repo.upsert_user(session, user.id, language)
                timezone = row.timezone
                await session.commit()  # hands the connection back while the handler talks
            data["tz"] = session.info["tz"] = ZoneInfo(timezone or self.default_tz)
            session.info["clock"] = self.clock
            data["session"] = session
            data["t"] = Texts(language)
            try:
                return await handler(event, data)
            except Exception:
                # nothing half-written: the errors router then tells the owner nothing changed
                # (a cancelled handler is rolled back by the session's close, below: a rollback
                # here could meet the session mid-operation and hide the cancellation)
                await session.rollback()
                raise


class ChatActions(ChatActionMiddleware):
    """aiogram's `ChatActionMiddleware`, only for handlers flagged ``chat_action`` (the stock one
    wraps every message handler: one `sendChatAction` per message), and for button taps too,
    in the chat of the tapped message."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if get_flag(data, "chat_action") is None:
            return await handler(event, data)
        if isinstance(event, CallbackQuery) and isinstance(event.message, Message):
            query = event

            async def tapped(_message: TelegramObject, data: dict[str, Any]) -> Any:
                return await handler(query, data)

            return await super().__call__(tapped, event.message, data)
        return await super().__call__(handler, event, data)
