"""/timezone: the owner's time zone, by IANA name, city or UTC offset."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.routing import TappedMessage
from publishers.blank import visible
from scheduler.clock import Clock
from scheduler.timeparse import suggest_timezones
from storage import repositories as repo
from storage import teams
from storage.teams import Seat
from ui import views
from ui.callbacks import TimezoneCb
from ui.keyboards import timezone_keyboard
from ui.texts import Texts


async def _set(
    session: AsyncSession, user_id: int, name: str, t: Texts, clock: Clock, seat: Seat
) -> str:
    await repo.set_user_timezone(session, user_id, name)
    await teams.record(session, seat.brand.id, user_id, "brand.timezone", detail=name)
    await session.commit()
    return t("tz.set", tz=name, now=views.when(t, clock.now(), ZoneInfo(name)))


async def on_timezone(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    clock: Clock,
    t: Texts,
    tz: ZoneInfo,
    seat: Seat,
) -> None:
    query = visible(command.args)
    if not query:
        await message.answer(t("tz.current", tz=tz.key, now=views.when(t, clock.now(), tz)))
        return
    names = suggest_timezones(query)
    if not names:
        await message.answer(t("tz.unknown", query=query))
    elif len(names) == 1 or names[0].lower() == query.lower():
        assert message.from_user is not None
        await message.answer(await _set(session, message.from_user.id, names[0], t, clock, seat))
    else:
        await message.answer(t("tz.choose"), reply_markup=timezone_keyboard(names))


async def on_timezone_pick(
    query: CallbackQuery,
    callback_data: TimezoneCb,
    message: Message,
    session: AsyncSession,
    clock: Clock,
    t: Texts,
    seat: Seat,
) -> None:
    if callback_data.name not in suggest_timezones(callback_data.name):
        await query.answer(t.plain("tz.unknown", query=callback_data.name), show_alert=True)
        return
    await query.answer()
    text = await _set(session, query.from_user.id, callback_data.name, t, clock, seat)
    await message.edit_text(text)


def router() -> Router:
    r = Router(name="timezone")
    r.message.register(on_timezone, Command("timezone"))
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(on_timezone_pick, TimezoneCb.filter())
    return r
