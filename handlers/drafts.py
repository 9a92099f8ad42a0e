"""Drafts: a brief becomes a preview; its buttons approve, edit, regenerate or reject it.

Handlers parse the update, call `ai.service` / `scheduler.publishing`, and render with
`ui.views`. The preview message of a draft is remembered on the post, so every step (edit,
regenerate, publish) updates that one message instead of scattering copies through the chat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from ai.service import (
    DraftChanged,
    edit_draft,
)
from config.settings import Settings
from handlers import review
from handlers.drafting import Drafting
from handlers.images import show_images
from handlers.previews import (
    branded,
    current_draft,
    post_in,
    send_new_preview,
    show,
    show_preview,
    show_schedule_menu,
)
from handlers.routing import TYPING, TappedMessage, needs
from handlers.variants import show_variant, target_of
from publishers.blank import is_blank, visible
from scheduler import lifecycle
from scheduler.clock import Clock
from scheduler.lifecycle import NoTargets, schedule_post
from storage import repositories as repo
from storage import teams
from storage.models import Post, PostStatus
from storage.roles import Can
from ui import views
from ui.callbacks import DraftAct, DraftCb, DraftsPageCb, OpenDraftCb, RegenCb, RetryDraftCb
from ui.keyboards import (
    REGEN_ASK_OWN,
    REGEN_PRESETS,
    REGEN_REPLIED,
    drafts_keyboard,
    regenerate_keyboard,
)
from ui.learning import reason_keyboard
from ui.texts import Texts

log = logging.getLogger(__name__)

MAX_BRIEF_CHARS = 4000
DRAFTS_PAGE_SIZE = 8
SNIPPET_CHARS = 40


class DraftStates(StatesGroup):
    editing = State()
    instructing = State()


def _brief_of(message: Message | None) -> str | None:
    """The brief in an owner's message: its text without a leading /new."""
    if message is None or not message.text:
        return None
    text = visible(message.text)
    words = text.split(maxsplit=1)
    if words and words[0].split("@")[0].lower() == "/new":
        text = words[1] if len(words) > 1 else ""
    return visible(text) or None


# --- new drafts ---------------------------------------------------------------------------------


async def on_brief(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    drafting: Drafting,
    t: Texts,
    state: FSMContext,
) -> None:
    """/new <brief>, or any plain message outside a dialogue."""
    await state.clear()
    brief = _brief_of(message)
    if brief is None:
        # text of only invisible characters (zero-width spaces, BOM…) is not a brief either
        await message.answer(t("new.empty" if is_blank(message.text) else "new.usage"))
        return
    if len(brief) > MAX_BRIEF_CHARS:
        await message.answer(t("new.too_long", length=len(brief), limit=MAX_BRIEF_CHARS))
        return
    assert message.from_user is not None
    await drafting.start_new(
        session, bot, t, brief=brief, author_id=message.from_user.id, source=message
    )


async def on_not_text(message: Message, t: Texts) -> None:
    await message.answer(t("new.not_text"))


async def on_retry_draft(
    query: CallbackQuery,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    drafting: Drafting,
    t: Texts,
) -> None:
    await redraft(query, message, bot, session, drafting, t, _brief_of)


async def redraft(
    query: CallbackQuery,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    drafting: Drafting,
    t: Texts,
    brief_of: Callable[[Message | None], str | None],
) -> None:
    """A button under a message that replies to the owner's brief drafts again, in that
    message: the brief is `brief_of` the owner's message (gone: the tap is answered so)."""
    source = message.reply_to_message
    brief = brief_of(source)
    if source is None or brief is None:
        await query.answer(t.plain("ai.retry_expired"), show_alert=True)
        return
    await query.answer()
    await drafting.start_new(
        session, bot, t, brief=brief, author_id=query.from_user.id, source=source, progress=message
    )


# --- buttons on a preview: one handler per DraftAct ----------------------------------------------


