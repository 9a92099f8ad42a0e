"""Drafts: a brief becomes a preview; its buttons approve, edit, regenerate or reject it.

Handlers parse the update, call `ai.service` / `scheduler.publishing`, and render with
`bot.views`. The preview message of a draft is remembered on the post, so every step (edit,
regenerate, publish) updates that one message instead of scattering copies through the chat.
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.chat_action import ChatActionSender
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai.drafter import Drafter
from ai.errors import AIError
from ai.service import DraftChanged, create_draft, edit_draft, regenerate_draft
from bot import views
from bot.callbacks import DraftAct, DraftCb, DraftsPageCb, OpenDraftCb, RegenCb, RetryDraftCb
from bot.keyboards import (
    REGEN_ASK_OWN,
    REGEN_PRESETS,
    REGEN_REPLIED,
    draft_keyboard,
    drafts_keyboard,
    regenerate_keyboard,
    single_button,
)
from bot.texts import Texts
from publishers.text import TELEGRAM_TEXT_LIMIT
from scheduler.clock import Clock
from scheduler.publishing import (
    CannotPublish,
    NoTargets,
    PublisherFor,
    PublishReport,
    approve_and_publish,
    retry_failed,
)
from storage import repositories as repo
from storage.models import Post, PostStatus

log = logging.getLogger(__name__)

MAX_BRIEF_CHARS = 4000
DRAFTS_PAGE_SIZE = 8
SNIPPET_CHARS = 40


class DraftStates(StatesGroup):
    editing = State()
    instructing = State()


# --- rendering helpers ---------------------------------------------------------------------------


async def _targets(session: AsyncSession) -> list[str]:
    return [a.title or a.handle for a in await repo.enabled_accounts(session)]


async def _show(
    bot: Bot,
    session: AsyncSession,
    post: Post,
    text: str,
    markup: InlineKeyboardMarkup | None,
    *,
    chat_id: int,
) -> None:
    """Put `text` into the post's preview message, or a new one if that can't be edited."""
    if post.preview_chat_id and post.preview_message_id:
        try:
            await bot.edit_message_text(
                text=text,
                chat_id=post.preview_chat_id,
                message_id=post.preview_message_id,
                reply_markup=markup,
            )
            return
        except TelegramBadRequest as exc:
            if "message is not modified" in exc.message:
                return
            log.info("preview of post %s could not be edited (%s); sending anew", post.id, exc)
    sent = await bot.send_message(chat_id, text, reply_markup=markup)
    await repo.set_preview(session, post.id, sent.chat.id, sent.message_id)
    post.preview_chat_id, post.preview_message_id = sent.chat.id, sent.message_id
    await session.commit()


async def _show_preview(
    bot: Bot, session: AsyncSession, t: Texts, post: Post, *, chat_id: int
) -> None:
    if post.status == PostStatus.REJECTED:
        text = t("draft.rejected", post_id=post.id)
        markup: InlineKeyboardMarkup | None = single_button(
            t.plain("btn.restore"), DraftCb(act=DraftAct.RESTORE, post=post.id, v=post.version)
        )
    else:
        text = views.preview(t, post, await _targets(session))
        markup = draft_keyboard(t, post.id, post.version)
    await _show(bot, session, post, text, markup, chat_id=chat_id)


async def _send_new_preview(
    bot: Bot, session: AsyncSession, t: Texts, post: Post, *, chat_id: int
) -> None:
    """Show the preview as the newest message (the old one, if any, becomes a pointer)."""
    if post.preview_chat_id and post.preview_message_id:
        await _show(bot, session, post, t("edit.stub", post_id=post.id), None, chat_id=chat_id)
    post.preview_chat_id = post.preview_message_id = None
    await _show_preview(bot, session, t, post, chat_id=chat_id)


def _brief_of(message: Message | None) -> str | None:
    """The brief in an owner's message: its text without a leading /new."""
    if message is None or not message.text:
        return None
    text = message.text.strip()
    if text.split(maxsplit=1)[0].split("@")[0].lower() == "/new":
        text = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
    return text.strip() or None


# --- new drafts ----------------------------------------------------------------------------------


async def _draft(
    bot: Bot,
    session: AsyncSession,
    drafter: Drafter,
    t: Texts,
    *,
    brief: str,
    author_id: int,
    progress: Message,
) -> None:
    """Draft from `brief`, turning the `progress` message into the preview (or the error)."""
    async with ChatActionSender.typing(bot=bot, chat_id=progress.chat.id):
        try:
            post = await create_draft(
                session, drafter, author_id=author_id, brief=brief, max_chars=TELEGRAM_TEXT_LIMIT
            )
        except AIError as exc:
            log.warning("drafting failed: %s", exc)
            await progress.edit_text(
                views.ai_error(t, exc),
                reply_markup=single_button(t.plain("btn.retry"), RetryDraftCb()),
            )
            return
    await repo.set_preview(session, post.id, progress.chat.id, progress.message_id)
    await session.commit()
    post.preview_chat_id, post.preview_message_id = progress.chat.id, progress.message_id
    await _show_preview(bot, session, t, post, chat_id=progress.chat.id)


