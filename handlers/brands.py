"""/brand: the brands a person works in, switching between them, and `/brand new <name>`.

Every command acts in the member's current brand (`storage.teams.current_seat`; the session is
scoped to it by `storage.scope`). `/brand` lists their brands with their role in each and a
button per other brand; a tap (or `/brand <name>`) switches. A forged tap naming a brand they
are not a member of changes nothing. `/brand new <name>` is for owners (of any of their
brands): it creates the brand with its creator as owner, in the current brand's time zone, and
switches to it, so the next /accounts, /voice and /timezone set it up.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.routing import TappedMessage, needs
from publishers.blank import visible
from storage import scope, teams
from storage.models import Brand, Role
from storage.roles import Can
from storage.teams import Seat
from ui.callbacks import BrandCb
from ui.keyboards import brands_keyboard
from ui.texts import Texts

#: The longest brand name (the column's width).
MAX_NAME = Brand.name.type.length or 64
NEW_WORDS = {"new", "новый", "новий"}


def _role(t: Texts, role: Role | str) -> str:
    return t.plain(f"role.{role}")


async def _switched(session: AsyncSession, t: Texts, user_id: int, brand_id: int) -> str | None:
    """Make ``brand_id`` the member's current brand and the session's scope; the confirmation,
    or None if they are not a member of it."""
    seat = await teams.switch_brand(session, user_id, brand_id)
    if seat is None:
        return None
    several = len(await teams.seats_of(session, user_id)) > 1
    await session.commit()
    scope.enter(session, seat.brand.id, seat.brand.name if several else None)
    return t("brand.switched", name=seat.brand.name, role=_role(t, seat.role))


async def on_brand(
    message: Message, command: CommandObject, session: AsyncSession, seat: Seat, t: Texts
) -> None:
    assert message.from_user is not None
    user_id = message.from_user.id
    words = visible(command.args)
    head, *rest = words.split(maxsplit=1) or [""]
    if head.lower() in NEW_WORDS:
        await message.answer(await _create(session, t, user_id, seat, visible("".join(rest))))
    elif words:
        await message.answer(await _switch_named(session, t, user_id, words))
    else:
        await _list(message, session, t, user_id, seat)


async def _list(
    message: Message, session: AsyncSession, t: Texts, user_id: int, seat: Seat
) -> None:
    seats = await teams.seats_of(session, user_id)
    lines = [
        t(
            "brand.line",
            mark="▶️" if s.brand.id == seat.brand.id else "▫️",
            name=s.brand.name,
            role=_role(t, s.role),
        )
        for s in seats
    ]
    others = [
        (s.brand.id, s.brand.name, _role(t, s.role)) for s in seats if s.brand.id != seat.brand.id
    ]
    text = "\n".join([t("brand.list", name=seat.brand.name), *lines, "", t("brand.hint")])
    await message.answer(text, reply_markup=brands_keyboard(t, others) if others else None)


async def _switch_named(session: AsyncSession, t: Texts, user_id: int, name: str) -> str:
    brand = await teams.brand_named(session, name)
    done = await _switched(session, t, user_id, brand.id) if brand is not None else None
    return done if done is not None else t("brand.unknown", name=name)


async def _create(session: AsyncSession, t: Texts, user_id: int, seat: Seat, name: str) -> str:
    if not any(s.role == Role.OWNER for s in await teams.seats_of(session, user_id)):
        return t("brand.owners_only")
    if not name:
        return t("brand.new_usage")
    if "\n" in name or len(name) > MAX_NAME:
        return t("brand.bad_name", max=MAX_NAME)
    brand = await teams.create_brand(session, name, user_id, timezone=seat.brand.timezone)
    if brand is None:
        await session.rollback()
        return t("brand.taken", name=name)
    await teams.record(session, brand.id, user_id, "brand.create", detail=name)
    await teams.switch_brand(session, user_id, brand.id)
    await session.commit()
    scope.enter(session, brand.id, brand.name)
    tz = brand.timezone or session.info["tz"].key
    return t("brand.created", name=brand.name, tz=tz)


async def on_switch(
    query: CallbackQuery, callback_data: BrandCb, message: Message, session: AsyncSession, t: Texts
) -> None:
    text = await _switched(session, t, query.from_user.id, callback_data.id)
    if text is None:
        await query.answer(t.plain("brand.not_member"), show_alert=True)
        return
    await query.answer()
    await message.edit_text(text)


def router() -> Router:
    r = Router(name="brands")
    r.message.register(on_brand, Command("brand"), flags=needs(Can.VIEW))
    r.callback_query.filter(TappedMessage())
    r.callback_query.register(on_switch, BrandCb.filter(), flags=needs(Can.VIEW))
    return r
