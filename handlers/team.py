"""/team, invites and joining, and /log.

/team (owners) lists the current brand's members with their roles, a button to change each one's
role and one to remove them, and ➕ Invite: pick a role, get a single-use deep link
(``https://t.me/<bot>?start=<code>``) that works for 24 hours. Opening it is a private
`/start <code>`, the one update a stranger may send (`bot.middlewares`): they join the brand in
that role, are greeted with what they can do, and the brand's owners are told.

Every tap names its brand, and is checked against the tapper's role in that brand, not in the
brand they have switched to since: a /team message of brand A never changes brand B, and a forged
tap naming a brand the tapper does not own changes nothing. The handlers are therefore flagged
for any member (`Can.VIEW`) and check ownership themselves.

Every change (invite, join, role change, removal) is written to the audit log in the same
transaction. /log (any member) shows the brand's log, newest first, paged.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from config.settings import Settings
from handlers.routing import ANYONE, TappedMessage, needs
from scheduler.clock import Clock
from storage import teams
from storage.models import FIRST_BRAND_ID, Brand, Role
from storage.roles import RANKED, Can
from storage.teams import InviteRefused, Seat
from ui import team as views
from ui.callbacks import LogPageCb, TeamAct, TeamCb
from ui.keyboards import log_keyboard, remove_member_keyboard, role_keyboard, team_keyboard
from ui.texts import Texts
from ui.views import short_when

log = logging.getLogger(__name__)


async def _team_screen(
    session: AsyncSession, t: Texts, brand: Brand, me: int
) -> tuple[str, InlineKeyboardMarkup]:
    members = await teams.members(session, brand.id)
    users = await teams.people(session, [m.user_id for m in members])
    text = views.team_view(t, brand, members, users, me)
    people = [(m.user_id, views.person(t, m.user_id, users)) for m in members]
    return text, team_keyboard(t, brand.id, people)


async def on_team(message: Message, session: AsyncSession, t: Texts, seat: Seat) -> None:
    assert message.from_user is not None
    text, markup = await _team_screen(session, t, seat.brand, message.from_user.id)
    await message.answer(text, reply_markup=markup)


async def _owned(
    query: CallbackQuery, session: AsyncSession, t: Texts, brand_id: int
) -> Brand | None:
    """The brand a tap names, if the tapper owns it; otherwise the tap is refused."""
    brand = await teams.get_brand(session, brand_id)
    if brand is None or await teams.role_in(session, brand_id, query.from_user.id) != Role.OWNER:
        await query.answer(t.plain("team.not_owner"), show_alert=True)
        return None
    return brand


async def on_list(
    query: CallbackQuery,
    callback_data: TeamCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
) -> None:
    brand = await _owned(query, session, t, callback_data.brand)
    if brand is None:
        return
    await query.answer()
    text, markup = await _team_screen(session, t, brand, query.from_user.id)
    await message.edit_text(text, reply_markup=markup)


async def on_role_menu(
    query: CallbackQuery,
    callback_data: TeamCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
) -> None:
    brand = await _owned(query, session, t, callback_data.brand)
    if brand is None:
        return
    role = await teams.role_in(session, brand.id, callback_data.user)
    if role is None:
        await query.answer(t.plain("team.gone"), show_alert=True)
        return
    await query.answer()
    users = await teams.people(session, [callback_data.user])
    name = views.person(t, callback_data.user, users)
    await message.edit_text(
        t("team.role_ask", name=name, role=views.role_name(t, role), brand=brand.name),
        reply_markup=role_keyboard(t, brand.id, TeamAct.SET_ROLE, callback_data.user, role),
    )


def _configured_owner(settings: Settings, brand: Brand, user_id: int) -> bool:
    """Whether the member is an owner by NEXUS_OWNER_IDS: start-up makes them an owner of the
    first brand again, so demoting or removing them from the chat would not last."""
    return brand.id == FIRST_BRAND_ID and user_id in settings.owner_ids


async def _tell(bot: Bot, session: AsyncSession, user_id: int, key: str, **values: str) -> None:
    """A message to a member in their own language; one who never started the bot, or blocked
    it, simply is not told (the change stands)."""
    user = (await teams.people(session, [user_id])).get(user_id)
    t = Texts(user.language if user else "en")
    named = {k: views.role_name(t, v) if k == "role" else v for k, v in values.items()}
    try:
        await bot.send_message(user_id, t(key, **named))
    except TelegramAPIError as exc:
        log.info("could not tell user %s about a team change: %s", user_id, exc)


async def on_set_role(
    query: CallbackQuery,
    callback_data: TeamCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    settings: Settings,
) -> None:
    new, user_id = callback_data.role, callback_data.user
    assert new is not None  # (the filter)
    brand = await _owned(query, session, t, callback_data.brand)
    if brand is None:
        return
    held = await teams.role_in(session, brand.id, user_id)
    if held is None:
        await query.answer(t.plain("team.gone"), show_alert=True)
        return
    if new != Role.OWNER and _configured_owner(settings, brand, user_id):
        await query.answer(t.plain("team.configured_owner"), show_alert=True)
        return
    if held != new:
        if not await teams.set_role(session, brand.id, user_id, new):
            await session.rollback()
            await query.answer(t.plain("team.last_owner"), show_alert=True)
            return
        actor, subject = query.from_user.id, f"user:{user_id}"
        await teams.record(session, brand.id, actor, "team.role", subject, new)
        await session.commit()
    users = await teams.people(session, [user_id])
    name = views.person(t, user_id, users)
    await query.answer(t.plain("team.role_set", name=name, role=views.role_name(t, new)))
    text, markup = await _team_screen(session, t, brand, query.from_user.id)
    await message.edit_text(text, reply_markup=markup)
    if user_id != query.from_user.id and held != new:
        await _tell(bot, session, user_id, "team.your_role", brand=brand.name, role=new)


async def on_remove(
    query: CallbackQuery,
    callback_data: TeamCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
) -> None:
    brand = await _owned(query, session, t, callback_data.brand)
    if brand is None:
        return
    if await teams.role_in(session, brand.id, callback_data.user) is None:
        await query.answer(t.plain("team.gone"), show_alert=True)
        return
    await query.answer()
    users = await teams.people(session, [callback_data.user])
    name = views.person(t, callback_data.user, users)
    await message.edit_text(
        t("team.remove_ask", name=name, brand=brand.name),
        reply_markup=remove_member_keyboard(t, brand.id, callback_data.user),
    )


async def on_remove_yes(
    query: CallbackQuery,
    callback_data: TeamCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    settings: Settings,
) -> None:
    brand = await _owned(query, session, t, callback_data.brand)
    if brand is None:
        return
    user_id = callback_data.user
    users = await teams.people(session, [user_id])
    name = views.person(t, user_id, users)
    if await teams.role_in(session, brand.id, user_id) is None:
        await query.answer(t.plain("team.gone"), show_alert=True)
        return
    if _configured_owner(settings, brand, user_id):
        await query.answer(t.plain("team.configured_owner"), show_alert=True)
        return
    if not await teams.remove_member(session, brand.id, user_id):
        await session.rollback()
        await query.answer(t.plain("team.last_owner"), show_alert=True)
        return
    await teams.record(session, brand.id, query.from_user.id, "team.remove", f"user:{user_id}")
    await session.commit()
    await query.answer(t.plain("team.removed", name=name))
    text, markup = await _team_screen(session, t, brand, query.from_user.id)
    await message.edit_text(text, reply_markup=markup)
    if user_id != query.from_user.id:
        await _tell(bot, session, user_id, "team.you_were_removed", brand=brand.name)


async def on_invite(
    query: CallbackQuery,
    callback_data: TeamCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
) -> None:
    brand = await _owned(query, session, t, callback_data.brand)
    if brand is None:
        return
    await query.answer()
    await message.edit_text(
        t("team.invite_ask", brand=brand.name),
        reply_markup=role_keyboard(t, brand.id, TeamAct.INVITE_ROLE),
    )


async def on_invite_role(
    query: CallbackQuery,
    callback_data: TeamCb,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    clock: Clock,
    tz: ZoneInfo,
) -> None:
    role = callback_data.role
    assert role is not None  # (the filter)
    brand = await _owned(query, session, t, callback_data.brand)
    if brand is None:
        return
    now = clock.now()
    code = await teams.create_invite(session, brand.id, role, query.from_user.id, now)
    await teams.record(session, brand.id, query.from_user.id, "team.invite", "", role)
    await session.commit()
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={code}"
    await query.answer()
    await message.edit_text(
        t(
            "team.invite_link",
            brand=brand.name,
            role=views.role_name(t, role),
            link=link,
            until=short_when(now + teams.INVITE_TTL, tz),
        ),
        reply_markup=None,
    )


# --- joining -------------------------------------------------------------------------------------


async def on_join(
    message: Message,
    command: CommandObject,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    clock: Clock,
) -> None:
    """A private `/start <code>`: the invite link opened."""
    assert message.from_user is not None
    user_id, code = message.from_user.id, (command.args or "").strip()
    invite = await teams.invite_for(session, code)
    if invite is not None:
        held = await teams.role_in(session, invite.brand_id, user_id)
        stronger = held is not None and RANKED.index(held) <= RANKED.index(Role(invite.role))
        if held is not None and stronger and invite.used_by is None:
            brand = await teams.get_brand(session, invite.brand_id)
            assert brand is not None
            await message.answer(t("team.already", brand=brand.name, role=views.role_name(t, held)))
            return
    try:
        invite, role = await teams.redeem_invite(session, code, user_id, clock.now())
    except InviteRefused as refused:
        await session.rollback()
        await message.answer(t(f"team.join_{refused.reason}", user_id=user_id))
        return
    brand = await teams.get_brand(session, invite.brand_id)
    assert brand is not None
    await teams.switch_brand(session, user_id, brand.id)  # their commands act in it from now on
    await teams.record(session, brand.id, user_id, "team.join", f"user:{user_id}", role)
    await session.commit()
    seats = await teams.seats_of(session, user_id)
    lines = [
        t("team.welcome", brand=brand.name, role=views.role_name(t, role)),
        t(f"team.can_{role}"),
    ]
    if len(seats) > 1:
        lines.append(t("team.switch_hint"))
    await message.answer("\n\n".join(lines))
    name = views.person(t, user_id, await teams.people(session, [user_id]))
    for owner in await teams.member_ids(session, brand.id, [Role.OWNER]):
        if owner != user_id:
            key = "team.joined_yours" if owner == invite.created_by else "team.joined"
            await _tell(bot, session, owner, key, name=name, brand=brand.name, role=role)


# --- the audit log -------------------------------------------------------------------------------


async def _log_page(
    session: AsyncSession, t: Texts, tz: ZoneInfo, brand: Brand, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    pages = views.pages_of(await teams.audit_count(session, brand.id))
    page = min(max(page, 0), pages - 1)
    entries = await teams.audit_page(session, brand.id, views.LOG_PAGE, page * views.LOG_PAGE)
    ids = {e.actor_id for e in entries if e.actor_id is not None}
    subjects = (e.subject.partition(":") for e in entries)
    ids |= {int(v) for k, _, v in subjects if k == "user" and v.isdigit()}
    users = await teams.people(session, ids)
    text = views.log_view(t, brand, entries, users, tz, page, pages)
    return text, log_keyboard(brand.id, page, pages)


async def on_log(
    message: Message, session: AsyncSession, t: Texts, tz: ZoneInfo, seat: Seat
) -> None:
    text, markup = await _log_page(session, t, tz, seat.brand, 0)
    await message.answer(text, reply_markup=markup)


async def on_log_page(
    query: CallbackQuery,
    callback_data: LogPageCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    brand = await teams.get_brand(session, callback_data.brand)
    if brand is None or await teams.role_in(session, brand.id, query.from_user.id) is None:
        await query.answer(t.plain("team.not_member_of"), show_alert=True)
        return
    await query.answer()
    text, markup = await _log_page(session, t, tz, brand, callback_data.page)
    await message.edit_text(text, reply_markup=markup)


def router() -> Router:
    """Before `handlers.common`: its /start takes every /start, this one only invite links."""
    r = Router(name="team")
    r.message.register(
        on_join, CommandStart(deep_link=True), F.chat.type == "private", flags=needs(ANYONE)
    )
    r.message.register(on_team, Command("team"), flags=needs(Can.MANAGE))
    r.message.register(on_log, Command("log"), flags=needs(Can.VIEW))
    r.callback_query.filter(TappedMessage())
    member = needs(Can.VIEW)  # ownership of the tap's brand is checked by each handler
    for act, handler in (
        (TeamAct.LIST, on_list),
        (TeamAct.ROLE_MENU, on_role_menu),
        (TeamAct.REMOVE, on_remove),
        (TeamAct.REMOVE_YES, on_remove_yes),
        (TeamAct.INVITE, on_invite),
    ):
        r.callback_query.register(handler, TeamCb.filter(F.act == act), flags=member)
    chosen = F.role.is_not(None)  # a tap naming no role falls through to the fallback
    set_role = TeamCb.filter((F.act == TeamAct.SET_ROLE) & chosen)
    r.callback_query.register(on_set_role, set_role, flags=member)
    invite_role = TeamCb.filter((F.act == TeamAct.INVITE_ROLE) & chosen)
    r.callback_query.register(on_invite_role, invite_role, flags=member)
    r.callback_query.register(on_log_page, LogPageCb.filter(), flags=member)
    return r