async def on_brief(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    drafter: Drafter,
    t: Texts,
    state: FSMContext,
) -> None:
    """/new <brief>, or any plain message outside a dialogue."""
    await state.clear()
    brief = _brief_of(message)
    if brief is None:
        await message.answer(t("new.usage"))
        return
    if len(brief) > MAX_BRIEF_CHARS:
        await message.answer(t("new.too_long", length=len(brief), limit=MAX_BRIEF_CHARS))
        return
    assert message.from_user is not None
    progress = await message.reply(t("drafting"))
    await _draft(
        bot, session, drafter, t, brief=brief, author_id=message.from_user.id, progress=progress
    )


async def on_not_text(message: Message, t: Texts) -> None:
    await message.answer(t("new.not_text"))


async def on_retry_draft(
    query: CallbackQuery, bot: Bot, session: AsyncSession, drafter: Drafter, t: Texts
) -> None:
    progress = query.message
    brief = _brief_of(progress.reply_to_message) if isinstance(progress, Message) else None
    if not isinstance(progress, Message) or brief is None:
        await query.answer(t.plain("ai.retry_expired"), show_alert=True)
        return
    await query.answer()
    await progress.edit_text(t("drafting"))
    await _draft(
        bot, session, drafter, t, brief=brief, author_id=query.from_user.id, progress=progress
    )


# --- buttons on a preview ------------------------------------------------------------------------


async def _current_draft(
    query: CallbackQuery, session: AsyncSession, t: Texts, post_id: int
) -> Post | None:
    """The post if it is still a draft; otherwise answer the tap with where it stands."""
    post = await repo.get_post(session, post_id)
    if post is None:
        await query.answer(t.plain("draft.gone"), show_alert=True)
        return None
    if post.status != PostStatus.DRAFT:
        status = views.status_name(t, post.status)
        await query.answer(t.plain("draft.is", post_id=post.id, status=status), show_alert=True)
        return None
    return post


async def on_draft_button(
    query: CallbackQuery,
    callback_data: DraftCb,
    bot: Bot,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    publisher_for: PublisherFor,
    clock: Clock,
    t: Texts,
    state: FSMContext,
) -> None:
    act, chat_id = callback_data.act, query.from_user.id
    if act is DraftAct.RESTORE:
        await _restore(query, bot, session, t, callback_data.post, chat_id)
        return
    if act is DraftAct.RETRY_PUBLISH:
        await _retry_publish(query, bot, session, sessions, publisher_for, clock, t, callback_data)
        return
    post = await _current_draft(query, session, t, callback_data.post)
    if post is None:
        return
    if post.version != callback_data.v:
        await query.answer(t.plain("draft.stale", post_id=post.id))
        await _send_new_preview(bot, session, t, post, chat_id=chat_id)
        return
    if act is DraftAct.APPROVE:
        await _approve(query, bot, session, sessions, publisher_for, clock, t, post)
    elif act is DraftAct.EDIT:
        await query.answer()
        await state.set_state(DraftStates.editing)
        await state.update_data(post=post.id)
        clipped = post.text if len(post.text) <= 3000 else post.text[:3000] + "…"
        await bot.send_message(chat_id, t("edit.ask", post_id=post.id, text=clipped))
    elif act is DraftAct.REGENERATE:
        await query.answer()
        await _show(
            bot,
            session,
            post,
            t("regen.choose", post_id=post.id),
            regenerate_keyboard(t, post.id, post.version),
            chat_id=chat_id,
        )
    elif act is DraftAct.BACK:
        await query.answer()
        await _show_preview(bot, session, t, post, chat_id=chat_id)
    elif act is DraftAct.REJECT:
        if await repo.transition_post(session, post.id, [PostStatus.DRAFT], PostStatus.REJECTED):
            await session.commit()
            post.status = PostStatus.REJECTED
            await query.answer(t.plain("draft.rejected", post_id=post.id))
            await _show_preview(bot, session, t, post, chat_id=chat_id)
        else:
            await session.rollback()
            await _current_draft(query, session, t, post.id)


async def _restore(
    query: CallbackQuery, bot: Bot, session: AsyncSession, t: Texts, post_id: int, chat_id: int
) -> None:
    if not await repo.transition_post(session, post_id, [PostStatus.REJECTED], PostStatus.DRAFT):
        await session.rollback()
        await _current_draft(query, session, t, post_id)
        return
    await session.commit()
    post = await repo.get_post(session, post_id)
    assert post is not None
    await query.answer(t.plain("draft.restored", post_id=post_id))
    await _show_preview(bot, session, t, post, chat_id=chat_id)


