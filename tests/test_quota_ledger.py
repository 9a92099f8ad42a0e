"""The spend ledger's migration and the card's wording: an upgrade from the schema before it
keeps every publication (their cost unknown, so /stats counts nothing for them), and the figures
read as the owner expects in English and Russian."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from publishers.quota import Cost, Quota, Usage
from scheduler.notify import TargetMoved
from storage.db import create_engine
from storage.migrate import current_revision, upgrade
from ui import views
from ui.texts import Texts

EN, RU = Texts("en"), Texts("ru")


async def test_upgrade_keeps_publications_and_starts_an_empty_ledger(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0005")
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO users (id, language, created_at) VALUES (7, 'en', :at)"),
                {"at": datetime(2026, 11, 1, tzinfo=UTC)},
            )
            await conn.execute(
                text(
                    "INSERT INTO accounts (id, platform, handle, title, enabled, created_at, "
                    "updated_at) VALUES (1, 'x', '@nexus', '@nexus', true, :at, :at)"
                ),
                {"at": datetime(2026, 11, 1, tzinfo=UTC)},
            )
            await conn.execute(
                text(
                    "INSERT INTO posts (id, author_id, brief, text, status, offline, version, "
                    '"immediate", occurrence, evergreen, created_at, updated_at) VALUES '
                    "(1, 7, 'b', 'went out', 'published', false, 1, false, 1, false, :at, :at)"
                ),
                {"at": datetime(2026, 11, 1, tzinfo=UTC)},
            )
            await conn.execute(
                text(
                    "INSERT INTO publications (id, post_id, account_id, text, status, attempts, "
                    "created_at, updated_at, published_at) VALUES "
                    "(1, 1, 1, 'went out', 'published', 1, :at, :at, :at)"
                ),
                {"at": datetime(2026, 11, 1, tzinfo=UTC)},
            )
        await upgrade(engine)
        current, head = await current_revision(engine)
        assert current == head
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT text, status, cost_usd FROM publications"))
            assert rows.all() == [("went out", "published", None)]
    finally:
        await engine.dispose()


def test_card_figures_in_english_and_russian() -> None:
    link = Usage(cost=Cost(0.2, 1, 1))
    assert views.usage_note(EN, link) == " · $0.20 (link)"
    assert views.usage_note(RU, link) == " · $0.20 (ссылка)"
    assert views.usage_note(EN, Usage(cost=Cost(0.015, 1, 0))) == " · $0.015"
    assert views.usage_note(EN, Usage(cost=Cost(0.245, 4, 1))) == " · $0.245 for 4 posts"
    assert views.usage_note(RU, Usage(cost=Cost(0.245, 5, 1))) == " · $0.245 за 5 постов"
    assert views.usage_note(EN, Usage(quota=Quota(12, 250))) == " · 12/250 today"
    points = Usage(quota=Quota(3, 5000, "hour", "points"))
    assert views.usage_note(EN, points) == " · 3 of 5,000 points/h"
    assert views.usage_note(RU, points) == " · 3 из 5\u00a0000 очков/ч"
    assert "quota used up" in views.usage_note(EN, Usage(quota=Quota(251, 250)))
    assert views.usage_note(EN, Usage(unknown=True)) == " · quota unknown"
    assert views.usage_note(EN, Usage()) == ""


def test_moved_message_says_which_quota_and_where_the_post_went() -> None:
    when = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    move = TargetMoved(5, when=when, resets=when, limit=250, window="day")
    tz = views.ZoneInfo("UTC")
    message = views.target_moved(EN, move, "Threads @owner", 12, tz)
    assert message.startswith("⏳ Threads @owner has used its 250 posts for today; post #12")
    assert "09:00" in message and message.endswith("after the limit resets.")
    russian = views.target_moved(RU, move, "Threads @owner", 12, tz)
    assert "исчерпал свои 250 постов на сегодня; пост #12 перенесён" in russian
    capped = TargetMoved(5, when=when, resets=when, limit=None, window="month")
    assert "its usage cap for this month" in views.target_moved(EN, capped, "X @o", 3, tz)
