"""The 🔕 Mute buttons under alerts. An alert is about one brand (or the whole install, which
the first brand's owners run): only an owner of that brand may mute it, whichever brand their
commands currently act in."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.routing import TappedMessage, needs
from metrics.alerts import MUTE_DAYS, Alerts
from storage import teams
from storage.models import FIRST_BRAND_ID, Role
from storage.roles import Can
from ui import views
from ui.callbacks import MuteCb
from ui.texts import Texts


async def on_mute(
    query: CallbackQuery,
    callback_data: MuteCb,
    message: Message,
    session: AsyncSession,
    alerts: Alerts,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    brand_id = callback_data.brand or None
    about = brand_id or FIRST_BRAND_ID
    role = await teams.role_in(session, about, query.from_user.id)
    brand = await teams.get_brand(session, about)
    name = brand.name if brand else str(about)
    await session.rollback()  # end the read: muting writes in its own session
    if role is not Role.OWNER:
        await query.answer(t.plain("brandjobs.mute_refused", brand=name), show_alert=True)
        return
    until = await alerts.mute(callback_data.kind, callback_data.days, brand_id)
    note = t.plain("alert.muted", until=views.when(t, until, tz))
    await query.answer(note)
    await message.edit_reply_markup(reply_markup=None)
    await message.reply(t("alert.muted", until=views.when(t, until, tz)))


def router() -> Router:
    r = Router(name="alerts")
    r.callback_query.filter(TappedMessage())
    # only the lengths we offer; any other is answered by the fallback
    # the brand named in the button decides (checked above), not the current brand's role
    r.callback_query.register(on_mute, MuteCb.filter(F.days.in_(MUTE_DAYS)), flags=needs(Can.VIEW))
    return r
