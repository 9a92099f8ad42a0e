"""/voice: the brand voice (tone, audience, do's, don'ts, an example post) the AI writes in, and
below it what Nexus learned from the owner's decisions (each with a 🗑, and "Learn now")."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from ai.service import load_voice
from publishers.blank import visible
from storage import learning
from storage import repositories as repo
from ui.callbacks import VoiceCb, VoiceField
from ui.keyboards import voice_keyboard
from ui.learning import learned_block, with_learning
from ui.texts import Texts

#: Longest text for one field; the example post may be a whole post.
FIELD_LIMITS = {VoiceField.EXAMPLE: 4000}
DEFAULT_FIELD_LIMIT = 500


class VoiceStates(StatesGroup):
    editing = State()


async def voice_view(session: AsyncSession, t: Texts) -> tuple[str, InlineKeyboardMarkup]:
    """The /voice message: the voice's fields, then the learned preferences; its buttons."""
    voice = await load_voice(session)
    unset = t.plain("voice.unset")
    values = {field.value: getattr(voice, field.value) or unset for field in VoiceField}
    preferences = [(p.id, p.text) for p in await learning.active_preferences(session)]
    text = t("voice.show", **values) + "\n\n" + learned_block(t, [p for _, p in preferences])
    return text, with_learning(t, voice_keyboard(t), preferences)


async def on_voice(message: Message, session: AsyncSession, t: Texts, state: FSMContext) -> None:
    await state.clear()
    text, markup = await voice_view(session, t)
    await message.answer(text, reply_markup=markup)


async def on_voice_button(
    query: CallbackQuery,
    callback_data: VoiceCb,
    session: AsyncSession,
    t: Texts,
    state: FSMContext,
) -> None:
    field = callback_data.field
    if field is None:
        await repo.save_voice(session, **{f.value: "" for f in VoiceField})
        await session.commit()
        await query.answer(t.plain("voice.cleared"))
        if isinstance(query.message, Message):
            text, markup = await voice_view(session, t)
            await query.message.edit_text(text, reply_markup=markup)
        return
    await query.answer()
    await state.set_state(VoiceStates.editing)
    await state.update_data(field=field.value)
    limit = FIELD_LIMITS.get(field, DEFAULT_FIELD_LIMIT)
    name = t.plain(f"voice.field.{field.value}")
    if isinstance(query.message, Message):
        await query.message.answer(t("voice.ask", field=name, limit=limit))


async def on_voice_text(
    message: Message, session: AsyncSession, t: Texts, state: FSMContext
) -> None:
    field = VoiceField((await state.get_data())["field"])
    name = t.plain(f"voice.field.{field.value}")
    text = visible(message.text)
    if not text:
        await message.answer(t("edit.not_text"))
        return
    limit = FIELD_LIMITS.get(field, DEFAULT_FIELD_LIMIT)
    if len(text) > limit:
        await message.answer(t("voice.too_long", length=len(text), field=name, limit=limit))
        return
    await repo.save_voice(session, **{field.value: text})
    await session.commit()
    await state.clear()
    await message.answer(t("voice.saved", field=name))
    text, markup = await voice_view(session, t)
    await message.answer(text, reply_markup=markup)


def router() -> Router:
    r = Router(name="voice")
    r.message.register(on_voice, Command("voice"))
    r.callback_query.register(on_voice_button, VoiceCb.filter())
    r.message.register(on_voice_text, VoiceStates.editing)
    return r
