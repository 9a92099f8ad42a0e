"""Synchronous filters run where they are, not in a thread.

aiogram runs every filter that is not a coroutine function through `asyncio.to_thread`, and a
magic filter (`F.text`, `~F.text.startswith("/")`, `F.act == …`) is one: a plain message met
~34 of them on its way to its handler, each a trip to the default executor and back (a thread
woken, the GIL handed over twice, the result posted through the loop's self-pipe) for an
attribute read that takes a microsecond. `run_filters_inline` wraps them in coroutines once the
routers are built, so aiogram awaits them directly (bench/bot_loop.py: ~15% more messages/s).
A filter that blocks must therefore be a coroutine function that does its own offloading.
Filters set on a whole observer (`router.callback_query.filter(…)`) are left as they are: ours
are `Filter` classes, which aiogram awaits anyway.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Router


def _inline(check: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def inline(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    return inline


def run_filters_inline(router: Router) -> int:
    """Make every synchronous filter of ``router`` and its sub-routers run on the event loop;
    how many there were."""
    wrapped = 0
    for each in router.chain_tail:
        for observer in each.observers.values():
            for handler in observer.handlers:
                for check in handler.filters or ():
                    if not check.awaitable:
                        # aiogram kept the parameters it passes from the original signature
                        check.callback = _inline(check.callback)
                        check.awaitable = True
                        wrapped += 1
    return wrapped
