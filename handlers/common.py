"""/start, /help, /cancel, and the answer to anything no other handler takes: unknown commands,
and every button tap no router took (malformed, forged, out of range, from an older version of
the bot, or under a message too old to be seen), so no tap is left spinning."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from ai.service import load_voice
from config.settings import Settings
from handlers.drafting import Drafting
from handlers.previews import branded
from handlers.routing import ANYONE, TappedMessage, needs
from publishers.registry import account_label
from storage import repositories as repo
from storage.roles import Can
from ui.texts import Html, Texts


async def start(message: Message, t: Texts, settings: Settings, session: AsyncSession) -> None:
    accounts = await repo.enabled_accounts(session)
    channel = (
        t("start.channel_ok", channel=", ".join(account_label(a) for a in accounts))
        if accounts
        else t("start.channel_missing")
    )
    ai = (
        t("start.ai_online", model=settings.ai_model)
        if settings.anthropic_api_key
        else t("start.ai_offline")
    )
    has_voice = not (await load_voice(session)).is_empty()
    voice = t("start.voice_set") if has_voice else t("start.voice_missing")
    text = t("start", channel=Html(channel), ai=Html(ai), voice=Html(voice))
    await message.answer(branded(session, t, text))


async def help_(message: Message, t: Texts) -> None:
    await message.answer(t("help"))


async def cancel(
    message: Message,
    bot: Bot,
    state: FSMContext,
    t: Texts,
    session: AsyncSession,
    drafting: Drafting,
) -> None:
    """Leave the dialogue, and stop the drafts being written in this chat."""
    stopped = await drafting.cancel_chat(session, bot, message.chat.id)
    if await state.get_state() is not None:
        await state.clear()
        await message.answer(t("cancel.done"))
    elif stopped:
        await message.answer(t.n("bg.stopped", stopped))
    else:
        await message.answer(t("cancel.nothing"))


async def unknown_command(message: Message, t: Texts) -> None:
    await message.answer(t("help"))


def router() -> Router:
    r = Router(name="common")
    r.message.register(start, CommandStart(), flags=needs(Can.VIEW))
    r.message.register(help_, Command("help"), flags=needs(Can.VIEW))
    r.message.register(cancel, Command("cancel"), flags=needs(Can.VIEW))
    return r


async def too_old(query: CallbackQuery, t: Texts) -> None:
    await query.answer(t.plain("tap.too_old"), show_alert=True)


async def unknown_tap(query: CallbackQuery, t: Texts) -> None:
    await query.answer(t.plain("tap.unknown"), show_alert=True)


def fallback_router() -> Router:
    """Included last: unknown /commands get the help text instead of silence, and every tap no
    other router took is answered."""
    r = Router(name="fallback")
    r.message.register(unknown_command, F.text.startswith("/"), flags=needs(ANYONE))
    r.callback_query.register(too_old, ~TappedMessage(), flags=needs(ANYONE))
    r.callback_query.register(unknown_tap, flags=needs(ANYONE))
    return r
