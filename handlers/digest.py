"""/digest: the current brand's digest now, off, on (for oneself), or at another time (the
brand's digest time: owners only). Every member may ask for it: digests are for every role."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.routing import needs
from metrics.digest import Digests, DigestSchedule
from scheduler.timeparse import parse_clock
from storage.roles import Can, can
from storage.teams import Seat
from ui.texts import Texts

OFF_WORDS = {"off", "stop", "выкл", "отключить"}
ON_WORDS = {"on", "start", "вкл", "включить"}
AT_WORDS = {"at", "в"}


def _confirm(t: Texts, schedule: DigestSchedule, tz: ZoneInfo) -> str:
    return t("digest.on", at=schedule.at, tz=tz.key) if schedule.enabled else t("digest.off")


async def on_digest(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    digests: Digests,
    seat: Seat,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    assert message.from_user is not None
    user_id, brand_id = message.from_user.id, seat.brand.id
    tz = ZoneInfo(seat.brand.timezone) if seat.brand.timezone else tz  # the digest's zone
    words = (command.args or "").split()
    if not words:
        if not await digests.send_now(user_id, brand_id):
            await message.answer(t("digest.failed"))
        return
    head = words[0].lower()
    if head in OFF_WORDS | ON_WORDS and len(words) == 1:
        schedule = await digests.configure(session, user_id, brand_id, enabled=head in ON_WORDS)
        await message.answer(_confirm(t, schedule, tz))
        return
    typed = " ".join(words[1:] if head in AT_WORDS else words)
    if head not in AT_WORDS and not typed[:1].isdigit():
        await message.answer(t("digest.usage"))
        return
    at = parse_clock(typed)
    if at is None:
        await message.answer(t("digest.bad_time", text=typed))
        return
    if not can(seat.role, Can.MANAGE):  # the time is the brand's, for all its members
        await message.answer(t("brandjobs.digest_time_owners", brand=seat.brand.name))
        return
    schedule = await digests.configure(session, user_id, brand_id, enabled=True, at=at)
    await message.answer(_confirm(t, schedule, tz))


def router() -> Router:
    r = Router(name="digest")
    r.message.register(on_digest, Command("digest"), flags=needs(Can.VIEW))
    return r
