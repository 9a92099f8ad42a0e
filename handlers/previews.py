"""Where a post is shown: its one preview message, edited in place at every step.

The preview message of a post is remembered on the post, so edits, regenerations, scheduling
and publishing update that message instead of scattering copies through the chat.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from metrics.forecast import forecast_post
from publishers.base import Publisher
from publishers.check import check_variant
from publishers.quota import Usage
from publishers.registry import account_label
from scheduler import lifecycle, quota
from scheduler.clock import Clock, SystemClock
from scheduler.dispatcher import PublisherFor
from storage import repositories as repo
from storage import scope
from storage.models import Post, PostStatus, PostVariant
from ui import views
from ui.callbacks import DraftAct, DraftCb
from ui.fit import fit_html
from ui.keyboards import (
    draft_keyboard,
    schedule_keyboard,
    scheduled_keyboard,
    single_button,
    with_planned_slot,
)
from ui.learning import forecast_line
from ui.texts import Texts

log = logging.getLogger(__name__)

#: "This evening" means 18:00 local time.
EVENING_HOUR = 18


async def targets(session: AsyncSession) -> list[str]:
    return [account_label(a) for a in await repo.enabled_accounts(session)]


def shows_variants(post: Post) -> bool:
    """Whether the draft has more to show than Telegram's length: several targets, or one
    that is not the Telegram channel."""
    return len(post.variants) > 1 or any(v.account.platform != "telegram" for v in post.variants)


def _publisher(session: AsyncSession, variant: PostVariant) -> Publisher | None:
    """The target's publisher; None for a target switched off, or when none can be built
    (credentials that no longer decrypt)."""
    publisher_for: PublisherFor | None = session.info.get("publisher_for")
    if not variant.enabled or publisher_for is None:
        return None
    try:
        return publisher_for(variant.account)
    except Exception:  # a broken account must not break the preview; publishing will say why
        log.warning("no publisher for account %s", variant.account_id, exc_info=True)
        return None


def branded(session: AsyncSession, t: Texts, text: str) -> str:
    """``text`` under the name of the session's brand, when the member has more than one brand
    (a preview or card must say which brand it is for); as it is otherwise."""
    shown = scope.shown_name(session)
    return text if shown is None else t("brand.shown", name=shown) + "\n" + text


async def target_line(session: AsyncSession, t: Texts, post: Post, variant: PostVariant) -> str:
    """One target's line on the approval card: the platform's verdict on its text, and what
    it will cost or use there (a quota that cannot be read shows as unknown, never blocks)."""
    publisher = _publisher(session, variant)
    if publisher is None:
        return views.target_line(t, variant.account, None, own_text=variant.edited)
    check = check_variant(publisher, variant.text, media_count=len(post.media))
    used: Usage | None = None
    if check.ok:
        clock: Clock = session.info.get("clock") or SystemClock()
        try:
            used = await quota.usage(
                session,
                publisher,
                variant.account,
                variant.text,
                parts=check.parts,
                now=clock.now(),
            )
        except Exception:
            log.warning("usage of account %s unknown", variant.account_id, exc_info=True)
            used = Usage(unknown=True)
    return views.target_line(t, variant.account, check, own_text=variant.edited, usage=used)


async def target_lines(session: AsyncSession, t: Texts, post: Post) -> list[str]:
    return [await target_line(session, t, post, v) for v in post.variants if v.account.enabled]


async def show(
    bot: Bot,
    session: AsyncSession,
    post: Post,
    text: str,
    markup: InlineKeyboardMarkup | None,
    *,
    chat_id: int,
    new_message: bool = False,
) -> None:
    """Put `text` into the post's preview message, or into a new message (which then becomes
    the preview) if asked to or if the old one can't be edited."""
    if not new_message and post.preview_chat_id and post.preview_message_id:
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
    await remember_preview(session, post, sent.chat.id, sent.message_id)


async def remember_preview(
    session: AsyncSession, post: Post, chat_id: int, message_id: int
) -> None:
    """Make (chat_id, message_id) the post's preview message, committed."""
    await repo.set_preview(session, post, chat_id, message_id)
    await session.commit()
    # keep the loaded post in step without marking it dirty (no second UPDATE)
    set_committed_value(post, "preview_chat_id", chat_id)
    set_committed_value(post, "preview_message_id", message_id)


async def post_in(
    query: CallbackQuery, session: AsyncSession, t: Texts, post_id: int, *statuses: str
) -> Post | None:
    """The post if it is in one of `statuses`; otherwise the tap is answered with why not."""
    post = await repo.get_post(session, post_id)
    if post is None:
        await query.answer(t.plain("post.gone"), show_alert=True)
        return None
    if post.status not in statuses:
        status = views.status_name(t, post)
        await query.answer(t.plain("draft.is", post_id=post.id, status=status), show_alert=True)
        return None
    return post


