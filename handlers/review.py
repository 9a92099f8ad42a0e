"""Review: drafts that wait for a reviewer's approval, the review group and /review.

- **Submitting.** What an editor approves or schedules (`storage.roles.needs_review`) is
  submitted instead (`submit_draft`): the draft keeps the time it is meant for, its author's
  preview says it waits for review, and its card goes out (`handlers.review_cards`).
- **The card.** ✅ Approve, ✏️ Request changes (the reviewer then replies to a prompt with the
  reason), 📝 Edit (the new text is asked in the reviewer's private chat; it starts a new
  version, so earlier approvals no longer count) and 🗑 Reject. Only the brand's reviewers and
  owners answer, whatever brand they have open; each answer updates every card of the draft;
  the brand's required number of distinct approvals schedules it; the author is told the
  outcome in their own chat.
- **/review here**, sent by an owner inside a group the bot is in, makes it the current
  brand's review group; **/review** in a private chat shows the brand's settings, with buttons
  for owners: approvals required (1–3), timeout, fallback (remind, skip, publish), editors
  publish on/off, and unbinding the group.
- **In groups** Nexus acts only on review: any other message there is left alone (a review
  group is where people talk), so nothing in it ever becomes a brief.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from ai.service import DraftChanged, edit_draft
from config.settings import Settings
from handlers.previews import send_new_preview, show
from handlers.review_cards import (
    display_names,
    refresh_cards,
    send_cards,
    tell_author,
    texts_of,
    zone,
)
from handlers.routing import TappedMessage, needs
from publishers.blank import visible
from scheduler import lifecycle
from scheduler.clock import Clock
from storage import repositories as repo
from storage import scope, teams
from storage.models import Brand, Post, PostStatus, ReviewFallback, Role
from storage.roles import Can, can, needs_review
from ui import review as ui
from ui import views
from ui.callbacks import ReviewAct, ReviewCb, ReviewSet, ReviewSetCb
from ui.texts import Texts

log = logging.getLogger(__name__)

#: The longest reason or edit a reviewer may send (a Telegram message is at most 4,096).
MAX_REASON_CHARS = 1000


class ReviewStates(StatesGroup):
    reason = State()  # a reviewer's reason for requesting changes
    editing = State()  # a reviewer's new text for a draft under review


# --- submitting ------------------------------------------------------------------------------


async def submit_draft(
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    post: Post,
    when: datetime | None,
    *,
    by: int,
    now: datetime,
    default_tz: str,
) -> bool:
    """Submit a draft for review instead of scheduling it (`when` None: to go out as soon as
    it is approved): the author's preview says so and the review cards go out. Raises
    `lifecycle.NoTargets`; False when the draft moved on meanwhile."""
    post_id = post.id  # a lost race rolls back, which expires the loaded post
    brand = await teams.get_brand(session, post.brand_id)
    assert brand is not None  # a post's brand is a foreign key
    tz, required = zone(brand, default_tz), brand.approvals_required
    due = now + timedelta(minutes=brand.review_timeout_minutes)
    if not await lifecycle.submit_for_review(session, post, when, by=by, due=due):
        return False
    fresh = await repo.get_post(session, post_id)
    assert fresh is not None
    notice = t.n("review.submitted", required, post_id=post_id, when=ui.when_text(t, when, tz))
    await show(bot, session, fresh, notice, None, chat_id=by)
    await send_cards(bot, session, post_id, default_tz)
    return True


async def waits_for_review(session: AsyncSession, brand_id: int, user_id: int) -> bool:
    """Whether what this member approves or schedules in the brand (a draft's, a campaign's)
    waits for a reviewer: their role in that brand decides, not the brand they have open."""
    brand = await teams.get_brand(session, brand_id)
    role = await teams.role_in(session, brand_id, user_id)
    return brand is not None and role is not None and needs_review(role, brand)


# --- the card's buttons ----------------------------------------------------------------------


async def _in_brand_of(session: AsyncSession, post_id: int) -> None:
    """Act in the brand of the draft a card names: a reviewer's own chat is in the brand they
    work in, which may be another of theirs. Their role in the draft's brand is checked next,
    before anything of it is shown or changed."""
    brand_id = await scope.post_brand(session, post_id)
    if brand_id is None or brand_id == scope.brand_of(session):
        return
    brand = await teams.get_brand(session, brand_id)
    if brand is not None:
        scope.enter(session, brand.id, brand.name if scope.shown_name(session) else None)


async def _reviewable(
    query: CallbackQuery, session: AsyncSession, t: Texts, cb: ReviewCb
) -> tuple[Post, Brand] | None:
    """The draft a card's button names, if the tapper reviews its brand and the card shows
    its current version; otherwise the tap is answered with why not."""
    await _in_brand_of(session, cb.post)
    post = await repo.get_post(session, cb.post)
    brand = await teams.get_brand(session, post.brand_id) if post else None
    if post is None or brand is None:
        await query.answer(t.plain("post.gone"), show_alert=True)
        return None
    role = await teams.role_in(session, brand.id, query.from_user.id)
    if not can(role, Can.REVIEW):
        await query.answer(t.plain("review.not_reviewer", brand=brand.name), show_alert=True)
        return None
    if post.status != PostStatus.REVIEW:
        status = views.status_name(t, post)
        await query.answer(t.plain("draft.is", post_id=post.id, status=status), show_alert=True)
        return None
    if post.version != cb.v:
        await query.answer(t.plain("review.stale", post_id=post.id), show_alert=True)
        return None
    return post, brand


async def _decide(
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    post: Post,
    brand: Brand,
    reviewer: int,
    name: str,
    decision: str,
    *,
    now: datetime,
    default_tz: str,
    wake: Callable[[], None],
    reason: str | None = None,
) -> str:
    """Record a reviewer's answer and carry out what it leads to; the answer for the reviewer
    (plain text)."""
    post_id, version = post.id, post.version  # a rollback below expires the loaded post
    try:
        ballot = await lifecycle.answer_review(
            session,
            post_id,
            version,
            reviewer,
            decision,
            required=brand.approvals_required,
            now=now,
            reason=reason,
        )
    except lifecycle.NoTargets:
        return t.plain("publish.no_targets")
    if not ballot.counted:
        if ballot.found == PostStatus.REVIEW and not ballot.stale:
            return t.plain("review.already", post_id=post_id)
        fresh = await repo.get_post(session, post_id)
        if fresh is None:
            return t.plain("post.gone")
        return t.plain("draft.is", post_id=post_id, status=views.status_name(t, fresh))
    if not ballot.decided:
        await refresh_cards(bot, session, post_id, default_tz)
        count = len(await teams.votes(session, post_id, version))
        return t.plain("review.counted", count=count, required=brand.approvals_required)
    fresh = await repo.get_post(session, post_id)
    assert fresh is not None
    tz = zone(brand, default_tz)
    note = reason or ""
    if decision == lifecycle.APPROVED:
        wake()
        votes = await teams.votes(session, post_id, version)
        names = ", ".join(await display_names(session, [v.reviewer_id for v in votes]))
        when = None if fresh.immediate else fresh.scheduled_at

        def outcome(tt: Texts) -> str:
            return tt("review.outcome.approved", names=names, when=ui.when_text(tt, when, tz))

        def told(tt: Texts) -> str:
            when_text = ui.when_text(tt, when, tz)
            return tt("review.told.approved", post_id=post_id, names=names, when=when_text)

    elif decision == lifecycle.CHANGES:

        def outcome(tt: Texts) -> str:
            return tt("review.outcome.changes", name=name, reason=note)

        def told(tt: Texts) -> str:
            return tt("review.told.changes", post_id=post_id, name=name, reason=note)

    else:

        def outcome(tt: Texts) -> str:
            return tt("review.outcome.rejected", name=name)

        def told(tt: Texts) -> str:
            return tt("review.told.rejected", post_id=post_id, name=name)

    await refresh_cards(bot, session, post_id, default_tz, outcome)
    await tell_author(bot, session, fresh, told)
    if decision == lifecycle.CHANGES:  # back in the author's drafts: a preview to work on
        author = fresh.submitted_by or fresh.author_id
        try:
            await send_new_preview(
                bot, session, await texts_of(session, author), fresh, chat_id=author
            )
        except TelegramAPIError as exc:
            log.warning("no preview of post %s for %s: %s", post_id, author, exc)
    return t.plain(f"review.done.{decision}", post_id=post_id)


#: What ✅ and 🗑 on a card answer (✏️ and 📝 ask for text first: handlers of their own).
_VERDICTS = {ReviewAct.APPROVE: lifecycle.APPROVED, ReviewAct.REJECT: lifecycle.REJECTED}


async def on_card_verdict(
    query: CallbackQuery,
    callback_data: ReviewCb,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    wake: Callable[[], None],
    settings: Settings,
    t: Texts,
) -> None:
    """✅ Approve or 🗑 Reject on a card: the answer is recorded at once."""
    found = await _reviewable(query, session, t, callback_data)
    if found is None:
        return
    post, brand = found
    answer = await _decide(
        bot,
        session,
        t,
        post,
        brand,
        query.from_user.id,
        query.from_user.full_name,
        _VERDICTS[callback_data.act],
        now=clock.now(),
        default_tz=settings.timezone,
        wake=wake,
    )
    await query.answer(answer)


async def on_card_changes(
    query: CallbackQuery,
    callback_data: ReviewCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    state: FSMContext,
) -> None:
    """✏️ Request changes: the reviewer is asked for the reason, as a reply to a prompt (in a
    group) or their next message (in a private chat); the answer is recorded with it."""
    found = await _reviewable(query, session, t, callback_data)
    if found is None:
        return
    post, _brand = found
    await query.answer()
    private = message.chat.type == "private"
    ask = (
        t("review.reason.private", post_id=post.id)
        if private
        else t("review.reason.ask", name=query.from_user.full_name, post_id=post.id)
    )
    post_id, version = post.id, post.version
    await session.commit()  # hands the connection back before the state is written
    prompt = await bot.send_message(
        message.chat.id, ask, reply_to_message_id=None if private else message.message_id
    )
    data = {"post": post_id, "v": version, "prompt": prompt.message_id}
    await _ask_in(state, message.chat.id, query.from_user.id, ReviewStates.reason, data)


async def on_reason(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    wake: Callable[[], None],
    settings: Settings,
    t: Texts,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    replied = message.reply_to_message
    if message.chat.type != "private" and (
        replied is None or replied.message_id != data.get("prompt")
    ):
        return  # group talk, not the answer to our prompt
    reason = visible(message.text)
    if not reason:
        await message.reply(t("review.reason.empty"))
        return
    await state.clear()
    assert message.from_user is not None
    await _in_brand_of(session, int(data["post"]))
    post = await repo.get_post(session, int(data["post"]))
    brand = await teams.get_brand(session, post.brand_id) if post else None
    if post is None or brand is None:
        await message.reply(t("post.gone"))
        return
    if post.status != PostStatus.REVIEW or post.version != int(data["v"]):
        await message.reply(t("review.stale", post_id=post.id))
        return
    role = await teams.role_in(session, brand.id, message.from_user.id)
    if not can(role, Can.REVIEW):
        await message.reply(t("review.not_reviewer", brand=brand.name))
        return
    answer = await _decide(
        bot,
        session,
        t,
        post,
        brand,
        message.from_user.id,
        message.from_user.full_name,
        lifecycle.CHANGES,
        now=clock.now(),
        default_tz=settings.timezone,
        wake=wake,
        reason=reason[:MAX_REASON_CHARS],
    )
    await message.reply(answer, parse_mode=None)


async def on_card_edit(
    query: CallbackQuery,
    callback_data: ReviewCb,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    state: FSMContext,
) -> None:
    """📝 Edit: the new text is asked in the reviewer's private chat (a group is no place for
    it); it replaces the draft's text as a new version."""
    found = await _reviewable(query, session, t, callback_data)
    if found is None:
        return
    post, _brand = found
    reviewer = query.from_user.id
    post_id, version = post.id, post.version
    await session.commit()  # hands the connection back before the state is written
    data = {"post": post_id, "v": version}
    await _ask_in(state, reviewer, reviewer, ReviewStates.editing, data)
    clipped = post.text if len(post.text) <= 3000 else post.text[:3000] + "…"
    try:
        await bot.send_message(reviewer, t("review.edit.ask", post_id=post_id, text=clipped))
    except TelegramAPIError:  # they never opened a private chat with the bot
        await _ask_in(state, reviewer, reviewer, None, {})
        await query.answer(t.plain("review.edit.no_chat"), show_alert=True)
        return
    await query.answer(t.plain("review.edit.sent"))


