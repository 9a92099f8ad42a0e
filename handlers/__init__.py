"""aiogram routers, one module per feature. Routers are built by functions so that every
Dispatcher (one per `nexus run`, one per test) gets fresh ones."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    accounts,
    alerts,
    briefs,
    common,
    digest,
    drafts,
    images,
    media,
    plan,
    rules,
    schedule,
    slots,
    sources,
    stats,
    takedown,
    timezone,
    variants,
    voice,
)


def build_routers() -> list[Router]:
    """In priority order: commands first, then dialogues, then the catch-all fallback."""
    return [
        common.router(),
        timezone.router(),
        slots.router(),
        stats.router(),
        plan.router(),
        takedown.router(),
        accounts.router(),
        rules.router(),
        sources.router(),
        voice.router(),
        digest.router(),
        alerts.router(),
        schedule.router(),
        variants.router(),
        images.router(),
        briefs.router(),
        media.router(),
        drafts.router(),
        common.fallback_router(),
    ]
