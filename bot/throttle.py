"""The aiogram side of the one Telegram limiter.

The limits themselves (windows, buckets, per-chat state, 429 blocks) live in
:mod:`publishers.telegram_limits` as :class:`~publishers.telegram_limits.TelegramLimits`, which
has no aiogram in it, so the raw-httpx :class:`~publishers.telegram.TelegramPublisher` shares the
very same instance. :class:`TelegramThrottle` is a thin client-session request middleware over
it, so every request made through ``bot.session`` passes the shared limiter::

    limits = TelegramLimits()
    bot.session.middleware(TelegramThrottle(limits))
    TelegramPublisher(http, token=..., chat=..., limits=limits)

What only the adapter knows:

* which methods count (:data:`COUNTED_METHODS`): methods that send or edit content in a chat.
  Everything else (``getUpdates``, ``answerCallbackQuery``, ``sendChatAction``, ``getMe``,
  ``setMyCommands``, ``deleteMessage``, ...) passes straight through, never delayed;
* what a request costs (:func:`request_cost`): ``sendMediaGroup`` one unit per media item,
  ``forwardMessages``/``copyMessages`` one per message, anything else one;
* 429 handling: on :class:`~aiogram.exceptions.TelegramRetryAfter` the chat (or, for a request
  without a chat, every chat) is blocked in the shared limits until ``now + retry_after``, and the
  request is retried after the wait, at most ``max_retries`` times, with the chat held throughout
  so no other sender cuts in. A ``retry_after`` longer than the limits' ``max_retry_wait`` is
  re-raised at once so the caller decides; while such a long block lasts, further requests to
  that chat fail fast with a ``TelegramRetryAfter`` of the remaining time instead of hitting
  Telegram again.

The limiter pieces are re-exported here for older imports.
"""

from __future__ import annotations

import logging
import math
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods.base import Response, TelegramMethod, TelegramType

from publishers.telegram_limits import (
    ChatKey,
    FloodWait,
    LoopClock,
    SlidingWindow,
    TelegramLimits,
    ThrottleClock,
    TokenBucket,
    chat_key,
)

if TYPE_CHECKING:
    from aiogram import Bot

__all__ = [
    "COUNTED_METHODS",
    "ChatKey",
    "FloodWait",
    "LoopClock",
    "SlidingWindow",
    "TelegramLimits",
    "TelegramThrottle",
    "ThrottleClock",
    "TokenBucket",
    "chat_key",
    "request_cost",
]

log = logging.getLogger(__name__)

#: Bot API methods that put or change content in a chat, and so count against the limits.
COUNTED_METHODS = frozenset(
    """
    sendMessage sendPhoto sendMediaGroup sendDocument sendVideo sendAnimation sendAudio sendVoice
    sendVideoNote sendSticker sendLocation sendVenue sendContact sendPoll sendDice sendPaidMedia
    copyMessage copyMessages forwardMessage forwardMessages
    editMessageText editMessageCaption editMessageReplyMarkup editMessageMedia
    editMessageLiveLocation
    """.split()
)


def request_cost(method: TelegramMethod[Any]) -> int:
    """How many messages a request puts into the chat."""
    name = method.__api_method__
    if name == "sendMediaGroup":
        return max(len(getattr(method, "media", None) or ()), 1)
    if name in ("forwardMessages", "copyMessages"):
        return max(len(getattr(method, "message_ids", None) or ()), 1)
    return 1


class TelegramThrottle(BaseRequestMiddleware):
    """Keeps the bot's sends under Telegram's limits and obeys 429 ``retry_after``.

    Pass the process's shared :class:`TelegramLimits`; without one it makes its own from the
    keyword knobs (which are then the limits' knobs, and may not be combined with ``limits``).
    ``max_retries`` is the adapter's own. Register once per session:
    ``bot.session.middleware(TelegramThrottle(limits))``.
    """

    def __init__(
        self,
        limits: TelegramLimits | None = None,
        *,
        clock: ThrottleClock | None = None,
        global_limit: int | None = None,
        global_window: float | None = None,
        group_limit: int | None = None,
        group_window: float | None = None,
        private_rate: float | None = None,
        private_burst: int | None = None,
        max_retries: int = 3,
        max_retry_wait: float | None = None,
        sweep_every: float | None = None,
    ) -> None:
        knobs: dict[str, Any] = {
            name: value
            for name, value in {
                "clock": clock,
                "global_limit": global_limit,
                "global_window": global_window,
                "group_limit": group_limit,
                "group_window": group_window,
                "private_rate": private_rate,
                "private_burst": private_burst,
                "max_retry_wait": max_retry_wait,
                "sweep_every": sweep_every,
            }.items()
            if value is not None
        }
        if limits is not None and knobs:
            raise TypeError(
                f"TelegramThrottle got limits and {', '.join(sorted(knobs))}: "
                "set those on the TelegramLimits instead"
            )
        self.limits: TelegramLimits = limits if limits is not None else TelegramLimits(**knobs)
        self.max_retries = max_retries

    # ------------------------------------------------------------ aiogram entry point
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ not in COUNTED_METHODS:
            return await make_request(bot, method)
        chat = getattr(method, "chat_id", None)
        cost = request_cost(method)
        async with self.limits.hold(chat) as turn:
            attempt = 0
            while True:
                try:
                    await turn.wait(cost)
                except FloodWait as exc:
                    raise TelegramRetryAfter(
                        method=method,
                        message=f"Too Many Requests: chat is in flood wait ({exc})",
                        retry_after=math.ceil(exc.retry_after),
                    ) from None
                try:
                    return await make_request(bot, method)
                except TelegramRetryAfter as exc:
                    turn.flood_wait(exc.retry_after)
                    if exc.retry_after > self.limits.max_retry_wait or attempt >= self.max_retries:
                        raise
                    attempt += 1
                    log.warning(
                        "Telegram flood wait on %s in chat %s: retrying in %s s (attempt %d/%d)",
                        method.__api_method__,
                        turn.key,
                        exc.retry_after,
                        attempt,
                        self.max_retries,
                    )

    # ------------------------------------------------------------ delegated to the limits
    @property
    def clock(self) -> ThrottleClock:
        return self.limits.clock

    @property
    def tracked_chats(self) -> int:
        """How many chats' states the shared limits hold."""
        return self.limits.tracked_chats

    def slot(self, chat_id: Any, cost: int = 1) -> AbstractAsyncContextManager[None]:
        """Same as :meth:`TelegramLimits.slot` (kept for senders that only see the throttle)."""
        return self.limits.slot(chat_id, cost)

    def flood_wait(self, chat_id: Any, retry_after: float) -> None:
        """Same as :meth:`TelegramLimits.flood_wait`."""
        self.limits.flood_wait(chat_id, retry_after)
