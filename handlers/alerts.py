"""The 🔕 Mute buttons under alerts."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from metrics.alerts import MUTE_DAYS, Alerts
from ui import views
from ui.callbacks import MuteCb
from ui.texts import Texts


async def on_mute(
    query: CallbackQuery, callback_data: MuteCb, alerts: Alerts, t: Texts, tz: ZoneInfo
) -> None:
    if callback_data.days not in MUTE_DAYS:  # only the lengths we offer
        await query.answer()
        return
    until = await alerts.mute(callback_data.kind, callback_data.days)
    note = t.plain("alert.muted", until=views.when(t, until, tz))
    await query.answer(note)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.reply(t("alert.muted", until=views.when(t, until, tz)))


def router() -> Router:
    r = Router(name="alerts")
    r.callback_query.register(on_mute, MuteCb.filter())
    return r
