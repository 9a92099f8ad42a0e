"""The forecast on synthetic history: it separates a clearly better draft from a clearly worse
one (whatever the noise), names the factor that matters most, stays silent under 20 posts, and
reads its history from the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from metrics.forecast import MIN_HISTORY, Features, PastPost, features, forecast, forecast_post
from storage import repositories as repo
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import Post, PostStatus, Publication, PublicationStatus, User
from tests.conftest import CHANNEL, OWNER
from ui.learning import forecast_line
from ui.texts import Texts

UTC_TZ = ZoneInfo("UTC")
#: What each bucket does to engagement in the synthetic channel: evenings and images help a
#: lot, long posts hurt, hashtags do nothing.
EFFECT = {
    "night": 0.5, "morning": 0.7, "afternoon": 1.0, "evening": 2.5,
    "short": 1.3, "medium": 1.0, "long": 0.5,
    "media_yes": 1.8, "media_no": 1.0,
    "tags_yes": 1.0, "tags_no": 1.0,
}  # fmt: skip
BETTER = Features("evening", "short", "media_yes", "tags_no")
WORSE = Features("night", "long", "media_no", "tags_no")


def synthetic(seed: int, count: int = 48) -> list[PastPost]:
    rng = random.Random(seed)
    combos = list(
        itertools.product(
            ("night", "morning", "afternoon", "evening"),
            ("short", "medium", "long"),
            ("media_yes", "media_no"),
            ("tags_yes", "tags_no"),
        )
    )
    posts = []
    for i in range(count):
        f = Features(*combos[(i * 7) % len(combos)])
        mean = 20 * EFFECT[f.hour] * EFFECT[f.length] * EFFECT[f.media] * EFFECT[f.hashtags]
        posts.append(PastPost(f, round(mean * rng.uniform(0.7, 1.3))))
    return posts


@given(st.integers(min_value=0, max_value=10_000))
def test_a_clearly_better_draft_is_told_apart_from_a_clearly_worse_one(seed: int) -> None:
    history = synthetic(seed)
    better, worse = forecast(history, BETTER), forecast(history, WORSE)
    assert better is not None and worse is not None
    assert (better.verdict, worse.verdict) == ("above", "below")
    assert better.score > 2 * worse.score
    assert better.reason.name == "hour" and better.reason.bucket == "evening"


def test_below_twenty_posts_there_is_no_forecast() -> None:
    history = synthetic(1, count=MIN_HISTORY - 1)
    assert forecast(history, BETTER) is None
    assert forecast([*history, history[0]], BETTER) is not None


def test_a_quiet_channel_gets_a_modest_answer() -> None:
    history = [PastPost(BETTER if i % 2 else WORSE, 0) for i in range(MIN_HISTORY)]
    result = forecast(history, BETTER)
    assert result is not None and result.verdict == "about"  # zeros everywhere: nothing to say


def test_the_line_names_the_main_reason() -> None:
    result = forecast(synthetic(3), BETTER)
    assert result is not None
    line = forecast_line(Texts("en"), result)
    assert line.startswith("📈 Forecast: likely above your median. Main reason: evening posts get")
    assert "📉" in forecast_line(Texts("en"), forecast(synthetic(3), WORSE))  # type: ignore[arg-type]


def test_features_of_a_post() -> None:
    at = datetime(2026, 11, 22, 19, 30, tzinfo=UTC)
    assert features("Short #news", 1, at, UTC_TZ) == Features(
        "evening", "short", "media_yes", "tags_yes"
    )
    tokyo = features("x" * 1200, 0, at, ZoneInfo("Asia/Tokyo"))  # 04:30 there
    assert (tokyo.hour, tokyo.length, tokyo.media) == ("night", "long", "media_no")


# --- from the database ---------------------------------------------------------------------

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(database_url)
    await upgrade(engine)
    yield make_session_factory(engine)
    await engine.dispose()


async def _publish(session: AsyncSession, count: int) -> None:
    """``count`` published posts: evening ones do well, morning ones do not."""
    if await session.get(User, OWNER) is None:
        session.add(User(id=OWNER, language="en"))
    account = await repo.ensure_account(session, "telegram", CHANNEL)
    for i in range(count):
        evening = i % 2 == 0
        at = NOW - timedelta(days=i + 1) + timedelta(hours=10 if evening else 0)
        post = Post(
            author_id=OWNER,
            brief="b",
            text=f"post {i}",
            status=PostStatus.PUBLISHED,
            published_at=at,
        )
        session.add(post)
        await session.flush()
        session.add(
            Publication(
                post_id=post.id,
                account_id=account.id,
                text=post.text,
                status=PublicationStatus.PUBLISHED,
                likes=40 if evening else 4,
                metrics_at=NOW,
            )
        )
    await session.commit()


async def test_history_comes_from_published_posts_with_metrics(sessions: Sessions) -> None:
    async with sessions() as session:
        await _publish(session, MIN_HISTORY)
        draft = await repo.create_draft(session, author_id=OWNER, brief="b", text="t", offline=True)
        await session.commit()
        fresh = await repo.get_post(session, draft.id)
        assert fresh is not None
        evening = await forecast_post(session, fresh, NOW + timedelta(hours=10), UTC_TZ)
        morning = await forecast_post(session, fresh, NOW, UTC_TZ)
    assert evening is not None and evening.verdict == "above"
    assert morning is not None and morning.verdict == "below"


async def test_nineteen_posts_give_no_forecast(sessions: Sessions) -> None:
    async with sessions() as session:
        await _publish(session, MIN_HISTORY - 1)
        draft = await repo.create_draft(session, author_id=OWNER, brief="b", text="t", offline=True)
        await session.commit()
        fresh = await repo.get_post(session, draft.id)
        assert fresh is not None
        assert await forecast_post(session, fresh, NOW, UTC_TZ) is None
