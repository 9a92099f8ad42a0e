"""End to end, learning: the owner shortens Claude's drafts by hand, taps "Learn from my
decisions now" under /voice, and the next drafting request to (the loopback) Claude carries the
learned rule; a dropped rule leaves the prompt; /stats shows how many drafts went out as written;
a rejection takes an optional reason."""

from __future__ import annotations

from sqlalchemy import select

from metrics.forecast import MIN_HISTORY
from storage.models import DraftDecision
from tests.conftest import CHANNEL, OWNER
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_e2e_drafts import StartNexus, button, is_preview, preview_for, tap
from tests.test_forecast import _publish

LONG = (
    "We are thrilled and so excited to announce that {topic} is finally here, after months of"
    " hard work by the whole team, late nights and many cups of coffee. Read on for every detail"
    " of what changed, why it matters to you, and what comes next on our roadmap this season."
)
SHORT = "{topic} is here. Details on the blog."
TOPICS = ["Dark mode", "The new API", "Offline sync", "Faster search"]
RULES = ["Keep posts under 120 characters", "Never say 'excited to announce'"]


async def _edit_and_approve(tg: FakeTelegram, ai: FakeAnthropic, topic: str) -> None:
    ai.reply_tool({"text": LONG.format(topic=topic), "hashtags": []})
    preview = await preview_for(tg, f"announce {topic}")
    await tap(tg, preview, "Edit")
    await tg.wait_message(OWNER, lambda m: "Send the new text" in m.text)
    await tg.user_sends(OWNER, SHORT.format(topic=topic))
    short = SHORT.format(topic=topic)
    fresh = await tg.wait_message(OWNER, lambda m: is_preview(m) and short in m.text)
    await tap(tg, fresh, "Approve")
    await tg.wait_message(CHANNEL, lambda m: m.text == short)


async def _voice(tg: FakeTelegram, after: int) -> FakeMessage:
    await tg.user_sends(OWNER, "/voice")
    return await tg.wait_message(
        OWNER, lambda m: "Learned from your decisions" in m.text and m.message_id > after
    )


async def test_edits_that_shorten_drafts_teach_a_rule_the_next_draft_follows(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    app = await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url)
    for topic in TOPICS:
        await _edit_and_approve(tg, ai, topic)
    ai.reply_tool({"text": "Webhooks are live.", "hashtags": []})
    as_written = await preview_for(tg, "announce webhooks")
    await tap(tg, as_written, "Approve")
    await tg.wait_message(CHANNEL, lambda m: m.text == "Webhooks are live.")

    voice = await _voice(tg, 0)
    assert "Nothing learned yet" in voice.text
    ai.reply_tool({"rules": RULES})
    await tap(tg, voice, "Learn from my decisions now")
    done = await tg.wait_message(OWNER, lambda m: "Learned 2 preferences" in m.text)
    assert "from 9 recent decisions" in done.text  # 4 edits + 5 approvals
    learning_call = ai.requests[-1]
    assert learning_call["tool_choice"] == {"type": "tool", "name": "submit_preferences"}
    sent = str(learning_call["messages"])
    assert 'kind="edited"' in sent and "Details on the blog" in sent
    assert "approved as written" in sent

    refreshed = await tg.wait_message(
        OWNER, lambda m: m.message_id == voice.message_id and RULES[0] in m.text
    )
    print("\nLearned preferences shown in /voice:\n" + refreshed.text.split("decisions\n", 1)[1])

    # the next draft: the learned rules are in the system prompt Claude gets
    ai.reply_tool({"text": "Exports are here.", "hashtags": []})
    await preview_for(tg, "announce exports")
    system = str(ai.requests[-1]["system"])
    assert "<learned_preferences>" in system
    assert all(rule in system for rule in RULES)

    # 🗑 drops a rule: gone from /voice and from the next prompt
    await tg.user_taps(OWNER, refreshed.message_id, button(refreshed, "🗑 1."))
    await tg.wait_message(
        OWNER,
        lambda m: (
            m.message_id == voice.message_id and RULES[0] not in m.text and RULES[1] in m.text
        ),
    )
    ai.reply_tool({"text": "Themes are here.", "hashtags": []})
    await preview_for(tg, "announce themes")
    system = str(ai.requests[-1]["system"])
    assert RULES[0] not in system and RULES[1] in system

    # /stats: 1 of 5 AI drafts approved as written, and how much of the others was rewritten
    await tg.user_sends(OWNER, "/stats")
    stats = await tg.wait_message(OWNER, lambda m: "approved as written" in m.text)
    assert "AI drafts approved as written: 1 of 5 (20%)" in stats.text
    assert "Median change before approval:" in stats.text
    print("\nAcceptance in /stats:\n" + "\n".join(stats.text.splitlines()[-3:]))
    assert ai.pending == 0

    async with app.sessions() as session:
        kinds = [d.kind for d in await session.scalars(select(DraftDecision))]
    assert kinds.count("edited") == 4 and kinds.count("approved") == 5


async def test_a_bad_learning_answer_changes_nothing(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url)
    await _edit_and_approve(tg, ai, "Dark mode")
    voice = await _voice(tg, 0)
    ai.reply_tool({"rules": ["x" * 500]})  # not a short rule
    await tap(tg, voice, "Learn from my decisions now")
    failed = await tg.wait_message(OWNER, lambda m: "Learning failed" in m.text)
    assert "nothing was changed" in failed.text
    again = await _voice(tg, failed.message_id)
    assert "Nothing learned yet" in again.text


async def test_a_rejection_takes_one_optional_reason(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    app = await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url)
    ai.reply_tool({"text": LONG.format(topic="Dark mode"), "hashtags": []})
    preview = await preview_for(tg, "announce dark mode")
    await tap(tg, preview, "Reject")
    ask = await tg.wait_message(OWNER, lambda m: "Why not #" in m.text)
    assert [label for label, _ in ask.buttons()] == [
        "Too long",
        "Off-brand",
        "Wrong facts",
        "Tone",
        "Not now",
    ]
    tone = button(ask, "Tone")
    await tap(tg, ask, "Too long")
    await tg.wait_message(
        OWNER,
        lambda m: m.message_id == ask.message_id and "Noted" in m.text and "Too long" in m.text,
    )
    async with app.sessions() as session:
        decision = (await session.scalars(select(DraftDecision))).one()
    assert (decision.kind, decision.reason, decision.ai_drafted) == ("rejected", "too_long", True)

    # restored, the rejection no longer stands: a late tap on a reason is refused
    rejected = await tg.wait_message(OWNER, lambda m: m.message_id == preview.message_id)
    await tap(tg, rejected, "Restore")
    await tg.wait_message(OWNER, lambda m: m.message_id == preview.message_id and is_preview(m))
    await tg.user_taps(OWNER, ask.message_id, tone, force=True)
    await tg.wait_for(
        lambda: any("no longer rejected" in a.get("text", "") for a in tg.callback_answers.values())
    )


async def test_the_preview_shows_a_forecast_once_there_is_history(
    tg: FakeTelegram, nexus_factory: StartNexus
) -> None:
    app = await nexus_factory()
    first = await preview_for(tg, "announce the beta")
    assert "Forecast" not in first.text  # no history yet
    async with app.sessions() as session:
        await _publish(session, MIN_HISTORY)  # evening posts did well, morning ones did not
    second = await preview_for(tg, "announce the release")  # the clock says 09:00 UTC
    assert "📉 Forecast: likely below your median. Main reason: morning posts get" in second.text
