"""Any message is a brief: posts forwarded from any chat, and links.

A forwarded post (text, or a photo's caption; the photo path in ``handlers.media`` handles
forwarded photos) becomes a brief naming where it came from. A link is read first: the page is
fetched through the hardened outbound client (``ai.links``), and its title, description and
main text become the brief, with the link kept in the post. A page that can't be read gets a
plain explanation with "✍️ Draft from the link alone". A reply to a preview is not a brief: it
steers that draft (``handlers.drafts.on_steer``).
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.types import (
    CallbackQuery,
    Message,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
)
from sqlalchemy.ext.asyncio import AsyncSession

from ai.links import LinkUnusable, fetch_page, first_link, forward_brief, link_brief, without_link
from config.settings import Settings
from handlers.drafting import Drafting
from handlers.drafts import MAX_BRIEF_CHARS, redraft, replied_post
from handlers.routing import TappedMessage, needs
from publishers.blank import visible
from publishers.outbound import GuardedClient
from storage.roles import Can
from ui.callbacks import LinkAloneCb
from ui.keyboards import single_button
from ui.texts import Texts

log = logging.getLogger(__name__)

#: A forwarded post may be a full Telegram post (4096) plus where it came from.
MAX_FORWARD_CHARS = 6000


def _origin(message: Message) -> tuple[str, str | None]:
    """Who posted what was forwarded, and the post's public link when there is one."""
    origin = message.forward_origin
    if isinstance(origin, MessageOriginChannel):
        username = origin.chat.username
        name = origin.chat.title or (f"@{username}" if username else "a channel")
        url = f"https://t.me/{username}/{origin.message_id}" if username else None
        return (f"{name} (@{username})" if username and origin.chat.title else name), url
    if isinstance(origin, MessageOriginChat):
        return origin.sender_chat.title or "a chat", None
    if isinstance(origin, MessageOriginUser):
        return origin.sender_user.full_name, None
    if isinstance(origin, MessageOriginHiddenUser):
        return origin.sender_user_name, None
    return "another chat", None


def _hidden_links(message: Message) -> list[str]:
    """URLs behind words (``text_link`` entities) of the message's text or caption."""
    entities = message.entities or message.caption_entities or []
    return [e.url for e in entities if e.type == "text_link" and e.url]


async def not_steering(message: Message, session: AsyncSession) -> bool:
    """Filter: the message does not reply to a preview (a reply to one steers that draft)."""
    return await replied_post(message, session) is False


def _words_and_link(message: Message | None) -> tuple[str, str] | None:
    """(the owner's words, the first link) of a brief with a link in it (``/new`` dropped)."""
    if message is None or not message.text or message.forward_origin is not None:
        return None
    text = visible(message.text)
    head, _, rest = text.partition(" ")
    if head.startswith("/"):
        if head.split("@")[0].lower() != "/new":
            return None
        text = rest
    url = first_link(text)
    return (without_link(text, url), url) if url else None


async def has_link(message: Message) -> dict[str, tuple[str, str]] | bool:
    """Filter: a brief with a link in it; hands the handler ``(words, url)``."""
    found = _words_and_link(message)
    return {"link": found} if found else False


async def on_forward(
    message: Message, bot: Bot, session: AsyncSession, drafting: Drafting, t: Texts
) -> None:
    text = visible(message.text or message.caption)
    if not text:
        await message.answer(t("forward.empty"))
        return
    if len(text) > MAX_FORWARD_CHARS:
        await message.answer(t("new.too_long", length=len(text), limit=MAX_FORWARD_CHARS))
        return
    name, url = _origin(message)
    brief = forward_brief(text, name, url, _hidden_links(message))
    assert message.from_user is not None
    await drafting.start_new(
        session, bot, t, brief=brief, author_id=message.from_user.id, source=message
    )


async def on_link(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    drafting: Drafting,
    t: Texts,
    outbound: GuardedClient,
    settings: Settings,
    link: tuple[str, str],
) -> None:
    words, url = link
    if len(words) > MAX_BRIEF_CHARS:
        await message.answer(t("new.too_long", length=len(words), limit=MAX_BRIEF_CHARS))
        return
    progress = await message.reply(t("link.reading", url=url))
    try:
        page = await fetch_page(outbound, url, deadline=settings.link_deadline_s)
    except LinkUnusable as exc:
        log.info("link brief: %s can't be read: %s", url, exc.reason)
        await progress.edit_text(
            t("link.unusable", url=url, reason=exc.reason),
            reply_markup=single_button(t.plain("btn.link_alone"), LinkAloneCb()),
        )
        return
    assert message.from_user is not None
    await drafting.start_new(
        session,
        bot,
        t,
        brief=link_brief(words, url, page),
        author_id=message.from_user.id,
        source=message,
        progress=progress,
    )


def _link_alone(message: Message | None) -> str | None:
    """The brief from a link whose page could not be read, and the owner's words."""
    found = _words_and_link(message)
    return link_brief(*found, None) if found else None


async def on_link_alone(
    query: CallbackQuery,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    drafting: Drafting,
    t: Texts,
) -> None:
    await redraft(query, message, bot, session, drafting, t, _link_alone)


def router() -> Router:
    r = Router(name="briefs")
    r.message.register(
        on_forward,
        StateFilter(None),
        F.forward_origin,
        ~F.photo,
        ~F.document,
        not_steering,
        flags=needs(Can.DRAFT),
    )
    r.message.register(
        on_link, StateFilter(None), F.text, has_link, not_steering, flags=needs(Can.DRAFT)
    )
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(on_link_alone, LinkAloneCb.filter(), flags=needs(Can.DRAFT))
    return r
