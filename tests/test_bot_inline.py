"""Synchronous filters run on the event loop (`bot.inline`): aiogram would send each one, every
magic filter such as ``F.text`` included, through a thread, which made a plain message cost ~34
trips to the default executor before its handler ran."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from aiogram import Bot, Dispatcher, F, Router
from aiogram.types import Chat, Message, Update, User

from bot.app import Nexus
from bot.inline import run_filters_inline


def _text_update(text: str) -> Update:
    return Update(
        update_id=1,
        message=Message(
            message_id=1,
            date=datetime(2026, 12, 3, tzinfo=UTC),
            chat=Chat(id=5, type="private"),
            from_user=User(id=5, is_bot=False, first_name="Owner"),
            text=text,
        ),
    )


async def test_a_sync_filter_runs_on_the_event_loop_and_still_decides() -> None:
    threads: list[int] = []
    handled: list[str] = []

    def noted(message: Message) -> bool:
        threads.append(threading.get_ident())
        return True

    async def on_text(message: Message) -> None:
        handled.append(message.text or "")

    router = Router()
    router.message.register(on_text, noted, F.text.startswith("hi"))
    dp = Dispatcher()
    dp.include_router(router)
    assert run_filters_inline(dp) == 2
    bot = Bot("42:TEST")
    try:
        await dp.feed_update(bot, _text_update("hi there"))
        await dp.feed_update(bot, _text_update("bye"))
    finally:
        await bot.session.close()
    assert handled == ["hi there"]
    assert threads == [threading.get_ident()] * 2


async def test_no_filter_of_nexus_runs_in_a_thread(nexus: Nexus) -> None:
    filters = [
        check
        for router in nexus.dp.chain_tail
        for observer in router.observers.values()
        for handler in observer.handlers
        for check in handler.filters or ()
    ]
    assert filters and all(check.awaitable for check in filters)
