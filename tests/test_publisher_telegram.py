"""Contract tests: TelegramPublisher against the loopback Telegram server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.throttle import TelegramThrottle
from publishers.base import Publisher, PublishResult
from publishers.errors import (
    AuthExpired,
    OutcomeUnknown,
    Permanent,
    PublishError,
    RateLimited,
    TextTooLong,
    Transient,
)
from publishers.telegram import TelegramPublisher
from publishers.telegram_limits import TelegramLimits
from publishers.text import TELEGRAM_TEXT_LIMIT, utf16_len
from tests.fakes.telegram import FakeTelegram
from tests.test_throttle import Recorder, VirtualClock, assert_window, close_session

PRIVATE_ID = -1001234567890


@pytest.fixture
async def tg():
    async with FakeTelegram() as fake:
        fake.add_channel("nexus_channel", title="Nexus News")
        fake.add_channel(None, chat_id=PRIVATE_ID, title="Secret")
        fake.add_channel("no_rights", bot_is_admin=False)
        yield fake


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=2.0) as c:
        yield c


@pytest.fixture
def publisher(tg: FakeTelegram, client: httpx.AsyncClient):
    def make(chat: str = "@nexus_channel", token: str | None = None) -> TelegramPublisher:
        return TelegramPublisher(client, token=token or tg.token, chat=chat, base_url=tg.base_url)

    return make


def long_text(paragraphs: int = 12) -> str:
    return "\n\n".join(
        f"Paragraph {n}: " + " ".join(f"word{n}_{i} & <tag>." for i in range(60))
        for n in range(paragraphs)
    )


async def test_publishes_escaped_text_with_public_url(tg: FakeTelegram, publisher) -> None:
    pub = publisher()
    assert isinstance(pub, Publisher)
    assert (pub.platform, pub.name) == ("telegram", "@nexus_channel")
    result = await pub.publish('R&D <beta> & "quotes" https://example.com/?a=1&b=2')
    [message] = tg.messages("@nexus_channel")
    assert message.text == 'R&D <beta> & "quotes" https://example.com/?a=1&b=2'
    assert message.entities == []
    assert result == PublishResult(
        external_id=str(message.message_id),
        url=f"https://t.me/nexus_channel/{message.message_id}",
        part_ids=(str(message.message_id),),
    )
    assert tg.calls[-1].params["parse_mode"] == "HTML"


async def test_private_channel_url(tg: FakeTelegram, publisher) -> None:
    result = await publisher(str(PRIVATE_ID)).publish("hello")
    assert result.url == f"https://t.me/c/1234567890/{result.external_id}"
    assert await publisher(str(PRIVATE_ID)).verify() == f"Secret ({PRIVATE_ID})"


async def test_long_text_is_split_into_ordered_parts(tg: FakeTelegram, publisher) -> None:
    text = long_text()
    assert utf16_len(text) > 2 * TELEGRAM_TEXT_LIMIT
    result = await publisher().publish(text)
    messages = tg.messages("@nexus_channel")
    assert len(messages) >= 3
    assert result.part_ids == tuple(str(m.message_id) for m in messages)
    assert result.external_id == result.part_ids[0]
    assert all(utf16_len(m.text) <= TELEGRAM_TEXT_LIMIT for m in messages)
    assert " ".join(m.text for m in messages).split() == text.split()
    assert all(m.text.startswith("Paragraph") for m in messages)  # cut at paragraphs
    sends = [c.params for c in tg.calls if c.method == "sendMessage"]
    assert "link_preview_options" not in sends[0]
    assert all(p["link_preview_options"] == {"is_disabled": True} for p in sends[1:])


async def test_failed_part_reports_what_was_posted_and_retry_sends_the_rest(
    tg: FakeTelegram, publisher
) -> None:
    text = long_text()
    pub = publisher()
    tg.fail_next("sendMessage", error_code=500, description="Internal Server Error", after=2)
    with pytest.raises(Transient) as err:
        await pub.publish(text)
    posted = err.value.posted_part_ids
    assert len(posted) == 2
    assert "2 of" in err.value.reason and "already posted" in err.value.reason
    result = await pub.publish(text, already_posted=posted)
    assert result.part_ids[:2] == posted
    messages = tg.messages("@nexus_channel")
    assert tuple(str(m.message_id) for m in messages) == result.part_ids
    assert " ".join(m.text for m in messages).split() == text.split()  # nothing twice


async def test_rate_limit_maps_to_rate_limited(tg: FakeTelegram, publisher) -> None:
    tg.fail_next("sendMessage", error_code=429, description="Too Many Requests", retry_after=7)
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi")
    assert err.value.retry_after == 7
    assert "7 seconds" in err.value.reason
    assert err.value.posted_part_ids == ()


async def test_server_error_is_transient(tg: FakeTelegram, publisher) -> None:
    tg.fail_next("sendMessage", error_code=502, description="Bad Gateway")
    with pytest.raises(Transient):
        await publisher().publish("hi")
    assert (await publisher().publish("hi")).external_id  # the next attempt goes through


async def test_timeout_after_sending_is_unknown(
    tg: FakeTelegram, client: httpx.AsyncClient
) -> None:
    tg.delay("sendMessage", 1.0)
    async with httpx.AsyncClient(timeout=0.1) as impatient:
        pub = TelegramPublisher(
            impatient, token=tg.token, chat="@nexus_channel", base_url=tg.base_url
        )
        with pytest.raises(OutcomeUnknown) as err:  # the message may be in the channel
            await pub.publish("hi")
    assert isinstance(err.value.__cause__, httpx.TimeoutException)


async def test_unreachable_server_is_transient(client: httpx.AsyncClient) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pub = TelegramPublisher(client, token="1:X", chat="@c", base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(Transient, match="could not reach Telegram"):
        await pub.publish("hi")


async def test_chat_not_found_is_permanent_with_plain_reason(publisher) -> None:
    for action in ("publish", "verify"):
        pub = publisher("@nowhere")
        with pytest.raises(Permanent) as err:
            await (pub.publish("hi") if action == "publish" else pub.verify())
        assert "@nowhere" in err.value.reason and "administrator" in err.value.reason


async def test_not_admin_is_permanent(tg: FakeTelegram, publisher) -> None:
    with pytest.raises(Permanent) as err:
        await publisher("@no_rights").publish("hi")
    assert err.value.reason == (
        "the bot is not an admin of @no_rights: add it as an administrator with the right to post"
    )
    with pytest.raises(Permanent, match="not an admin of @no_rights"):
        await publisher("@no_rights").verify()


async def test_verify_describes_the_channel(publisher) -> None:
    assert await publisher().verify() == "Nexus News (@nexus_channel)"
    assert await publisher("nexus_channel").verify() == "Nexus News (@nexus_channel)"


async def test_bad_token_is_auth_expired(publisher) -> None:
    with pytest.raises(AuthExpired, match="token was rejected"):
        await publisher(token="999:WRONG").publish("hi")
    with pytest.raises(AuthExpired):
        await publisher(token="999:WRONG").verify()


async def test_delete_is_idempotent(tg: FakeTelegram, publisher) -> None:
    pub = publisher()
    result = await pub.publish("to be removed")
    await pub.delete(result.external_id)
    assert tg.messages("@nexus_channel") == []
    await pub.delete(result.external_id)


async def test_a_message_older_than_48_hours_cannot_be_deleted(tg: FakeTelegram, publisher) -> None:
    pub = publisher()
    result = await pub.publish("posted the day before yesterday")
    [message] = tg.messages("@nexus_channel")
    message.date -= 49 * 3600
    with pytest.raises(Permanent, match="younger than 48 hours; delete it in the channel"):
        await pub.delete(result.external_id)
    assert tg.messages("@nexus_channel") == [message]


async def test_validate_in_plain_words(publisher) -> None:
    pub = publisher()
    assert pub.validate("fine") == []
    assert pub.validate(long_text()) == []  # long but splittable
    assert pub.validate(" \n ") == ["the post is empty"]
    [problem] = pub.validate("x" * (TELEGRAM_TEXT_LIMIT + 1))
    assert "too long" in problem
    with pytest.raises(TextTooLong):
        await pub.publish("x" * (TELEGRAM_TEXT_LIMIT + 1))


async def test_no_error_reveals_the_token(tg: FakeTelegram, client: httpx.AsyncClient) -> None:
    secret = tg.token
    errors: list[PublishError] = []

    async def collect(pub: TelegramPublisher, text: str = "hi") -> None:
        try:
            await pub.publish(text)
        except PublishError as exc:
            errors.append(exc)

    def make(chat: str = "@nexus_channel", c: httpx.AsyncClient = client) -> TelegramPublisher:
        return TelegramPublisher(c, token=secret, chat=chat, base_url=tg.base_url)

    await collect(make("@nowhere"))
    await collect(make("@no_rights"))
    tg.fail_next("sendMessage", error_code=429, description="Too Many Requests", retry_after=1)
    await collect(make())
    tg.fail_next("sendMessage", error_code=400, description=f"Bad Request: weird {secret}")
    await collect(make())
    tg.fail_next("sendMessage", error_code=500, description="Internal", after=1)
    await collect(make(), long_text())
    tg.delay("sendMessage", 1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        await collect(make(c=impatient))
    tg.delay("sendMessage", 0)
    await collect(TelegramPublisher(client, token=secret, chat="@c", base_url="http://127.0.0.1:9"))
    assert len(errors) == 7
    for exc in errors:
        for shown in (str(exc), repr(exc), exc.reason, str(exc.args)):
            assert secret not in shown
            assert "/bot" not in shown
    assert secret not in repr(make())


# ---------------------------------------------------------------- one shared limiter
class ClockedTransport(httpx.AsyncBaseTransport):
    """Notes the virtual time at which each request leaves, and holds virtual time still while
    the request is on the wire (the httpx twin of ``Recorder`` in test_throttle)."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.inner = httpx.AsyncHTTPTransport()
        self.sent: list[tuple[float, str, Any]] = []  # (virtual time, method, chat_id)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        chat = json.loads(request.content or b"{}").get("chat_id")
        self.sent.append((self.clock.now, method, chat))
        with self.clock.busy():
            response = await self.inner.handle_async_request(request)
            content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def times(self, method: str = "sendMessage") -> list[float]:
        return [at for at, name, _ in self.sent if name == method]