async def _ask_in(
    state: FSMContext, chat_id: int, user_id: int, asked: State | None, data: dict[str, int]
) -> None:
    """Set the reviewer's conversation in ``chat_id`` now, before the prompt goes out: not with
    this update's writes, which are stored only once its handler returns (`bot.fsm`), while
    the answer may come from another chat (their private one) sooner. Written from a context
    of its own, which holds no batch."""
    other = FSMContext(
        storage=state.storage,
        key=StorageKey(bot_id=state.key.bot_id, chat_id=chat_id, user_id=user_id),
    )

    async def write() -> None:
        await other.set_state(asked)
        await other.set_data(data)

    await asyncio.create_task(write(), context=contextvars.Context())


async def on_edited(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
    t: Texts,
    state: FSMContext,
) -> None:
    text = visible(message.text)
    if not text:
        await message.answer(t("edit.empty"))
        return
    data = await state.get_data()
    await state.clear()
    assert message.from_user is not None
    await _in_brand_of(session, int(data["post"]))
    post = await repo.get_post(session, int(data["post"]))
    if post is None:
        await message.answer(t("post.gone"))
        return
    role = await teams.role_in(session, post.brand_id, message.from_user.id)
    if not can(role, Can.REVIEW):
        await message.answer(t("role.not_member"))
        return
    if post.status != PostStatus.REVIEW or post.version != int(data["v"]):
        await message.answer(t("review.stale", post_id=post.id))
        return
    await teams.record(
        session, post.brand_id, message.from_user.id, "review.edit", f"post:{post.id}"
    )
    try:
        await edit_draft(session, post, text, offline=False, status=PostStatus.REVIEW)
    except DraftChanged:
        await message.answer(t("review.stale", post_id=post.id))
        return
    await message.answer(t("review.edit.done", post_id=post.id))
    await refresh_cards(bot, session, post.id, settings.timezone)


