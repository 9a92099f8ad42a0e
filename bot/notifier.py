"""The bot's side of `scheduler.notify.Notifier`: outcomes and questions become chat messages.

Who is told is decided per brand, never install-wide: a post's outcome or question goes to the
people who can act on it, the owners and editors of the post's brand, and to its author
(whatever their role now); an automation draft's preview goes to the brand's owners and editors,
not to its reviewers or viewers (the review step routes drafts that need review). Each person
gets their own language; dates are in the brand's time zone, and someone in several brands sees
the brand's name first. An approve-and-publish-now post has its preview turned into the record
(the person who approved is looking at it); everyone else, and every post that went out on
schedule, failed or asks a question, gets a new message, so the phone notifies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
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
from storage.models import Brand, Post, PostStatus, Publication, ReviewFallback, Role, User
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


#: The roles told about a brand's posts and automation drafts: the ones who can act on them.
ACTING = (Role.OWNER, Role.EDITOR)


@dataclass(frozen=True)
class Reader:
    """One person a message goes to: their chat, their words, the brand's zone, and the line
    naming the brand ("" unless they are in several brands)."""

    chat_id: int
    t: Texts
    tz: ZoneInfo
    heading: str

    def headed(self, text: str) -> str:
        return f"{self.heading}\n{text}" if self.heading else text


class BotNotifier:
    def __init__(
        self, bot: Bot, sessions: async_sessionmaker[AsyncSession], default_tz: str
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.default_tz = default_tz

    async def _reader(self, session: AsyncSession, user_id: int, brand: Brand | None) -> Reader:
        user = await session.get(User, user_id)
        t = Texts(user.language if user else "en")
        tz = ZoneInfo((brand.timezone if brand else None) or self.default_tz)
        named = await teams.brand_to_name(session, user_id, brand.id) if brand else None
        heading = t("brandjobs.brand", name=named.name) if named else ""
        return Reader(user_id, t, tz, heading)

    async def _readers(
        self, session: AsyncSession, brand_id: int, also: int | None = None
    ) -> list[Reader]:
        """The brand's owners and editors, and ``also`` (a post's author) first, once each."""
        brand = await teams.get_brand(session, brand_id)
        people = [] if also is None else [also]
        people += [p for p in await teams.member_ids(session, brand_id, ACTING) if p != also]
        return [await self._reader(session, person, brand) for person in people]

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
            readers = await self._readers(session, post.brand_id, post.author_id)
        looking = _looking_at_preview(post, readers)
        for reader in readers:
            t = reader.t
            text = reader.headed(views.publish_report(t, report, post))
            markup = None
            if report.status != PostStatus.PUBLISHED:
                markup = failure_keyboard(t, post.id, can_edit=report.status == PostStatus.FAILED)
            if report.status != PostStatus.FAILED:  # something went out: its numbers can be asked
                rows = markup.inline_keyboard if markup else []
                markup = InlineKeyboardMarkup(
                    inline_keyboard=[*rows, published_buttons(t, post.id)]
                )
            if post.immediate and reader is looking:  # the preview becomes the record
                edited = await self._edit_preview(post, text, markup)
                if edited and post.preview_chat_id == reader.chat_id:
                    continue  # they are looking at it: no second message
            await self._send(reader.chat_id, text, markup)

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
            readers = await self._readers(session, post.brand_id, post.author_id)
        for r in readers:
            text = r.t("alert.overdue", post_id=post_id, when=views.when(r.t, due_at, r.tz))
            await self._send(r.chat_id, r.headed(text), overdue_keyboard(r.t, post_id))

    async def publication_unsure(self, publication_id: int) -> None:
        async with self.sessions() as session:
            pub = await session.get(Publication, publication_id)
            if pub is None:
                return
            post = await repo.get_post(session, pub.post_id)
            assert post is not None
            readers = await self._readers(session, post.brand_id, post.author_id)
            target = views.target_name(pub.account)  # the platform named: "X @nexus"
        if post.immediate:  # an approved preview must not keep saying "⏳ Publishing…"
            t = _looking_at_preview(post, readers).t
            pointer = t("unsure.preview", post_id=post.id, target=target)
            await self._edit_preview(post, pointer, None)
        for r in readers:
            text = r.t("alert.unsure", post_id=post.id, target=target)
            await self._send(r.chat_id, r.headed(text), unsure_keyboard(r.t, publication_id))

    async def target_moved(self, move: TargetMoved) -> None:
        """A new message (the phone notifies): which quota, and where the target went."""
        async with self.sessions() as session:
            pub = await session.get(Publication, move.publication_id)
            if pub is None:
                return
            post = await repo.get_post(session, pub.post_id)
            assert post is not None
            readers = await self._readers(session, post.brand_id, post.author_id)
            target = views.target_name(pub.account)
        for r in readers:
            text = views.target_moved(r.t, move, target, post.id, r.tz)
            await self._send(r.chat_id, r.headed(text), None)

    async def send_report(self, user_id: int, report: OwnerReport) -> bool:
        """A digest or an alert. With a picture, the text is its caption when it fits
        Telegram's 1024 characters; otherwise the picture carries the title and the full text
        follows, so nothing is cut."""
        async with self.sessions() as session:
            brand = (
                None if report.brand_id is None else await teams.get_brand(session, report.brand_id)
            )
            reader = await self._reader(session, user_id, brand)
        t = reader.t
        lines = views.owner_report(t, reader.tz, report)
        if reader.heading:  # inside the first line: it stays in a photo's caption
            lines = [f"{reader.heading}\n{lines[0]}", *lines[1:]]
        text = "\n".join(lines)
        markup = None
        if report.mute:
            markup = mute_keyboard(t, report.mute, MUTE_DAYS, brand_id=report.brand_id or 0)
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
        """The standard preview, with the approval buttons, as a new message to each of the
        brand's owners and editors."""
        async with self.sessions() as session:
            post = await repo.get_post(session, post_id)
            if post is None:
                return
            readers = await self._readers(session, post.brand_id)
            for reader in readers:
                try:
                    await show_preview(
                        self.bot, session, reader.t, post, chat_id=reader.chat_id, new_message=True
                    )
                except TelegramAPIError as exc:
                    log.error("could not show draft %s to %s: %s", post_id, reader.chat_id, exc)

    async def tell_brand(self, brand_id: int, text: str) -> None:
        async with self.sessions() as session:
            people = await teams.member_ids(session, brand_id, ACTING)
        for person in people:
            await self._send(person, text, None, html=False)

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


def _looking_at_preview(post: Post, readers: list[Reader]) -> Reader:
    """Whose words the post's preview is edited in: the reader whose chat holds it, else the
    first (the author: a preview in a group is edited in the author's language)."""
    return next((r for r in readers if r.chat_id == post.preview_chat_id), readers[0])
