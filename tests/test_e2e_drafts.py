"""End to end: the real application (same factory as `nexus run`) long-polls the loopback
Telegram server; the owner's taps and messages go in as real updates, and we assert what the
owner and the channel see."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.app import Nexus
from tests.clock import FakeClock
from tests.conftest import CHANNEL, OWNER
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.telegram import FakeMessage, FakeTelegram

StartNexus = Callable[..., Awaitable[Nexus]]


def is_preview(message: FakeMessage) -> bool:
    return "Draft #" in message.text and any("Approve" in text for text, _ in message.buttons())


def button(message: FakeMessage, label: str) -> str:
    for text, data in message.buttons():
        if label in text:
            return data
    raise AssertionError(f"no button {label!r} in {message.buttons()}")


async def preview_for(tg: FakeTelegram, brief: str) -> FakeMessage:
    """Send a brief; the preview is the bot's answer to that message."""
    sent = await tg.user_sends(OWNER, brief)
    return await tg.wait_message(
        OWNER, lambda m: is_preview(m) and m.message_id > sent["message_id"]
    )


async def tap(tg: FakeTelegram, message: FakeMessage, label: str) -> str:
    return await tg.user_taps(OWNER, message.message_id, button(message, label))


async def test_offline_brief_to_channel_post_with_link(tg: FakeTelegram, nexus: Nexus) -> None:
    preview = await preview_for(tg, "announce v2.3 with dark mode")
    assert "Offline draft" in preview.text
    assert f"→ Telegram {CHANNEL}" in preview.text
    assert "/4096 ✓" in preview.text

    await tap(tg, preview, "Approve")
    post = await tg.wait_message(CHANNEL)
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)

    posts = tg.messages(CHANNEL)
    assert len(posts) == 1
    assert "dark mode" in post.text.lower()
    record = tg.messages(OWNER)[-1]
    assert record.message_id == preview.message_id  # the preview became the record
    link = f"https://t.me/nexus_channel/{post.message_id}"
    assert any(e.get("url") == link for e in record.entities)
    assert [label for label, _ in record.buttons()] == [
        "📊 Stats",
        "🗑 Delete…",
    ]  # what is left to do


async def test_claude_drafts_in_the_brand_voice(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url)
    await tg.user_sends(OWNER, "/voice")
    voice = await tg.wait_message(OWNER, lambda m: "Brand voice" in m.text)
    await tap(tg, voice, "Tone")
    await tg.wait_message(OWNER, lambda m: "Send the tone" in m.text)
    await tg.user_sends(OWNER, "playful, a little nerdy")
    await tg.wait_message(OWNER, lambda m: "Saved the tone" in m.text)

    ai.reply_tool({"text": "Dark mode is here in v2.3 🌙", "hashtags": ["release"]})
    ai.delay(1.0)  # Claude takes its time: the owner sees "typing…" meanwhile
    preview = await preview_for(tg, "announce v2.3 with dark mode")
    assert any(c.method == "sendChatAction" and c.params["action"] == "typing" for c in tg.calls)
    assert "Dark mode is here in v2.3 🌙" in preview.text
    assert "#release" in preview.text
    assert "Offline" not in preview.text
    request = ai.requests[-1]
    assert "playful, a little nerdy" in str(request["system"])
    assert "announce v2.3 with dark mode" in str(request["messages"])

    await tap(tg, preview, "Approve")
    post = await tg.wait_message(CHANNEL)
    assert post.text == "Dark mode is here in v2.3 🌙\n\n#release"


async def test_edit_replaces_text_and_html_is_escaped(tg: FakeTelegram, nexus: Nexus) -> None:
    preview = await preview_for(tg, "research update")
    await tap(tg, preview, "Edit")
    await tg.wait_message(OWNER, lambda m: "Send the new text" in m.text)
    await tg.user_sends(OWNER, "Our R&D <beta> ships & works")

    fresh = await tg.wait_message(OWNER, lambda m: is_preview(m) and "R&D" in m.text)
    assert "Our R&D <beta> ships & works" in fresh.text
    old = next(m for m in tg.messages(OWNER) if m.message_id == preview.message_id)
    assert "updated" in old.text and old.buttons() == []

    await tap(tg, fresh, "Approve")
    post = await tg.wait_message(CHANNEL)
    assert post.text == "Our R&D <beta> ships & works"