@pytest.fixture
async def vclock() -> AsyncIterator[VirtualClock]:
    clock = VirtualClock()
    driver = asyncio.create_task(clock.drive())
    yield clock
    driver.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await driver


@pytest.fixture
async def wire(vclock: VirtualClock) -> AsyncIterator[tuple[httpx.AsyncClient, ClockedTransport]]:
    transport = ClockedTransport(vclock)
    async with httpx.AsyncClient(transport=transport, timeout=2.0) as c:
        yield c, transport


@pytest.fixture
def limits(vclock: VirtualClock) -> TelegramLimits:
    return TelegramLimits(clock=vclock)


def limited(
    tg: FakeTelegram, wire: tuple[httpx.AsyncClient, ClockedTransport], limits: TelegramLimits
):
    def make(chat: str = "@nexus_channel") -> TelegramPublisher:
        return TelegramPublisher(
            wire[0], token=tg.token, chat=chat, base_url=tg.base_url, limits=limits
        )

    return make


async def test_shared_limits_keep_a_channel_at_20_per_minute(
    tg: FakeTelegram, wire, limits: TelegramLimits, vclock: VirtualClock
) -> None:
    make = limited(tg, wire, limits)
    # the app builds a publisher per delivery; all of them share the one limiter and key
    pubs = [make("@nexus_channel"), make("nexus_channel")]

    await asyncio.gather(*(pubs[i % 2].publish(f"post {i}") for i in range(25)))

    times = wire[1].times()
    assert len(times) == 25
    assert times[:20] == [0.0] * 20  # the first 20 go at once
    assert times[20:] == pytest.approx([60.0] * 5)
    assert_window(times, 20, 60.0)
    assert vclock.waits() == pytest.approx([60.0])
    assert sorted(m.text for m in tg.messages("@nexus_channel")) == sorted(
        f"post {i}" for i in range(25)
    )


