"""End to end: /plan proposes a campaign as one card; approve all, review one by one, discard.

The fake clock starts on Sun 22 Nov 2026 09:00 UTC, the owner's zone is UTC and no slots are
set, so the free slots are 09:00 and 18:00 every day; "next week" is Mon 23 to Sun 29 Nov."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.app import Nexus
from storage.models import Campaign, Event, Post, PostStatus, Source
from tests.clock import FakeClock
from tests.conftest import CHANNEL, OWNER
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_e2e_drafts import StartNexus, is_preview, preview_for, tap


def is_card(message: FakeMessage) -> bool:
    return any("Approve all" in label for label, _ in message.buttons())


async def plan_card(tg: FakeTelegram, ask: str) -> FakeMessage:
    sent = await tg.user_sends(OWNER, f"/plan {ask}".strip())
    return await tg.wait_message(
        OWNER, lambda m: is_card(m) and m.message_id > sent["message_id"], timeout=10
    )


async def answer_to(tg: FakeTelegram, text: str, timeout: float = 5.0) -> FakeMessage:
    sent = await tg.user_sends(OWNER, text)
    return await tg.wait_message(
        OWNER, lambda m: m.message_id > sent["message_id"], timeout=timeout
    )


async def alert_for(tg: FakeTelegram, query_id: str) -> str:
    await tg.wait_for(lambda: query_id in tg.callback_answers)
    return str(tg.callback_answers[query_id].get("text") or "")


def claude_plan(
    *slots: int, title: str = "v2.3 launch", text: str = "", platform: str = "telegram"
) -> dict[str, Any]:
    return {
        "title": title,
        "posts": [
            {
                "angle": f"Angle {n}",
                "text": text or f"Post {n} about v2.3 🚀",
                "platforms": [platform],
                "slot": slot,
            }
            for n, slot in enumerate(slots, start=1)
        ],
    }


async def test_approve_all_schedules_the_campaign_that_queue_and_stats_group(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    card = await plan_card(tg, "launch of v2.3, next week, 3 posts")
    assert "Plan: launch of v2.3</b>, 3 posts" in (card.html or "")
    for label in ("Teaser", "Announcement", "How it works"):
        assert label in card.text
    assert card.text.count("(UTC)") == 3 and "Mon 23 Nov 2026" in card.text
    async with nexus.sessions() as session:
        assert (await session.scalars(select(Post))).all() == []  # nothing before the answer

    await tap(tg, card, "Approve all")
    done = await tg.wait_message(
        OWNER, lambda m: m.message_id == card.message_id and "3 posts scheduled" in m.text
    )
    assert done.buttons() == []
    async with nexus.sessions() as session:
        posts = (await session.scalars(select(Post).order_by(Post.scheduled_at))).all()
        campaign = await session.scalar(select(Campaign))
    assert campaign is not None and campaign.status == "approved"
    assert [p.status for p in posts] == [PostStatus.SCHEDULED] * 3
    assert {p.campaign_id for p in posts} == {campaign.id}
    times = [p.scheduled_at for p in posts]
    assert len(set(times)) == 3 and all(t and t.day >= 23 for t in times)

    queue = await answer_to(tg, "/queue")
    assert "📣 launch of v2.3: #1" in queue.text and "#3" in queue.text

    clock.current = posts[0].scheduled_at or clock.current
    await nexus.dispatcher.run_once()
    await nexus.dispatcher.run_once()
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    assert len(tg.messages(CHANNEL)) == 1
    clock.advance(minutes=5)
    stats = await answer_to(tg, "/stats", timeout=15)  # the chart takes a moment
    assert "Campaign “launch of v2.3”: 3 posts, 1 published" in stats.text


async def test_a_second_answer_to_the_card_is_refused(tg: FakeTelegram, nexus: Nexus) -> None:
    card = await plan_card(tg, "launch of v2.3, next week, 2 posts")
    await tap(tg, card, "Approve all")
    await tg.wait_message(OWNER, lambda m: "2 posts scheduled" in m.text)
    again = await tg.user_taps(OWNER, card.message_id, "pl:d:1", force=True)
    assert "already approved" in await alert_for(tg, again)
    async with nexus.sessions() as session:
        assert len((await session.scalars(select(Post))).all()) == 2


async def test_review_one_by_one_offers_each_planned_slot_first(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    card = await plan_card(tg, "webinar, next week, 2 posts")
    await tap(tg, card, "Review one by one")
    await tg.wait_message(OWNER, lambda m: "2 drafts follow" in m.text)
    await tg.wait_for(lambda: len([m for m in tg.messages(OWNER) if is_preview(m)]) == 2)
    first, second = [m for m in tg.messages(OWNER) if is_preview(m)]
    assert "📣 Campaign “webinar”" in first.text and "Campaign" not in second.text.split("\n\n")[1]

    await tap(tg, second, "Schedule")
    menu = await tg.wait_message(
        OWNER, lambda m: m.message_id == second.message_id and "Planned slot" in str(m.buttons())
    )
    assert menu.buttons()[0][0].startswith("📣 Planned slot: ")
    planned = menu.buttons()[0][0].removeprefix("📣 Planned slot: ")
    await tap(tg, menu, "Planned slot")
    await tg.wait_message(
        OWNER, lambda m: m.message_id == second.message_id and "is scheduled" in m.text
    )
    async with nexus.sessions() as session:
        posts = (await session.scalars(select(Post).order_by(Post.id))).all()
    assert [p.status for p in posts] == [PostStatus.DRAFT, PostStatus.SCHEDULED]
    assert posts[1].scheduled_at == posts[1].planned_at
    assert posts[1].scheduled_at is not None
    assert posts[1].scheduled_at.strftime("%d.%m %H:%M") == planned


async def test_discard_drafts_nothing(tg: FakeTelegram, nexus: Nexus) -> None:
    card = await plan_card(tg, "launch, next week, 2 posts")
    await tap(tg, card, "Discard")
    await tg.wait_message(OWNER, lambda m: "discarded; nothing was drafted" in m.text)
    async with nexus.sessions() as session:
        assert (await session.scalars(select(Post))).all() == []
        campaign = await session.scalar(select(Campaign))
    assert campaign is not None and campaign.status == "discarded"


async def test_a_slot_taken_meanwhile_schedules_nothing_and_says_which(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    card = await plan_card(tg, "launch, this week, 1 post")  # Sun 22 Nov 18:00, the only slot
    preview = await preview_for(tg, "something urgent")
    await tap(tg, preview, "Schedule")
    menu = await tg.wait_message(
        OWNER, lambda m: m.message_id == preview.message_id and "Next free slot" in str(m.buttons())
    )
    await tap(tg, menu, "Next free slot")
    await tg.wait_message(OWNER, lambda m: "18:00" in m.text and "is scheduled" in m.text)

    await tap(tg, card, "Approve all")
    clash = await tg.wait_message(
        OWNER, lambda m: m.message_id == card.message_id and "Nothing was scheduled" in m.text
    )
    assert "Sun 22 Nov 2026, 18:00" in clash.text.split("Nothing was scheduled")[1]
    assert is_card(clash)  # the owner can still review or discard
    async with nexus.sessions() as session:
        assert len((await session.scalars(select(Post))).all()) == 1


async def test_asks_that_cannot_be_planned_are_explained(tg: FakeTelegram, nexus: Nexus) -> None:
    assert "1 to 14 posts" in (await answer_to(tg, "/plan launch, 50 posts")).text
    assert "up to 8 weeks" in (await answer_to(tg, "/plan launch, in 12 weeks")).text
    few = await answer_to(tg, "/plan launch, this week, 3 posts")
    assert "Only 1 free slots" in few.text
    assert "Nothing happened lately" in (await answer_to(tg, "/plan")).text


async def test_claude_plans_again_once_when_the_plan_does_not_hold(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url)
    ai.reply_tool(claude_plan(1, 1, 99))  # a slot twice, one not offered, too few posts
    ai.reply_tool(claude_plan(2, 5, 9, 12))
    card = await plan_card(tg, "запуск v2.3, на следующей неделе, 4 поста")
    assert "Post 1 about v2.3" in card.text and "v2.3 launch" in card.text

    first, second = ai.requests[-2:]
    assert "Theme: запуск v2.3" in str(first["messages"])
    assert "14. " in str(first["messages"]) and "15. " not in str(first["messages"])
    feedback = str(second["messages"][-1])
    for problem in (
        "3 posts; 4 were asked for",
        "slot 1 is already used",
        "slot 99 is not one of the free slots",
    ):
        assert problem in feedback

    await tap(tg, card, "Approve all")
    await tg.wait_message(OWNER, lambda m: "4 posts scheduled" in m.text)


async def test_a_plan_that_fails_twice_is_explained(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    app = await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url)
    ai.reply_tool(claude_plan(1, 2, platform="myspace"))
    ai.reply_tool(claude_plan(1, 2, platform="myspace"))
    failed = await answer_to(tg, "/plan launch, next week, 2 posts")
    await tg.wait_message(
        OWNER, lambda m: m.message_id == failed.message_id and "did not hold together" in m.text
    )
    assert "'myspace' is not a connected platform (use telegram)" in tg.messages(OWNER)[-1].text
    async with app.sessions() as session:
        assert await session.scalar(select(Campaign)) is None


async def test_with_no_theme_the_plan_draws_on_recent_events(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    app = await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url)
    async with app.sessions() as session:
        source = Source(kind="feed", name="blog", url="https://blog.example.com/feed")
        session.add(source)
        await session.flush()
        payload = {"title": "Release 2.3 is out", "link": "https://blog.example.com/2.3"}
        session.add(
            Event(
                source_id=source.id,
                external_id="1",
                type="feed_item",
                payload=json.dumps(payload),
                status="done",
                received_at=datetime(2026, 11, 20, tzinfo=UTC),
            )
        )
        await session.commit()
    ai.reply_tool(claude_plan(1, 2, 3, 4, 5, title="Release 2.3"))
    card = await plan_card(tg, "")
    assert "Release 2.3" in card.text
    asked = str(ai.requests[-1]["messages"])
    assert "feed_item: Release 2.3 is out — https://blog.example.com/2.3" in asked
    assert "No theme was given" in asked