def _report_markup(t: Texts, report: PublishReport) -> InlineKeyboardMarkup | None:
    if report.status == PostStatus.PUBLISHED:
        return None
    return single_button(
        t.plain("btn.retry_publish"),
        DraftCb(act=DraftAct.RETRY_PUBLISH, post=report.post_id, v=0),
    )


async def _approve(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    publisher_for: PublisherFor,
    clock: Clock,
    t: Texts,
    post: Post,
) -> None:
    if not await repo.enabled_accounts(session):
        await query.answer(t.plain("publish.no_targets"), show_alert=True)
        return
    await query.answer(t.plain("publish.publishing", post_id=post.id))
    await session.commit()  # no read transaction stays open while the platforms are called
    await _show(
        bot,
        session,
        post,
        t("publish.publishing", post_id=post.id),
        None,
        chat_id=query.from_user.id,
    )
    try:
        report = await approve_and_publish(sessions, publisher_for, clock, post.id, post.version)
    except (CannotPublish, NoTargets):
        fresh = await repo.get_post(session, post.id)
        if fresh is not None:
            await _show_preview(bot, session, t, fresh, chat_id=query.from_user.id)
        return
    await _show_report(bot, session, t, report, chat_id=query.from_user.id)


async def _show_report(
    bot: Bot, session: AsyncSession, t: Texts, report: PublishReport, *, chat_id: int
) -> None:
    post = await repo.get_post(session, report.post_id)
    assert post is not None
    text = views.publish_report(t, report, post)
    await _show(bot, session, post, text, _report_markup(t, report), chat_id=chat_id)


async def _retry_publish(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    publisher_for: PublisherFor,
    clock: Clock,
    t: Texts,
    callback_data: DraftCb,
) -> None:
    await query.answer(t.plain("publish.publishing", post_id=callback_data.post))
    try:
        report = await retry_failed(sessions, publisher_for, clock, callback_data.post)
    except CannotPublish as exc:
        status = views.status_name(t, exc.status) if exc.status else None
        text = (
            t.plain("draft.is", post_id=exc.post_id, status=status)
            if status
            else t.plain("draft.gone")
        )
        await bot.send_message(query.from_user.id, text, parse_mode=None)
        return
    await _show_report(bot, session, t, report, chat_id=query.from_user.id)


# --- edit ----------------------------------------------------------------------------------------


async def on_edited_text(
    message: Message, bot: Bot, session: AsyncSession, t: Texts, state: FSMContext
) -> None:
    if not message.text:
        await message.answer(t("edit.not_text"))
        return
    text = message.text.strip()
    if not text:
        await message.answer(t("edit.empty"))
        return
    post_id = int((await state.get_data())["post"])
    await state.clear()
    post = await repo.get_post(session, post_id)
    if post is None or post.status != PostStatus.DRAFT:
        status = views.status_name(t, post.status) if post else None
        await message.answer(
            t("draft.is", post_id=post_id, status=status) if status else t("draft.gone")
        )
        return
    try:
        post = await edit_draft(session, post, text, offline=False)
    except DraftChanged:
        fresh = await repo.get_post(session, post_id)
        await message.answer(t("draft.changed", post_id=post_id))
        if fresh is not None:
            await _send_new_preview(bot, session, t, fresh, chat_id=message.chat.id)
        return
    await _send_new_preview(bot, session, t, post, chat_id=message.chat.id)


# --- regenerate ----------------------------------------------------------------------------------


async def _regenerate(
    bot: Bot,
    session: AsyncSession,
    drafter: Drafter,
    t: Texts,
    post: Post,
    *,
    instruction: str | None,
    chat_id: int,
    on_error_reply_to: Message,
    retry: RegenCb,
) -> None:
    await _show(bot, session, post, t("regenerating", post_id=post.id), None, chat_id=chat_id)
    async with ChatActionSender.typing(bot=bot, chat_id=chat_id):
        try:
            post = await regenerate_draft(
                session, drafter, post, instruction=instruction, max_chars=TELEGRAM_TEXT_LIMIT
            )
        except AIError as exc:
            log.warning("regenerating post %s failed: %s", post.id, exc)
            await _show_preview(bot, session, t, post, chat_id=chat_id)
            await on_error_reply_to.reply(
                views.ai_error(t, exc), reply_markup=single_button(t.plain("btn.retry"), retry)
            )
            return
        except DraftChanged:
            fresh = await repo.get_post(session, post.id)
            await bot.send_message(chat_id, t("draft.changed", post_id=post.id))
            if fresh is not None:
                await _show_preview(bot, session, t, fresh, chat_id=chat_id)
            return
    await _show_preview(bot, session, t, post, chat_id=chat_id)


