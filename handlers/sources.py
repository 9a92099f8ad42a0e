"""/sources: where events come from. Webhooks (plain or GitHub) get a URL and a secret shown
once; feeds are added with `/sources add <url>`, checked on the spot, and then asked for their
mode (AI summaries for approval, or rss.item events for the rules). The work is done by
`automation.sources`; this module parses and renders."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from automation import sources as service
from automation.feeds import FeedError
from config.settings import Settings
from handlers.routing import TappedMessage, needs
from publishers.outbound import GuardedClient
from storage.crypto import Vault
from storage.models import Source
from storage.roles import Can
from ui import views
from ui.callbacks import SourceAct, SourceCb
from ui.fit import clip
from ui.keyboards import choice_keyboard, confirm_keyboard, sources_keyboard
from ui.texts import Html, Texts

log = logging.getLogger(__name__)


#: How much of a feed's name, URL and last error the list shows (many feeds share one message).
NAME_SHOWN, URL_SHOWN, ERROR_SHOWN = 80, 200, 200


class SourceStates(StatesGroup):
    webhook_name = State()
    feed_mode = State()


def base_url(settings: Settings) -> str:
    """Where this server is reached from outside: NEXUS_PUBLIC_URL, else host and port."""
    return settings.public_url or f"http://{settings.http_host}:{settings.http_port}"


def _line(t: Texts, source: Source, settings: Settings, tz: ZoneInfo) -> str:
    if source.kind != "feed":
        kind = t.plain("src.kind_github" if source.kind == "github" else "src.kind_webhook")
        url = service.webhook_url(base_url(settings), source.name)
        return t("src.line_webhook", name=source.name, kind=kind, url=url)
    polled = views.short_when(source.polled_at, tz) if source.polled_at else t.plain("src.never")
    line = t(
        "src.line_feed",
        name=clip(source.name, NAME_SHOWN),
        url=clip(source.url or "", URL_SHOWN),
        mode=t.plain(f"src.mode_{source.mode}"),
        polled=polled,
    )
    if source.last_error:
        line += "\n" + t.n(
            "src.last_error", source.failures, error=clip(source.last_error, ERROR_SHOWN)
        )
    return line


async def _overview(
    session: AsyncSession, t: Texts, settings: Settings, tz: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    sources = await service.list_sources(session)
    await session.commit()
    lines = "\n\n".join(_line(t, s, settings, tz) for s in sources) or t("src.none")
    text = t("src.list", lines=Html(lines), minutes=settings.feed_poll_minutes)
    return text, sources_keyboard(t, [(s.id, s.name) for s in sources])


async def on_sources(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
    state: FSMContext,
    settings: Settings,
    outbound: GuardedClient,
) -> None:
    """/sources, or /sources add <feed url>."""
    await state.clear()
    words = (command.args or "").split()
    if words and words[0].lower() == "add":
        await _check_feed(message, t, state, outbound, words[1] if len(words) > 1 else "")
        return
    text, markup = await _overview(session, t, settings, tz)
    await message.answer(text, reply_markup=markup)


async def _check_feed(
    message: Message, t: Texts, state: FSMContext, outbound: GuardedClient, url: str
) -> None:
    if not url.startswith(("http://", "https://")):
        await message.answer(t("src.add_usage"))
        return
    await message.answer(t("src.checking", url=url))
    try:
        fetched = await service.check_feed(outbound, url)
    except FeedError as exc:
        await message.answer(t("src.feed_bad", url=url, reason=str(exc)))
        return
    await state.set_state(SourceStates.feed_mode)
    await state.set_data({"url": url})
    markup = choice_keyboard(
        [
            (t.plain("src.btn.mode_draft"), SourceCb(act=SourceAct.FEED_DRAFT)),
            (t.plain("src.btn.mode_rules"), SourceCb(act=SourceAct.FEED_RULES)),
        ]
    )
    await message.answer(
        t.n("src.feed_ok", len(fetched.items), title=fetched.title), reply_markup=markup
    )


async def on_add_webhook(query: CallbackQuery, message: Message, t: Texts) -> None:
    await query.answer()
    markup = choice_keyboard(
        [
            (t.plain("src.btn.plain"), SourceCb(act=SourceAct.PLAIN)),
            (t.plain("src.btn.github"), SourceCb(act=SourceAct.GITHUB)),
        ]
    )
    await message.answer(t("src.ask_kind"), reply_markup=markup)


async def on_webhook_kind(
    query: CallbackQuery,
    callback_data: SourceCb,
    message: Message,
    t: Texts,
    state: FSMContext,
) -> None:
    await query.answer()
    await state.set_state(SourceStates.webhook_name)
    kind = "github" if callback_data.act is SourceAct.GITHUB else "webhook"
    await state.set_data({"kind": kind})
    await message.edit_text(t("src.ask_name"))


async def on_feed_mode(
    query: CallbackQuery,
    callback_data: SourceCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
    state: FSMContext,
    settings: Settings,
    outbound: GuardedClient,
) -> None:
    await _add_feed(query, message, session, t, state, settings, outbound, callback_data.act)


async def on_delete(
    query: CallbackQuery,
    callback_data: SourceCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
) -> None:
    source = await session.get(Source, callback_data.id)
    await session.commit()
    if source is None:
        await query.answer(t.plain("src.gone"), show_alert=True)
        return
    await query.answer()
    await message.edit_text(
        t("src.confirm_delete", name=source.name),
        reply_markup=confirm_keyboard(
            t, SourceCb(act=SourceAct.DELETE_YES, id=source.id), SourceCb(act=SourceAct.LIST)
        ),
    )


async def on_delete_yes(
    query: CallbackQuery,
    callback_data: SourceCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
    settings: Settings,
) -> None:
    gone = await service.delete_source(session, callback_data.id)
    await query.answer(t.plain("src.deleted", name=gone.name) if gone else None)
    text, markup = await _overview(session, t, settings, tz)
    await message.edit_text(text, reply_markup=markup)


async def on_list(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
    settings: Settings,
) -> None:
    await query.answer()
    text, markup = await _overview(session, t, settings, tz)
    await message.edit_text(text, reply_markup=markup)


async def _add_feed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    t: Texts,
    state: FSMContext,
    settings: Settings,
    outbound: GuardedClient,
    act: SourceAct,
) -> None:
    url = (await state.get_data()).get("url")
    if await state.get_state() != SourceStates.feed_mode.state or not url:
        await query.answer(t.plain("src.expired"), show_alert=True)
        return
    await query.answer()
    await state.clear()
    mode = "draft" if act is SourceAct.FEED_DRAFT else "rules"
    try:
        fetched = await service.check_feed(outbound, url)  # fresh entries and validators
        source = await service.add_feed(session, fetched, url, mode)
    except FeedError as exc:
        await message.edit_text(t("src.feed_bad", url=url, reason=str(exc)))
        return
    await message.edit_text(
        t.n(
            f"src.feed_added_{mode}",
            len(fetched.items),
            name=source.name,
            minutes=settings.feed_poll_minutes,
        )
    )


async def on_webhook_name(
    message: Message,
    session: AsyncSession,
    t: Texts,
    state: FSMContext,
    settings: Settings,
    vault: Vault,
) -> None:
    kind = (await state.get_data()).get("kind", "webhook")
    try:
        source, secret = await service.add_webhook(session, vault, kind, message.text or "")
    except service.SourceError as exc:
        await session.rollback()
        await message.answer(t("src.bad_name", reason=str(exc)))
        return
    await state.clear()
    log.info("added a %s source %s", kind, source.name)  # never the secret
    url = service.webhook_url(base_url(settings), source.name)
    key = "src.webhook_added_github" if kind == "github" else "src.webhook_added"
    await message.answer(t(key, name=source.name, url=url, secret=secret))


def router() -> Router:
    r = Router(name="sources")
    r.message.register(on_sources, Command("sources"), flags=needs(Can.MANAGE))
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(
        on_list, SourceCb.filter(F.act == SourceAct.LIST), flags=needs(Can.MANAGE)
    )
    r.callback_query.register(
        on_add_webhook, SourceCb.filter(F.act == SourceAct.ADD_WEBHOOK), flags=needs(Can.MANAGE)
    )
    kinds = (SourceAct.PLAIN, SourceAct.GITHUB)
    r.callback_query.register(
        on_webhook_kind, SourceCb.filter(F.act.in_(kinds)), flags=needs(Can.MANAGE)
    )
    modes = (SourceAct.FEED_DRAFT, SourceAct.FEED_RULES)
    r.callback_query.register(
        on_feed_mode, SourceCb.filter(F.act.in_(modes)), flags=needs(Can.MANAGE)
    )
    r.callback_query.register(
        on_delete, SourceCb.filter(F.act == SourceAct.DELETE), flags=needs(Can.MANAGE)
    )
    r.callback_query.register(
        on_delete_yes, SourceCb.filter(F.act == SourceAct.DELETE_YES), flags=needs(Can.MANAGE)
    )
    r.message.register(on_webhook_name, SourceStates.webhook_name, F.text, flags=needs(Can.MANAGE))
    return r
