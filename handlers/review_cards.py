"""Review cards: where a draft under review is shown, and what its author is told.

A draft waiting for review is posted as its card (the preview, under who asks, when it goes
out, who approved so far and the brand's fallback) in the brand's review group, or, without one,
in each reviewer's private chat (a brand without reviewers: its owners'). Every card is
remembered (`storage.teams.add_review_message`), so each answer updates all of them; once the
review ends they show the outcome and lose their buttons. If the review group can't be written
to (the bot was removed), the cards go to the reviewers' private chats instead.

Used by the review handlers and by the bot's notifier (automation's drafts, the timeout job).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.previews import preview_text
from scheduler.lifecycle import APPROVED
from storage import repositories as repo
from storage import teams
from storage.models import Brand, Post, PostStatus, User
from ui import review as ui
from ui.texts import Texts

log = logging.getLogger(__name__)

#: The outcome line of a finished review, in the language of the card it goes on.
Outcome = Callable[[Texts], str]


def zone(brand: Brand, default_tz: str) -> ZoneInfo:
    return ZoneInfo(brand.timezone or default_tz)


async def texts_of(session: AsyncSession, user_id: int) -> Texts:
    """Texts in the user's language (English for someone the bot never heard from)."""
    user = await session.get(User, user_id)
    return Texts(user.language if user else "en")


async def texts_for(session: AsyncSession, chat_id: int, post: Post) -> Texts:
    """A private chat's own language; a group's is that of whoever submitted the draft."""
    user = await session.get(User, chat_id) or await session.get(
        User, post.submitted_by or post.author_id
    )
    return Texts(user.language if user else "en")


async def display_names(session: AsyncSession, user_ids: list[int]) -> list[str]:
    """Each person's remembered name, or their id for one who never told it."""
    names = await teams.names_of(session, user_ids)
    return [names.get(i) or f"#{i}" for i in user_ids]


async def name_of(session: AsyncSession, t: Texts, user_id: int | None) -> str:
    """Who submitted a draft: a person, or Nexus itself (automation)."""
    if user_id is None:
        return t.plain("review.nexus")
    return (await display_names(session, [user_id]))[0]


async def approvers(session: AsyncSession, post: Post) -> list[str]:
    """Who approved the draft's current version, in the order they did."""
    votes = await teams.votes(session, post.id, post.version)
    return await display_names(session, [v.reviewer_id for v in votes if v.decision == APPROVED])


async def render(
    session: AsyncSession,
    t: Texts,
    post: Post,
    brand: Brand,
    tz: ZoneInfo,
    outcome: str | None = None,
) -> str:
    state = ui.CardState(
        brand=brand.name,
        author=await name_of(session, t, post.submitted_by),
        when=None if post.immediate else post.scheduled_at,
        approvals=await approvers(session, post),
        required=brand.approvals_required,
        due=post.review_due_at,
        fallback=brand.review_fallback,
        voided=await teams.votes_before(session, post.id, post.version),
        outcome=outcome,
    )
    return ui.card(t, state, await preview_text(session, t, post), tz)


async def send_cards(bot: Bot, session: AsyncSession, post_id: int, default_tz: str) -> int:
    """Post the draft's review card where its brand reviews; how many cards went out."""
    post = await repo.get_post(session, post_id)
    brand = await teams.get_brand(session, post.brand_id) if post else None
    if post is None or brand is None or post.status != PostStatus.REVIEW:
        return 0
    tz = zone(brand, default_tz)
    chats = [brand.review_chat_id] if brand.review_chat_id is not None else []
    if not chats:
        chats = await teams.review_audience(session, brand.id, post.submitted_by)
    sent = 0
    while chats:
        chat_id = chats.pop(0)
        t = await texts_for(session, chat_id, post)
        try:
            message = await bot.send_message(
                chat_id,
                await render(session, t, post, brand, tz),
                reply_markup=ui.card_keyboard(t, post.id, post.version),
            )
        except TelegramAPIError as exc:
            log.warning("review card of post %s not sent to %s: %s", post.id, chat_id, exc)
            if chat_id == brand.review_chat_id:  # the group is gone: the reviewers' chats
                chats = await teams.review_audience(session, brand.id, post.submitted_by)
            continue
        await teams.add_review_message(session, post.id, chat_id, message.message_id)
        await session.commit()
        sent += 1
    return sent


async def refresh_cards(
    bot: Bot,
    session: AsyncSession,
    post_id: int,
    default_tz: str,
    outcome: Outcome | None = None,
) -> None:
    """Show every card of the draft as the review stands; with `outcome`, the review is over:
    the cards say how it ended, lose their buttons and are forgotten."""
    post = await repo.get_post(session, post_id)
    brand = await teams.get_brand(session, post.brand_id) if post else None
    if post is None or brand is None:
        return
    tz = zone(brand, default_tz)
    waiting = outcome is None and post.status == PostStatus.REVIEW
    for card in await teams.review_messages(session, post_id):
        t = await texts_for(session, card.chat_id, post)
        text = await render(session, t, post, brand, tz, outcome(t) if outcome else None)
        markup = ui.card_keyboard(t, post.id, post.version) if waiting else None
        try:
            await bot.edit_message_text(
                text=text, chat_id=card.chat_id, message_id=card.message_id, reply_markup=markup
            )
        except TelegramBadRequest as exc:
            if "message is not modified" not in exc.message:
                log.info("review card %s/%s not updated: %s", card.chat_id, card.message_id, exc)
        except TelegramAPIError as exc:
            log.info("review card %s/%s not updated: %s", card.chat_id, card.message_id, exc)
    if not waiting:
        await teams.forget_review_messages(session, post_id)
        await session.commit()


async def remind(bot: Bot, session: AsyncSession, post_id: int, default_tz: str) -> None:
    """Remind the reviewers of a draft still waiting: under each of its cards."""
    post = await repo.get_post(session, post_id)
    brand = await teams.get_brand(session, post.brand_id) if post else None
    if post is None or brand is None:
        return
    for card in await teams.review_messages(session, post_id):
        t = await texts_for(session, card.chat_id, post)
        try:
            await bot.send_message(
                card.chat_id,
                t("review.remind", post_id=post.id, brand=brand.name),
                reply_to_message_id=card.message_id,
            )
        except TelegramAPIError as exc:
            log.info("no reminder for post %s in %s: %s", post.id, card.chat_id, exc)
    await refresh_cards(bot, session, post_id, default_tz)  # the new deadline


async def tell_author(
    bot: Bot, session: AsyncSession, post: Post, say: Callable[[Texts], str]
) -> None:
    """Tell whoever submitted the draft, in their own chat and language."""
    author = post.submitted_by or post.author_id
    try:
        await bot.send_message(author, say(await texts_of(session, author)))
    except TelegramAPIError as exc:  # the author blocked the bot
        log.warning("could not tell %s about post %s: %s", author, post.id, exc)
