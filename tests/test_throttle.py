"""TelegramThrottle through the real boundary: an aiogram Bot with an AiohttpSession talking to the
loopback Telegram server, the throttle registered as a session middleware.

Time is virtual. `VirtualClock` is a small discrete-event clock: `sleep` parks the caller on a
timer, and a driver task moves time to the earliest timer only once the system has settled (no
HTTP request in flight and nothing else ran during a few loop turns). Concurrent sleepers thus
wake at their own virtual times and the tests never really sleep. A `Recorder` middleware,
registered after the throttle, notes the virtual time at which each request is let through.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import SendMediaGroup, SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto

from bot.throttle import TelegramThrottle, request_cost
from publishers.telegram_limits import (
    FloodWait,
    SlidingWindow,
    TelegramLimits,
    TokenBucket,
    chat_key,
)
from tests.fakes.telegram import FakeTelegram

OWNER = 1001
FRIEND = 1002
CHANNEL = "@nexus_channel"
EPS = 1e-9


# ---------------------------------------------------------------- virtual time
class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[tuple[str, float]] = []  # (task name, seconds)
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._busy = 0
        self._activity = 0
        self._wake = asyncio.Event()

    def monotonic(self) -> float:
        self._activity += 1
        return self.now

    async def sleep(self, seconds: float) -> None:
        task = asyncio.current_task()
        self.sleeps.append((task.get_name() if task else "?", seconds))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + seconds, next(self._seq), future))
        self._poke()
        await future

    def waits(self, task_name: str | None = None) -> list[float]:
        return [s for name, s in self.sleeps if task_name is None or name == task_name]

    def _poke(self) -> None:
        self._activity += 1
        self._wake.set()

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """Time must not move while a request is on the wire."""
        self._busy += 1
        self._poke()
        try:
            yield
        finally:
            self._busy -= 1
            self._poke()

    async def drive(self) -> None:
        while True:
            if self._busy or not self._timers:
                self._wake.clear()
                await self._wake.wait()
                continue
            seen = self._activity
            for _ in range(10):  # let every runnable task run until it blocks
                await asyncio.sleep(0)
            if self._busy or seen != self._activity:
                continue
            self.now = max(self.now, self._timers[0][0])
            while self._timers and self._timers[0][0] <= self.now:
                future = heapq.heappop(self._timers)[2]
                if not future.done():
                    future.set_result(None)


@dataclass
class Sent:
    at: float
    method: str
    chat: Any
    task: str


class Recorder(BaseRequestMiddleware):
    """Innermost middleware: when each request really leaves, in virtual time."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.sent: list[Sent] = []

    async def __call__(self, make_request: Any, bot: Bot, method: Any) -> Any:
        task = asyncio.current_task()
        name = task.get_name() if task else "?"
        chat = getattr(method, "chat_id", None)
        self.sent.append(Sent(self.clock.now, method.__api_method__, chat, name))
        with self.clock.busy():
            return await make_request(bot, method)

    def times(self, method: str = "sendMessage", chat: Any = None) -> list[float]:
        return [s.at for s in self.sent if s.method == method and (chat is None or s.chat == chat)]


def assert_window(times: list[float], limit: int, window: float) -> None:
    """No `window`-second span holds more than `limit` of `times`."""
    times = sorted(times)
    for first, last in zip(times, times[limit:], strict=False):
        assert last - first >= window - EPS, (first, last, times)


async def close_session(bot: Bot) -> None:
    """`AiohttpSession.close` sleeps 250 ms for TLS connections to wind down; loopback HTTP has
    none, so close the aiohttp session first (aiogram's close is then a no-op)."""
    client = bot.session._session  # type: ignore[attr-defined]
    if client is not None:
        await client.close()
    await bot.session.close()


# ---------------------------------------------------------------- fixtures
@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_user(OWNER, "Owner")
        server.add_user(FRIEND, "Friend")
        server.add_channel("nexus_channel")
        yield server


