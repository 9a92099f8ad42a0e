"""aiogram routers, one module per feature. Routers are built by functions so that every
Dispatcher (one per `nexus run`, one per test) gets fresh ones.

Handlers are thin: one handler per button action (`XxxCb.filter(F.act == …)`), the tapped
message injected by `handlers.routing.TappedMessage`, services called, views rendered through
`ui`. The fallback router (last) answers whatever no other takes; `handlers.errors` answers
whatever a handler raises.

Layering: imports `ui`, `config` and the services (`ai`, `scheduler`, `metrics`, `automation`)
and what is below them (`publishers`, `storage`); only `bot` imports it (tests/test_layering.py).
"""

from __future__ import annotations

from aiogram import Router

from handlers import (
    accounts,
    alerts,
    brands,
    briefs,
    common,
    digest,
    drafting,
    drafts,
    images,
    learning,
    media,
    plan,
    review,
    rules,
    schedule,
    slots,
    sources,
    stats,
    takedown,
    team,
    timezone,
    variants,
    voice,
)
from handlers.routing import CommandOrDialogue


def build_routers() -> list[Router]:
    """In priority order: commands and dialogues, then what a plain message can be (a forward,
    a link, a photo, a reply to a preview, a brief), then the catch-all fallback.

    The commands and dialogues sit under one parent router whose messages pass
    `routing.CommandOrDialogue` (their buttons all pass): a brief skips twenty routers in one
    check instead of being offered to each (aiogram's cost per router is most of what routing
    a message costs, bench/bot_loop.py)."""
    dialogues = Router(name="commands_and_dialogues")
    dialogues.message.filter(CommandOrDialogue())
    dialogues.include_routers(
        team.router(),  # before common: its /start takes invite links
        common.router(),
        brands.router(),
        review.router(),  # in a group, only review acts (nothing there is a brief)
        timezone.router(),
        slots.router(),
        stats.router(),
        plan.router(),
        takedown.router(),
        accounts.router(),
        rules.router(),
        sources.router(),
        voice.router(),
        learning.router(),
        digest.router(),
        alerts.router(),
        schedule.router(),
        variants.router(),
        images.router(),
    )
    return [
        dialogues,
        briefs.router(),
        media.router(),
        drafting.router(),
        drafts.router(),
        common.fallback_router(),
    ]
