"""Start-up without network: Telegram unreachable at start is one log line per attempt and a
retry with growing waits (a recorded sleep: nothing waits for real); the bot then works. A
refused token ends the start at once with the clear message."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

import pytest

from bot.app import build_app, prepare_database
from bot.startup import TokenRefused, reach_telegram
from config.settings import Settings
from tests.clock import FakeClock
from tests.conftest import CHANNEL, OWNER
from tests.fakes.telegram import FakeTelegram


def unused_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_no_network_at_start_is_retried_then_the_bot_works(
    make_settings: Callable[..., Settings],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = unused_port()
    settings = make_settings(TELEGRAM_API_SERVER=f"http://127.0.0.1:{port}")
    late = FakeTelegram()  # Telegram, once the network is back
    late.add_user(OWNER, "Owner", "en")
    late.add_channel(CHANNEL.lstrip("@"))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 5:
            await late.start(port)

    await prepare_database(settings)
    app = build_app(settings, clock=clock)
    try:
        with caplog.at_level(logging.WARNING, logger="nexus"):
            me = await reach_telegram(app.bot, settings.telegram_api_server, sleep=sleep)
        assert me.username == late.bot_username
        assert waits == [5, 10, 20, 40, 60]  # growing, capped at a minute
        lines = [r.getMessage() for r in caplog.records if r.name == "nexus"]
        assert len(lines) == 5
        assert all(f"cannot reach Telegram at 127.0.0.1:{port} (" in line for line in lines)
        assert lines[0].endswith("; retrying in 5 s") and lines[-1].endswith("; retrying in 60 s")
        assert all("\n" not in line and late.token not in line for line in lines)

        polling = asyncio.create_task(app.start_polling())
        sent = await late.user_sends(OWNER, "/help")
        await late.wait_message(OWNER, lambda m: m.message_id > sent["message_id"])
        await app.dp.stop_polling()
        await asyncio.wait_for(polling, 10)
    finally:
        await app.aclose()
        await late.close()


async def test_a_refused_token_stops_the_start_at_once(
    tg: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(TELEGRAM_BOT_TOKEN="999999:NOT-THE-TOKEN")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    await prepare_database(settings)
    app = build_app(settings)
    try:
        with pytest.raises(TokenRefused) as refused:
            await reach_telegram(app.bot, settings.telegram_api_server, sleep=sleep)
    finally:
        await app.aclose()
    assert waits == []  # no retry: waiting cannot fix a wrong token
    message = str(refused.value)  # `nexus run` prints it after "Nexus cannot start: ", exit 2
    assert message.startswith("Telegram at 127.0.0.1:") and "refused the bot token" in message
    assert "TELEGRAM_BOT_TOKEN" in message and "NOT-THE-TOKEN" not in message
