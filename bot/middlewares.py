"""Middlewares: who gets in, with which session, in which brand, allowed to do what.

`SessionMiddleware` (outer, on `dp.update`, so it sees messages and callback queries alike) opens
the per-update database session and finds the user's seat: the brand their commands act in and
their role there (`storage.teams.current_seat`). Someone who belongs to no brand gets one polite
refusal with their id (a tap gets it as an alert), nothing is written for them, and the update
goes no further; the one exception is a private `/start <code>`, the invite link that makes them
a member. In groups, strangers are ignored silently (a review group has other people in it);
in a brand's review group, an update acts in that brand, whichever brand the member is working
in elsewhere.
Updates without a user are dropped, except channel reaction counts (anonymous by nature; they
only ever update the counters of our own posts). A member's row is recorded, the session is
scoped to their current brand (`storage.scope`: no query of the update sees another brand's
rows), and handlers get `session`, `seat`, `t` (texts in the user's language) and `tz` (the
brand's time zone); whatever a handler leaves uncommitted when it fails is rolled back.

`RoleGate` (inner, on messages and callback queries) checks the handler's ``can`` flag
(`handlers.routing.needs`) against the member's role (`storage.roles.can`): a handler without
the flag is for owners only, so a forgotten flag fails safe. `ChatActions` (inner) shows
"typing…" while a handler flagged `chat_action` runs.
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

from handlers.routing import ANYONE
from scheduler.clock import Clock, SystemClock
from scheduler.dispatcher import PublisherFor
from storage import repositories as repo
from storage import scope, teams
from storage.models import User as DbUser
from storage.roles import Can, can
from storage.teams import Seat
from ui.texts import Texts, language_for

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

#: Strangers remembered as already refused (so each hears it once); bounded against floods.
_MAX_REMEMBERED = 10_000


class _Strangers:
    """Refuses people who belong to no brand, each once per process in a chat (a tap is always
    answered, or it would spin); bounded against floods."""

    def __init__(self) -> None:
        self._refused: set[int] = set()

    async def refuse(self, event: Update, user: User, bot: Bot) -> None:
        first_time = user.id not in self._refused
        if first_time and len(self._refused) < _MAX_REMEMBERED:
            self._refused.add(user.id)
        log.warning("refused an update from a stranger: user id %s", user.id)
        text = Texts(language_for(user.language_code)).plain("refused", user_id=user.id)
        if event.callback_query:
            await event.callback_query.answer(text, show_alert=True)
        elif first_time and event.message:
            await bot.send_message(event.message.chat.id, text, parse_mode=None)


def _group_id(event: TelegramObject) -> int | None:
    """The id of the group (or supergroup) the update comes from; None for a private chat."""
    if not isinstance(event, Update):
        return None
    chat = event.message.chat if event.message else None
    if event.callback_query and isinstance(event.callback_query.message, Message):
        chat = event.callback_query.message.chat
    return chat.id if chat is not None and chat.type != "private" else None


def _in_group(event: Update) -> bool:
    return _group_id(event) is not None


async def _seat(
    session: AsyncSession, user_id: int, event: TelegramObject
) -> tuple[DbUser | None, Seat | None]:
    """Where the update acts: in a brand's review group, in that brand (None for someone with no
    role in it, whatever their own current brand); anywhere else, in the member's current brand.
    With it, the member's row when it was read on the way (see `teams.member_and_seat`)."""
    group = _group_id(event)
    brand = await teams.reviewing_in(session, group) if group is not None else None
    if brand is None:
        return await teams.member_and_seat(session, user_id)
    role = await teams.role_in(session, brand.id, user_id)
    if role is None:
        return None, None
    return None, Seat(brand, role, len(await teams.seats_of(session, user_id)) > 1)


def _joining(event: Update) -> bool:
    """A private `/start <code>`: the invite link someone who is not a member yet opens."""
    message = event.message
    return (
        message is not None
        and message.chat.type == "private"
        and (message.text or "").startswith("/start ")
    )


class SessionMiddleware(BaseMiddleware):
    """A database session per update, scoped to the member's brand, with their language (``t``)
    and the brand's time zone (``tz``).

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
        self.strangers = _Strangers()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None and isinstance(event, Update) and event.message_reaction_count:
            user = None  # anonymous channel reaction counts (see the module's docstring)
        elif user is None or user.is_bot:
            return None  # channel posts and service updates are not commands
        language = language_for(user.language_code if user else None)
        async with self.sessions() as session:
            session.info["publisher_for"] = self.publisher_for
            session.info["clock"] = self.clock
            seat = None
            if user is not None:
                # the member's row stays in the session while `known` holds it: upsert_user
                # below finds it there instead of reading it again
                known, seat = await _seat(session, user.id, event)
                if seat is None and isinstance(event, Update) and not _joining(event):
                    await session.rollback()
                    if not _in_group(event) or event.callback_query:
                        await self.strangers.refuse(event, user, data["bot"])
                    return None
                await repo.upsert_user(session, user.id, language, user.full_name)
                if seat is not None:
                    scope.enter(session, seat.brand.id, seat.brand.name if seat.several else None)
                await session.commit()  # hands the connection back while the handler talks
            zone = seat.brand.timezone if seat is not None else None
            data["tz"] = session.info["tz"] = ZoneInfo(zone or self.default_tz)
            data["session"] = session
            data["seat"] = seat
            data["t"] = Texts(language)
            try:
                return await handler(event, data)
            except Exception:
                # nothing half-written: the errors router then tells the owner nothing changed
                # (a cancelled handler is rolled back by the session's close, below: a rollback
                # here could meet the session mid-operation and hide the cancellation)
                await session.rollback()
                raise


class RoleGate(BaseMiddleware):
    """Lets a message or a tap reach its handler only if the member's role grants the
    handler's ``can`` flag; otherwise says so, in the chat or as the tap's alert."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        need = get_flag(data, "can", default=Can.MANAGE)
        seat: Seat | None = data.get("seat")
        if need is ANYONE or (seat is not None and can(seat.role, need)):
            return await handler(event, data)
        t: Texts = data["t"]
        if seat is None:
            text = t.plain("role.not_member")
        else:
            text = t.plain("role.refused", role=t.plain(f"role.{seat.role}"), brand=seat.brand.name)
        if isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text, parse_mode=None)
        return None


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
