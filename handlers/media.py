"""Photos from the chat: a photo (or album) with a caption is a brief with its images; a photo
without one is added to the owner's latest draft.

Album items arrive as separate messages sharing a ``media_group_id``. Events of one chat are
handled one at a time (``SimpleEventIsolation``), but the first item's draft (the one Telegram
gives the caption) is written in the background: the next items are handed to that job
(`handlers.drafting.Photos`) while it runs, and attached to its draft once it is stored.
"""

from __future__ import annotations

from collections import OrderedDict

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from config.settings import Settings
from handlers.drafting import Drafting, Photos, attach_or_explain
from handlers.drafts import MAX_BRIEF_CHARS
from handlers.previews import show_preview
from handlers.routing import needs
from publishers.blank import visible
from storage import repositories as repo
from storage.models import PostStatus
from storage.roles import Can
from ui.texts import Texts

#: Telegram's Bot API hands bots files of at most 20 MB.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
#: Albums remembered (media_group_id → the photos of its draft); an album's items arrive within
#: seconds.
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
    albums: OrderedDict[str, Photos] = OrderedDict()

    async def on_photo(
        message: Message,
        bot: Bot,
        session: AsyncSession,
        drafting: Drafting,
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
            first = Photos([data])
            await drafting.start_new(
                session,
                bot,
                t,
                brief=caption,
                author_id=message.from_user.id,
                source=message,
                photos=first,
            )
            if group:
                albums[group] = first
                while len(albums) > ALBUMS_REMEMBERED:
                    albums.popitem(last=False)
            return
        photos = albums.get(group) if group else None
        if photos is not None:
            if photos.add(data):
                return  # its draft is being written: the job attaches it
            await photos.settled.wait()  # the job is attaching its images: after them
        post_id = photos.post_id if photos else None
        post = await repo.get_post(session, post_id) if post_id else None
        if post is None:
            post = await repo.latest_draft(session, message.from_user.id)
        if post is None or post.status != PostStatus.DRAFT:
            await message.answer(t("media.no_draft"))
            return
        if group and photos is None:
            albums[group] = Photos()
            albums[group].settle(post.id)
        post = await attach_or_explain(session, t, post, [data], settings.data_dir, message)
        await show_preview(bot, session, t, post, chat_id=message.chat.id)

    image_file = F.document.mime_type.startswith("image/")
    r.message.register(on_photo, StateFilter(None), F.photo | image_file, flags=needs(Can.DRAFT))
    return r