@pytest.fixture
async def clock() -> AsyncIterator[VirtualClock]:
    clock = VirtualClock()
    driver = asyncio.create_task(clock.drive())
    yield clock
    driver.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await driver


@dataclass
class Rig:
    bot: Bot
    throttle: TelegramThrottle
    rec: Recorder


@pytest.fixture
async def make_rig(fake: FakeTelegram, clock: VirtualClock) -> AsyncIterator[Callable[..., Rig]]:
    bots: list[Bot] = []

    def make(**options: Any) -> Rig:
        bot = Bot(
            fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
        )
        throttle = TelegramThrottle(clock=clock, **options)
        rec = Recorder(clock)
        bot.session.middleware(throttle)
        bot.session.middleware(rec)
        bots.append(bot)
        return Rig(bot, throttle, rec)

    yield make
    for bot in bots:
        await close_session(bot)


@pytest.fixture
def rig(make_rig: Callable[..., Rig]) -> Rig:
    return make_rig(private_burst=3)  # a small burst keeps the arithmetic in these tests short


async def gather_named(**jobs: Coroutine[Any, Any, Any]) -> list[Any]:
    tasks = [asyncio.create_task(job, name=name) for name, job in jobs.items()]
    return await asyncio.gather(*tasks)


# ---------------------------------------------------------------- per-chat limits
async def test_channel_gets_20_per_minute_and_the_first_20_go_at_once(
    rig: Rig, fake: FakeTelegram, clock: VirtualClock
) -> None:
    for i in range(25):
        await rig.bot.send_message(CHANNEL, f"post {i}")

    times = rig.rec.times()
    assert times[:20] == [0.0] * 20
    assert times[20:] == pytest.approx([60.0] * 5)
    assert_window(times, 20, 60.0)
    assert clock.waits() == pytest.approx([60.0])  # one wait, for the 21st
    assert [m.text for m in fake.messages(CHANNEL)] == [f"post {i}" for i in range(25)]


async def test_private_chat_bursts_three_then_one_per_second(rig: Rig, clock: VirtualClock) -> None:
    for i in range(5):
        await rig.bot.send_message(OWNER, f"reply {i}")

    assert rig.rec.times() == pytest.approx([0, 0, 0, 1, 2])
    assert clock.waits() == pytest.approx([1, 1])


async def test_a_waiting_chat_does_not_hold_up_another(rig: Rig, clock: VirtualClock) -> None:
    async def burst(chat: int | str, n: int) -> None:
        for i in range(n):
            await rig.bot.send_message(chat, f"{chat} {i}")

    await gather_named(channel=burst(CHANNEL, 25), owner=burst(OWNER, 5), friend=burst(FRIEND, 5))

    channel = rig.rec.times(chat=CHANNEL)
    assert channel[:20] == [0.0] * 20 and channel[20:] == pytest.approx([60.0] * 5)
    for chat in (OWNER, FRIEND):
        assert rig.rec.times(chat=chat) == pytest.approx([0, 0, 0, 1, 2])
    # the private chats only ever waited for their own 1/s, never for the channel's minute
    assert clock.waits("owner") == pytest.approx([1, 1])
    assert clock.waits("friend") == pytest.approx([1, 1])
    assert clock.waits("channel") == pytest.approx([60.0])
    # and they really interleaved on the wire
    order = [s.task for s in rig.rec.sent]
    assert order.index("owner") < max(i for i, t in enumerate(order) if t == "channel")


async def test_media_group_counts_each_item(rig: Rig, clock: VirtualClock) -> None:
    album: list[Any] = [InputMediaPhoto(media=f"https://example.com/{i}.jpg") for i in range(10)]
    await rig.bot.send_media_group(CHANNEL, album)
    await rig.bot.send_media_group(CHANNEL, album)
    await rig.bot.send_message(CHANNEL, "after two albums")

    assert rig.rec.times("sendMediaGroup") == [0.0, 0.0]
    assert rig.rec.times("sendMessage") == pytest.approx([60.0])


