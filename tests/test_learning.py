"""Learning on a real database (SQLite and PostgreSQL): every decision is recorded with its
change (and only when the change happened), distillation through the loopback Claude is strict
and never brings back a dropped rule, the periodic job runs when due, the acceptance figures
and their trend, and the posts that did well go into the prompt."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai.anthropic_drafter import AnthropicDrafter
from ai.errors import AIBadAnswer
from ai.learning import (
    LEARN_AFTER,
    LearningBusy,
    drop_preference,
    learn_due,
    learn_now,
    note_reject_reason,
    offline_rules,
)
from ai.offline import OfflineDrafter
from ai.service import (
    BEST_POSTS_IN_PROMPT,
    DraftChanged,
    edit_draft,
    example_posts,
    regenerate_draft,
)
from metrics.digest import DigestNumbers, compose
from metrics.learning import acceptance
from metrics.stats import summarize
from scheduler import lifecycle
from storage import learning
from storage import repositories as repo
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import (
    FIRST_BRAND_ID,
    AiUsage,
    DraftDecision,
    Post,
    PostStatus,
    Publication,
    PublicationStatus,
    User,
)
from tests.clock import FakeClock
from tests.conftest import CHANNEL, OWNER
from tests.fakes.anthropic import FakeAnthropic
from ui.learning import acceptance_lines
from ui.texts import Texts

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
B = FIRST_BRAND_ID  # a single-brand install: everything is the first brand's
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(database_url)
    await upgrade(engine)
    factory = make_session_factory(engine)
    async with factory() as session:
        session.add(User(id=OWNER, language="en"))
        await repo.ensure_account(session, "telegram", CHANNEL)
        await session.commit()
    yield factory
    await engine.dispose()


async def draft(session: AsyncSession, text: str, *, offline: bool = False) -> Post:
    post = await repo.create_draft(
        session, author_id=OWNER, brief="announce it", text=text, offline=offline
    )
    await session.commit()
    fresh = await repo.get_post(session, post.id)
    assert fresh is not None
    return fresh


async def decisions(session: AsyncSession) -> list[DraftDecision]:
    return list(await session.scalars(select(DraftDecision).order_by(DraftDecision.id)))


# --- recording -----------------------------------------------------------------------------


async def test_each_decision_is_recorded_with_its_change(sessions: Sessions) -> None:
    async with sessions() as session:
        post = await draft(session, "Claude's long first version of the post.")
        post = await regenerate_draft(
            session, OfflineDrafter(), post, instruction="shorter", max_chars=4096
        )
        regenerated = post.text
        post = await edit_draft(session, post, "My own words.", offline=False)
        assert await lifecycle.schedule_post(session, post, NOW, decided_at=NOW)
        kinds = [
            (d.kind, d.before, d.after, d.instruction, d.ai_drafted)
            for d in await decisions(session)
        ]
    assert kinds == [
        ("regenerated", "Claude's long first version of the post.", regenerated, "shorter", False),
        ("edited", regenerated, "My own words.", None, False),
        # the approval compares the owner's text with what the drafter last wrote
        ("approved", regenerated, "My own words.", None, False),
    ]


async def test_an_untouched_claude_draft_is_approved_as_written(sessions: Sessions) -> None:
    async with sessions() as session:
        post = await draft(session, "Dark mode is here.")
        assert await lifecycle.schedule_post(session, post, NOW, decided_at=NOW)
        (approval,) = await learning.approvals_between(session, NOW - timedelta(days=1), NOW)
    assert (approval.drafted, approval.approved, approval.ai_drafted) == (
        "Dark mode is here.",
        "Dark mode is here.",
        True,
    )


async def test_a_lost_race_records_nothing(sessions: Sessions) -> None:
    async with sessions() as session:
        post = await draft(session, "First.")
        post_id = post.id
        # the owner's other tap changed the draft after this one read it
        assert await repo.bump_draft(session, post.id, post.version)
        await session.commit()
        assert not await lifecycle.schedule_post(session, post, NOW, decided_at=NOW)
        other = await draft(session, "Second.")
        assert await repo.bump_draft(session, other.id, other.version)
        await session.commit()
        with pytest.raises(DraftChanged):
            await edit_draft(session, other, "Stale edit.")
        assert await decisions(session) == []
        # a rule's autopublish (no decided_at) is not a decision of the owner
        fresh = await repo.get_post(session, post_id)
        assert fresh is not None
        assert await lifecycle.schedule_post(session, fresh, NOW)
        assert await decisions(session) == []


async def test_a_reason_only_sticks_to_a_standing_rejection(sessions: Sessions) -> None:
    async with sessions() as session:
        post_id = (await draft(session, "Meh.")).id
        assert not await note_reject_reason(session, post_id, "tone")  # not rejected
        assert (await lifecycle.reject(session, post_id)).done
        assert not (await lifecycle.reject(session, post_id)).done  # twice: one decision
        assert await note_reject_reason(session, post_id, "too_long")
        assert (await lifecycle.restore(session, post_id)).done
        assert not await note_reject_reason(session, post_id, "tone")
        rows = [(d.kind, d.reason) for d in await decisions(session)]
    assert rows == [("rejected", "too_long")]


# --- distilling ----------------------------------------------------------------------------


async def _shortened(session: AsyncSession, count: int) -> None:
    for i in range(count):
        post = await draft(session, f"A long and winding draft number {i} " + "with padding " * 12)
        post = await edit_draft(session, post, f"Short post {i}.")
        assert await lifecycle.schedule_post(session, post, NOW, decided_at=NOW)


async def test_claude_distils_and_a_dropped_rule_never_comes_back(sessions: Sessions) -> None:
    async with FakeAnthropic() as ai, sessions() as session:
        claude = AnthropicDrafter(
            ai.api_key, "claude-sonnet-4-6", base_url=ai.base_url, max_retries=0
        )
        await _shortened(session, 3)
        ai.reply_tool({"rules": ["Keep posts under 100 characters", "No hashtags"]})
        learned = await learn_now(session, claude, NOW, B)
        assert learned.rules == ("Keep posts under 100 characters", "No hashtags")
        assert learned.decisions == 6
        (first, second) = await learning.active_preferences(session)
        assert await drop_preference(session, second.id, NOW, B)
        assert not await drop_preference(session, second.id, NOW, B)  # already gone

        ai.reply_tool({"rules": ["no   HASHTAGS", "Keep posts under 100 characters", "Be brief"]})
        learned = await learn_now(session, claude, NOW + timedelta(hours=1), B)
        assert learned.rules == ("Keep posts under 100 characters", "Be brief")
        assert "<removed_by_owner>\n- No hashtags" in ai.last_request["messages"][0]["content"]
        assert [p.text for p in await learning.active_preferences(session)] == list(learned.rules)
        usage = list(await session.scalars(select(AiUsage).where(AiUsage.purpose == "learn")))
        assert len(usage) == 2 and all(u.cost_usd > 0 for u in usage)
        assert (await learning.unlearned(session)).get(B, (0, None))[0] == 0
        await claude.aclose()


@pytest.mark.parametrize(
    "answer",
    [
        {"rules": "No hashtags"},  # not a list
        {"rules": ["ok rule"], "extra": 1},  # unknown field
        {"rules": [f"Rule {i}" for i in range(20)]},  # too many
        {"rules": ["line one\nline two"]},  # not one line
        {"rules": [""]},  # empty
        {},  # nothing
    ],
)
async def test_a_bad_answer_changes_nothing(sessions: Sessions, answer: dict) -> None:
    async with FakeAnthropic() as ai, sessions() as session:
        claude = AnthropicDrafter(
            ai.api_key, "claude-sonnet-4-6", base_url=ai.base_url, max_retries=0
        )
        await _shortened(session, 1)
        await learning.replace_preferences(
            session, ["Keep it short"], source="x", now=NOW, brand_id=B
        )
        await session.commit()
        ai.reply_tool(answer)
        with pytest.raises(AIBadAnswer) as caught:
            await learn_now(session, claude, NOW, B)
        assert "nothing was changed" in caught.value.user_message
        assert [p.text for p in await learning.active_preferences(session)] == ["Keep it short"]
        assert (await learning.unlearned(session)).get(B, (0, None))[0] == 2
        # the lease was given back: the next try runs
        ai.reply_tool({"rules": []})
        assert (await learn_now(session, claude, NOW, B)).rules == ()
        await claude.aclose()


async def test_two_distillations_do_not_run_at_once(sessions: Sessions) -> None:
    async with sessions() as session, sessions() as other:
        await _shortened(session, 1)
        assert await repo.take_lease(other, f"learn:{B}", NOW, timedelta(minutes=10))
        await other.commit()
        with pytest.raises(LearningBusy):
            await learn_now(session, OfflineDrafter(), NOW, B)
        # a lease whose holder died runs out
        assert (
            await learn_now(session, OfflineDrafter(), NOW + timedelta(minutes=11), B)
        ).decisions


async def test_offline_learning_counts_shortened_drafts(sessions: Sessions) -> None:
    async with sessions() as session:
        await _shortened(session, 2)
        assert offline_rules(await learning.recent_decisions(session, 60, B)) == []
        await _shortened(session, 1)
        rules = offline_rules(await learning.recent_decisions(session, 60, B))
    assert rules == ["Keep posts under 30 characters"]


async def test_the_periodic_job_runs_when_enough_decisions_wait(sessions: Sessions) -> None:
    clock = FakeClock(NOW)
    drafter = OfflineDrafter()
    async with sessions() as session:
        post = await draft(session, "One.")
        assert (await lifecycle.reject(session, post.id)).done
    assert await learn_due(sessions, drafter, clock.now()) == {}  # one decision, minutes old
    clock.advance(days=30)  # the oldest unread decision is over a day old
    assert B in await learn_due(sessions, drafter, clock.now())
    assert await learn_due(sessions, drafter, clock.now()) == {}  # all read now
    async with sessions() as session:
        for i in range(LEARN_AFTER):
            post = await draft(session, f"Draft {i}")
            assert (await lifecycle.reject(session, post.id)).done
    assert B in await learn_due(sessions, drafter, clock.now())


# --- figures -------------------------------------------------------------------------------


async def _approvals(session: AsyncSession, at: datetime, written: int, edited: int) -> None:
    for i in range(written + edited):
        post = await draft(session, f"Claude wrote post {i} about the launch today")
        if i >= written:
            post = await edit_draft(session, post, f"Claude wrote post {i} about the big launch")
        assert await lifecycle.schedule_post(session, post, at, decided_at=at)


async def test_acceptance_this_week_against_last_week(sessions: Sessions) -> None:
    async with sessions() as session:
        await _approvals(session, NOW - timedelta(days=10), written=2, edited=3)
        await _approvals(session, NOW - timedelta(days=2), written=7, edited=5)
        offline = await draft(session, "offline", offline=True)  # not an AI draft: left out
        assert await lifecycle.schedule_post(session, offline, NOW, decided_at=NOW)
        figures = await acceptance(session, NOW)
    assert [(w.as_written, w.approved) for w in figures.weeks] == [(0, 0), (0, 0), (2, 5), (7, 12)]
    lines = acceptance_lines(Texts("en"), figures)
    print("\n" + "\n".join(lines))
    assert lines == [
        "AI drafts approved as written: 7 of 12 (58%), ↑ from 40% last week",
        "Median change before approval: 0% of words",
        "Approved as written, past weeks: — → — → 40% → 58%",
    ]
    assert figures.current.median_change == 0.0  # 7 of 12 unchanged: the median is 0
    assert figures.previous is not None and figures.previous.median_change == 0.125


async def test_the_monday_digest_carries_the_learning_section(sessions: Sessions) -> None:
    async with sessions() as session:
        await _approvals(session, NOW - timedelta(days=1), written=1, edited=1)
        figures = await acceptance(session, NOW)
    tz = ZoneInfo("UTC")
    empty = summarize([], since=NOW, until=NOW, tz=tz)
    numbers = DigestNumbers(NOW.date(), (), empty, None, (), (), (), learning=figures)
    keys = [line.key for line in compose(numbers, tz=tz, at="09:00").lines]
    assert "learn.digest.new" in keys and "learn.digest.median" in keys
    rendered = [
        Texts("en")(line.key, **line.values) for line in compose(numbers, tz=tz, at="09:00").lines
    ]
    assert "🧠 This week, AI drafts approved as written: 1 of 2 (50%)" in rendered
    no_learning = DigestNumbers(NOW.date(), (), empty, None, (), (), ())
    assert not any(
        k.startswith("learn.")
        for k in (x.key for x in compose(no_learning, tz=tz, at="09:00").lines)
    )


async def test_the_prompt_shows_the_posts_that_did_best(sessions: Sessions) -> None:
    async with sessions() as session:
        account = (await repo.enabled_accounts(session))[0]
        for i, likes in enumerate([5, 50, 1, None]):
            post = Post(
                author_id=OWNER,
                brief="b",
                text=f"post with {likes} likes",
                status=PostStatus.PUBLISHED,
                published_at=NOW - timedelta(days=4 - i),
            )
            session.add(post)
            await session.flush()
            session.add(
                Publication(
                    post_id=post.id,
                    account_id=account.id,
                    text=post.text,
                    status=PublicationStatus.PUBLISHED,
                    likes=likes or 0,
                    metrics_at=None if likes is None else NOW,
                )
            )
        await session.commit()
        # best last; the newest post has no metrics yet and is not among them
        assert example_posts(await learning.prompt_texts(session, BEST_POSTS_IN_PROMPT, B)) == [
            "post with 1 likes",
            "post with 5 likes",
            "post with 50 likes",
        ]


async def test_without_metrics_the_latest_posts_are_shown(sessions: Sessions) -> None:
    async with sessions() as session:
        for i in range(4):
            session.add(
                Post(
                    author_id=OWNER,
                    brief="b",
                    text=f"post {i}",
                    status=PostStatus.PUBLISHED,
                    published_at=NOW - timedelta(days=4 - i),
                )
            )
        await session.commit()
        texts = await learning.prompt_texts(session, BEST_POSTS_IN_PROMPT, B)
        assert example_posts(texts) == ["post 3", "post 2", "post 1"]