# --- /review -----------------------------------------------------------------------------------


async def on_review(
    message: Message,
    command: CommandObject,
    bot: Bot,
    session: AsyncSession,
    seat: teams.Seat,
    t: Texts,
    state: FSMContext,
) -> None:
    """/review here (in a group) binds it; /review (in a private chat) shows the settings."""
    await state.clear()
    here = (command.args or "").strip().lower() == "here"
    brand, owner = seat.brand, seat.role == Role.OWNER
    if message.chat.type == "private":
        if here:
            await message.answer(t("review.here.private"))
            return
        markup = ui.settings_keyboard(t, brand) if owner else None
        text = ui.settings(t, brand, owner=owner, group_title=await _group_title(bot, brand))
        await message.answer(text, reply_markup=markup)
        return
    if not here:
        await message.answer(t("review.here.hint", brand=brand.name))
        return
    if not owner:
        await message.answer(t("review.here.not_owner", brand=brand.name))
        return
    if not await teams.bind_review_group(session, brand.id, message.chat.id):
        other = await teams.brand_reviewing_in(session, message.chat.id)
        await message.answer(t("review.here.taken", brand=other.name if other else "?"))
        return
    assert message.from_user is not None
    await teams.record(
        session, brand.id, message.from_user.id, "review.group", subject=f"chat:{message.chat.id}"
    )
    await session.commit()
    await message.answer(t.n("review.here.bound", brand.approvals_required, brand=brand.name))


