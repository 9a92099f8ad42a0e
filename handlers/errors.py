"""The errors router: whatever a handler raises, the owner hears about it once.

The traceback is logged with a short incident reference, the tap (if the update was one) is
answered so it stops spinning, and the owner gets one short message with the same reference:
nothing was changed. That holds because `bot.middlewares.SessionMiddleware` rolls back whatever
the failed handler left uncommitted before this router runs (aiogram's `ErrorsMiddleware` is
the outermost middleware on updates).
"""

from __future__ import annotations

import contextlib
import logging
import secrets

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import Chat, ErrorEvent, User

from ui.texts import Texts, language_for

log = logging.getLogger(__name__)


def incident_id() -> str:
    """Six hex characters: short enough to read out, enough to find one line in a day's log."""
    return secrets.token_hex(3)


async def on_error(
    event: ErrorEvent,
    bot: Bot,
    event_from_user: User | None = None,
    event_chat: Chat | None = None,
    t: Texts | None = None,
) -> None:
    """Log with a reference, answer the tap, tell the chat (`t` is missing when the failure
    came before the session middleware)."""
    ref = incident_id()
    update = event.update
    log.error(
        "incident %s: update %s failed: %r",
        ref,
        update.update_id,
        event.exception,
        exc_info=event.exception,
    )
    if t is None:
        t = Texts(language_for(event_from_user.language_code if event_from_user else None))
    # a failed answer here (Telegram down, the tap already answered) must not hide the first one
    if update.callback_query is not None:
        with contextlib.suppress(TelegramAPIError):
            await update.callback_query.answer(t.plain("error.incident_tap", ref=ref))
    chat_id = event_chat.id if event_chat else event_from_user.id if event_from_user else None
    if chat_id is not None:
        with contextlib.suppress(TelegramAPIError):
            await bot.send_message(chat_id, t("error.incident", ref=ref))


def router() -> Router:
    r = Router(name="errors")
    r.errors.register(on_error, ExceptionTypeFilter(Exception))
    return r
