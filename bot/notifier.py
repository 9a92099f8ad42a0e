"""The bot's side of `scheduler.notify.Notifier`: outcomes and questions become chat messages.

Messages go to the post's author in their language and time zone. An approve-and-publish-now
post has its preview turned into the record (the owner is looking at it); a post that went out
on schedule, a failure, or a question arrives as a new message, so the phone notifies.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import review_cards
from handlers.previews import show_preview
from metrics.alerts import MUTE_DAYS
from scheduler.notify import OwnerReport, PublishReport, TargetMoved
from storage import repositories as repo
from storage import teams
from storage.models import Post, PostStatus, Publication, ReviewFallback, User
from ui import review as review_ui
from ui import views
from ui.fit import CAPTION_LIMIT, visible_len
from ui.keyboards import (
    failure_keyboard,
    mute_keyboard,
    overdue_keyboard,
    published_buttons,
    unsure_keyboard,
)
from ui.texts import Texts

log = logging.getLogger(__name__)


class BotNotifier:
    def __init__(
        self,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        default_tz: str,
        owner_ids: frozenset[int] = frozenset(),
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.default_tz = default_tz
        self.owner_ids = owner_ids

    async def _audience(self, session: AsyncSession, post: Post) -> tuple[Texts, ZoneInfo]:
        return await self._audience_of(session, post.author_id)

    async def _audience_of(self, session: AsyncSession, user_id: int) -> tuple[Texts, ZoneInfo]:
        user = await session.get(User, user_id)
        language = user.language if user else "en"
        return Texts(language), ZoneInfo((user.timezone if user else None) or self.default_tz)

    async def _send(
        self,
        chat_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None,
        *,
        html: bool = True,
    ) -> None:
        """Send a message; `html=False` sends text that must not be parsed as HTML."""
        plain: dict[str, None] = {} if html else {"parse_mode": None}
        try:
            await self.bot.send_message(chat_id, text, reply_markup=markup, **plain)
        except TelegramAPIError as exc:  # the owner blocked the bot, or Telegram is down
            log.error("could not notify %s: %s", chat_id, exc)

    async def post_settled(self, report: PublishReport) -> None:
        async with self.sessions() as session:
            post = await repo.get_post(session, report.post_id)
            if post is None:
                return
            t, _tz = await self._audience(session, post)
        text = views.publish_report(t, report, post)
        markup = None
        if report.status != PostStatus.PUBLISHED:
            markup = failure_keyboard(t, post.id, can_edit=report.status == PostStatus.FAILED)
        if report.status != PostStatus.FAILED:  # something went out: its numbers can be asked for
            rows = markup.inline_keyboard if markup else []
            markup = InlineKeyboardMarkup(inline_keyboard=[*rows, published_buttons(t, post.id)])
        if post.immediate and await self._edit_preview(post, text, markup):
            return
        await self._send(post.author_id, text, markup)

    async def _edit_preview(
        self, post: Post, text: str, markup: InlineKeyboardMarkup | None
    ) -> bool:
        if not (post.preview_chat_id and post.preview_message_id):
            return False
        try:
            await self.bot.edit_message_text(
                text=text,
                chat_id=post.preview_chat_id,
                message_id=post.preview_message_id,
                reply_markup=markup,
            )
        except TelegramAPIError as exc:
            log.info("preview of post %s not editable (%s); sending a message", post.id, exc)
            return False
        return True

    async def post_overdue(self, post_id: int, due_at: datetime) -> None:
        async with self.sessions() as session:
            post = await repo.get_post(session, post_id)
            if post is None:
                return
            t, tz = await self._audience(session, post)
        text = t("alert.overdue", post_id=post_id, when=views.when(t, due_at, tz))
        await self._send(post.author_id, text, overdue_keyboard(t, post_id))

    async def publication_unsure(self, publication_id: int) -> None:
        async with self.sessions() as session:
            pub = await session.get(Publication, publication_id)
            if pub is None:
                return
            post = await repo.get_post(session, pub.post_id)
            assert post is not None
            t, _tz = await self._audience(session, post)
            target = views.target_name(pub.account)  # the platform named: "X @nexus"
        if post.immediate:  # an approved preview must not keep saying "⏳ Publishing…"
            pointer = t("unsure.preview", post_id=post.id, target=target)
            await self._edit_preview(post, pointer, None)
        text = t("alert.unsure", post_id=post.id, target=target)
        await self._send(post.author_id, text, unsure_keyboard(t, publication_id))

    async def target_moved(self, move: TargetMoved) -> None:
        """A new message (the phone notifies): which quota, and where the target went."""
        async with self.sessions() as session:
            pub = await session.get(Publication, move.publication_id)
            if pub is None:
                return
            post = await repo.get_post(session, pub.post_id)
            assert post is not None
            t, tz = await self._audience(session, post)
            target = views.target_name(pub.account)
        await self._send(post.author_id, views.target_moved(t, move, target, post.id, tz), None)

    async def send_report(self, user_id: int, report: OwnerReport) -> bool:
        """A digest or an alert. With a picture, the text is its caption when it fits
        Telegram's 1024 characters; otherwise the picture carries the title and the full text
        follows, so nothing is cut."""
        async with self.sessions() as session:
            t, tz = await self._audience_of(session, user_id)
        lines = views.owner_report(t, tz, report)
        text = "\n".join(lines)
        markup = mute_keyboard(t, report.mute, MUTE_DAYS) if report.mute else None
        try:
            if report.photo is None:
                await self.bot.send_message(user_id, text, reply_markup=markup)
                return True
            photo = BufferedInputFile(report.photo, filename="nexus.png")
            if visible_len(text) <= CAPTION_LIMIT:
                await self.bot.send_photo(user_id, photo, caption=text, reply_markup=markup)
                return True
            await self.bot.send_photo(user_id, photo, caption=lines[0])
            await self.bot.send_message(user_id, "\n".join(lines[1:]), reply_markup=markup)
        except TelegramAPIError as exc:  # the owner blocked the bot, or Telegram is down
            log.error("could not send a report to %s: %s", user_id, exc)
            return False
        return True

    # --- automation --------------------------------------------------------------------------

    async def draft_ready(self, post_id: int) -> None:
        """The standard preview, with the approval buttons, as a new message to the author."""
        async with self.sessions() as session:
            post = await repo.get_post(session, post_id)
            if post is None:
                return
            t, _tz = await self._audience(session, post)
            try:
                await show_preview(
                    self.bot, session, t, post, chat_id=post.author_id, new_message=True
                )
            except TelegramAPIError as exc:
                log.error("could not show draft %s to %s: %s", post_id, post.author_id, exc)

    async def tell_owner(self, text: str) -> None:
        for owner in sorted(self.owner_ids):
            await self._send(owner, text, None, html=False)

    # --- review ------------------------------------------------------------------------------

    async def review_requested(self, post_id: int) -> None:
        """Automation's draft waits for review: its card goes where the brand reviews."""
        async with self.sessions() as session:
            await review_cards.send_cards(self.bot, session, post_id, self.default_tz)

    async def review_lapsed(self, post_id: int, fallback: str) -> None:
        """The brand's fallback was applied to a draft nobody reviewed in time."""
        async with self.sessions() as session:
            if fallback == ReviewFallback.REMIND:
                await review_cards.remind(self.bot, session, post_id, self.default_tz)
                return
            post = await repo.get_post(session, post_id)
            brand = await teams.get_brand(session, post.brand_id) if post else None
            if post is None or brand is None:
                return
            tz = review_cards.zone(brand, self.default_tz)
            when = None if post.immediate else post.scheduled_at

            def outcome(t: Texts) -> str:
                if fallback == ReviewFallback.SKIP:
                    return t("review.outcome.skipped")
                return t("review.outcome.published", when=review_ui.when_text(t, when, tz))

            def told(t: Texts) -> str:
                if fallback == ReviewFallback.SKIP:
                    return t("review.told.skipped", post_id=post_id)
                return t(
                    "review.told.published",
                    post_id=post_id,
                    when=review_ui.when_text(t, when, tz),
                )

            await review_cards.refresh_cards(self.bot, session, post_id, self.default_tz, outcome)
            await review_cards.tell_author(self.bot, session, post, told)
