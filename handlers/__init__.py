"""aiogram routers, one module per feature. Routers are built by functions so that every
Dispatcher (one per `nexus run`, one per test) gets fresh ones."""

from __future__ import annotations

from aiogram import Router

from handlers import accounts, common, drafts, rules, schedule, slots, sources, timezone, voice


def build_routers() -> list[Router]:
    """In priority order: commands first, then dialogues, then the catch-all fallback."""
    return [
        common.router(),
        timezone.router(),
        slots.router(),
        accounts.router(),
        rules.router(),
        sources.router(),
        voice.router(),
        schedule.router(),
        drafts.router(),
        common.fallback_router(),
    ]
