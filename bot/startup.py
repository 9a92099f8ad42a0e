"""Start-up without network: wait for Telegram instead of dying with a traceback.

A service restarted while the network is down (a reboot, a flapping link, DNS not ready yet)
should say in one line what is wrong and try again, with growing waits (5 s, 10 s, 20 s … capped
at 60 s), until Telegram answers or the process is stopped. Only a token Telegram refuses ends
the start at once (:class:`TokenRefused`): waiting cannot fix it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiogram import Bot
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import User

log = logging.getLogger("nexus")

FIRST_WAIT_S = 5.0
MAX_WAIT_S = 60.0


class TokenRefused(Exception):
    """Telegram answered, and refused the bot token; ``str()`` says what to do."""


def _host(api_server: str | None) -> str:
    return urlsplit(api_server).netloc if api_server else "api.telegram.org"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


async def reach_telegram(
    bot: Bot,
    api_server: str | None = None,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    first_wait: float = FIRST_WAIT_S,
    max_wait: float = MAX_WAIT_S,
) -> User:
    """``getMe``, retried while Telegram cannot be reached or answers 5xx/429; raises
    TokenRefused when the token is refused. ``api_server`` is TELEGRAM_API_SERVER, for the
    log line."""
    where = _host(api_server)
    wait = first_wait
    while True:
        try:
            return await bot.get_me()
        except TelegramUnauthorizedError as exc:
            raise TokenRefused(
                f"Telegram at {where} refused the bot token ({_one_line(exc.message)}). Check "
                "TELEGRAM_BOT_TOKEN: @BotFather shows your bot's current token."
            ) from exc
        except TelegramRetryAfter as exc:
            wait = max(wait, float(exc.retry_after))  # Telegram's own wait, even if longer
            reason = f"asked to wait {exc.retry_after} s"
        except (TelegramNetworkError, TelegramServerError) as exc:
            reason = _one_line(exc.message)
        log.warning("cannot reach Telegram at %s (%s); retrying in %g s", where, reason, wait)
        await sleep(wait)
        wait = min(wait * 2, max_wait)
