"""Views that tell the truth about a post on its way: the real app against the loopback
Telegram server, with a send held unanswered (being sent) or a claim left by a dead incarnation
of the process (unknown). Every tap is answered, with text, and nothing is sent twice."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

from sqlalchemy import select, update

from bot.app import Nexus
from storage.models import Post, PostStatus, Publication, PublicationStatus
from tests.clock import FakeClock
from tests.conftest import CHANNEL, OWNER
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_e2e_drafts import button, preview_for, tap
from tests.test_e2e_scheduling import schedule_with

StartNexus = Callable[..., Awaitable[Nexus]]


async def answer_to(tg: FakeTelegram, message: FakeMessage, label: str) -> str:
    """Tap a button and read the tap's answer."""
    return await answer_tap(tg, message.message_id, button(message, label))


async def answer_tap(tg: FakeTelegram, message_id: int, data: str) -> str:
    """Tap a button the owner may still see on a view that is out of date; read the answer."""
    query_id = await tg.user_taps(OWNER, message_id, data, force=True)
    await tg.wait_for(lambda: query_id in tg.callback_answers)
    return str(tg.callback_answers[query_id].get("text", ""))


async def latest(tg: FakeTelegram, message_id: int) -> FakeMessage:
    (message,) = [m for m in tg.messages(OWNER) if m.message_id == message_id]
    return message


async def post_status(app: Nexus, post_id: int) -> str:
    async with app.sessions() as session:
        return str(await session.scalar(select(Post.status).where(Post.id == post_id)))


async def test_a_post_being_sent_says_so_everywhere_and_goes_out_once(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    stale = await schedule_with(tg, await preview_for(tg, "launch day"), "In 1 hour")
    release = tg.hold("sendMessage", CHANNEL)
    clock.advance(hours=1)
    sending = asyncio.create_task(nexus.dispatcher.run_once())
    await tg.wait_for(lambda: bool(tg.calls_to("sendMessage", CHANNEL)))

    await tg.user_sends(OWNER, "/queue")
    queue = await tg.wait_message(OWNER, lambda m: "Upcoming posts" in m.text)
    assert [label for label, _ in queue.buttons()][0].startswith("📤 sending now · #1")

    old_buttons = {label: button(stale, label) for label in ("Publish now", "Cancel", "Reschedule")}
    for label, data in old_buttons.items():
        said = await answer_tap(tg, stale.message_id, data)
        assert said == "📤 Post #1 is being sent to Telegram @nexus_channel right now.", label
    card = await tg.wait_message(  # the card now tells the truth too
        OWNER, lambda m: m.message_id == stale.message_id and "being sent to" in m.text
    )
    labels = [label for label, _ in card.buttons()]
    assert not any(x in " ".join(labels) for x in ("Publish now", "Cancel", "Reschedule"))
    assert await post_status(nexus, 1) == PostStatus.SCHEDULED  # never a draft while sending

    release.set()
    await sending  # (the runtime's own poll may have been the pass that sent it)
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    assert len(tg.calls_to("sendMessage", CHANNEL)) == 1


async def test_after_a_restart_the_owner_is_asked_at_once_and_every_answer_counts_once(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    app = await nexus_factory(NEXUS_WORKER_NAME="box")
    approved = await preview_for(tg, "approved then crashed")
    cards = [
        await schedule_with(tg, await preview_for(tg, f"scheduled {i}"), "In 1 hour")
        for i in (2, 3)
    ]
    release = tg.hold("sendMessage", CHANNEL)
    await tap(tg, approved, "Approve")
    await tg.wait_for(lambda: bool(tg.calls_to("sendMessage", CHANNEL)))
    # the process dies mid-send: its claims stay behind, named after its incarnation
    async with app.sessions() as session:
        await session.execute(
            update(Publication).values(
                status=PublicationStatus.PUBLISHING,
                claimed_at=clock.now(),
                claimed_by="box#dead",
                attempts=1,
            )
        )
        await session.commit()
    release.set()  # (the request in flight is dropped with the process)
    tg.hold("sendMessage", CHANNEL)
    await app.dp.stop_polling()
    await app.aclose()
    sends_before = len(tg.calls_to("sendMessage", CHANNEL))

    clock.advance(seconds=20)  # back well inside the lease: its own claims are dead at once
    app = await nexus_factory(NEXUS_WORKER_NAME="box")
    await tg.wait_for(lambda: sum("Is it there" in m.text for m in tg.messages(OWNER)) == 3)
    asks = [m for m in tg.messages(OWNER) if "Is it there" in m.text]
    preview = await latest(tg, approved.message_id)
    assert "Publishing" not in preview.text and "answer the question below" in preview.text

    await tg.user_sends(OWNER, "/queue")
    queue = await tg.wait_message(OWNER, lambda m: "Upcoming posts" in m.text)
    assert all("❓ your answer" in label for label, _ in queue.buttons())
    publish_now, cancel = button(cards[0], "Publish now"), button(cards[1], "Cancel")
    said = await answer_tap(tg, cards[0].message_id, publish_now)
    assert "waiting for your answer about Telegram @nexus_channel" in said
    await tg.wait_message(
        OWNER, lambda m: m.message_id == cards[0].message_id and "waiting for your" in m.text
    )
    assert "waiting for your answer" in await answer_tap(tg, cards[1].message_id, cancel)

    ask = {int(re.search(r"#(\d+)", m.text)[1]): m for m in asks}
    tg._holds.clear()
    assert await answer_to(tg, ask[1], "Yes") == "Noted: post #1 is on Telegram @nexus_channel."
    assert await answer_to(tg, ask[1], "Yes") == "That question has already been answered."
    first = await answer_to(tg, ask[2], "Send again")
    again = await answer_to(tg, ask[2], "Send again")
    assert (first, again) == (
        "Sending post #2 to Telegram @nexus_channel again.",
        "That question has already been answered.",
    )
    assert "Dropped post #3" in await answer_to(tg, ask[3], "Drop")
    await app.dispatcher.run_once()
    await tg.wait_for(lambda: len(tg.calls_to("sendMessage", CHANNEL)) == sends_before + 1)
    await app.dispatcher.run_once()
    assert len(tg.calls_to("sendMessage", CHANNEL)) == sends_before + 1  # sent once
    assert [await post_status(app, i) for i in (1, 2, 3)] == [
        PostStatus.PUBLISHED,
        PostStatus.PUBLISHED,
        PostStatus.FAILED,
    ]