async def current_draft(
    query: CallbackQuery, bot: Bot, session: AsyncSession, t: Texts, post_id: int, version: int
) -> Post | None:
    """The draft a button was tapped on, if it is still a draft at the ``version`` that button
    showed; otherwise the tap is answered with why not (an out-of-date view gets the current
    preview as the newest message). A draft shown to several people (an automation draft goes
    to each owner and editor) is, from the tap on, the copy in the tapper's chat: that copy is
    the one edited as the draft moves on."""
    post = await post_in(query, session, t, post_id, PostStatus.DRAFT)
    if post is None:
        return None
    if post.version == version:
        tapped = query.message
        if (
            isinstance(tapped, Message)
            and tapped.chat.type == "private"
            and (tapped.chat.id, tapped.message_id)
            != (post.preview_chat_id, post.preview_message_id)
        ):
            await remember_preview(session, post, tapped.chat.id, tapped.message_id)
        return post
    await query.answer(t.plain("draft.stale", post_id=post.id))
    await send_new_preview(bot, session, t, post, chat_id=query.from_user.id)
    return None


async def show_preview(
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    post: Post,
    *,
    chat_id: int,
    new_message: bool = False,
    changes: str | None = None,
) -> None:
    """The draft's preview; `changes` (a word diff, "" for none) says what the owner's last
    reply changed."""
    if post.status == PostStatus.REJECTED:
        text = t("draft.rejected", post_id=post.id)
        markup: InlineKeyboardMarkup | None = single_button(
            t.plain("btn.restore"), DraftCb(act=DraftAct.RESTORE, post=post.id, v=post.version)
        )
    else:
        at_rest = _at_rest(session)
        text = await preview_text(session, t, post, changes=changes)
        await _end_reads(session, at_rest)
        markup = draft_keyboard(
            t, post.id, post.version, variants=shows_variants(post), images=len(post.media)
        )
    await show(bot, session, post, text, markup, chat_id=chat_id, new_message=new_message)


def _at_rest(session: AsyncSession) -> bool:
    """No transaction open and nothing waiting to be written: a transaction that rendering a
    view opens from here on only reads."""
    return not session.in_transaction() and not (session.new or session.dirty or session.deleted)


async def _end_reads(session: AsyncSession, at_rest: bool) -> None:
    """End the transaction that rendering a view opened to read (``at_rest``: `_at_rest` before
    it), so the connection goes back to the pool before Telegram is called: SQLite's pool holds
    one connection, and every other chat would wait for this one's network call."""
    if at_rest and session.in_transaction():
        await session.commit()


async def preview_text(
    session: AsyncSession, t: Texts, post: Post, *, changes: str | None = None
) -> str:
    """The draft as it will appear on each target, with the forecast (a preview's and a review
    card's body)."""
    several = shows_variants(post)
    names = (
        [account_label(v.account) for v in post.variants if v.enabled]
        if post.variants
        else await targets(session)
    )
    lines = await target_lines(session, t, post) if several else None
    return fit_html(
        branded(session, t, views.preview(t, post, names, lines, changes=changes))
        + await _forecast(session, t, post)
    )


async def _forecast(session: AsyncSession, t: Texts, post: Post) -> str:
    """The forecast line for a draft (a new line, or nothing while the history is short):
    for its scheduled time, else for now, in the owner's time zone."""
    clock: Clock | None = session.info.get("clock")
    tz: ZoneInfo | None = session.info.get("tz")
    if tz is None:  # a session of no owner's update (a job's, without one): the default zone
        tz = ZoneInfo(session.info.get("default_tz", "UTC"))
    at = post.scheduled_at or (clock.now() if clock else datetime.now(UTC))
    forecast = await forecast_post(session, post, at, tz)
    return "" if forecast is None else "\n" + forecast_line(t, forecast)


async def send_new_preview(
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    post: Post,
    *,
    chat_id: int,
    changes: str | None = None,
) -> None:
    """Show the preview as the newest message (the old one, if any, becomes a pointer)."""
    if post.preview_chat_id and post.preview_message_id:
        await show(bot, session, post, t("edit.stub", post_id=post.id), None, chat_id=chat_id)
    await show_preview(bot, session, t, post, chat_id=chat_id, new_message=True, changes=changes)


async def show_scheduled(
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
    post: Post,
    *,
    chat_id: int,
    new_message: bool = False,
) -> None:
    at_rest = _at_rest(session)
    progress = await lifecycle.progress(session, post.id)
    text = branded(session, t, views.scheduled(t, post, await targets(session), tz, progress))
    await _end_reads(session, at_rest)
    markup = scheduled_keyboard(
        t, post.id, evergreen=post.evergreen, waiting=progress.waiting > 0, asking=progress.asking
    )
    await show(bot, session, post, text, markup, chat_id=chat_id, new_message=new_message)


def evening_today(now: datetime, tz: ZoneInfo) -> bool:
    return now.astimezone(tz).hour < EVENING_HOUR


async def show_schedule_menu(
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
    clock: Clock,
    post: Post,
    *,
    back: CallbackData,
) -> None:
    """The time picks, in the post's preview message."""
    markup = schedule_keyboard(t, post.id, evening_today=evening_today(clock.now(), tz), back=back)
    if post.planned_at is not None and post.planned_at > clock.now():
        markup = with_planned_slot(t, markup, post.id, views.short_when(post.planned_at, tz))
    text = t("sched.choose", post_id=post.id, tz=tz.key)
    await show(bot, session, post, text, markup, chat_id=post.author_id)
