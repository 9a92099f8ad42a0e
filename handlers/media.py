"""Photos from the chat: a photo (or album) with a caption is a brief with its images; a photo
without one is added to the owner's latest draft.

Album items arrive as separate messages sharing a ``media_group_id``. Events of one chat are
handled one at a time (``SimpleEventIsolation``), so the first item (the one Telegram gives the
caption) has created the draft before the next is read; the rest join that draft.
"""

from __future__ import annotations

from collections import OrderedDict

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from ai.drafter import Drafter
from config.settings import Settings
from handlers.drafts import MAX_BRIEF_CHARS, attach_or_explain, draft_and_show
from handlers.previews import show_preview
from publishers.blank import visible
from storage import repositories as repo
from storage.models import PostStatus
from ui.texts import Texts

#: Telegram's Bot API hands bots files of at most 20 MB.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
#: Albums remembered (media_group_id → draft id); an album's items arrive within seconds.
ALBUMS_REMEMBERED = 64


async def _download(bot: Bot, message: Message) -> bytes | None:
    """The photo's bytes (its largest size), or an image sent as a file; None if too large."""
    if message.photo:
        file = message.photo[-1]
        size = file.file_size
        file_id = file.file_id
    else:
        assert message.document is not None
        size, file_id = message.document.file_size, message.document.file_id
    if size and size > MAX_DOWNLOAD_BYTES:
        return None
    buffer = await bot.download(file_id)
    assert buffer is not None
    return buffer.read()


def router() -> Router:
    r = Router(name="media")
    albums: OrderedDict[str, int] = OrderedDict()

    async def on_photo(
        message: Message,
        bot: Bot,
        session: AsyncSession,
        drafter: Drafter,
        settings: Settings,
        t: Texts,
    ) -> None:
        data = await _download(bot, message)
        if data is None:
            await message.answer(t("media.too_big"))
            return
        assert message.from_user is not None
        group = message.media_group_id
        caption = visible(message.caption)
        if caption and not (group and group in albums):
            if len(caption) > MAX_BRIEF_CHARS:
                await message.answer(t("new.too_long", length=len(caption), limit=MAX_BRIEF_CHARS))
                return
            post = await draft_and_show(
                bot,
                session,
                drafter,
                t,
                brief=caption,
                author_id=message.from_user.id,
                source=message,
                images=[data],
                data_dir=settings.data_dir,
            )
            if post is not None and group:
                albums[group] = post.id
                while len(albums) > ALBUMS_REMEMBERED:
                    albums.popitem(last=False)
            return
        post_id = albums.get(group) if group else None
        post = await repo.get_post(session, post_id) if post_id else None
        if post is None:
            post = await repo.latest_draft(session, message.from_user.id)
        if post is None or post.status != PostStatus.DRAFT:
            await message.answer(t("media.no_draft"))
            return
        if group:
            albums[group] = post.id
        post = await attach_or_explain(session, t, post, [data], settings.data_dir, message)
        await show_preview(bot, session, t, post, chat_id=message.chat.id)

    image_file = F.document.mime_type.startswith("image/")
    r.message.register(on_photo, StateFilter(None), F.photo | image_file)
    return r