async def test_many_tasks_stay_under_the_global_limit(
    rig: Rig, fake: FakeTelegram, clock: VirtualClock
) -> None:
    chats = [2000 + i for i in range(40)]
    for chat in chats:
        fake.add_user(chat, f"User {chat}")

    await asyncio.gather(*(rig.bot.send_message(c, f"hello {n}") for c in chats for n in range(3)))

    times = rig.rec.times()
    assert len(times) == 120
    assert_window(times, 30, 1.0)
    assert max(times) == pytest.approx(3.0)  # 120 at 30/s: slots 0, 1, 2, 3 and no slower
    assert times.count(0.0) == 30
    assert all(s >= 0 for s in clock.waits())


# ---------------------------------------------------------------- 429
async def test_retry_after_is_waited_once_then_the_message_goes_once(
    rig: Rig, fake: FakeTelegram, clock: VirtualClock
) -> None:
    fake.fail_next("sendMessage", error_code=429, description="Too Many Requests", retry_after=7)

    message = await rig.bot.send_message(CHANNEL, "flooded")

    assert message.text == "flooded"
    assert clock.waits() == [7.0]
    assert rig.rec.times() == [0.0, 7.0]
    assert [m.text for m in fake.messages(CHANNEL)] == ["flooded"]


async def test_retry_after_pushes_back_that_chat_only(
    rig: Rig, fake: FakeTelegram, clock: VirtualClock
) -> None:
    fake.fail_next("sendMessage", error_code=429, description="Too Many Requests", retry_after=7)

    await gather_named(
        first=rig.bot.send_message(CHANNEL, "first"),
        second=rig.bot.send_message(CHANNEL, "second"),
        owner=rig.bot.send_message(OWNER, "unaffected"),
    )

    assert rig.rec.times(chat=CHANNEL) == [0.0, 7.0, 7.0]  # second waited for the flood too
    assert rig.rec.times(chat=OWNER) == [0.0]
    assert [m.text for m in fake.messages(CHANNEL)] == ["first", "second"]


async def test_long_retry_after_is_raised_and_the_chat_then_fails_fast(
    rig: Rig, fake: FakeTelegram, clock: VirtualClock
) -> None:
    fake.fail_next("sendMessage", error_code=429, description="Too Many Requests", retry_after=600)

    with pytest.raises(TelegramRetryAfter) as raised:
        await rig.bot.send_message(CHANNEL, "too soon")
    assert raised.value.retry_after == 600
    assert clock.waits() == []

    calls = len(fake.calls)
    with pytest.raises(TelegramRetryAfter) as again:
        await rig.bot.send_message(CHANNEL, "still too soon")
    assert again.value.retry_after == 600
    assert len(fake.calls) == calls  # Telegram was not asked again during the ban
    await rig.bot.send_message(OWNER, "other chats go on")
    assert fake.messages(CHANNEL) == [] and len(fake.messages(OWNER)) == 1


async def test_retries_are_bounded(rig: Rig, fake: FakeTelegram, clock: VirtualClock) -> None:
    fake.fail_next(
        "sendMessage", error_code=429, description="Too Many Requests", retry_after=5, times=4
    )

    with pytest.raises(TelegramRetryAfter):
        await rig.bot.send_message(CHANNEL, "never")

    assert clock.waits() == [5.0, 5.0, 5.0]
    assert len(rig.rec.times()) == 4  # the first try and three retries


# ---------------------------------------------------------------- what is not counted
async def test_uncounted_methods_are_never_delayed(
    make_rig: Callable[..., Rig], fake: FakeTelegram, clock: VirtualClock
) -> None:
    rig = make_rig(global_limit=3)  # three sends fill both the chat burst and the global window
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="ok", callback_data="ok")]]
    )
    sent = [await rig.bot.send_message(OWNER, f"m{i}", reply_markup=keyboard) for i in range(3)]
    query_id = await fake.user_taps(OWNER, sent[0].message_id, "ok")

    updates = await rig.bot.get_updates(timeout=0)
    await rig.bot.answer_callback_query(query_id, text="done")
    await rig.bot.send_chat_action(OWNER, ChatAction.TYPING)
    await rig.bot.get_me()
    await rig.bot.delete_message(OWNER, sent[2].message_id)

    assert [u.callback_query.data for u in updates if u.callback_query] == ["ok"]
    assert clock.waits() == [] and clock.now == 0.0
    # while a counted send would have had to wait
    await rig.bot.send_message(OWNER, "m3")
    assert clock.waits() == pytest.approx([1.0])


