"""Drafting in the background, end to end: while Claude thinks (the loopback Anthropic holds the
request at a gate) the owner's other messages are answered; a draft can be cancelled while it is
written; a shutdown or a crash mid-draft is reported at the next start with ↻ Retry."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.app import Nexus
from config.settings import Settings
from storage.models import DraftJob, DraftJobStatus, Post
from tests.clock import FakeClock
from tests.conftest import OWNER, running
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_e2e_drafts import button, is_preview, tap

StartNexus = Callable[..., Awaitable[Nexus]]
REPO = Path(__file__).resolve().parents[1]


def is_drafting(message: FakeMessage) -> bool:
    return "Drafting…" in message.text and any("Cancel" in label for label, _ in message.buttons())


async def drafting_reply(
    tg: FakeTelegram, brief: str, timeout: float = 5
) -> tuple[dict, FakeMessage]:
    """Send a brief; its "✍️ Drafting…" reply (with ✖️ Cancel)."""
    sent = await tg.user_sends(OWNER, brief)
    progress = await tg.wait_message(
        OWNER, lambda m: is_drafting(m) and m.message_id > sent["message_id"], timeout=timeout
    )
    return sent, progress


async def count(app: Nexus, model: Any) -> int:
    async with app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def claude(ai: FakeAnthropic) -> dict[str, str]:
    return {"ANTHROPIC_API_KEY": ai.api_key, "ANTHROPIC_BASE_URL": ai.base_url}


async def test_the_owner_is_answered_while_claude_writes(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    await nexus_factory(**claude(ai))
    gate = ai.hold()
    first, progress = await drafting_reply(tg, "announce the first thing")
    await tg.wait_for(lambda: ai.holding == 1)

    # Claude still writes the first draft: /queue and a second brief are answered meanwhile
    await tg.user_sends(OWNER, "/queue")
    await tg.wait_message(OWNER, lambda m: "Nothing is scheduled" in m.text)
    second = await tg.user_sends(OWNER, "announce the second thing")
    other = await tg.wait_message(
        OWNER, lambda m: is_preview(m) and "second thing" in m.text, timeout=10
    )
    assert other.message_id > second["message_id"]
    assert ai.holding == 1  # ...and the first one is still being written

    gate.set()
    done = await tg.wait_message(OWNER, lambda m: is_preview(m) and "first thing" in m.text)
    assert done.message_id == progress.message_id  # "drafting…" became the preview
    assert done.message_id > first["message_id"]
    assert any(c.method == "sendChatAction" for c in tg.calls)


async def test_a_draft_cancelled_while_written_leaves_nothing(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    app = await nexus_factory(**claude(ai))
    gate = ai.hold()
    _, progress = await drafting_reply(tg, "a post I will change my mind about")
    await tg.wait_for(lambda: ai.holding == 1)
    cancel = button(progress, "Cancel")
    await tg.user_taps(OWNER, progress.message_id, cancel)
    await tg.wait_message(
        OWNER, lambda m: m.message_id == progress.message_id and "cancelled" in m.text
    )
    gate.set()
    await tg.wait_for(lambda: ai.holding == 0)
    assert await count(app, Post) == 0
    assert await count(app, DraftJob) == 0
    await tg.user_sends(OWNER, "/drafts")
    await tg.wait_message(OWNER, lambda m: "No drafts" in m.text or "no drafts" in m.text)

    # the Cancel button of a job that ended is answered, not ignored
    await tg.user_taps(OWNER, progress.message_id, cancel, force=True)
    await tg.wait_for(
        lambda: any(
            "no longer being written" in a.get("text", "") for a in tg.callback_answers.values()
        )
    )


async def test_slash_cancel_stops_a_draft_being_written(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    app = await nexus_factory(**claude(ai))
    gate = ai.hold()
    _, progress = await drafting_reply(tg, "never mind this one")
    await tg.wait_for(lambda: ai.holding == 1)
    await tg.user_sends(OWNER, "/cancel")
    await tg.wait_message(OWNER, lambda m: "Stopped 1 draft" in m.text)
    edited = next(m for m in tg.messages(OWNER) if m.message_id == progress.message_id)
    assert "cancelled" in edited.text and edited.buttons() == []
    gate.set()
    await tg.wait_for(lambda: ai.holding == 0)
    assert await count(app, Post) == 0


async def test_regenerating_runs_in_the_background_and_can_be_cancelled(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    app = await nexus_factory(**claude(ai))
    ai.reply_tool({"text": "The first version.", "hashtags": []})
    sent = await tg.user_sends(OWNER, "announce the webinar")
    preview = await tg.wait_message(
        OWNER, lambda m: is_preview(m) and m.message_id > sent["message_id"], timeout=10
    )
    await tap(tg, preview, "Regenerate")
    choices = await tg.wait_message(OWNER, lambda m: "How should I rewrite" in m.text)
    gate = ai.hold()
    await tap(tg, choices, "Shorter")
    rewriting = await tg.wait_message(
        OWNER, lambda m: "Rewriting draft" in m.text and is_cancellable(m)
    )
    await tg.wait_for(lambda: ai.holding == 1)
    await tap(tg, rewriting, "Cancel")
    back = await tg.wait_message(
        OWNER, lambda m: m.message_id == rewriting.message_id and is_preview(m)
    )
    assert "The first version." in back.text
    gate.set()
    await tg.wait_for(lambda: ai.holding == 0)
    async with app.sessions() as session:
        post = await session.scalar(select(Post))
        assert post is not None and post.text == "The first version."


def is_cancellable(message: FakeMessage) -> bool:
    return any("Cancel" in label for label, _ in message.buttons())


async def test_shutdown_mid_draft_is_reported_at_the_next_start(
    tg: FakeTelegram,
    ai: FakeAnthropic,
    make_settings: Callable[..., Settings],
    clock: FakeClock,
) -> None:
    settings = make_settings(**claude(ai))
    ai.hold()  # never released: the shutdown has to interrupt it
    async with running(settings, clock) as app:
        app.drafting.grace = 0.2
        sent, progress = await drafting_reply(tg, "the launch of the green edition")
        await tg.wait_for(lambda: ai.holding == 1)
    told = next(m for m in tg.messages(OWNER) if m.message_id == progress.message_id)
    assert "interrupted" in told.text and told.buttons() == []
    async with running(settings, clock) as app:
        assert await count(app, Post) == 0
        reminder = await tg.wait_message(
            OWNER, lambda m: "was interrupted" in m.text and "green edition" in m.text
        )
        assert await count(app, DraftJob) == 0  # told once, not at every start
        await tap(tg, reminder, "Retry")
        preview = await tg.wait_message(
            OWNER, lambda m: is_preview(m) and "green edition" in m.text, timeout=10
        )
        assert preview.message_id == reminder.message_id
        assert sent["message_id"] < preview.message_id
        assert await count(app, Post) == 1


async def test_a_crash_mid_draft_is_reported_at_the_next_start(
    tg: FakeTelegram,
    ai: FakeAnthropic,
    make_settings: Callable[..., Settings],
    clock: FakeClock,
) -> None:
    """`nexus run` as a real process, SIGKILLed while Claude writes: the job row was committed
    before the AI was asked, so the next start tells the owner."""
    settings = make_settings(**claude(ai))
    ai.hold()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env.update(
        TELEGRAM_BOT_TOKEN=tg.token,
        TELEGRAM_API_SERVER=tg.base_url,
        NEXUS_OWNER_IDS=str(OWNER),
        NEXUS_DATA_DIR=str(settings.data_dir),
        NEXUS_DATABASE_URL=settings.resolved_database_url,
        NEXUS_HTTP_PORT="0",
        **claude(ai),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await tg.wait_for(lambda: any(c.method == "getUpdates" for c in tg.calls), timeout=120)
        await drafting_reply(tg, "the autumn sale", timeout=30)  # a cold process on a busy box
        await tg.wait_for(lambda: ai.holding == 1, timeout=30)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    async with running(settings, clock):
        reminder = await tg.wait_message(
            OWNER, lambda m: "was interrupted" in m.text and "autumn sale" in m.text, timeout=15
        )
        assert button(reminder, "Retry")


async def test_shutdown_waits_for_a_draft_about_to_finish(
    tg: FakeTelegram,
    ai: FakeAnthropic,
    make_settings: Callable[..., Settings],
    clock: FakeClock,
) -> None:
    settings = make_settings(**claude(ai))
    gate = ai.hold()
    async with running(settings, clock) as app:
        await drafting_reply(tg, "the spring sale")
        await tg.wait_for(lambda: ai.holding == 1)
        asyncio.get_running_loop().call_soon(gate.set)  # Claude answers during the grace period
    preview = await tg.wait_message(OWNER, lambda m: is_preview(m) and "spring sale" in m.text)
    assert "interrupted" not in preview.text
    async with running(settings, clock) as app:
        assert await count(app, Post) == 1
        assert await count(app, DraftJob) == 0
        assert not [m for m in tg.messages(OWNER) if "was interrupted" in m.text]


async def test_an_interrupted_job_row_is_marked(
    tg: FakeTelegram,
    ai: FakeAnthropic,
    make_settings: Callable[..., Settings],
    clock: FakeClock,
) -> None:
    """The marker a shutdown leaves is in the database (what the next start reads)."""
    settings = make_settings(**claude(ai))
    ai.hold()
    async with running(settings, clock) as app:
        app.drafting.grace = 0.1
        await drafting_reply(tg, "the winter sale")
        await tg.wait_for(lambda: ai.holding == 1)
        sessions = app.sessions
        await app.dp.stop_polling()
        await app.drafting.shutdown(app.bot)
        async with sessions() as session:
            job = await session.scalar(select(DraftJob))
            assert job is not None
            assert job.status == DraftJobStatus.INTERRUPTED and job.brief == "the winter sale"
