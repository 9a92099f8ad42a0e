"""/accounts: where approved posts go. Connect walks through one platform's credentials step by
step; a message holding a secret is deleted as soon as it is read, and the secret waits for the
rest of the form in process memory only (`handlers.credentials`), never in the FSM storage;
credentials are checked with a cheap authenticated call before they are saved, encrypted.
Disconnect deletes them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from config.settings import Settings
from handlers.credentials import HeldCredentials
from handlers.routing import TappedMessage, needs
from publishers.blank import visible
from publishers.errors import PublishError
from publishers.registry import PLATFORMS, Platform, PublisherFactory, account_label
from scheduler.clock import Clock
from storage import repositories as repo
from storage import scope, teams
from storage.crypto import Vault
from storage.models import Account
from storage.roles import Can
from ui.callbacks import AccountAct, AccountCb, PlatformCb
from ui.fit import clip
from ui.keyboards import accounts_keyboard, platforms_keyboard
from ui.texts import Html, Texts

log = logging.getLogger(__name__)

SKIP = "-"


class AccountStates(StatesGroup):
    field = State()


#: How much of an account's last error /accounts shows (every account shares one message).
ERROR_SHOWN = 300

#: A token this close to its end is shown as a warning in /accounts.
EXPIRY_WARNING = timedelta(days=7)


def _health(t: Texts, account: Account, now: datetime) -> list[str]:
    """What is wrong or about to go wrong with an account, in plain words."""
    lines = []
    if account.last_error:
        lines.append(t("acc.health.error", reason=clip(account.last_error, ERROR_SHOWN)))
    expires = account.token_expires_at
    if expires is not None and expires - now <= EXPIRY_WARNING:
        key = "acc.health.expired" if expires <= now else "acc.health.expires"
        lines.append(t(key, date=expires.date().isoformat()))
    return lines


async def _overview(
    session: AsyncSession, t: Texts, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    accounts = await repo.all_accounts(session)
    visible = [a for a in accounts if a.enabled or a.credentials or a.platform == "telegram"]
    lines = []
    for a in visible:
        state = "on" if a.enabled and not a.last_error else "error" if a.enabled else "off"
        lines.append(t(f"acc.line_{state}", target=account_label(a)))
        lines += _health(t, a, now)
    text = t("acc.list", lines=Html("\n".join(lines) or t("acc.none")))
    markup = accounts_keyboard(t, [(a.id, account_label(a), a.enabled) for a in visible])
    return text, markup


async def on_accounts(
    message: Message, session: AsyncSession, t: Texts, state: FSMContext, clock: Clock
) -> None:
    await state.clear()
    text, markup = await _overview(session, t, clock.now())
    await message.answer(text, reply_markup=markup)


async def on_connect(query: CallbackQuery, message: Message, t: Texts) -> None:
    await query.answer()
    choices = [(p.key, p.title) for p in PLATFORMS.values()]
    await message.answer(t("acc.pick"), reply_markup=platforms_keyboard(choices))


async def on_toggle(
    query: CallbackQuery,
    callback_data: AccountCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
    clock: Clock,
) -> None:
    account = await session.get(Account, callback_data.id)
    if account is None:
        await query.answer(t.plain("post.gone"), show_alert=True)
        return
    account.enabled = not account.enabled
    key = "acc.enabled" if account.enabled else "acc.disabled"
    action = "account.enable" if account.enabled else "account.disable"
    label = account_label(account)
    await teams.record(session, account.brand_id, query.from_user.id, action, detail=label)
    note = t.plain(key, target=account_label(account))
    await session.commit()
    await _answer_and_refresh(query, message, session, t, clock, note)


async def on_disconnect(
    query: CallbackQuery,
    callback_data: AccountCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
    clock: Clock,
    publishers: PublisherFactory,
) -> None:
    account = await session.get(Account, callback_data.id)
    if account is None:
        await query.answer(t.plain("post.gone"), show_alert=True)
        return
    await repo.disconnect_account(session, account.id)
    label = account_label(account)
    await teams.record(
        session, account.brand_id, query.from_user.id, "account.disconnect", detail=label
    )
    publishers.forget(account.id)
    note = t.plain("acc.disconnected", target=account_label(account))
    await session.commit()
    await _answer_and_refresh(query, message, session, t, clock, note)


async def _answer_and_refresh(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    t: Texts,
    clock: Clock,
    note: str,
) -> None:
    await query.answer(note)
    text, markup = await _overview(session, t, clock.now())
    await message.edit_text(text, reply_markup=markup)


def _url_schemes(settings: Settings) -> tuple[str, ...]:
    """Tokens go to these servers: https only, unless the owner allows LAN servers (which
    may speak plain http; publishers.outbound refuses http to a public host anyway)."""
    return ("https://", "http://") if settings.allow_private_urls else ("https://",)


def _prompt(t: Texts, platform: Platform, step: int) -> str:
    field = platform.fields[step]
    specific = f"acc.field.{platform.key}.{field.name}"
    text = t(
        "acc.ask",
        platform=platform.title,
        step=step + 1,
        steps=len(platform.fields),
        what=t.plain(specific if t.has(specific) else f"acc.field.{field.name}"),
    )
    if field.secret:
        text += t("acc.ask.secret")
    if field.optional:
        text += t("acc.ask.optional")
    return text


async def on_platform(
    query: CallbackQuery,
    callback_data: PlatformCb,
    message: Message,
    t: Texts,
    state: FSMContext,
    held: HeldCredentials,
) -> None:
    platform = PLATFORMS[callback_data.key]  # the filter let only known platforms through
    await query.answer()
    await state.set_state(AccountStates.field)
    form = held.open(query.from_user.id)
    await state.set_data({"platform": platform.key, "values": {}, "secret": [], "form": form})
    await message.answer(_prompt(t, platform, 0))


async def on_field(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    state: FSMContext,
    publishers: PublisherFactory,
    vault: Vault,
    clock: Clock,
    settings: Settings,
    held: HeldCredentials,
) -> None:
    """One answer of the form. Secrets go to `held` (process memory), never into the FSM data,
    which only says which of them were typed."""
    assert message.from_user is not None
    user_id = message.from_user.id
    data = await state.get_data()
    platform = PLATFORMS[data["platform"]]
    values: dict[str, str] = dict(data["values"])
    typed: list[str] = list(data.get("secret", []))
    form = str(data.get("form", ""))
    field = platform.fields[len(values) + len(typed)]
    value = visible(message.text)
    if field.secret:
        try:
            await message.delete()
        except TelegramAPIError:
            await message.answer(t("acc.not_deleted"))
    if typed and held.get(user_id, form) is None:
        await state.clear()  # the secrets typed so far timed out, or Nexus restarted
        await message.answer(t("acc.form_expired", minutes=round(held.ttl / 60)))
        return
    held.resume(user_id, form)
    if field.optional and value == SKIP:
        value = ""
    elif field.url and not value.startswith(_url_schemes(settings)):
        await message.answer(t("acc.bad_url"))
        return
    elif field.number and not (value.lstrip("-").isascii() and value.lstrip("-").isdigit()):
        await message.answer(t("acc.bad_number"))
        return
    elif not value:
        await message.answer(_prompt(t, platform, len(values) + len(typed)))
        return
    value = value.rstrip("/") if field.url else value
    if field.secret:
        held.put(user_id, form, field.name, value)
        typed.append(field.name)
    else:
        values[field.name] = value
    filled = len(values) + len(typed)
    if filled < len(platform.fields):
        await state.update_data(values=values, secret=typed)
        await message.answer(_prompt(t, platform, filled))
        return
    secret_values = held.take(user_id, form) or {}
    await state.clear()
    await _connect(
        message, session, t, platform, {**values, **secret_values}, publishers, vault, clock
    )


async def _connect(
    message: Message,
    session: AsyncSession,
    t: Texts,
    platform: Platform,
    values: dict[str, str],
    publishers: PublisherFactory,
    vault: Vault,
    clock: Clock,
) -> None:
    credentials = {k: v for k, v in values.items() if v and k != "channel"}
    handle = values.get("channel") or values.get("handle") or platform.key
    if platform.key == "telegram" and not handle.startswith(("@", "-")):
        handle = "@" + handle
    await message.answer(t("acc.checking", platform=platform.title))
    try:
        name = await publishers.for_credentials(platform.key, handle, credentials).verify()
    except PublishError as exc:
        await message.answer(t("acc.failed", platform=platform.title, reason=exc.reason))
        return
    target = handle if platform.key == "telegram" else name
    if await repo.account_brand(session, platform.key, target) not in (
        None,
        scope.brand_of(session),
    ):
        await message.answer(t("acc.other_brand", target=name))
        return
    lifetime = platform.token_lifetime
    account = await repo.save_account(
        session,
        platform.key,
        target,
        name,
        vault.encrypt(credentials) if credentials else None,
        token_expires_at=clock.now() + lifetime if lifetime else None,
    )
    actor = message.from_user.id if message.from_user else None
    label = account_label(account)
    await teams.record(session, account.brand_id, actor, "account.connect", detail=label)
    await session.commit()
    log.info("connected a %s account: %s", platform.key, target)
    await message.answer(t("acc.connected", target=name))


def router() -> Router:
    r = Router(name="accounts")
    r.message.register(on_accounts, Command("accounts"), flags=needs(Can.MANAGE))
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(
        on_connect, AccountCb.filter(F.act == AccountAct.CONNECT), flags=needs(Can.MANAGE)
    )
    r.callback_query.register(
        on_toggle, AccountCb.filter(F.act == AccountAct.TOGGLE), flags=needs(Can.MANAGE)
    )
    r.callback_query.register(
        on_disconnect, AccountCb.filter(F.act == AccountAct.DISCONNECT), flags=needs(Can.MANAGE)
    )
    r.callback_query.register(
        on_platform, PlatformCb.filter(F.key.in_(PLATFORMS)), flags=needs(Can.MANAGE)
    )
    r.message.register(on_field, AccountStates.field, F.text, flags=needs(Can.MANAGE))
    return r