async def on_approve(
    query: CallbackQuery,
    callback_data: DraftCb,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    wake: Callable[[], None],
    settings: Settings,
    t: Texts,
) -> None:
    post = await current_draft(query, bot, session, t, callback_data.post, callback_data.v)
    if post is None:
        return
    if await review.waits_for_review(session, post.brand_id, query.from_user.id):
        await _submit(query, bot, session, clock, settings, t, post)
        return
    await _approve(query, bot, session, clock, wake, t, post)


async def _submit(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    t: Texts,
    post: Post,
) -> None:
    """An editor's Approve & publish: the draft goes to review, to go out once approved."""
    post_id = post.id  # a lost race rolls back, which expires the loaded post
    try:
        submitted = await review.submit_draft(
            bot,
            session,
            t,
            post,
            None,
            by=query.from_user.id,
            now=clock.now(),
            default_tz=settings.timezone,
        )
    except NoTargets:
        await query.answer(t.plain("publish.no_targets"), show_alert=True)
        return
    if not submitted:
        await post_in(query, session, t, post_id, PostStatus.DRAFT)
        return
    await query.answer(t.plain("review.submitted_short", post_id=post_id))


async def on_schedule(
    query: CallbackQuery,
    callback_data: DraftCb,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    post = await current_draft(query, bot, session, t, callback_data.post, callback_data.v)
    if post is None:
        return
    await query.answer()
    back = DraftCb(act=DraftAct.BACK, post=post.id, v=post.version)
    await show_schedule_menu(bot, session, t, tz, clock, post, back=back)


async def on_edit(
    query: CallbackQuery,
    callback_data: DraftCb,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    state: FSMContext,
) -> None:
    post = await current_draft(query, bot, session, t, callback_data.post, callback_data.v)
    if post is None:
        return
    await query.answer()
    await state.set_state(DraftStates.editing)
    await state.update_data(post=post.id)
    clipped = post.text if len(post.text) <= 3000 else post.text[:3000] + "…"
    await bot.send_message(query.from_user.id, t("edit.ask", post_id=post.id, text=clipped))


async def on_regenerate_menu(
    query: CallbackQuery, callback_data: DraftCb, bot: Bot, session: AsyncSession, t: Texts
) -> None:
    post = await current_draft(query, bot, session, t, callback_data.post, callback_data.v)
    if post is None:
        return
    await query.answer()
    markup = regenerate_keyboard(t, post.id, post.version)
    text = t("regen.choose", post_id=post.id)
    await show(bot, session, post, text, markup, chat_id=query.from_user.id)


async def on_back(
    query: CallbackQuery, callback_data: DraftCb, bot: Bot, session: AsyncSession, t: Texts
) -> None:
    post = await current_draft(query, bot, session, t, callback_data.post, callback_data.v)
    if post is not None:
        await query.answer()
        await show_preview(bot, session, t, post, chat_id=query.from_user.id)


async def on_images(
    query: CallbackQuery, callback_data: DraftCb, bot: Bot, session: AsyncSession, t: Texts
) -> None:
    post = await current_draft(query, bot, session, t, callback_data.post, callback_data.v)
    if post is not None:
        await query.answer()
        await show_images(bot, session, t, post, chat_id=query.from_user.id)


async def on_variants(
    query: CallbackQuery, callback_data: DraftCb, bot: Bot, session: AsyncSession, t: Texts
) -> None:
    post = await current_draft(query, bot, session, t, callback_data.post, callback_data.v)
    if post is None:
        return
    await query.answer()
    if post.variants:
        account = post.variants[0].account_id
        await show_variant(bot, session, t, post, account, chat_id=query.from_user.id)


async def on_reject(
    query: CallbackQuery, callback_data: DraftCb, bot: Bot, session: AsyncSession, t: Texts
) -> None:
    post = await current_draft(query, bot, session, t, callback_data.post, callback_data.v)
    if post is None:
        return
    await teams.record_post(session, post.id, query.from_user.id, "post.reject")
    if not (await lifecycle.reject(session, post.id)).done:
        await post_in(query, session, t, post.id, PostStatus.DRAFT)
        return
    fresh = await repo.get_post(session, post.id)
    assert fresh is not None
    await query.answer(t.plain("draft.rejected", post_id=post.id))
    await show_preview(bot, session, t, fresh, chat_id=query.from_user.id)
    await bot.send_message(
        query.from_user.id,
        t("learn.reason.ask", post_id=post.id),
        reply_markup=reason_keyboard(t, post.id),
    )


async def on_restore(
    query: CallbackQuery, callback_data: DraftCb, bot: Bot, session: AsyncSession, t: Texts
) -> None:
    post_id = callback_data.post
    await teams.record_post(session, post_id, query.from_user.id, "post.restore")
    if not (await lifecycle.restore(session, post_id)).done:
        await post_in(query, session, t, post_id, PostStatus.DRAFT)
        return
    post = await repo.get_post(session, post_id)
    assert post is not None
    await query.answer(t.plain("draft.restored", post_id=post_id))
    await show_preview(bot, session, t, post, chat_id=query.from_user.id)


async def _approve(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    wake: Callable[[], None],
    t: Texts,
    post: Post,
) -> None:
    """Approve & publish: the draft is scheduled for now and the dispatcher is woken; it turns
    the preview into the record when every target is done."""
    await teams.record_post(session, post.id, query.from_user.id, "post.approve")
    try:
        now = clock.now()
        scheduled = await schedule_post(session, post, now, immediate=True, decided_at=now)
    except NoTargets:
        await query.answer(t.plain("publish.no_targets"), show_alert=True)
        return
    if not scheduled:
        await post_in(query, session, t, post.id, PostStatus.DRAFT)
        return
    await query.answer(t.plain("publish.publishing", post_id=post.id))
    await show(
        bot,
        session,
        post,
        t("publish.publishing", post_id=post.id),
        None,
        chat_id=query.from_user.id,
    )
    wake()


# --- edit ----------------------------------------------------------------------------------------


async def on_edited_text(
    message: Message, bot: Bot, session: AsyncSession, t: Texts, state: FSMContext
) -> None:
    if not message.text:
        await message.answer(t("edit.not_text"))
        return
    text = visible(message.text)
    if not text:
        await message.answer(t("edit.empty"))
        return
    post_id = int((await state.get_data())["post"])
    await state.clear()
    post = await repo.get_post(session, post_id)
    if post is None or post.status != PostStatus.DRAFT:
        status = views.status_name(t, post) if post else None
        await message.answer(
            t("draft.is", post_id=post_id, status=status) if status else t("draft.gone")
        )
        return
    assert message.from_user is not None
    await teams.record_post(session, post.id, message.from_user.id, "post.edit")
    try:
        post = await edit_draft(session, post, text, offline=False)
    except DraftChanged:
        fresh = await repo.get_post(session, post_id)
        await message.answer(t("draft.changed", post_id=post_id))
        if fresh is not None:
            await send_new_preview(bot, session, t, fresh, chat_id=message.chat.id)
        return
    await send_new_preview(bot, session, t, post, chat_id=message.chat.id)


# --- regenerate ----------------------------------------------------------------------------------


async def on_regenerate(
    query: CallbackQuery,
    callback_data: RegenCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    drafting: Drafting,
    t: Texts,
    state: FSMContext,
) -> None:
    post = await post_in(query, session, t, callback_data.post, PostStatus.DRAFT)
    if post is None:
        return
    chat_id = query.from_user.id
    preset, account = callback_data.preset, callback_data.acc
    variant = target_of(post, account) if account else None
    if account and variant is None:
        await query.answer(t.plain("variant.gone", post_id=post.id), show_alert=True)
        return
    if preset == REGEN_ASK_OWN:
        await query.answer()
        await state.set_state(DraftStates.instructing)
        await state.update_data(post=post.id, account=account)
        ask = (
            t("regen.ask_variant", post_id=post.id, name=views.target_name(variant.account))
            if variant
            else t("regen.ask", post_id=post.id)
        )
        await bot.send_message(chat_id, ask)
        return
    if preset == REGEN_REPLIED:
        replied = message.reply_to_message
        instruction = replied.text if replied and replied.text else None
        if instruction is None:
            await query.answer(t.plain("ai.retry_expired"), show_alert=True)
            return
    elif 0 <= preset < len(REGEN_PRESETS):
        instruction = REGEN_PRESETS[preset][1]
    else:
        await query.answer()
        return
    if drafting.tasks.for_post(post.id) is not None:
        await query.answer(t.plain("bg.busy", post_id=post.id), show_alert=True)
        return
    await query.answer()
    source = message
    if source.message_id != post.preview_message_id:
        await source.delete()  # a Retry under an error message: the error is handled
        source = source.reply_to_message or source
    await drafting.start_regenerate(
        session,
        bot,
        t,
        post,
        instruction=instruction,
        chat_id=chat_id,
        source=source,
        retry=callback_data,
        steered=preset == REGEN_REPLIED,
    )


async def on_instruction(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    drafting: Drafting,
    t: Texts,
    state: FSMContext,
) -> None:
    if is_blank(message.text):
        await message.answer(t("edit.not_text"))
        return
    data = await state.get_data()
    post_id, account = int(data["post"]), int(data.get("account") or 0)
    await state.clear()
    post = await repo.get_post(session, post_id)
    if post is None or post.status != PostStatus.DRAFT:
        await message.answer(
            t("draft.gone")
            if post is None
            else t("draft.is", post_id=post_id, status=views.status_name(t, post))
        )
        return
    started = await drafting.start_regenerate(
        session,
        bot,
        t,
        post,
        instruction=visible(message.text),
        chat_id=message.chat.id,
        source=message,
        retry=RegenCb(post=post.id, preset=REGEN_REPLIED, acc=account),
    )
    if not started:
        await message.answer(t("bg.busy", post_id=post.id))


# --- reply to steer -----------------------------------------------------------------------------

#: A reply starting with this replaces the draft's text outright ("= new text").
REPLACE_PREFIX = "="


async def replied_post(message: Message, session: AsyncSession) -> dict[str, Post] | bool:
    """Filter: the message replies to a post's preview (it then steers that post, whatever its
    status); a reply to any other message is a brief like any other."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or not replied.from_user.is_bot:
        return False
    post = await repo.post_by_preview(session, message.chat.id, replied.message_id)
    return {"steered": post} if post is not None else False


async def on_steer(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    drafting: Drafting,
    t: Texts,
    steered: Post,
) -> None:
    """A reply to a preview: ``= text`` replaces the draft's text, anything else is an
    instruction for a rewrite; the new preview shows what changed."""
    post, text = steered, visible(message.text)
    if post.status != PostStatus.DRAFT:
        await message.reply(t("draft.is", post_id=post.id, status=views.status_name(t, post)))
        return
    if not text.startswith(REPLACE_PREFIX):
        started = await drafting.start_regenerate(
            session,
            bot,
            t,
            post,
            instruction=text,
            chat_id=message.chat.id,
            source=message,
            retry=RegenCb(post=post.id, preset=REGEN_REPLIED),
            steered=True,
        )
        if not started:
            await message.reply(t("bg.busy", post_id=post.id))
        return
    replacement = visible(text.removeprefix(REPLACE_PREFIX))
    if not replacement:
        await message.reply(t("steer.empty_replace", post_id=post.id))
        return
    before = post.text  # the post object is refreshed in place by the edit
    try:
        fresh = await edit_draft(session, post, replacement, offline=False)
    except DraftChanged:
        await message.reply(t("draft.changed", post_id=post.id))
        return
    changes = views.word_diff(before, fresh.text)
    await send_new_preview(bot, session, t, fresh, chat_id=message.chat.id, changes=changes)


# --- /drafts -------------------------------------------------------------------------------------


async def _drafts_page(
    session: AsyncSession, t: Texts, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    total = await repo.count_posts(session, [PostStatus.DRAFT])
    if total == 0:
        return branded(session, t, t("drafts.empty")), None
    page = max(0, min(page, (total - 1) // DRAFTS_PAGE_SIZE))
    posts = await repo.list_posts(
        session, [PostStatus.DRAFT], limit=DRAFTS_PAGE_SIZE, offset=page * DRAFTS_PAGE_SIZE
    )
    items = [(p.id, " ".join(p.text.split())[:SNIPPET_CHARS]) for p in posts]
    has_next = (page + 1) * DRAFTS_PAGE_SIZE < total
    text = branded(session, t, t("drafts.list", count=total))
    return text, drafts_keyboard(t, items, page, has_next)


async def on_drafts(message: Message, session: AsyncSession, t: Texts, state: FSMContext) -> None:
    await state.clear()
    text, markup = await _drafts_page(session, t, 0)
    await message.answer(text, reply_markup=markup)


async def on_drafts_page(
    query: CallbackQuery,
    callback_data: DraftsPageCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
) -> None:
    await query.answer()
    text, markup = await _drafts_page(session, t, callback_data.page)
    await message.edit_text(text, reply_markup=markup)


async def on_open_draft(
    query: CallbackQuery, callback_data: OpenDraftCb, bot: Bot, session: AsyncSession, t: Texts
) -> None:
    post = await post_in(query, session, t, callback_data.post, PostStatus.DRAFT)
    if post is None:
        return
    await query.answer()
    await send_new_preview(bot, session, t, post, chat_id=query.from_user.id)


def router() -> Router:
    r = Router(name="drafts")
    r.message.register(on_brief, Command("new"), flags=needs(Can.DRAFT))
    r.message.register(on_drafts, Command("drafts"), flags=needs(Can.DRAFT))
    r.message.register(on_edited_text, DraftStates.editing, flags=needs(Can.DRAFT))
    r.message.register(on_instruction, DraftStates.instructing, flags=needs(Can.DRAFT, **TYPING))
    r.message.register(
        on_steer,
        StateFilter(None),
        F.text,
        ~F.text.startswith("/"),
        replied_post,
        flags=needs(Can.DRAFT),
    )
    r.message.register(
        on_brief, StateFilter(None), F.text, ~F.text.startswith("/"), flags=needs(Can.DRAFT)
    )
    r.message.register(on_not_text, StateFilter(None), ~F.text, flags=needs(Can.DRAFT))
    r.callback_query.filter(TappedMessage())
    for handler, act in (
        (on_approve, DraftAct.APPROVE),
        (on_schedule, DraftAct.SCHEDULE),
        (on_edit, DraftAct.EDIT),
        (on_regenerate_menu, DraftAct.REGENERATE),
        (on_reject, DraftAct.REJECT),
        (on_restore, DraftAct.RESTORE),
        (on_back, DraftAct.BACK),
        (on_variants, DraftAct.VARIANTS),
        (on_images, DraftAct.IMAGES),
    ):
        r.callback_query.register(handler, DraftCb.filter(F.act == act), flags=needs(Can.DRAFT))
    r.callback_query.register(on_regenerate, RegenCb.filter(), flags=needs(Can.DRAFT, **TYPING))
    r.callback_query.register(on_retry_draft, RetryDraftCb.filter(), flags=needs(Can.DRAFT))
    r.callback_query.register(on_open_draft, OpenDraftCb.filter(), flags=needs(Can.DRAFT))
    r.callback_query.register(on_drafts_page, DraftsPageCb.filter(), flags=needs(Can.DRAFT))
    return r