async def on_setting(
    query: CallbackQuery,
    callback_data: ReviewSetCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
) -> None:
    """A /review button: only an owner of the brand it names changes it."""
    brand = await teams.get_brand(session, callback_data.brand)
    role = await teams.role_in(session, callback_data.brand, query.from_user.id)
    if brand is None or role != Role.OWNER:
        await query.answer(t.plain("review.settings.owners_only"), show_alert=True)
        return
    what, value = callback_data.set, callback_data.value
    if what is ReviewSet.APPROVALS and 1 <= value <= 3:
        brand.approvals_required = value
    elif what is ReviewSet.TIMEOUT and value in ui.TIMEOUT_HOURS:
        brand.review_timeout_minutes = value * 60
    elif what is ReviewSet.FALLBACK and 0 <= value < len(ui.FALLBACKS):
        brand.review_fallback = ReviewFallback(ui.FALLBACKS[value])
    elif what is ReviewSet.EDITORS:
        brand.editors_publish = not brand.editors_publish
    elif what is ReviewSet.UNBIND:
        await teams.bind_review_group(session, brand.id, None)
    else:
        await query.answer(t.plain("review.settings.bad"), show_alert=True)
        return
    await teams.record(
        session, brand.id, query.from_user.id, "review.settings", detail=f"{what.name}={value}"
    )
    await session.commit()
    await session.refresh(brand)
    await query.answer(t.plain("review.settings.saved"))
    text = ui.settings(t, brand, owner=True, group_title=await _group_title(bot, brand))
    await message.edit_text(text, reply_markup=ui.settings_keyboard(t, brand))


async def _group_title(bot: Bot, brand: Brand) -> str | None:
    """The review group's name as Telegram knows it (None: no group, or it can't be read)."""
    if brand.review_chat_id is None:
        return None
    try:
        return (await bot.get_chat(brand.review_chat_id)).title
    except TelegramAPIError:
        return None


async def in_group(message: Message) -> None:
    """Anything else said in a group: people talking, not briefs for Nexus."""


def router() -> Router:
    r = Router(name="review")
    anyone_in = needs(Can.VIEW)  # every role views; what each may do is checked inside
    r.message.register(on_review, Command("review"), flags=anyone_in)
    typed = (F.text, ~F.text.startswith("/"))
    r.message.register(on_reason, ReviewStates.reason, *typed, flags=anyone_in)
    r.message.register(
        on_edited, ReviewStates.editing, F.chat.type == "private", *typed, flags=anyone_in
    )
    r.message.register(in_group, F.chat.type != "private", flags=anyone_in)
    r.callback_query.filter(TappedMessage())
    verdicts = ReviewCb.filter(F.act.in_(_VERDICTS))
    r.callback_query.register(on_card_verdict, verdicts, flags=anyone_in)
    for handler, act in ((on_card_changes, ReviewAct.CHANGES), (on_card_edit, ReviewAct.EDIT)):
        r.callback_query.register(handler, ReviewCb.filter(F.act == act), flags=anyone_in)
    r.callback_query.register(on_setting, ReviewSetCb.filter(), flags=anyone_in)
    return r
