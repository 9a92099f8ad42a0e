"""Scheduling: time picks under a preview, typed times, /queue, and the owner's answers to the
dispatcher (retry, edit, drop, publish an overdue post, "it was posted" / "send again")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from sqlalchemy.ext.asyncio import AsyncSession

from config.settings import Settings
from handlers import review
from handlers.previews import (
    branded,
    post_in,
    send_new_preview,
    show_preview,
    show_schedule_menu,
    show_scheduled,
)
from handlers.routing import TappedMessage, needs
from metrics.best_time import slot_fallback
from publishers.blank import visible
from publishers.registry import account_label
from scheduler import lifecycle
from scheduler.clock import Clock
from scheduler.recurrence import parse_repeat
from scheduler.slots import next_free_slot
from scheduler.timeparse import TimeParseError, parse_when
from storage import repositories as repo
from storage import teams
from storage.models import Post, PostStatus, Publication, utcnow
from storage.roles import Can
from ui import views
from ui.callbacks import PostAct, PostCb, PubAct, PubCb, QueuePageCb, ScheduleCb, SchedulePick
from ui.dates import repeat_rule
from ui.keyboards import queue_keyboard
from ui.team import logged_time
from ui.texts import Texts

QUEUE_PAGE_SIZE = 8
SNIPPET_CHARS = 28

#: What each quick pick means, as the owner could have typed it.
QUICK_PICKS = {
    SchedulePick.IN_1H: "in 1h",
    SchedulePick.EVENING: "18:00",
    SchedulePick.TOMORROW: "tomorrow 09:00",
}


class ScheduleStates(StatesGroup):
    waiting_time = State()
    waiting_repeat = State()


#: Words that stop a post repeating.
NO_REPEAT = {"never", "none", "no", "off", "stop", "нет", "никогда", "не повторять"}


async def _set_time(
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
    post: Post,
    when: datetime,
    wake: Callable[[], None],
    *,
    fresh_message: bool,
    by: User,
    default_tz: str,
    now: datetime,
) -> str | None:
    """Schedule a draft or move a scheduled post to `when` (``by``'s decision, logged), then
    show its card; a draft whose scheduling waits for a reviewer (an editor's) is submitted for
    review instead. Returns why not when it could not (as plain text for a tap's answer), None
    when done."""
    if post.status == PostStatus.DRAFT and await review.waits_for_review(
        session, post.brand_id, by.id
    ):
        post_id = post.id  # a lost race rolls back, which expires the loaded post
        try:
            submitted = await review.submit_draft(
                bot,
                session,
                t,
                post,
                when,
                by=by.id,
                now=now,
                default_tz=default_tz,
            )
        except lifecycle.NoTargets:
            return t.plain("publish.no_targets")
        return None if submitted else t.plain("draft.stale", post_id=post_id)
    action = "post.schedule" if post.status == PostStatus.DRAFT else "post.reschedule"
    await teams.record_post(session, post.id, by.id, action, logged_time(when, tz))
    if post.status == PostStatus.DRAFT:
        try:
            done = await lifecycle.schedule_post(session, post, when, decided_at=utcnow())
        except lifecycle.NoTargets:
            await bot.send_message(post.author_id, t("publish.no_targets"))
            return t.plain("publish.no_targets")
        if not done:
            return t.plain("draft.stale", post_id=post.id)
    else:
        verdict = await lifecycle.reschedule(session, post.id, when)
        if not verdict.done:
            return where_it_stands(t, post.id, verdict)
    wake()
    fresh = await repo.get_post(session, post.id)
    assert fresh is not None
    await show_scheduled(
        bot, session, t, tz, fresh, chat_id=post.author_id, new_message=fresh_message
    )
    return None


def where_it_stands(t: Texts, post_id: int, verdict: lifecycle.Verdict) -> str:
    """Why a decision about a post could not be carried out, as plain text: what of it is
    being sent or waits for an answer, or the status it has."""
    if verdict.found is None:
        return t.plain("post.gone")
    if verdict.found != PostStatus.SCHEDULED:
        return t.plain("draft.is", post_id=post_id, status=t.plain(f"status.{verdict.found}"))
    lines = views.under_way(t, post_id, verdict.progress, plain=True)
    return "\n".join(lines) if lines else t.plain("post.nothing_waiting", post_id=post_id)


async def on_pick(
    query: CallbackQuery,
    callback_data: ScheduleCb,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    wake: Callable[[], None],
    t: Texts,
    tz: ZoneInfo,
    state: FSMContext,
    settings: Settings,
) -> None:
    post = await post_in(
        query, session, t, callback_data.post, PostStatus.DRAFT, PostStatus.SCHEDULED
    )
    if post is None:
        return
    pick = callback_data.pick
    if pick is SchedulePick.OTHER:
        await query.answer()
        await state.set_state(ScheduleStates.waiting_time)
        await state.update_data(post=post.id)
        await bot.send_message(query.from_user.id, t("sched.ask", post_id=post.id, tz=tz.key))
        return
    if pick is SchedulePick.PLANNED:
        planned = post.planned_at
        when = planned if planned is not None and planned > clock.now() else None
    elif pick is SchedulePick.SLOT:
        accounts = [a.id for a in await repo.enabled_accounts(session)]
        learned = await slot_fallback(session, accounts, now=clock.now(), tz=tz)
        when = await next_free_slot(session, accounts, now=clock.now(), tz=tz, fallback=learned)
    else:
        when = parse_when(QUICK_PICKS[pick], now=clock.now(), tz=tz)
    why_not = (
        t.plain("draft.stale", post_id=post.id)
        if when is None
        else await _set_time(
            bot,
            session,
            t,
            tz,
            post,
            when,
            wake,
            fresh_message=False,
            by=query.from_user,
            default_tz=settings.timezone,
            now=clock.now(),
        )
    )
    await query.answer(why_not, show_alert=why_not is not None)


async def on_time_typed(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    wake: Callable[[], None],
    t: Texts,
    tz: ZoneInfo,
    state: FSMContext,
    settings: Settings,
) -> None:
    text = visible(message.text)
    now = clock.now()
    try:
        when = parse_when(text, now=now, tz=tz)
    except TimeParseError as exc:
        moment = exc.details.get("when")
        when_text = views.when(t, moment, tz) if isinstance(moment, datetime) else text
        await message.answer(t(f"sched.err.{exc.reason_key}", text=text, when=when_text))
        await message.answer(t("sched.ask", post_id=(await state.get_data())["post"], tz=tz.key))
        return
    post_id = int((await state.get_data())["post"])
    await state.clear()
    post = await repo.get_post(session, post_id)
    if post is None or post.status not in (PostStatus.DRAFT, PostStatus.SCHEDULED):
        status = views.status_name(t, post) if post else None
        await message.answer(
            t("draft.is", post_id=post_id, status=status) if status else t("post.gone")
        )
        return
    assert message.from_user is not None
    why_not = await _set_time(
        bot,
        session,
        t,
        tz,
        post,
        when,
        wake,
        fresh_message=True,
        by=message.from_user,
        default_tz=settings.timezone,
        now=now,
    )
    if why_not is not None:
        await message.answer(why_not, parse_mode=None)


# --- buttons on a scheduled post's card: one handler per PostAct --------------------------------


async def on_open(
    query: CallbackQuery,
    callback_data: PostCb,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    post = await post_in(query, session, t, callback_data.post, PostStatus.SCHEDULED)
    if post is not None:
        await query.answer()
        chat_id = query.from_user.id
        await show_scheduled(bot, session, t, tz, post, chat_id=chat_id, new_message=True)


async def on_publish_now(
    query: CallbackQuery,
    callback_data: PostCb,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    wake: Callable[[], None],
    t: Texts,
    tz: ZoneInfo,
) -> None:
    post = await post_in(query, session, t, callback_data.post, PostStatus.SCHEDULED)
    if post is not None:
        await _publish_now(query, bot, session, clock, wake, t, tz, post)


async def on_schedule_menu(
    query: CallbackQuery,
    callback_data: PostCb,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    """🕒 Reschedule: the time picks, while some target still waits to be sent."""
    post_id = callback_data.post
    post = await post_in(query, session, t, post_id, PostStatus.SCHEDULED)
    if post is None:
        return
    progress = await lifecycle.progress(session, post_id)
    if progress.waiting:
        await query.answer()
        back = PostCb(act=PostAct.OPEN, post=post_id)
        await show_schedule_menu(bot, session, t, tz, clock, post, back=back)
        return
    verdict = lifecycle.Verdict(False, post.status, progress)
    await query.answer(where_it_stands(t, post_id, verdict), show_alert=True)
    await show_scheduled(bot, session, t, tz, post, chat_id=query.from_user.id)


async def on_cancel(
    query: CallbackQuery,
    callback_data: PostCb,
    bot: Bot,
    session: AsyncSession,
    wake: Callable[[], None],
    t: Texts,
    tz: ZoneInfo,
) -> None:
    post = await post_in(query, session, t, callback_data.post, PostStatus.SCHEDULED)
    if post is not None:
        await _cancel(query, bot, session, wake, t, tz, post)


async def on_repeat(
    query: CallbackQuery,
    callback_data: PostCb,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    state: FSMContext,
) -> None:
    post_id = callback_data.post
    if await post_in(query, session, t, post_id, PostStatus.SCHEDULED) is not None:
        await query.answer()
        await state.set_state(ScheduleStates.waiting_repeat)
        await state.update_data(post=post_id)
        await bot.send_message(query.from_user.id, t("repeat.ask", post_id=post_id))


async def on_evergreen(
    query: CallbackQuery,
    callback_data: PostCb,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    post_id = callback_data.post
    evergreen = await lifecycle.toggle_evergreen(session, post_id)
    if evergreen is None:
        await query.answer(t.plain("post.gone"), show_alert=True)
        return
    key = "evergreen.set" if evergreen else "evergreen.unset"
    await query.answer(t.plain(key, post_id=post_id))
    post = await repo.get_post(session, post_id)
    if post is not None and post.status == PostStatus.SCHEDULED:
        await show_scheduled(bot, session, t, tz, post, chat_id=query.from_user.id)


async def _publish_now(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    wake: Callable[[], None],
    t: Texts,
    tz: ZoneInfo,
    post: Post,
) -> None:
    """▶️ Publish now: the targets still waiting fall due now; the answer says so only when
    one did, and names what is already under way."""
    await teams.record_post(session, post.id, query.from_user.id, "post.publish_now")
    verdict = await lifecycle.reschedule(session, post.id, clock.now())
    if not verdict.done:
        await query.answer(where_it_stands(t, post.id, verdict), show_alert=True)
        await _refresh_card(bot, session, t, tz, post.id)
        return
    wake()
    await query.answer(t.plain("sched.now", post_id=post.id))
    lines = [t("sched.now", post_id=post.id), *views.under_way(t, post.id, verdict.progress)]
    await bot.send_message(query.from_user.id, "\n".join(lines))


async def _cancel(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    wake: Callable[[], None],
    t: Texts,
    tz: ZoneInfo,
    post: Post,
) -> None:
    """✖️ Cancel: the targets still waiting are cancelled; with nothing else of the post under
    way or out, it is a draft again. A target being sent or in question is named."""
    chat_id = query.from_user.id
    await teams.record_post(session, post.id, chat_id, "post.cancel")
    verdict = await lifecycle.cancel_scheduled(session, post.id)
    if verdict.found == PostStatus.DRAFT and verdict.done:
        await query.answer(t.plain("sched.cancelled", post_id=post.id))
        fresh = await repo.get_post(session, post.id)
        assert fresh is not None
        await show_preview(bot, session, t, fresh, chat_id=chat_id)
        await bot.send_message(chat_id, t("sched.cancelled", post_id=post.id))
        return
    if not verdict.done:
        await query.answer(where_it_stands(t, post.id, verdict), show_alert=True)
        await _refresh_card(bot, session, t, tz, post.id)
        return
    wake()  # the rest settles the post once it is done
    part = t("sched.cancelled_part", post_id=post.id, targets=", ".join(verdict.moved))
    lines = [*views.under_way(t, post.id, verdict.progress), part]
    await query.answer(
        t.plain("sched.cancelled_part", post_id=post.id, targets=", ".join(verdict.moved))
    )
    await bot.send_message(chat_id, "\n".join(lines))
    await _refresh_card(bot, session, t, tz, post.id)


async def _refresh_card(
    bot: Bot, session: AsyncSession, t: Texts, tz: ZoneInfo, post_id: int
) -> None:
    """Show a scheduled post's card as it is now (a post no longer scheduled keeps its view)."""
    post = await repo.get_post(session, post_id)
    if post is not None and post.status == PostStatus.SCHEDULED:
        await show_scheduled(bot, session, t, tz, post, chat_id=post.author_id)


# --- Retry / Edit / Drop under a failure alert, Drop under an overdue one -------------------------


async def on_retry(
    query: CallbackQuery,
    callback_data: PostCb,
    message: Message,
    session: AsyncSession,
    clock: Clock,
    wake: Callable[[], None],
    t: Texts,
) -> None:
    post_id = callback_data.post
    await teams.record_post(session, post_id, query.from_user.id, "post.retry")
    done = await lifecycle.retry_failed(session, post_id, clock.now())
    if done:
        wake()
    note = t.plain("publish.publishing", post_id=post_id)
    await _settled(query, message, session, t, post_id, done, note)


async def on_edit_failed(
    query: CallbackQuery,
    callback_data: PostCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
) -> None:
    post_id = callback_data.post
    await teams.record_post(session, post_id, query.from_user.id, "post.cancel")
    if not await lifecycle.failed_back_to_draft(session, post_id):
        await query.answer(t.plain("failed.cannot_edit", post_id=post_id), show_alert=True)
        return
    post = await repo.get_post(session, post_id)
    assert post is not None
    await send_new_preview(bot, session, t, post, chat_id=query.from_user.id)
    note = t.plain("sched.cancelled", post_id=post_id)
    await _settled(query, message, session, t, post_id, True, note)


async def on_drop_failed(
    query: CallbackQuery,
    callback_data: PostCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
) -> None:
    post_id = callback_data.post
    await teams.record_post(session, post_id, query.from_user.id, "post.drop")
    done = await lifecycle.drop_failed(session, post_id)
    note = t.plain("failed.dropped", post_id=post_id)
    await _settled(query, message, session, t, post_id, done, note)


async def on_drop_overdue(
    query: CallbackQuery,
    callback_data: PostCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
) -> None:
    post_id = callback_data.post
    await teams.record_post(session, post_id, query.from_user.id, "post.cancel")
    done = await lifecycle.drop_overdue(session, post_id)
    if done:
        post = await repo.get_post(session, post_id)
        assert post is not None
        await send_new_preview(bot, session, t, post, chat_id=query.from_user.id)
    note = t.plain("sched.cancelled", post_id=post_id)
    await _settled(query, message, session, t, post_id, done, note)


async def _settled(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    t: Texts,
    post_id: int,
    done: bool,
    note: str,
) -> None:
    """Answer a decision under an alert: done, the alert loses its buttons; not done (decided
    already, or the post moved on), the tap says where the post stands."""
    if not done:
        post = await repo.get_post(session, post_id)
        note = (
            t.plain("draft.is", post_id=post_id, status=views.status_name(t, post))
            if post
            else t.plain("post.gone")
        )
    await query.answer(note, show_alert=not done)
    if done:
        await message.edit_reply_markup(reply_markup=None)


# --- the answer about a publication whose outcome is unknown: one handler per PubAct ----------


async def on_posted(
    query: CallbackQuery,
    callback_data: PubCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    wake: Callable[[], None],
    t: Texts,
    tz: ZoneInfo,
) -> None:
    """✅ It is there."""

    async def decide(pub_id: int) -> lifecycle.Verdict | None:
        return await lifecycle.confirm_posted(session, pub_id, clock.now())

    await _answer_unsure(query, callback_data, message, bot, session, wake, t, tz, decide, "posted")


async def on_send_again(
    query: CallbackQuery,
    callback_data: PubCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    clock: Clock,
    wake: Callable[[], None],
    t: Texts,
    tz: ZoneInfo,
) -> None:
    """🔁 It is not there: send it again."""

    async def decide(pub_id: int) -> lifecycle.Verdict | None:
        return await lifecycle.send_again(session, pub_id, clock.now())

    await _answer_unsure(query, callback_data, message, bot, session, wake, t, tz, decide, "again")


async def on_drop_unsure(
    query: CallbackQuery,
    callback_data: PubCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    wake: Callable[[], None],
    t: Texts,
    tz: ZoneInfo,
) -> None:
    """✖️ Leave this target out."""

    async def decide(pub_id: int) -> lifecycle.Verdict | None:
        return await lifecycle.drop_unknown(session, pub_id)

    await _answer_unsure(
        query, callback_data, message, bot, session, wake, t, tz, decide, "dropped"
    )


async def _answer_unsure(
    query: CallbackQuery,
    callback_data: PubCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    wake: Callable[[], None],
    t: Texts,
    tz: ZoneInfo,
    decide: Callable[[int], Awaitable[lifecycle.Verdict | None]],
    outcome: str,
) -> None:
    """Carry out the owner's answer (from the question, or from the post's card). A second
    tap, or a tap on a question already settled otherwise, is answered with that."""
    pub = await session.get(Publication, callback_data.pub)
    if pub is None:
        await query.answer(t.plain("post.gone"), show_alert=True)
        return
    post_id, target = pub.post_id, account_label(pub.account)
    await teams.record_post(session, post_id, query.from_user.id, f"post.unsure_{outcome}", target)
    verdict = await decide(pub.id)
    if verdict is None:
        await query.answer(t.plain("post.gone"), show_alert=True)
        return
    if not verdict.done:
        await query.answer(t.plain("unsure.done"), show_alert=True)
    else:
        wake()  # publishes, or settles the post
        await query.answer(t.plain(f"unsure.{outcome}", post_id=post_id, target=target))
    post = await repo.get_post(session, post_id)
    if post is not None and message.message_id == post.preview_message_id:
        await _refresh_card(bot, session, t, tz, post_id)
    else:
        await message.edit_reply_markup(reply_markup=None)


async def on_repeat_typed(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    wake: Callable[[], None],
    t: Texts,
    tz: ZoneInfo,
    state: FSMContext,
) -> None:
    text = visible(message.text)
    post_id = int((await state.get_data())["post"])
    post = await repo.get_post(session, post_id)
    if post is None or post.status != PostStatus.SCHEDULED or post.scheduled_at is None:
        await state.clear()
        await message.answer(
            t("sched.not_scheduled", post_id=post_id, status=views.status_name(t, post))
            if post
            else t("post.gone")
        )
        return
    if text.lower() in NO_REPEAT:
        rule_json, start, reply = None, None, t("repeat.cleared", post_id=post_id)
    else:
        try:
            rule = parse_repeat(text, start=post.scheduled_at, tz=tz)
        except TimeParseError:
            await message.answer(t("repeat.err", text=text))
            return
        rule_json, start = rule.to_json(), rule.start
        reply = t(
            "repeat.set",
            post_id=post_id,
            rule=repeat_rule(t, rule),
            when=views.when(t, rule.start, tz),
        )
    await state.clear()
    if not await lifecycle.set_repeat(session, post_id, rule_json, start):
        await message.answer(t("draft.stale", post_id=post_id))
        return
    wake()
    await message.answer(reply)
    fresh = await repo.get_post(session, post_id)
    assert fresh is not None
    await show_scheduled(bot, session, t, tz, fresh, chat_id=message.chat.id)


# --- /queue --------------------------------------------------------------------------------------


async def _queue_page(
    session: AsyncSession, t: Texts, tz: ZoneInfo, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    total = await repo.count_posts(session, [PostStatus.SCHEDULED])
    if total == 0:
        return branded(session, t, t("queue.empty")), None
    page = max(0, min(page, (total - 1) // QUEUE_PAGE_SIZE))
    posts = await repo.scheduled_posts(
        session, limit=QUEUE_PAGE_SIZE, offset=page * QUEUE_PAGE_SIZE
    )
    progress = {p.id: lifecycle.progress_of(p.publications) for p in posts}
    items = [(p.id, _queue_label(t, tz, p, progress[p.id])) for p in posts]
    has_next = (page + 1) * QUEUE_PAGE_SIZE < total
    text = "\n\n".join(
        filter(
            None,
            [t("queue.list", count=total, tz=tz.key), views.queue_campaigns(t, tz, list(posts))],
        )
    )
    return branded(session, t, text), queue_keyboard(t, items, page, has_next)


def _queue_label(t: Texts, tz: ZoneInfo, post: Post, progress: lifecycle.Progress) -> str:
    """One /queue line: its time, or that it is being sent or waits for the owner's answer."""
    snippet = " ".join(post.text.split())[:SNIPPET_CHARS]
    if progress.asking:
        return t.plain("queue.item_asking", post_id=post.id, snippet=snippet)
    if progress.sending:
        return t.plain("queue.item_sending", post_id=post.id, snippet=snippet)
    when = views.short_when(post.scheduled_at, tz) if post.scheduled_at else "?"
    return t.plain("queue.item", when=when, post_id=post.id, snippet=snippet)


async def on_queue(
    message: Message, session: AsyncSession, t: Texts, tz: ZoneInfo, state: FSMContext
) -> None:
    await state.clear()
    text, markup = await _queue_page(session, t, tz, 0)
    await message.answer(text, reply_markup=markup)


async def on_queue_page(
    query: CallbackQuery,
    callback_data: QueuePageCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    await query.answer()
    text, markup = await _queue_page(session, t, tz, callback_data.page)
    await message.edit_text(text, reply_markup=markup)


def router() -> Router:
    r = Router(name="schedule")
    r.message.register(on_queue, Command("queue"), flags=needs(Can.VIEW))
    r.message.register(on_time_typed, ScheduleStates.waiting_time, F.text, flags=needs(Can.DRAFT))
    r.message.register(
        on_repeat_typed, ScheduleStates.waiting_repeat, F.text, flags=needs(Can.DRAFT)
    )
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(on_pick, ScheduleCb.filter(), flags=needs(Can.DRAFT))
    r.callback_query.register(on_open, PostCb.filter(F.act == PostAct.OPEN), flags=needs(Can.VIEW))
    for handler, act in (
        (on_publish_now, PostAct.PUBLISH_NOW),
        (on_schedule_menu, PostAct.SCHEDULE_MENU),
        (on_cancel, PostAct.CANCEL),
        (on_repeat, PostAct.REPEAT),
        (on_evergreen, PostAct.EVERGREEN),
        (on_retry, PostAct.RETRY),
        (on_edit_failed, PostAct.EDIT),
        (on_drop_failed, PostAct.DROP),
        (on_drop_overdue, PostAct.DROP_OVERDUE),
    ):
        r.callback_query.register(handler, PostCb.filter(F.act == act), flags=needs(Can.DRAFT))
    r.callback_query.register(
        on_posted, PubCb.filter(F.act == PubAct.POSTED), flags=needs(Can.DRAFT)
    )
    r.callback_query.register(
        on_send_again, PubCb.filter(F.act == PubAct.SEND_AGAIN), flags=needs(Can.DRAFT)
    )
    r.callback_query.register(
        on_drop_unsure, PubCb.filter(F.act == PubAct.DROP), flags=needs(Can.DRAFT)
    )
    r.callback_query.register(on_queue_page, QueuePageCb.filter(), flags=needs(Can.VIEW))
    return r
