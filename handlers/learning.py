"""Learning from the chat: the optional reason after a rejection, and /voice's learning
buttons ("Learn from my decisions now", 🗑 on a learned preference)."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.chat_action import ChatActionSender
from sqlalchemy.ext.asyncio import AsyncSession

from ai.drafter import Drafter
from ai.errors import AIError
from ai.learning import LearningBusy, drop_preference, learn_now, note_reject_reason
from handlers.voice import voice_view
from scheduler.clock import Clock
from ui.callbacks import LearnAct, LearnCb, RejectReasonCb
from ui.learning import REASON_NAMES
from ui.texts import Texts

log = logging.getLogger(__name__)


async def on_reject_reason(
    query: CallbackQuery, callback_data: RejectReasonCb, session: AsyncSession, t: Texts
) -> None:
    name = REASON_NAMES[callback_data.reason]
    post_id = callback_data.post
    if not await note_reject_reason(session, post_id, name):
        await query.answer(t.plain("learn.reason.gone", post_id=post_id), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        reason = t.plain(f"learn.reason.{name}")
        await query.message.edit_text(t("learn.reason.noted", post_id=post_id, reason=reason))


async def _refresh_voice(query: CallbackQuery, session: AsyncSession, t: Texts) -> None:
    if isinstance(query.message, Message):
        text, markup = await voice_view(session, t)
        await query.message.edit_text(text, reply_markup=markup)


async def on_learn_button(
    query: CallbackQuery,
    callback_data: LearnCb,
    session: AsyncSession,
    drafter: Drafter,
    clock: Clock,
    t: Texts,
) -> None:
    if callback_data.act is LearnAct.DROP:
        if not await drop_preference(session, callback_data.pref, clock.now()):
            await query.answer(t.plain("learn.drop_gone"), show_alert=True)
        else:
            await query.answer()
        await _refresh_voice(query, session, t)
        return
    await query.answer()
    chat_id = query.from_user.id
    assert query.bot is not None
    progress = await query.bot.send_message(chat_id, t("learn.working"))
    try:
        async with ChatActionSender.typing(bot=query.bot, chat_id=chat_id):
            learned = await learn_now(session, drafter, clock.now())
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
    await _refresh_voice(query, session, t)


def router() -> Router:
    r = Router(name="learning")
    r.callback_query.register(on_reject_reason, RejectReasonCb.filter())
    r.callback_query.register(on_learn_button, LearnCb.filter())
    return r