async def test_split_post_parts_each_take_a_slot(
    tg: FakeTelegram, wire, vclock: VirtualClock
) -> None:
    limits = TelegramLimits(clock=vclock, group_limit=2)
    result = await limited(tg, wire, limits)().publish(long_text())

    times = wire[1].times()
    assert len(result.part_ids) == len(times) >= 3
    assert times[:3] == pytest.approx([0.0, 0.0, 60.0])
    assert_window(times, 2, 60.0)


async def test_429_raises_and_the_next_publish_waits_it_out(
    tg: FakeTelegram, wire, limits: TelegramLimits, vclock: VirtualClock
) -> None:
    make = limited(tg, wire, limits)
    tg.fail_next("sendMessage", error_code=429, description="Too Many Requests", retry_after=7)

    with pytest.raises(RateLimited) as err:
        await make().publish("flooded")
    assert err.value.retry_after == 7 and err.value.posted_part_ids == ()
    assert vclock.waits() == []  # the publisher does not retry by itself

    await make().publish("next")

    assert wire[1].times() == [0.0, 7.0]
    assert vclock.waits() == [7.0]
    assert [m.text for m in tg.messages("@nexus_channel")] == ["next"]


async def test_long_flood_wait_fails_fast_with_posted_parts(
    tg: FakeTelegram, wire, limits: TelegramLimits, vclock: VirtualClock
) -> None:
    pub = limited(tg, wire, limits)()
    text = long_text()
    tg.fail_next(
        "sendMessage", error_code=429, description="Too Many Requests", retry_after=600, after=1
    )
    with pytest.raises(RateLimited) as first:
        await pub.publish(text)
    posted = first.value.posted_part_ids
    assert len(posted) == 1 and first.value.retry_after == 600
    calls = len(wire[1].sent)

    vclock.now = 100.0  # later, but the channel is still blocked
    with pytest.raises(RateLimited) as again:
        await pub.publish(text, already_posted=posted)

    assert len(wire[1].sent) == calls  # Telegram was not asked during the block
    assert again.value.retry_after == pytest.approx(500.0)
    assert again.value.posted_part_ids == posted
    assert "500 more seconds" in again.value.reason and "already posted" in again.value.reason
    assert vclock.waits() == []


async def test_bot_and_publisher_share_the_global_window(
    tg: FakeTelegram, wire, limits: TelegramLimits, vclock: VirtualClock
) -> None:
    users = [5000 + i for i in range(15)]
    for user in users:
        tg.add_user(user, f"User {user}")
    bot = Bot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
    rec = Recorder(vclock)
    bot.session.middleware(TelegramThrottle(limits))
    bot.session.middleware(rec)
    pub = limited(tg, wire, limits)()
    try:
        for i in range(20):
            await pub.publish(f"post {i}")
        await asyncio.gather(*(bot.send_message(u, "hello") for u in users))
    finally:
        await close_session(bot)

    channel, private = wire[1].times(), rec.times()
    assert channel == [0.0] * 20
    # 30 per second in all: the bot got the 10 global slots the channel posts left at t=0
    assert sorted(private) == pytest.approx([0.0] * 10 + [1.0] * 5)
    assert_window(channel + private, 30, 1.0)
