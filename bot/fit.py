"""The last line before Telegram: no text the bot sends is over Telegram's limits.

Views clip long fields themselves (`ui.fit`) and offer them whole; whatever still comes out too
long (a view nobody sized yet, a list that grew) is cut here to 4,096 visible characters (1,024
for a caption, 200 for a tap's answer), tags balanced, ending in "…", with a warning in the log
naming the method. The owner sees a clipped view instead of Telegram refusing it ("message is
too long") and nothing at all.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageText,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

from publishers.text import utf16_len
from ui.fit import CAPTION_LIMIT, TEXT_LIMIT, clip, fit_html

log = logging.getLogger(__name__)

#: A tap's answer (a toast or an alert) is plain text of at most 200 characters.
ANSWER_LIMIT = 200
_TEXT_METHODS = (SendMessage, EditMessageText)
_CAPTION_METHODS = (SendPhoto, SendDocument, EditMessageCaption)


class FitToLimits(BaseRequestMiddleware):
    """Register once per bot session: ``bot.session.middleware(FitToLimits())``."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        if isinstance(method, _TEXT_METHODS) and method.text:
            method.text = _fit(bot, method, method.text, TEXT_LIMIT)
        elif isinstance(method, _CAPTION_METHODS) and method.caption:
            method.caption = _fit(bot, method, method.caption, CAPTION_LIMIT)
        elif isinstance(method, AnswerCallbackQuery) and method.text:
            method.text = clip(method.text, ANSWER_LIMIT)  # plain text, always
        return await make_request(bot, method)


def _fit(bot: Bot, method: TelegramMethod[Any], text: str, limit: int) -> str:
    if len(text) <= limit // 2:  # a code point is at most 2 units: nothing to measure
        return text
    mode = getattr(method, "parse_mode", None)
    if isinstance(mode, Default):
        mode = bot.default[mode.name] if bot.default else None
    html = str(getattr(mode, "value", mode)).lower() == "html"  # (ParseMode is an Enum)
    fitted = fit_html(text, limit) if html else clip(text, limit)
    if fitted != text:
        log.warning(
            "%s: a text of %d units cut to Telegram's %d (a view to size)",
            type(method).__name__,
            utf16_len(text),
            limit,
        )
    return fitted
