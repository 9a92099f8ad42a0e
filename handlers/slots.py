"""/slots: the weekly posting times that "next free slot" fills, per channel."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.routing import needs
from publishers.blank import visible
from publishers.registry import account_label
from scheduler.slots import describe_slots, parse_slots
from scheduler.timeparse import TimeParseError
from storage import repositories as repo
from storage import teams
from storage.roles import Can
from storage.teams import Seat
from ui.dates import weekday_names
from ui.texts import Html, Texts

CLEAR_WORDS = {"clear", "none", "off", "очистить", "удалить"}


async def _overview(session: AsyncSession, t: Texts, tz: ZoneInfo) -> str:
    slots = await repo.slots_by_account(session)
    names = weekday_names(t)
    lines = [
        t(
            "slots.line",
            target=account_label(account),
            slots=describe_slots(slots[account.id], names)
            if slots.get(account.id)
            else t.plain("slots.none"),
        )
        for account in await repo.enabled_accounts(session)
    ]
    return t(
        "slots.show",
        tz=tz.key,
        lines=Html("\n".join(lines) or t("preview.no_target")),
        help=Html(t("slots.help")),
    )


async def on_slots(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
    seat: Seat,
) -> None:
    args = visible(command.args)
    if not args:
        await message.answer(await _overview(session, t, tz))
        return
    accounts = await repo.enabled_accounts(session)
    first, _, rest = args.partition(" ")
    if first.startswith("@") or first.startswith("-100"):
        chosen = [a for a in accounts if a.handle.lower() == first.lower()]
        if not chosen:
            handles = ", ".join(a.handle for a in accounts) or t.plain("preview.no_target")
            await message.answer(t("slots.unknown_target", target=first, targets=handles))
            return
        args = visible(rest)
    else:
        chosen = list(accounts)
    if args.lower() in CLEAR_WORDS:
        await repo.replace_slots(session, [a.id for a in chosen], [])
        await _logged(session, message, seat, command)
        await session.commit()
        await message.answer(t("slots.cleared"))
        return
    try:
        slots = parse_slots(args)
    except TimeParseError:
        await message.answer(t("slots.err", text=args))
        return
    await repo.replace_slots(session, [a.id for a in chosen], slots)
    await _logged(session, message, seat, command)
    await session.commit()
    await message.answer(t("slots.saved"))
    await message.answer(await _overview(session, t, tz))


async def _logged(
    session: AsyncSession, message: Message, seat: Seat, command: CommandObject
) -> None:
    """The audit entry of a change of slots: what the owner typed after /slots."""
    actor = message.from_user.id if message.from_user else None
    await teams.record(session, seat.brand.id, actor, "brand.slots", detail=command.args or "")


def router() -> Router:
    r = Router(name="slots")
    r.message.register(on_slots, Command("slots"), flags=needs(Can.MANAGE))
    return r
