"""A draft's targets one by one: see each platform's variant with its count, switch between
them, edit one, or leave a target out of this post."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from ai.service import DraftChanged, edit_variant, toggle_target
from handlers.previews import current_draft, send_new_preview, show, target_line
from handlers.routing import TappedMessage, needs
from publishers.blank import visible
from storage import repositories as repo
from storage.models import Post, PostStatus, PostVariant
from storage.roles import Can
from ui import views
from ui.callbacks import VariantAct, VariantCb
from ui.keyboards import regenerate_keyboard, variant_keyboard
from ui.texts import Texts


class VariantStates(StatesGroup):
    editing = State()


def _shown(post: Post) -> list[PostVariant]:
    return [v for v in post.variants if v.account.enabled]


def target_of(post: Post, account_id: int) -> PostVariant | None:
    """The draft's variant for account ``account_id``, if that account still takes posts."""
    return next((v for v in _shown(post) if v.account_id == account_id), None)


async def show_variant(
    bot: Bot, session: AsyncSession, t: Texts, post: Post, account_id: int, *, chat_id: int
) -> None:
    """Put one target's variant into the preview message, with the switch/edit/off buttons."""
    variants = _shown(post)
    current = next((v for v in variants if v.account_id == account_id), variants[0])
    line = await target_line(session, t, post, current)
    ids = [v.account_id for v in variants]
    text = views.variant(
        t, post, current.account, current.text, line, ids.index(current.account_id) + 1, len(ids)
    )
    markup = variant_keyboard(
        t, post.id, post.version, ids, current.account_id, enabled=current.enabled
    )
    await show(bot, session, post, text, markup, chat_id=chat_id)


async def _tapped_target(
    query: CallbackQuery, callback_data: VariantCb, bot: Bot, session: AsyncSession, t: Texts
) -> tuple[Post, PostVariant] | None:
    """The draft and the target a variants button names, if both are still current; otherwise
    the tap is answered with why not."""
    post = await current_draft(query, bot, session, t, callback_data.post, callback_data.v)
    if post is None:
        return None
    variant = target_of(post, callback_data.acc)
    if variant is None:
        await query.answer(t.plain("variant.gone", post_id=post.id), show_alert=True)
        return None
    return post, variant


async def on_show(
    query: CallbackQuery, callback_data: VariantCb, bot: Bot, session: AsyncSession, t: Texts
) -> None:
    if found := await _tapped_target(query, callback_data, bot, session, t):
        post, variant = found
        await query.answer()
        await show_variant(bot, session, t, post, variant.account_id, chat_id=query.from_user.id)


async def on_edit(
    query: CallbackQuery,
    callback_data: VariantCb,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    state: FSMContext,
) -> None:
    if not (found := await _tapped_target(query, callback_data, bot, session, t)):
        return
    post, variant = found
    await query.answer()
    await state.set_state(VariantStates.editing)
    await state.update_data(post=post.id, account=variant.account_id)
    clipped = variant.text if len(variant.text) <= 3000 else variant.text[:3000] + "…"
    name = views.target_name(variant.account)
    text = t("variant.ask", post_id=post.id, name=name, text=clipped)
    await bot.send_message(query.from_user.id, text)


async def on_regenerate(
    query: CallbackQuery, callback_data: VariantCb, bot: Bot, session: AsyncSession, t: Texts
) -> None:
    if not (found := await _tapped_target(query, callback_data, bot, session, t)):
        return
    post, variant = found
    await query.answer()
    name = views.target_name(variant.account)
    await show(
        bot,
        session,
        post,
        t("regen.choose_variant", post_id=post.id, name=name),
        regenerate_keyboard(t, post.id, post.version, account=variant.account_id),
        chat_id=query.from_user.id,
    )


async def on_toggle(
    query: CallbackQuery, callback_data: VariantCb, bot: Bot, session: AsyncSession, t: Texts
) -> None:
    if not (found := await _tapped_target(query, callback_data, bot, session, t)):
        return
    post, variant = found
    try:
        post = await toggle_target(session, post, variant.account_id)
    except DraftChanged:
        await query.answer(t.plain("draft.changed", post_id=post.id))
        return
    await query.answer()
    await show_variant(bot, session, t, post, variant.account_id, chat_id=query.from_user.id)


async def on_variant_text(
    message: Message, bot: Bot, session: AsyncSession, t: Texts, state: FSMContext
) -> None:
    text = visible(message.text)
    if not text:
        await message.answer(t("edit.not_text" if not message.text else "edit.empty"))
        return
    data = await state.get_data()
    await state.clear()
    post_id, account_id = int(data["post"]), int(data["account"])
    post = await repo.get_post(session, post_id)
    if post is None or post.status != PostStatus.DRAFT:
        await message.answer(t("draft.gone"))
        return
    try:
        post = await edit_variant(session, post, account_id, text)
    except DraftChanged:
        await message.answer(t("draft.changed", post_id=post_id))
        return
    await send_new_preview(bot, session, t, post, chat_id=message.chat.id)
    await show_variant(bot, session, t, post, account_id, chat_id=message.chat.id)


def router() -> Router:
    r = Router(name="variants")
    r.message.register(on_variant_text, VariantStates.editing, flags=needs(Can.DRAFT))
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(
        on_show, VariantCb.filter(F.act == VariantAct.SHOW), flags=needs(Can.DRAFT)
    )
    r.callback_query.register(
        on_edit, VariantCb.filter(F.act == VariantAct.EDIT), flags=needs(Can.DRAFT)
    )
    r.callback_query.register(
        on_regenerate, VariantCb.filter(F.act == VariantAct.REGENERATE), flags=needs(Can.DRAFT)
    )
    r.callback_query.register(
        on_toggle, VariantCb.filter(F.act == VariantAct.TOGGLE), flags=needs(Can.DRAFT)
    )
    return r
