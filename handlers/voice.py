"""/voice: the brand voice (tone, audience, do's, don'ts, an example post) the AI writes in, and
below it what Nexus learned from the owner's decisions (each with a 🗑, and "Learn now")."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from ai.service import load_voice
from handlers.routing import TappedMessage, needs
from publishers.blank import visible
from storage import learning, teams
from storage import repositories as repo
from storage.roles import Can
from storage.teams import Seat
from ui import views
from ui.callbacks import VoiceCb, VoiceField, VoiceWholeCb
from ui.fit import fit_html
from ui.keyboards import voice_keyboard
from ui.learning import learned_block, with_learning
from ui.texts import Texts

#: Longest text for one field; the example post may be a whole post.
FIELD_LIMITS = {VoiceField.EXAMPLE: 4000}
DEFAULT_FIELD_LIMIT = 500


class VoiceStates(StatesGroup):
    editing = State()


async def voice_view(session: AsyncSession, t: Texts) -> tuple[str, InlineKeyboardMarkup]:
    """The /voice message: the voice's fields (long ones clipped, with "📄 Show whole"), then
    the learned preferences, each with its 🗑; the whole fitted to one message."""
    text, clipped = views.voice(t, await load_voice(session))
    preferences = [(p.id, p.text) for p in await learning.active_preferences(session)]
    text = fit_html(text + "\n\n" + learned_block(t, [p for _, p in preferences]))
    return text, with_learning(t, voice_keyboard(t, whole=bool(clipped)), preferences)


async def on_voice(message: Message, session: AsyncSession, t: Texts, state: FSMContext) -> None:
    await state.clear()
    text, markup = await voice_view(session, t)
    await message.answer(text, reply_markup=markup)


async def on_whole(query: CallbackQuery, message: Message, session: AsyncSession, t: Texts) -> None:
    """📄 Show whole: each field the view clips, sent whole as messages of its own."""
    brand = await load_voice(session)
    await query.answer()
    for field in VoiceField:
        value = getattr(brand, field.value)
        if views.is_clipped_voice(field.value, value):
            name = t.plain(f"voice.field.{field.value}")
            for piece in views.whole_field(t, name, value):
                await message.answer(piece)


async def on_clear(
    query: CallbackQuery, message: Message, session: AsyncSession, t: Texts, seat: Seat
) -> None:
    await repo.save_voice(session, **{f.value: "" for f in VoiceField})
    await teams.record(session, seat.brand.id, query.from_user.id, "brand.voice_clear")
    await session.commit()
    await query.answer(t.plain("voice.cleared"))
    text, markup = await voice_view(session, t)
    await message.edit_text(text, reply_markup=markup)


async def on_field(
    query: CallbackQuery,
    callback_data: VoiceCb,
    message: Message,
    t: Texts,
    state: FSMContext,
) -> None:
    field = callback_data.field
    assert field is not None  # (the filter)
    await query.answer()
    await state.set_state(VoiceStates.editing)
    await state.update_data(field=field.value)
    limit = FIELD_LIMITS.get(field, DEFAULT_FIELD_LIMIT)
    name = t.plain(f"voice.field.{field.value}")
    await message.answer(t("voice.ask", field=name, limit=limit))


async def on_voice_text(
    message: Message, session: AsyncSession, t: Texts, state: FSMContext, seat: Seat
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
    actor = message.from_user.id if message.from_user else None
    await teams.record(session, seat.brand.id, actor, "brand.voice", detail=field.value)
    await session.commit()
    await state.clear()
    await message.answer(t("voice.saved", field=name))
    text, markup = await voice_view(session, t)
    await message.answer(text, reply_markup=markup)


def router() -> Router:
    r = Router(name="voice")
    r.message.register(on_voice, Command("voice"), flags=needs(Can.MANAGE))
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(on_clear, VoiceCb.filter(F.field.is_(None)), flags=needs(Can.MANAGE))
    r.callback_query.register(
        on_field, VoiceCb.filter(F.field.is_not(None)), flags=needs(Can.MANAGE)
    )
    r.callback_query.register(on_whole, VoiceWholeCb.filter(), flags=needs(Can.MANAGE))
    r.message.register(on_voice_text, VoiceStates.editing, flags=needs(Can.MANAGE))
    return r
