"""A draft's images: see them listed in the order they go out, send them into the chat, take
one off or all of them. Adding is done by sending a photo (``handlers.media``)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiogram import Bot, F, Router
from aiogram.types import BufferedInputFile, CallbackQuery, InputMediaPhoto
from sqlalchemy.ext.asyncio import AsyncSession

from ai.service import DraftChanged, detach_images
from config.settings import Settings
from handlers.previews import current_draft, show
from handlers.routing import TappedMessage, needs
from storage.models import Post
from storage.roles import Can
from ui import views
from ui.callbacks import ImageAct, ImageCb
from ui.keyboards import images_keyboard
from ui.texts import Texts

log = logging.getLogger(__name__)


async def show_images(
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    post: Post,
    *,
    chat_id: int,
    new_message: bool = False,
) -> None:
    """Put the images view into the draft's preview message (or a new one that becomes it)."""
    markup = images_keyboard(t, post.id, post.version, [m.id for m in post.media])
    text = views.images(t, post)
    await show(bot, session, post, text, markup, chat_id=chat_id, new_message=new_message)


async def _send_images(bot: Bot, t: Texts, post: Post, data_dir: Path, chat_id: int) -> bool:
    """The draft's images as one album (one photo alone), numbered as in the list; False
    (and the owner told why) when a file is missing."""
    photos = []
    for number, media in enumerate(post.media, start=1):
        try:
            data = await asyncio.to_thread((data_dir / media.path).read_bytes)
        except OSError:
            log.warning("image %s of post %s is missing", media.path, post.id)
            await bot.send_message(chat_id, t("images.missing", post_id=post.id, path=media.path))
            return False
        photos.append(
            InputMediaPhoto(
                media=BufferedInputFile(data, filename=Path(media.path).name), caption=str(number)
            )
        )
    if len(photos) == 1:
        await bot.send_photo(chat_id, photos[0].media, caption=photos[0].caption)
    else:
        await bot.send_media_group(chat_id, photos)  # type: ignore[arg-type]
    return True


async def on_show(
    query: CallbackQuery,
    callback_data: ImageCb,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
    t: Texts,
) -> None:
    chat_id = query.from_user.id
    post = await current_draft(query, bot, session, t, callback_data.post, callback_data.v)
    if post is None:
        return
    await query.answer()
    if post.media and await _send_images(bot, t, post, settings.data_dir, chat_id):
        # the view moves below the album; the old message points to it
        pointer = t("images.below", post_id=post.id)
        await show(bot, session, post, pointer, None, chat_id=chat_id)
        await show_images(bot, session, t, post, chat_id=chat_id, new_message=True)


async def on_remove(
    query: CallbackQuery, callback_data: ImageCb, bot: Bot, session: AsyncSession, t: Texts
) -> None:
    post = await current_draft(query, bot, session, t, callback_data.post, callback_data.v)
    if post is None:
        return
    ids = [m.id for m in post.media]
    if callback_data.media not in ids:
        await query.answer(t.plain("draft.stale", post_id=post.id))
        await show_images(bot, session, t, post, chat_id=query.from_user.id)
        return
    number = ids.index(callback_data.media) + 1
    note = t.plain("images.removed", number=number, post_id=post.id)
    await _detach(query, bot, session, t, post, [callback_data.media], note)


async def on_clear(
    query: CallbackQuery, callback_data: ImageCb, bot: Bot, session: AsyncSession, t: Texts
) -> None:
    post = await current_draft(query, bot, session, t, callback_data.post, callback_data.v)
    if post is not None:
        note = t.plain("images.cleared", post_id=post.id)
        await _detach(query, bot, session, t, post, None, note)


async def _detach(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    post: Post,
    remove: list[int] | None,
    note: str,
) -> None:
    """Take images `remove` (all of them: None) off the draft, then show what is left."""
    try:
        post = await detach_images(session, post, remove)
    except DraftChanged:
        await query.answer(t.plain("draft.changed", post_id=post.id), show_alert=True)
        return
    await query.answer(note)
    await show_images(bot, session, t, post, chat_id=query.from_user.id)


def router() -> Router:
    r = Router(name="images")
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(
        on_show, ImageCb.filter(F.act == ImageAct.SHOW), flags=needs(Can.DRAFT)
    )
    r.callback_query.register(
        on_remove, ImageCb.filter(F.act == ImageAct.REMOVE), flags=needs(Can.DRAFT)
    )
    r.callback_query.register(
        on_clear, ImageCb.filter(F.act == ImageAct.CLEAR), flags=needs(Can.DRAFT)
    )
    return r