async def on_regenerate(
    query: CallbackQuery,
    callback_data: RegenCb,
    bot: Bot,
    session: AsyncSession,
    drafter: Drafter,
    t: Texts,
    state: FSMContext,
) -> None:
    post = await _current_draft(query, session, t, callback_data.post)
    if post is None or not isinstance(query.message, Message):
        return
    chat_id = query.from_user.id
    preset = callback_data.preset
    if preset == REGEN_ASK_OWN:
        await query.answer()
        await state.set_state(DraftStates.instructing)
        await state.update_data(post=post.id)
        await bot.send_message(chat_id, t("regen.ask", post_id=post.id))
        return
    if preset == REGEN_REPLIED:
        replied = query.message.reply_to_message
        instruction = replied.text if replied and replied.text else None
        if instruction is None:
            await query.answer(t.plain("ai.retry_expired"), show_alert=True)
            return
    elif 0 <= preset < len(REGEN_PRESETS):
        instruction = REGEN_PRESETS[preset][1]
    else:
        await query.answer()
        return
    await query.answer()
    if query.message.message_id != post.preview_message_id:
        await query.message.delete()  # a Retry under an error message: the error is handled
    await _regenerate(
        bot,
        session,
        drafter,
        t,
        post,
        instruction=instruction,
        chat_id=chat_id,
        on_error_reply_to=query.message,
        retry=callback_data,
    )


async def on_instruction(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    drafter: Drafter,
    t: Texts,
    state: FSMContext,
) -> None:
    if not message.text or not message.text.strip():
        await message.answer(t("edit.not_text"))
        return
    post_id = int((await state.get_data())["post"])
    await state.clear()
    post = await repo.get_post(session, post_id)
    if post is None or post.status != PostStatus.DRAFT:
        await message.answer(
            t("draft.gone")
            if post is None
            else t("draft.is", post_id=post_id, status=views.status_name(t, post.status))
        )
        return
    await _regenerate(
        bot,
        session,
        drafter,
        t,
        post,
        instruction=message.text.strip(),
        chat_id=message.chat.id,
        on_error_reply_to=message,
        retry=RegenCb(post=post.id, v=post.version, preset=REGEN_REPLIED),
    )


# --- /drafts -------------------------------------------------------------------------------------


async def _drafts_page(
    session: AsyncSession, t: Texts, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    total = await repo.count_posts(session, [PostStatus.DRAFT])
    if total == 0:
        return t("drafts.empty"), None
    page = max(0, min(page, (total - 1) // DRAFTS_PAGE_SIZE))
    posts = await repo.list_posts(
        session, [PostStatus.DRAFT], limit=DRAFTS_PAGE_SIZE, offset=page * DRAFTS_PAGE_SIZE
    )
    items = [(p.id, " ".join(p.text.split())[:SNIPPET_CHARS]) for p in posts]
    has_next = (page + 1) * DRAFTS_PAGE_SIZE < total
    return t("drafts.list", count=total), drafts_keyboard(t, items, page, has_next)


async def on_drafts(message: Message, session: AsyncSession, t: Texts, state: FSMContext) -> None:
    await state.clear()
    text, markup = await _drafts_page(session, t, 0)
    await message.answer(text, reply_markup=markup)


async def on_drafts_page(
    query: CallbackQuery, callback_data: DraftsPageCb, session: AsyncSession, t: Texts
) -> None:
    await query.answer()
    text, markup = await _drafts_page(session, t, callback_data.page)
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=markup)


async def on_open_draft(
    query: CallbackQuery, callback_data: OpenDraftCb, bot: Bot, session: AsyncSession, t: Texts
) -> None:
    post = await _current_draft(query, session, t, callback_data.post)
    if post is None:
        return
    await query.answer()
    await _send_new_preview(bot, session, t, post, chat_id=query.from_user.id)


def router() -> Router:
    r = Router(name="drafts")
    r.message.register(on_brief, Command("new"))
    r.message.register(on_drafts, Command("drafts"))
    r.message.register(on_edited_text, DraftStates.editing)
    r.message.register(on_instruction, DraftStates.instructing)
    r.message.register(on_brief, StateFilter(None), F.text, ~F.text.startswith("/"))
    r.message.register(on_not_text, StateFilter(None), ~F.text)
    r.callback_query.register(on_draft_button, DraftCb.filter())
    r.callback_query.register(on_regenerate, RegenCb.filter())
    r.callback_query.register(on_retry_draft, RetryDraftCb.filter())
    r.callback_query.register(on_open_draft, OpenDraftCb.filter())
    r.callback_query.register(on_drafts_page, DraftsPageCb.filter())
    return r
