"""Migration 0012 (teams and brands) on a single-brand install full of data: everything moves
into brand 1, which takes the owner's time zone and digest time, and a second brand can be
created next to it."""

from __future__ import annotations

from sqlalchemy import text

from storage import teams
from storage.db import create_engine, make_session_factory
from storage.migrate import current_revision, upgrade

SEED = [
    "INSERT INTO users (id, language, timezone, digest_at, digest_enabled, created_at)"
    " VALUES (1001, 'en', NULL, NULL, true, CURRENT_TIMESTAMP)",
    "INSERT INTO users (id, language, timezone, digest_at, digest_enabled, created_at)"
    " VALUES (1002, 'ru', 'Europe/Moscow', '08:30', true, CURRENT_TIMESTAMP)",
    "INSERT INTO accounts (id, platform, handle, title, enabled, created_at, updated_at)"
    " VALUES (3, 'telegram', '@acme', '', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO posts (id, author_id, brief, text, status, offline, version, immediate,"
    " occurrence, evergreen, created_at, updated_at) VALUES (7, 1001, 'b', 'Hello',"
    " 'scheduled', false, 1, false, 1, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO rules (id, name, event, conditions, actions, enabled, created_at)"
    " VALUES (4, 'release', 'release.*', '[]', '[]', true, CURRENT_TIMESTAMP)",
    "INSERT INTO sources (id, kind, name, mode, failures, enabled, created_at)"
    " VALUES (5, 'webhook', 'shop', 'draft', 0, true, CURRENT_TIMESTAMP)",
    "INSERT INTO learned_preferences (id, text, source, created_at)"
    " VALUES (6, 'Keep it short', 'offline', CURRENT_TIMESTAMP)",
    "INSERT INTO ai_usage (id, at, model, purpose, input_tokens, output_tokens, cost_usd)"
    " VALUES (8, CURRENT_TIMESTAMP, 'claude', 'draft', 10, 20, 0.01)",
]
MOVED = ["accounts", "posts", "rules", "sources", "learned_preferences", "ai_usage"]


async def test_a_single_brand_install_moves_into_brand_one(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0011")
        async with engine.begin() as conn:
            for statement in SEED:
                await conn.execute(text(statement))
        await upgrade(engine)
        current, head = await current_revision(engine)
        assert current == head
        async with engine.connect() as conn:
            brand = (
                await conn.execute(text("SELECT id, name, timezone, digest_at FROM brands"))
            ).one()
            assert tuple(brand) == (1, "Main", "Europe/Moscow", "08:30")
            for table in MOVED:
                brands = (await conn.execute(text(f"SELECT brand_id FROM {table}"))).scalars()
                assert list(brands) == [1], table
            text_of_post = await conn.scalar(text("SELECT text FROM posts WHERE id = 7"))
            assert text_of_post == "Hello"
        async with make_session_factory(engine)() as session:
            second = await teams.create_brand(session, "Side project", 1002)
            assert second is not None and second.id == 2
            await session.commit()
    finally:
        await engine.dispose()
