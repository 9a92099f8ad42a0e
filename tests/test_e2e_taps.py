"""Every tap is answered and every failure is told: forged, malformed, out-of-range and stale
button data, taps under messages too old to see, and a handler that fails, all through the real
app long-polling the loopback Telegram (on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from aiogram.types import Update, User

from ai.service import load_voice
from bot.app import Nexus
from bot.middlewares import SessionMiddleware
from storage import repositories as repo
from tests.conftest import CHANNEL, OWNER
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.telegram import FakeTelegram
from tests.test_e2e_drafts import StartNexus, button, preview_for, tap
from ui.callbacks import INT32_MAX

#: Payloads no handler may take: unknown prefixes, garbage, the wrong arity, enum values that do
#: not exist, ids past PostgreSQL's `integer`, ids of rows that are not there.
FORGED = [
    "zz:1",
    "",
    ":::",
    "d",
    "d:a:not-a-number:1",
    "d:q:1:1",
    "d:a:1",
    f"d:a:{INT32_MAX + 1}:1",
    f"d:a:1:{2**64}",
    "d:a:-5:1",
    f"u:y:{INT32_MAX + 1}",
    f"a:t:{INT32_MAX + 1}",
    f"r:t:{10**30}",
    f"src:d:{INT32_MAX + 1}",
    f"im:r:1:1:{INT32_MAX + 1}",
    "mu:nope:1",
    "mu:failure:2",
    "pf:myspace",
    "vw:extra",
]


def answer_of(tg: FakeTelegram, query_id: str) -> dict:
    return tg.callback_answers[query_id]


def incidents(tg: FakeTelegram) -> list[str]:
    return [m.text for m in tg.messages(OWNER) if "Something went wrong" in m.text]


async def test_forged_and_out_of_range_taps_are_answered_and_change_nothing(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    preview = await preview_for(tg, "a post nobody may publish by forging a button")
    queries = [await tg.user_taps(OWNER, preview.message_id, data, force=True) for data in FORGED]
    await tg.wait_for(lambda: all(q in tg.callback_answers for q in queries), timeout=15)
    for data, query in zip(FORGED, queries, strict=True):
        assert "no longer works" in answer_of(tg, query)["text"], data
    # a button of a post that is not there (stale) says so
    gone = await tg.user_taps(OWNER, preview.message_id, "d:a:4242:1", force=True)
    await tg.wait_for(lambda: gone in tg.callback_answers, timeout=15)
    assert "no longer exists" in answer_of(tg, gone)["text"]
    assert incidents(tg) == []
    assert tg.messages(CHANNEL) == []
    async with nexus.sessions() as session:
        post = await repo.latest_draft(session, OWNER)
        assert post is not None and post.status == "draft"


async def test_a_tap_under_a_message_too_old_to_see_is_answered(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    preview = await preview_for(tg, "an old preview")
    query = await tg.user_taps(
        OWNER, preview.message_id, button(preview, "Approve"), inaccessible=True
    )
    await tg.wait_for(lambda: query in tg.callback_answers, timeout=15)
    answer = answer_of(tg, query)
    assert "too old" in answer["text"] and "again" in answer["text"]
    assert tg.messages(CHANNEL) == []


async def test_a_failing_handler_answers_the_tap_and_tells_the_owner_with_a_reference(
    tg: FakeTelegram, nexus: Nexus, caplog: pytest.LogCaptureFixture
) -> None:
    preview = await preview_for(tg, "a post whose tap fails")
    tg.fail_next("answerCallbackQuery", error_code=400, description="Bad Request: boom")
    with caplog.at_level(logging.ERROR, logger="handlers.errors"):
        query = await tap(tg, preview, "Edit")
        told = await tg.wait_message(OWNER, lambda m: "Something went wrong" in m.text)
    ref = re.search(r"Reference: (\w+)", told.text)
    assert ref is not None and len(ref.group(1)) == 6
    assert "nothing was changed" in told.text
    assert ref.group(1) in answer_of(tg, query)["text"]  # the tap stopped spinning
    record = next(r for r in caplog.records if ref.group(1) in r.getMessage())
    assert record.exc_info is not None  # the traceback is next to the reference
    assert len(incidents(tg)) == 1


async def test_voice_with_a_long_tone_and_example_shows_and_whole_fields_are_a_tap_away(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    tone = "warm and precise, " * 27 + "end"  # 489 characters
    example = ("Dark mode is here & it is <b>lovely</b>. " * 100)[:4000]
    for field, value in (("Tone", tone), ("Example post", example)):
        await tg.user_sends(OWNER, "/voice")
        view = await tg.wait_message(OWNER, lambda m: "Brand voice" in m.text and m.buttons())
        await tap(tg, view, field)
        await tg.wait_message(OWNER, lambda m: "Send the" in m.text)
        await tg.user_sends(OWNER, value)
        await tg.wait_message(OWNER, lambda m: "Saved the" in m.text)
    shown = await tg.wait_message(OWNER, lambda m: "Brand voice" in m.text and "Dark" in m.text)
    assert len(shown.text) <= 4096
    assert "warm and precise" in shown.text and "Dark mode is here & it is <b>lovely" in shown.text
    assert incidents(tg) == []

    before = len(tg.messages(OWNER))
    await tap(tg, shown, "Show whole")
    await tg.wait_for(lambda: sum(1 for m in tg.messages(OWNER)[before:] if "whole" in m.text) == 2)
    sent = tg.messages(OWNER)[before:]
    whole = "\n".join(m.text for m in sent)
    assert tone in whole
    assert " ".join(example.split()) in " ".join(whole.split())
    assert all(len(m.text) <= 4096 for m in sent)


async def test_a_handler_that_fails_midway_leaves_nothing_half_written(nexus: Nexus) -> None:
    """The session middleware rolls back what a failing handler wrote but did not commit, before
    the errors router tells the owner that nothing was changed."""
    middleware = SessionMiddleware(nexus.sessions, "UTC")

    async def half_done(event: object, data: dict[str, Any]) -> None:
        await repo.save_voice(data["session"], tone="half-written")
        await data["session"].flush()  # the row is in the transaction, not committed
        raise RuntimeError("the handler dies here")

    user = User(id=OWNER, is_bot=False, first_name="Owner")
    with pytest.raises(RuntimeError):
        await middleware(half_done, Update(update_id=1), {"event_from_user": user})
    async with nexus.sessions() as session:
        assert (await load_voice(session)).tone == ""


async def test_a_failing_message_handler_tells_the_owner_once(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    tg.fail_next("sendMessage", error_code=400, description="Bad Request: boom")
    await tg.user_sends(OWNER, "/help")
    told = await tg.wait_message(OWNER, lambda m: "Something went wrong" in m.text)
    assert re.search(r"Reference: \w{6}$", told.text)
    await tg.user_sends(OWNER, "/help")  # the next one works as ever
    await tg.wait_message(OWNER, lambda m: "/new" in m.text)
    assert len(incidents(tg)) == 1


async def test_a_slow_rewrite_from_a_button_shows_typing(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url)
    ai.reply_tool({"text": "The first take.", "hashtags": []})
    preview = await preview_for(tg, "announce the webinar")
    await tap(tg, preview, "Regenerate")
    choices = await tg.wait_message(OWNER, lambda m: "How should I rewrite" in m.text)
    before = len(tg.calls)
    ai.reply_tool({"text": "A shorter take.", "hashtags": []})
    ai.delay(1.0)
    await tap(tg, choices, "Shorter")
    await tg.wait_message(OWNER, lambda m: "A shorter take." in m.text)
    actions = [c for c in tg.calls[before:] if c.method == "sendChatAction"]
    assert actions and actions[0].params["action"] == "typing"
