"""Migration 0013 (review): an install at 0012 keeps its people; their names start empty and
are learned when they next use the bot."""

from __future__ import annotations

from sqlalchemy import text

from storage.db import create_engine
from storage.migrate import current_revision, upgrade


async def test_users_keep_their_rows_and_gain_an_empty_name(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0012")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (id, language, digest_enabled, created_at)"
                    " VALUES (2001, 'uk', true, CURRENT_TIMESTAMP)"
                )
            )
        await upgrade(engine)
        current, head = await current_revision(engine)
        assert current == head
        async with engine.begin() as conn:
            row = (await conn.execute(text("SELECT id, language, name FROM users"))).one()
            assert tuple(row) == (2001, "uk", None)
            await conn.execute(text("UPDATE users SET name = 'Rita' WHERE id = 2001"))
            assert await conn.scalar(text("SELECT name FROM users")) == "Rita"
    finally:
        await engine.dispose()
