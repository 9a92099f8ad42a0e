"""Learning from the chat: the optional reason after a rejection, and /voice's learning
buttons ("Learn from my decisions now", 🗑 on a learned preference)."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from ai.drafter import Drafter
from ai.errors import AIError
from ai.learning import LearningBusy, drop_preference, learn_now, note_reject_reason
from handlers.routing import TYPING, TappedMessage, needs
from handlers.voice import voice_view
from scheduler.clock import Clock
from storage.roles import Can
from storage.teams import Seat
from ui.callbacks import LearnAct, LearnCb, RejectReasonCb
from ui.learning import REASON_NAMES
from ui.texts import Texts

log = logging.getLogger(__name__)


async def on_reject_reason(
    query: CallbackQuery,
    callback_data: RejectReasonCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
) -> None:
    name = REASON_NAMES[callback_data.reason]
    post_id = callback_data.post
    if not await note_reject_reason(session, post_id, name):
        await query.answer(t.plain("learn.reason.gone", post_id=post_id), show_alert=True)
        return
    await query.answer()
    reason = t.plain(f"learn.reason.{name}")
    await message.edit_text(t("learn.reason.noted", post_id=post_id, reason=reason))


async def _refresh_voice(message: Message, session: AsyncSession, t: Texts) -> None:
    text, markup = await voice_view(session, t)
    await message.edit_text(text, reply_markup=markup)


async def on_drop(
    query: CallbackQuery,
    callback_data: LearnCb,
    message: Message,
    session: AsyncSession,
    clock: Clock,
    seat: Seat,
    t: Texts,
) -> None:
    if not await drop_preference(session, callback_data.pref, clock.now(), seat.brand.id):
        await query.answer(t.plain("learn.drop_gone"), show_alert=True)
    else:
        await query.answer()
    await _refresh_voice(message, session, t)


async def on_learn_now(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    drafter: Drafter,
    clock: Clock,
    seat: Seat,
    t: Texts,
) -> None:
    await query.answer()
    progress = await message.answer(t("learn.working"))
    try:
        learned = await learn_now(session, drafter, clock.now(), seat.brand.id)
    except LearningBusy:
        await progress.edit_text(t("learn.busy"))
        return
    except AIError as exc:
        log.warning("learning failed: %s", exc)
        await progress.edit_text(t("learn.failed", reason=exc.user_message))
        return
    if not learned.decisions:
        await progress.edit_text(t("learn.nothing"))
        return
    await progress.edit_text(t.n("learn.done", len(learned.rules), decisions=learned.decisions))
    await _refresh_voice(message, session, t)


def router() -> Router:
    r = Router(name="learning")
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(on_reject_reason, RejectReasonCb.filter(), flags=needs(Can.DRAFT))
    r.callback_query.register(
        on_drop, LearnCb.filter(F.act == LearnAct.DROP), flags=needs(Can.MANAGE)
    )
    r.callback_query.register(
        on_learn_now, LearnCb.filter(F.act == LearnAct.NOW), flags=needs(Can.MANAGE, **TYPING)
    )
    return r
