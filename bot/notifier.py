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
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import views
from bot.keyboards import failure_keyboard, overdue_keyboard, unsure_keyboard
from bot.texts import Texts
from handlers.previews import show_preview
from scheduler.notify import PublishReport
from storage import repositories as repo
from storage.models import Post, PostStatus, Publication, User

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
        user = await session.get(User, post.author_id)
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
            target = pub.account.title or pub.account.handle
        text = t("alert.unsure", post_id=post.id, target=target)
        await self._send(post.author_id, text, unsure_keyboard(t, publication_id))

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

    async def automation_failed(self, name: str, reason: str) -> None:
        async with self.sessions() as session:
            users = {
                u.id: u
                for u in (
                    await session.scalars(select(User).where(User.id.in_(self.owner_ids)))
                ).all()
            }
        for owner in sorted(self.owner_ids):
            t = Texts(users[owner].language if owner in users else "en")
            await self._send(owner, t("auto.failed", name=name, reason=reason), None)
