"""Migration 0013 on an install with rules: they stay, and from then on a rule's name is
unique within its brand only (two brands may each have a "release" rule; one brand may not have
two), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.db import create_engine
from storage.migrate import current_revision, upgrade

RULE = (
    "INSERT INTO rules (brand_id, name, event, conditions, actions, enabled, created_at)"
    " VALUES ({brand}, 'release', 'release.*', '[]', '[]', true, CURRENT_TIMESTAMP)"
)


async def test_rule_names_become_unique_per_brand(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0012")
        async with engine.begin() as conn:
            await conn.execute(text(RULE.format(brand=1)))
            await conn.execute(
                text("INSERT INTO brands (name, created_at) VALUES ('Beta', CURRENT_TIMESTAMP)")
            )
        await upgrade(engine)
        current, head = await current_revision(engine)
        assert current == head
        async with engine.begin() as conn:
            await conn.execute(text(RULE.format(brand=2)))  # the same name in another brand
            rules = (await conn.execute(text("SELECT brand_id, name FROM rules"))).all()
            assert sorted(map(tuple, rules)) == [(1, "release"), (2, "release")]
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(text(RULE.format(brand=2)))
    finally:
        await engine.dispose()