async def test_regenerate_with_instruction(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url)
    ai.reply_tool({"text": "A long first version of the announcement.", "hashtags": []})
    preview = await preview_for(tg, "announce the webinar")
    first_approve = button(preview, "Approve")
    await tap(tg, preview, "Regenerate")
    choices = await tg.wait_message(OWNER, lambda m: "How should I rewrite" in m.text)
    ai.reply_tool({"text": "Webinar Thursday. Join us!", "hashtags": []})
    await tap(tg, choices, "Shorter")

    again = await tg.wait_message(OWNER, lambda m: is_preview(m) and "Webinar Thursday" in m.text)
    assert again.message_id == preview.message_id
    last = ai.requests[-1]
    assert "shorter" in str(last["messages"]).lower()
    assert "A long first version" in str(last["messages"])

    # the button of the first version is now stale: it shows the current one, publishes nothing
    await tg.user_taps(OWNER, preview.message_id, first_approve, force=True)
    await tg.wait_for(lambda: any("out of date" in a.get("text", "") for a in answers(tg)))
    assert tg.messages(CHANNEL) == []


def answers(tg: FakeTelegram) -> list[dict]:
    return list(tg.callback_answers.values())


async def test_reject_then_a_tap_changes_nothing(tg: FakeTelegram, nexus: Nexus) -> None:
    preview = await preview_for(tg, "a post we will not publish")
    approve = button(preview, "Approve")
    await tap(tg, preview, "Reject")
    rejected = await tg.wait_message(OWNER, lambda m: "rejected" in m.text)
    assert [text for text, _ in rejected.buttons()] == ["↩️ Restore"]
    await tg.user_taps(OWNER, preview.message_id, approve, force=True)
    await tg.wait_for(lambda: any("already rejected" in a.get("text", "") for a in answers(tg)))
    assert tg.messages(CHANNEL) == []

    await tap(tg, rejected, "Restore")
    await tg.wait_message(OWNER, is_preview)


async def test_double_tap_publishes_once(tg: FakeTelegram, nexus: Nexus) -> None:
    preview = await preview_for(tg, "only once please")
    data = button(preview, "Approve")
    await tg.user_taps(OWNER, preview.message_id, data)
    await tg.user_taps(OWNER, preview.message_id, data)
    await tg.user_taps(OWNER, preview.message_id, data)
    await tg.wait_for(lambda: len(tg.callback_answers) == 3 and all(answers(tg)))
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    assert len(tg.messages(CHANNEL)) == 1
    assert sum("is already" in a.get("text", "") for a in answers(tg)) == 2


async def test_stranger_is_refused_once_without_ai(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url)
    tg.add_user(666, "Stranger", "en")
    await tg.user_sends(666, "write me a post")
    refusal = await tg.wait_message(666)
    assert "private Nexus bot" in refusal.text and "666" in refusal.text
    await tg.user_sends(666, "again?")
    await tg.user_sends(OWNER, "/help")
    await tg.wait_message(OWNER, lambda m: "How Nexus works" in m.text)
    assert len(tg.messages(666)) == 1
    assert ai.requests == []


async def test_ai_failure_offers_retry(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url)
    ai.reply_text("Sure! Here's a post about it.")  # no tool call: unusable
    await tg.user_sends(OWNER, "announce v3")
    error = await tg.wait_message(OWNER, lambda m: "couldn't write" in m.text)
    assert "Retry" in error.buttons()[0][0]

    ai.reply_tool({"text": "v3 is out!", "hashtags": []})
    await tap(tg, error, "Retry")
    preview = await tg.wait_message(OWNER, lambda m: is_preview(m) and "v3 is out!" in m.text)
    assert preview.message_id == error.message_id


