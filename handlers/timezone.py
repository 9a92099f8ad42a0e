"""/timezone: the brand's time zone (its slots, schedule, digest and stats days), by IANA name,
city or UTC offset. Everyone in the brand sees its times in it; only an owner changes it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.routing import TappedMessage, needs
from publishers.blank import visible
from scheduler.clock import Clock
from scheduler.timeparse import suggest_timezones
from storage import teams
from storage.roles import Can
from storage.teams import Seat
from ui import views
from ui.callbacks import TimezoneCb
from ui.keyboards import timezone_keyboard
from ui.texts import Texts


async def _set(
    session: AsyncSession, seat: Seat, user_id: int, name: str, t: Texts, clock: Clock
) -> str:
    await teams.set_timezone(session, seat.brand.id, name)
    await teams.record(session, seat.brand.id, user_id, "brand.timezone", detail=name)
    await session.commit()
    return t(
        "tz.set", brand=seat.brand.name, tz=name, now=views.when(t, clock.now(), ZoneInfo(name))
    )


async def on_timezone(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    seat: Seat,
    clock: Clock,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    query = visible(command.args)
    if not query:
        now = views.when(t, clock.now(), tz)
        await message.answer(t("tz.current", brand=seat.brand.name, tz=tz.key, now=now))
        return
    names = suggest_timezones(query)
    if not names:
        await message.answer(t("tz.unknown", query=query))
    elif len(names) == 1 or names[0].lower() == query.lower():
        assert message.from_user is not None
        await message.answer(await _set(session, seat, message.from_user.id, names[0], t, clock))
    else:
        await message.answer(t("tz.choose"), reply_markup=timezone_keyboard(names))


async def on_timezone_pick(
    query: CallbackQuery,
    callback_data: TimezoneCb,
    message: Message,
    session: AsyncSession,
    seat: Seat,
    clock: Clock,
    t: Texts,
) -> None:
    if callback_data.name not in suggest_timezones(callback_data.name):
        await query.answer(t.plain("tz.unknown", query=callback_data.name), show_alert=True)
        return
    await query.answer()
    text = await _set(session, seat, query.from_user.id, callback_data.name, t, clock)
    await message.edit_text(text)


def router() -> Router:
    r = Router(name="timezone")
    r.message.register(on_timezone, Command("timezone"), flags=needs(Can.MANAGE))
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(on_timezone_pick, TimezoneCb.filter(), flags=needs(Can.MANAGE))
    return r
