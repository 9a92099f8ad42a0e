"""The 🔕 Mute buttons under alerts."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from handlers.routing import TappedMessage, needs
from metrics.alerts import MUTE_DAYS, Alerts
from storage.roles import Can
from ui import views
from ui.callbacks import MuteCb
from ui.texts import Texts


async def on_mute(
    query: CallbackQuery,
    callback_data: MuteCb,
    message: Message,
    alerts: Alerts,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    until = await alerts.mute(callback_data.kind, callback_data.days)
    note = t.plain("alert.muted", until=views.when(t, until, tz))
    await query.answer(note)
    await message.edit_reply_markup(reply_markup=None)
    await message.reply(t("alert.muted", until=views.when(t, until, tz)))


def router() -> Router:
    r = Router(name="alerts")
    r.callback_query.filter(TappedMessage())
    # only the lengths we offer; any other is answered by the fallback
    r.callback_query.register(
        on_mute, MuteCb.filter(F.days.in_(MUTE_DAYS)), flags=needs(Can.MANAGE)
    )
    return r
