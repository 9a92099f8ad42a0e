"""Scheduling end to end: the real app against the loopback Telegram server, with a controllable
clock. The dispatcher is driven by `app.dispatcher.run_once()` (what the scheduler's jobs call),
so no test waits for real time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.app import Nexus
from scheduler.series import recycle_evergreen
from storage.models import Publication, PublicationStatus
from tests.clock import FakeClock
from tests.conftest import CHANNEL, OWNER
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_e2e_drafts import button, is_preview, preview_for, tap

StartNexus = Callable[..., Awaitable[Nexus]]


async def schedule_with(tg: FakeTelegram, preview: FakeMessage, pick: str) -> FakeMessage:
    await tap(tg, preview, "Schedule")
    menu = await tg.wait_message(
        OWNER, lambda m: m.message_id == preview.message_id and "When should" in m.text
    )
    await tap(tg, menu, pick)
    return await tg.wait_message(
        OWNER, lambda m: m.message_id == preview.message_id and "is scheduled" in m.text
    )


async def test_quick_pick_publishes_at_the_time_exactly_once(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    # the fake clock starts at Sun 22 Nov 2026 09:00 UTC; the owner's zone is UTC
    preview = await preview_for(tg, "weekly roundup")
    card = await schedule_with(tg, preview, "Tomorrow 09:00")
    assert "Mon 23 Nov 2026, 09:00 (UTC)" in card.text
    assert [label for label, _ in card.buttons()][0] == "▶️ Publish now"

    clock.advance(hours=23, minutes=59)
    await nexus.dispatcher.run_once()
    assert tg.messages(CHANNEL) == []

    clock.advance(minutes=1)
    await nexus.dispatcher.run_once()
    await nexus.dispatcher.run_once()
    assert len(tg.messages(CHANNEL)) == 1
    done = await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    assert done.message_id > card.message_id  # a new message, so the phone notifies


async def test_typed_times_in_the_owner_time_zone(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    await tg.user_sends(OWNER, "/timezone Berlin")
    await tg.wait_message(OWNER, lambda m: "Europe/Berlin" in m.text and "set" in m.text)

    preview = await preview_for(tg, "holiday sale")
    await tap(tg, preview, "Schedule")
    menu = await tg.wait_message(OWNER, lambda m: "When should" in m.text)
    await tap(tg, menu, "Other time")
    await tg.wait_message(OWNER, lambda m: "Send the time" in m.text)

    await tg.user_sends(OWNER, "sometime soonish")
    await tg.wait_message(OWNER, lambda m: "can't read" in m.text)
    await tg.user_sends(OWNER, "21.11.2026 10:00")  # yesterday
    await tg.wait_message(OWNER, lambda m: "already passed" in m.text)
    await tg.user_sends(OWNER, "25.12 10:00")
    card = await tg.wait_message(OWNER, lambda m: "is scheduled" in m.text)
    assert "Fri 25 Dec 2026, 10:00 (Europe/Berlin)" in card.text

    clock.current = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    await nexus.dispatcher.run_once()
    assert len(tg.messages(CHANNEL)) == 1


async def test_russian_time_words(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    tg.add_user(2002, "Владелец", "ru")
    await nexus_factory(NEXUS_OWNER_IDS=f"{OWNER},2002", NEXUS_TIMEZONE="Europe/Moscow")
    await tg.user_sends(2002, "анонс версии 2.3")
    preview = await tg.wait_message(2002, lambda m: "Черновик #" in m.text)
    await tg.user_taps(2002, preview.message_id, button(preview, "Запланировать"))
    menu = await tg.wait_message(2002, lambda m: "Когда опубликовать" in m.text)
    await tg.user_taps(2002, menu.message_id, button(menu, "Другое время"))
    await tg.wait_message(2002, lambda m: "Пришлите время" in m.text)
    await tg.user_sends(2002, "завтра в 9:00")
    card = await tg.wait_message(2002, lambda m: "запланирован" in m.text)
    assert "пн, 23 ноября 2026, 09:00 (Europe/Moscow)" in card.text


async def test_queue_cancel_and_publish_now(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    first = await preview_for(tg, "first idea")
    await schedule_with(tg, first, "Tomorrow 09:00")
    second = await preview_for(tg, "second idea")
    await schedule_with(tg, second, "In 1 hour")

    await tg.user_sends(OWNER, "/queue")
    queue = await tg.wait_message(OWNER, lambda m: "Upcoming posts" in m.text)
    labels = [label for label, _ in queue.buttons()]
    assert "(2)" in queue.text and labels[0].startswith("22.11 10:00 · #2")

    await tap(tg, queue, "#1")
    card = await tg.wait_message(
        OWNER, lambda m: m.message_id > queue.message_id and "#1" in m.text
    )
    await tap(tg, card, "Cancel")
    await tg.wait_message(OWNER, lambda m: "back in your drafts" in m.text)
    await tg.wait_message(OWNER, lambda m: is_preview(m) and "Draft #1" in m.text)

    await tg.user_sends(OWNER, "/queue")
    queue = await tg.wait_message(
        OWNER, lambda m: "Upcoming posts" in m.text and m.message_id > card.message_id
    )
    await tap(tg, queue, "#2")
    card = await tg.wait_message(
        OWNER, lambda m: m.message_id > queue.message_id and "#2" in m.text
    )
    await tap(tg, card, "Publish now")
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    await nexus.dispatcher.run_once()
    assert len(tg.messages(CHANNEL)) == 1
    await tg.user_sends(OWNER, "/queue")
    await tg.wait_message(OWNER, lambda m: "Nothing is scheduled" in m.text)


async def test_restart_publishes_recent_and_asks_about_overdue(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    app = await nexus_factory()
    soon = await preview_for(tg, "due soon")
    await schedule_with(tg, soon, "In 1 hour")
    later = await preview_for(tg, "due later")
    await schedule_with(tg, later, "Tomorrow 09:00")
    await app.dp.stop_polling()
    await app.aclose()  # Nexus goes down

    clock.advance(days=1, minutes=10)  # back 10 min after the second was due
    app = await nexus_factory()
    await app.dispatcher.run_once()
    posts = tg.messages(CHANNEL)
    assert len(posts) == 1 and "due later" in posts[0].text.lower()
    ask = await tg.wait_message(OWNER, lambda m: "was due" in m.text)
    assert "#1" in ask.text
    await tap(tg, ask, "Publish now")
    await tg.wait_for(lambda: len(tg.messages(CHANNEL)) == 2)


async def test_interrupted_publication_is_never_resent_silently(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    app = await nexus_factory()
    one = await preview_for(tg, "first announcement")
    await schedule_with(tg, one, "Tomorrow 09:00")
    two = await preview_for(tg, "second announcement")
    await schedule_with(tg, two, "Tomorrow 09:00")
    # a crash mid-send: both publications claimed, the process gone before any outcome
    async with app.sessions() as session:
        await session.execute(
            update(Publication).values(
                status=PublicationStatus.PUBLISHING, claimed_at=clock.now(), attempts=1
            )
        )
        await session.commit()
    await app.dp.stop_polling()
    await app.aclose()

    clock.advance(minutes=30)
    await nexus_factory()
    await tg.wait_for(lambda: len([m for m in tg.messages(OWNER) if "Is it there" in m.text]) == 2)
    asks = [m for m in tg.messages(OWNER) if "Is it there" in m.text]
    assert tg.messages(CHANNEL) == []
    assert all("Telegram @nexus_channel" in m.text for m in asks)  # the platform is named

    await tap(tg, asks[0], "Yes, it is there")
    await tap(tg, asks[1], "Send again")
    await tg.wait_for(lambda: len(tg.messages(CHANNEL)) == 1)
    await tg.wait_for(lambda: sum("is published" in m.text for m in tg.messages(OWNER)) == 2)
    assert "second announcement" in tg.messages(CHANNEL)[0].text.lower()


async def test_final_failure_alerts_with_retry_edit_drop(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    preview = await preview_for(tg, "flaky channel")
    tg.fail_next("sendMessage", error_code=500, description="Internal Server Error", times=5)
    await tap(tg, preview, "Approve")
    await tg.wait_for(lambda: any(c.params.get("chat_id") == CHANNEL for c in tg.calls))
    for _ in range(5):
        await nexus.dispatcher.run_once()
        clock.advance(hours=1)  # past any backoff
    alert = await tg.wait_message(OWNER, lambda m: "was not published" in m.text)
    assert "server error" in alert.text
    assert [label for label, _ in alert.buttons()] == ["🔁 Retry", "✏️ Edit", "🗑 Drop"]
    async with nexus.sessions() as session:
        pub = await session.scalar(select(Publication))
        assert pub is not None and pub.attempts == 5

    await tap(tg, alert, "Retry")
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    assert len(tg.messages(CHANNEL)) == 1


async def test_permanent_failure_stops_at_once_and_drop_ends_it(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    preview = await preview_for(tg, "to a missing channel")
    tg.fail_next("sendMessage", error_code=400, description="Bad Request: chat not found")
    await tap(tg, preview, "Approve")
    alert = await tg.wait_message(OWNER, lambda m: "was not published" in m.text)
    await tap(tg, alert, "Drop")
    await tg.wait_for(
        lambda: any("Dropped" in a.get("text", "") for a in tg.callback_answers.values())
    )
    clock.advance(hours=2)
    await nexus.dispatcher.run_once()
    assert tg.messages(CHANNEL) == []
    sends = [c for c in tg.calls if c.method == "sendMessage" and c.params["chat_id"] == CHANNEL]
    assert len(sends) == 1


async def test_retry_sequence_429_then_500_then_ok(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    preview = await preview_for(tg, "third time lucky")
    tg.fail_next(
        "sendMessage", error_code=429, description="Too Many Requests: retry after 3", retry_after=3
    )
    tg.fail_next("sendMessage", error_code=502, description="Bad Gateway")
    await tap(tg, preview, "Approve")
    await tg.wait_for(lambda: any(c.params.get("chat_id") == CHANNEL for c in tg.calls))
    await nexus.dispatcher.run_once()
    clock.advance(seconds=4)
    await nexus.dispatcher.run_once()  # the 502
    clock.advance(seconds=10)
    await nexus.dispatcher.run_once()
    assert tg.messages(CHANNEL) == []  # backoff after a 5xx is at least 24 s
    clock.advance(minutes=2)
    await nexus.dispatcher.run_once()
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    assert len(tg.messages(CHANNEL)) == 1
    async with nexus.sessions() as session:
        pub = await session.scalar(select(Publication))
        assert pub is not None and pub.attempts == 3


async def test_next_free_slot_skips_taken_slots(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    # no slots set: every day at 09:00 and 18:00; at 09:00 the next is 18:00 today
    one = await schedule_with(tg, await preview_for(tg, "one"), "Next free slot")
    assert "Sun 22 Nov 2026, 18:00" in one.text
    two = await schedule_with(tg, await preview_for(tg, "two"), "Next free slot")
    assert "Mon 23 Nov 2026, 09:00" in two.text


async def test_slots_command_feeds_next_free_slot(tg: FakeTelegram, nexus: Nexus) -> None:
    await tg.user_sends(OWNER, "/slots mon-fri 10:00 17:30")
    overview = await tg.wait_message(OWNER, lambda m: "Posting slots" in m.text)
    assert "@nexus_channel: Mon, Tue, Wed, Thu, Fri 10:00, 17:30" in overview.text
    await tg.user_sends(OWNER, "/slots every blue moon")
    await tg.wait_message(OWNER, lambda m: "can't read" in m.text and "as slots" in m.text)

    card = await schedule_with(tg, await preview_for(tg, "slot me"), "Next free slot")
    assert "Mon 23 Nov 2026, 10:00" in card.text  # Sunday has no slot


async def test_repeating_post_follows_its_rule_until_the_count(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    card = await schedule_with(tg, await preview_for(tg, "daily tip"), "Tomorrow 09:00")
    await tap(tg, card, "Repeat")
    await tg.wait_message(OWNER, lambda m: "How often" in m.text)
    await tg.user_sends(OWNER, "sometimes maybe")
    await tg.wait_message(OWNER, lambda m: "as a repeat rule" in m.text)
    await tg.user_sends(OWNER, "daily x3")
    done = await tg.wait_message(OWNER, lambda m: "repeats" in m.text and "First" in m.text)
    assert "Mon 23 Nov 2026, 09:00" in done.text

    for day in range(4):
        clock.current = datetime(2026, 11, 23 + day, 9, 0, tzinfo=UTC)
        await nexus.dispatcher.run_once()
        await nexus.dispatcher.run_once()
    posts = tg.messages(CHANNEL)
    assert len(posts) == 3  # three times, then the rule ends
    assert all("daily tip" in p.text.lower() for p in posts)
    await tg.user_sends(OWNER, "/queue")
    await tg.wait_message(OWNER, lambda m: "Nothing is scheduled" in m.text)


async def test_evergreen_post_returns_to_a_free_slot_after_the_gap(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    card = await schedule_with(tg, await preview_for(tg, "our evergreen guide"), "In 1 hour")
    await tap(tg, card, "Evergreen")
    await tg.wait_message(OWNER, lambda m: "Evergreen: on" in str(m.buttons()))
    clock.advance(hours=1)
    await nexus.dispatcher.run_once()
    assert len(tg.messages(CHANNEL)) == 1

    tz, gap = nexus.settings.tz, timedelta(days=nexus.settings.evergreen_gap_days)
    clock.advance(days=10)
    assert await recycle_evergreen(nexus.sessions, clock, tz=tz, min_gap=gap) is None
    clock.advance(days=25)
    copy = await recycle_evergreen(nexus.sessions, clock, tz=tz, min_gap=gap)
    assert copy is not None and copy.scheduled_at is not None
    assert await recycle_evergreen(nexus.sessions, clock, tz=tz, min_gap=gap) is None  # once
    clock.current = copy.scheduled_at
    await nexus.dispatcher.run_once()
    posts = tg.messages(CHANNEL)
    assert len(posts) == 2 and posts[0].text == posts[1].text
