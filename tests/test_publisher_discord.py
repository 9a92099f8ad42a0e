"""Contract tests: DiscordWebhookPublisher against the loopback Discord webhook server."""

from __future__ import annotations

import httpx
import pytest

from publishers.base import Publisher, PublishResult
from publishers.discord import DiscordWebhookPublisher
from publishers.errors import AuthExpired, Permanent, PublishError, RateLimited, Transient
from tests.fakes import fixtures
from tests.fakes.discord import FakeDiscord
from tests.fakes.fixtures import Sleeps

discord = fixtures.serve(FakeDiscord)
client = fixtures.client
sleeps = fixtures.sleeps


@pytest.fixture
def publisher(discord: FakeDiscord, client: httpx.AsyncClient, sleeps: Sleeps):
    def make(url: str | None = None, c: httpx.AsyncClient | None = None) -> DiscordWebhookPublisher:
        return DiscordWebhookPublisher(
            c or client, webhook_url=url or discord.webhook_url, sleep=sleeps
        )

    return make


def long_text(paragraphs: int = 5) -> str:
    return "\n\n".join(
        f"Part {n}: " + " ".join(f"word{n}_{i} 🇺🇦 café https://example.com/{i}." for i in range(25))
        for n in range(paragraphs)
    )


async def test_sends_a_message_with_its_jump_url(discord: FakeDiscord, publisher) -> None:
    pub = publisher()
    assert isinstance(pub, Publisher)
    result = await pub.publish("Hello, Discord! https://example.com")
    [message] = discord.messages
    assert message.content == "Hello, Discord! https://example.com"
    url = f"https://discord.com/channels/{discord.guild_id}/{discord.channel_id}/{message.id}"
    assert result == PublishResult(message.id, url, (message.id,))
    [call] = discord.calls_to("POST")
    assert call.query == {"wait": "true"}
    assert call.body == {"content": message.content, "allowed_mentions": {"parse": []}}


async def test_everyone_in_ai_text_pings_nobody(discord: FakeDiscord, publisher) -> None:
    await publisher().publish("@everyone @here big news <@&123>")
    [message] = discord.messages
    assert message.content.startswith("@everyone") and not message.mention_everyone


async def test_url_needs_the_guild(discord: FakeDiscord, publisher) -> None:
    discord.guild_in_messages = False
    pub = publisher()
    assert (await pub.publish("no guild in the answer")).url is None
    assert await pub.verify() == f'webhook "Nexus" in channel {discord.channel_id}'
    result = await pub.publish("the webhook told us the guild")
    assert result.url == (
        f"https://discord.com/channels/{discord.guild_id}/{discord.channel_id}/{result.external_id}"
    )


async def test_long_text_goes_out_as_consecutive_messages(
    discord: FakeDiscord, publisher, sleeps: Sleeps
) -> None:
    text = long_text(8)
    result = await publisher().publish(text)
    messages = discord.messages
    assert len(messages) >= 6
    assert result.part_ids == tuple(m.id for m in messages)
    assert all(len(m.content) <= 2000 for m in messages)
    assert " ".join(m.content for m in messages).split() == text.split()
    # one link preview for the post, under its first message: the later parts suppress theirs
    assert [m.flags for m in messages] == [0] + [4] * (len(messages) - 1)
    # the bucket (5 per window) ran dry after the 5th message: waited before the 6th
    assert sleeps.waits == [0.8]


async def test_429_uses_retry_after_from_the_body(discord: FakeDiscord, publisher) -> None:
    discord.rate_limit_next(1.5)
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi")
    assert err.value.retry_after == 1.5 and err.value.posted_part_ids == ()
    # without a JSON body (e.g. a proxy), the header still says how long
    discord.fail_next(429, {}, {"X-RateLimit-Reset-After": "2.250"})
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi")
    assert err.value.retry_after == 2.25
    assert discord.messages == []


async def test_deleted_webhook_or_bad_token_is_auth_expired(
    discord: FakeDiscord, publisher
) -> None:
    bad = discord.webhook_url[: -len(discord.token)] + "wrong-token"
    with pytest.raises(AuthExpired, match="webhook"):
        await publisher(url=bad).publish("hi")
    discord.delete_webhook()
    with pytest.raises(AuthExpired, match="deleted"):
        await publisher().publish("hi")
    with pytest.raises(AuthExpired):
        await publisher().verify()


async def test_validation_errors_are_permanent_with_discord_message(
    discord: FakeDiscord, publisher
) -> None:
    discord.fail_next(400, {"message": "Cannot send an empty message", "code": 50006})
    with pytest.raises(Permanent, match="Cannot send an empty message"):
        await publisher().publish("hi")
    discord.fail_next(
        400,
        {
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": {
                "content": {
                    "_errors": [
                        {
                            "code": "BASE_TYPE_MAX_LENGTH",
                            "message": "Must be 2000 or fewer in length.",
                        }
                    ]
                }
            },
        },
    )
    with pytest.raises(Permanent, match="Invalid Form Body: Must be 2000 or fewer"):
        await publisher().publish("hi")
    with pytest.raises(Permanent, match="empty"):
        await publisher().publish(" \n ")