# ---------------------------------------------------------------- memory and real time
async def test_idle_chats_are_forgotten(rig: Rig, fake: FakeTelegram, clock: VirtualClock) -> None:
    chats = [3000 + i for i in range(20)]
    for chat in chats:
        fake.add_user(chat, f"User {chat}")
    await asyncio.gather(*(rig.bot.send_message(c, "hi") for c in chats))
    await rig.bot.send_message(CHANNEL, "post")
    assert rig.throttle.tracked_chats == 21

    await clock.sleep(120)
    await rig.bot.send_message(OWNER, "later")

    assert rig.throttle.tracked_chats == 1


async def test_default_clock_is_real_loop_time(fake: FakeTelegram) -> None:
    bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
    bot.session.middleware(TelegramThrottle())
    try:
        await bot.send_message(OWNER, "real time")
    finally:
        await close_session(bot)
    assert len(fake.messages(OWNER)) == 1


# ---------------------------------------------------------------- pieces
def test_chat_keys_and_costs() -> None:
    assert chat_key(5) == 5 and chat_key("-1001") == -1001 and chat_key(" 42 ") == 42
    assert chat_key("@Nexus_Channel") == chat_key("nexus_channel") == "@nexus_channel"
    assert chat_key(None) is None
    photos: list[Any] = [InputMediaPhoto(media="https://example.com/a.jpg")] * 4
    assert request_cost(SendMediaGroup(chat_id=1, media=photos)) == 4
    assert request_cost(SendMessage(chat_id=1, text="x")) == 1


def test_limiters_alone() -> None:
    window = SlidingWindow(limit=2, window=10.0)
    for at in (0.0, 0.0):
        assert window.earliest(at, 1) == at
        window.commit(at, 1)
    assert window.earliest(1.0, 1) == 10.0
    assert not window.idle(9.0) and window.idle(10.0)

    bucket = TokenBucket(rate=1.0, burst=3)
    slots = []
    for _ in range(5):
        slot = bucket.earliest(0.0, 1)
        bucket.commit(slot, 1)
        slots.append(slot)
    assert slots == [0, 0, 0, 1, 2]
    assert bucket.idle(5.0) and not bucket.idle(4.9)


async def test_slot_for_senders_outside_aiogram(clock: VirtualClock) -> None:
    throttle = TelegramThrottle(clock=clock, private_burst=3)
    for _ in range(3):
        async with throttle.slot(OWNER):
            pass
    async with throttle.slot(OWNER):
        assert clock.now == 1.0
    throttle.flood_wait(CHANNEL, 300)
    with pytest.raises(FloodWait):
        async with throttle.slot(CHANNEL):
            pass


async def test_throttle_is_an_adapter_over_shared_limits(
    fake: FakeTelegram, clock: VirtualClock
) -> None:
    limits = TelegramLimits(clock=clock)
    throttle = TelegramThrottle(limits)
    assert throttle.limits is limits and throttle.clock is clock
    with pytest.raises(TypeError, match="group_limit"):
        TelegramThrottle(limits, group_limit=5)
    assert TelegramThrottle(group_limit=5).limits.group_limit == 5

    # a block reported to the limits by another sender holds the bot back too
    bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
    rec = Recorder(clock)
    bot.session.middleware(throttle)
    bot.session.middleware(rec)
    try:
        limits.flood_wait("nexus_channel", 5)
        await bot.send_message(CHANNEL, "after the flood")
    finally:
        await close_session(bot)
    assert rec.times() == [5.0]
    assert limits.tracked_chats == 1
