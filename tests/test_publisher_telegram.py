"""Contract tests: TelegramPublisher against the loopback Telegram server."""

from __future__ import annotations

import socket

import httpx
import pytest

from publishers.base import Publisher, PublishResult
from publishers.errors import (
    AuthExpired,
    Permanent,
    PublishError,
    RateLimited,
    TextTooLong,
    Transient,
)
from publishers.telegram import TelegramPublisher
from publishers.text import TELEGRAM_TEXT_LIMIT, utf16_len
from tests.fakes.telegram import FakeTelegram

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


async def test_timeout_is_transient(tg: FakeTelegram, client: httpx.AsyncClient) -> None:
    tg.delay("sendMessage", 1.0)
    async with httpx.AsyncClient(timeout=0.1) as impatient:
        pub = TelegramPublisher(
            impatient, token=tg.token, chat="@nexus_channel", base_url=tg.base_url
        )
        with pytest.raises(Transient) as err:
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