async def test_the_fake_checks_what_discord_checks(
    discord: FakeDiscord, client: httpx.AsyncClient
) -> None:
    url = discord.webhook_url + "?wait=true"
    too_long = await client.post(url, json={"content": "x" * 2001})
    assert too_long.status_code == 400 and too_long.json()["code"] == 50035
    empty = await client.post(url, json={"content": ""})
    assert empty.json() == {"message": "Cannot send an empty message", "code": 50006}
    pinged = await client.post(url, json={"content": "@everyone"})
    assert pinged.json()["mention_everyone"] is True  # which is why the publisher opts out
    crossposted = await client.post(url, json={"content": "hi", "flags": 2})
    assert crossposted.status_code == 400 and crossposted.json()["code"] == 50035
    no_wait = await client.post(discord.webhook_url, json={"content": "fire and forget"})
    assert no_wait.status_code == 204


async def test_server_error_and_timeout_are_transient(discord: FakeDiscord, publisher) -> None:
    discord.fail_next(502, {"message": "502: Bad Gateway", "code": 0})
    with pytest.raises(Transient, match="server error"):
        await publisher().publish("hi")
    discord.delay(1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        with pytest.raises(Transient, match="in time"):
            await publisher(c=impatient).publish("hi")
    discord.delay(0)
    with pytest.raises(Transient, match="could not reach"):
        await publisher(url=f"http://127.0.0.1:9/api/webhooks/1/{discord.token}").publish("hi")


async def test_mid_split_failure_then_retry_sends_only_the_rest(
    discord: FakeDiscord, publisher
) -> None:
    text = long_text(8)
    pub = publisher()
    discord.rate_limit_next(0.5, after=2)
    with pytest.raises(RateLimited) as err:
        await pub.publish(text)
    posted = err.value.posted_part_ids
    assert len(posted) == 2 and "2 of" in err.value.reason
    before = len(discord.calls_to("POST"))

    result = await pub.publish(text, already_posted=posted)

    assert result.part_ids[:2] == posted and result.external_id == posted[0]
    assert tuple(m.id for m in discord.messages) == result.part_ids
    assert " ".join(m.content for m in discord.messages).split() == text.split()
    assert len(discord.calls_to("POST")) - before == len(result.part_ids) - 2


async def test_verify_and_idempotent_delete(discord: FakeDiscord, publisher) -> None:
    pub = publisher()
    assert await pub.verify() == f'webhook "Nexus" in channel {discord.channel_id}'
    assert pub.name == await pub.verify()
    result = await pub.publish("to be removed")
    await pub.delete(result.external_id)
    assert discord.messages == []
    await pub.delete(result.external_id)  # 10008 Unknown Message: already gone
    discord.delete_webhook()
    with pytest.raises(AuthExpired):
        await pub.delete(result.external_id)


def test_webhook_url_is_checked(client: httpx.AsyncClient) -> None:
    with pytest.raises(ValueError, match="not a Discord webhook URL"):
        DiscordWebhookPublisher(client, webhook_url="https://discord.com/channels/1/2")
    pub = DiscordWebhookPublisher(
        client, webhook_url="https://discord.com/api/v10/webhooks/42/sEcReT-token/"
    )
    assert pub.webhook_id == "42" and "sEcReT" not in repr(pub)


async def test_validate_in_plain_words(publisher) -> None:
    pub = publisher()
    assert pub.validate("fine") == []
    assert pub.validate(long_text(8)) == []
    assert pub.validate("  ") == ["the post is empty"]
    [problem] = pub.validate("x" * 2001)
    assert "too long" in problem


async def test_no_error_reveals_the_webhook_token(discord: FakeDiscord, publisher) -> None:
    secret = discord.token
    errors: list[PublishError] = []

    async def collect(pub: DiscordWebhookPublisher, text: str = "hi") -> None:
        try:
            await pub.publish(text)
        except PublishError as exc:
            errors.append(exc)

    await collect(publisher(url=discord.webhook_url[: -len(secret)] + "x" + secret))
    discord.fail_next(400, {"message": f"bad {secret}", "code": 50035})
    await collect(publisher())
    discord.rate_limit_next()
    await collect(publisher())
    discord.fail_next(500, {"message": secret, "code": 0}, after=1)
    await collect(publisher(), long_text(8))
    discord.delay(1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        await collect(publisher(c=impatient))
    discord.delay(0)
    await collect(publisher(url=f"http://127.0.0.1:9/api/webhooks/1/{secret}"))
    discord.delete_webhook()
    await collect(publisher())
    assert len(errors) == 7
    for exc in errors:
        for shown in (str(exc), repr(exc), str(exc.args)):
            assert secret not in shown
    assert secret not in repr(publisher())