async def test_bad_api_key_is_explained(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    await nexus_factory(ANTHROPIC_API_KEY="sk-ant-wrong-key", ANTHROPIC_BASE_URL=ai.base_url)
    await tg.user_sends(OWNER, "announce v3")
    error = await tg.wait_message(OWNER, lambda m: "couldn't write" in m.text)
    assert "ANTHROPIC_API_KEY" in error.text
    assert "sk-ant-wrong-key" not in error.text


async def test_channel_errors_reach_the_owner_and_retry_works(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    preview = await preview_for(tg, "announce the beta")
    tg.fail_next("sendMessage", error_code=400, description="Bad Request: chat not found")
    await tap(tg, preview, "Approve")
    failed = await tg.wait_message(OWNER, lambda m: "was not published" in m.text)
    assert "nexus_channel" in failed.text
    assert tg.messages(CHANNEL) == []

    await tap(tg, failed, "Retry")
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    assert len(tg.messages(CHANNEL)) == 1


async def test_rate_limit_retries_after_the_given_wait(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    preview = await preview_for(tg, "announce the sale")
    tg.fail_next(
        "sendMessage", error_code=429, description="Too Many Requests: retry after 7", retry_after=7
    )
    await tap(tg, preview, "Approve")
    await tg.wait_for(lambda: any(c.params.get("chat_id") == CHANNEL for c in tg.calls))
    await nexus.dispatcher.run_once()  # waits for the pass that met the 429 to record it

    clock.advance(seconds=6)  # Telegram asked for 7 s: nothing is sent before that
    await nexus.dispatcher.run_once()
    assert tg.messages(CHANNEL) == []

    clock.advance(seconds=2)
    await nexus.dispatcher.run_once()
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    assert len(tg.messages(CHANNEL)) == 1


async def test_long_post_is_split_in_order(tg: FakeTelegram, nexus: Nexus) -> None:
    preview = await preview_for(tg, "long read")
    paragraphs = [f"Paragraph {i}: " + "word " * 150 for i in range(8)]
    await tap(tg, preview, "Edit")
    await tg.wait_message(OWNER, lambda m: "Send the new text" in m.text)
    await tg.user_sends(OWNER, "\n\n".join(p.strip() for p in paragraphs))
    fresh = await tg.wait_message(OWNER, lambda m: is_preview(m) and "Paragraph 0" in m.text)
    assert "goes out as 2 messages" in fresh.text
    await tap(tg, fresh, "Approve")
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    parts = tg.messages(CHANNEL)
    assert len(parts) == 2
    assert parts[0].text.startswith("Paragraph 0") and "Paragraph 7" in parts[1].text
    assert " ".join(p.text for p in parts).split() == " ".join(paragraphs).split()


async def test_drafts_list_reopens_a_draft(tg: FakeTelegram, nexus: Nexus) -> None:
    await preview_for(tg, "first idea")
    await preview_for(tg, "second idea")
    await tg.user_sends(OWNER, "/drafts")
    listing = await tg.wait_message(OWNER, lambda m: "Drafts waiting" in m.text)
    assert "(2)" in listing.text
    labels = [text for text, _ in listing.buttons()]
    assert labels[0].startswith("#2") and labels[1].startswith("#1")
    await tap(tg, listing, "#1")
    reopened = await tg.wait_message(
        OWNER, lambda m: is_preview(m) and m.message_id > listing.message_id
    )
    assert "Draft #1" in reopened.text


async def test_russian_client_gets_russian_texts(
    tg: FakeTelegram, nexus_factory: StartNexus
) -> None:
    tg.add_user(2002, "Владелец", "ru")
    await nexus_factory(NEXUS_OWNER_IDS=f"{OWNER},2002")
    await tg.user_sends(2002, "/start")
    welcome = await tg.wait_message(2002, lambda m: "Nexus" in m.text and "🔑" not in m.text)
    assert "пишет посты" in welcome.text
    await tg.user_sends(2002, "анонс версии 2.3")
    preview = await tg.wait_message(2002, lambda m: "Черновик #" in m.text)
    assert any("Одобрить" in text for text, _ in preview.buttons())


async def test_no_channel_configured_is_explained(
    tg: FakeTelegram, nexus_factory: StartNexus
) -> None:
    await nexus_factory(NEXUS_CHANNEL=None)
    preview = await preview_for(tg, "announce v2")
    await tap(tg, preview, "Approve")
    await tg.wait_for(lambda: any("NEXUS_CHANNEL" in a.get("text", "") for a in answers(tg)))
    assert any(c.method == "setMyCommands" for c in tg.calls)
