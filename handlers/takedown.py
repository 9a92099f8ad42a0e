"""🗑 Delete… under a published post: one confirmation, then the post is deleted from every
platform it went out to, with one line per target saying how that went."""

from __future__ import annotations

import html
import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.routing import TappedMessage, needs
from scheduler.dispatcher import PublisherFor
from scheduler.removal import Removal, delete_everywhere, published_targets
from storage import repositories as repo
from storage import teams
from storage.models import Publication
from storage.roles import Can
from ui import views
from ui.callbacks import TakeDownAct, TakeDownCb
from ui.keyboards import take_down_keyboard
from ui.texts import Html, Texts

log = logging.getLogger(__name__)


def _linked(name: str, url: str | None) -> str:
    name = html.escape(name)
    return f'<a href="{html.escape(url)}">{name}</a>' if url else name


def _result(t: Texts, post_id: int, removals: list[Removal]) -> str:
    lines = [
        t("takedown.line_ok", target=views.target_name(r.account))
        if r.error is None
        else t("takedown.line_failed", target=views.target_name(r.account), reason=r.error)
        for r in removals
    ]
    key = "takedown.done" if all(r.error is None for r in removals) else "takedown.partial"
    return t(key, post_id=post_id, lines=Html("\n".join(lines)))


async def on_keep(
    query: CallbackQuery, callback_data: TakeDownCb, message: Message, t: Texts
) -> None:
    await query.answer(t.plain("takedown.kept", post_id=callback_data.post))
    await message.delete()


async def on_ask(
    query: CallbackQuery,
    callback_data: TakeDownCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
) -> None:
    """🗑 Delete…: which targets it is live on, and the confirmation."""
    post_id = callback_data.post
    live = await _live(query, session, t, post_id)
    if not live:
        return
    targets = "\n".join("• " + _linked(views.target_name(p.account), p.url) for p in live)
    await message.reply(
        t("takedown.ask", post_id=post_id, targets=Html(targets)),
        reply_markup=take_down_keyboard(t, post_id),
    )


async def on_yes(
    query: CallbackQuery,
    callback_data: TakeDownCb,
    message: Message,
    session: AsyncSession,
    publisher_for: PublisherFor,
    t: Texts,
) -> None:
    post_id = callback_data.post
    if not await _live(query, session, t, post_id):
        return
    await message.edit_text(t("takedown.deleting", post_id=post_id))
    removals = await delete_everywhere(session, publisher_for, post_id)
    gone = sum(r.error is None for r in removals)
    await teams.record_post(
        session, post_id, query.from_user.id, "post.takedown", f"{gone}/{len(removals)}"
    )
    await session.commit()
    await message.edit_text(_result(t, post_id, removals))
    if all(r.error is None for r in removals):
        await _retire_record(message.reply_to_message, session, t, post_id)


async def _live(
    query: CallbackQuery, session: AsyncSession, t: Texts, post_id: int
) -> list[Publication]:
    """The post's live publications, the tap answered (with why not, when there are none:
    also the second of two quick taps on Yes, whose first answer stands)."""
    live = await published_targets(session, post_id)
    await session.commit()
    if not live:
        await query.answer(t.plain("takedown.none", post_id=post_id), show_alert=True)
    else:
        await query.answer()
    return live


async def _retire_record(
    record: Message | None, session: AsyncSession, t: Texts, post_id: int
) -> None:
    """The published record (the message the question answered) loses its dead links and
    buttons once nothing of the post is live."""
    post = await repo.get_post(session, post_id)
    await session.commit()
    if record is None or post is None:
        return
    try:
        await record.edit_text(views.taken_down(t, post), reply_markup=None)
    except TelegramBadRequest as exc:  # too old to edit, or already gone: the answer stands
        log.info("record of post %s not updated: %s", post_id, exc)


def router() -> Router:
    r = Router(name="takedown")
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(
        on_ask, TakeDownCb.filter(F.act == TakeDownAct.ASK), flags=needs(Can.MANAGE)
    )
    r.callback_query.register(
        on_yes, TakeDownCb.filter(F.act == TakeDownAct.YES), flags=needs(Can.MANAGE)
    )
    r.callback_query.register(
        on_keep, TakeDownCb.filter(F.act == TakeDownAct.NO), flags=needs(Can.MANAGE)
    )
    return r
