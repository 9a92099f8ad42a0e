"""Migration 0010 (campaigns) on a database that already holds posts: they survive, outside
any campaign, and a campaign can then be stored and deleted without taking its posts along."""

from __future__ import annotations

from sqlalchemy import text

from storage.db import create_engine
from storage.migrate import current_revision, upgrade


async def test_upgrading_a_database_with_posts_keeps_them(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0005")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (id, language, created_at)"
                    " VALUES (1001, 'en', CURRENT_TIMESTAMP)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO posts (id, author_id, brief, text, status, offline, version,"
                    " preview_chat_id, preview_message_id, immediate, occurrence, evergreen,"
                    " created_at, updated_at) VALUES (7, 1001, 'b', 'Hello', 'draft', false, 1,"
                    " 1001, 42, false, 1, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        await upgrade(engine)
        current, head = await current_revision(engine)
        assert current == head
        async with engine.begin() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT text, campaign_id, planned_at FROM posts"
                        " WHERE preview_chat_id = 1001 AND preview_message_id = 42"
                    )
                )
            ).one()
            assert tuple(row) == ("Hello", None, None)
            await conn.execute(
                text(
                    "INSERT INTO campaigns (id, brand_id, title, status, plan, created_at)"
                    " VALUES (1, 1, 'Launch', 'approved', '{}', CURRENT_TIMESTAMP)"
                )
            )
            await conn.execute(text("UPDATE posts SET campaign_id = 1 WHERE id = 7"))
            await conn.execute(text("DELETE FROM campaigns WHERE id = 1"))
            left = (await conn.execute(text("SELECT campaign_id FROM posts WHERE id = 7"))).one()
            assert tuple(left) == (None,)
    finally:
        await engine.dispose()
