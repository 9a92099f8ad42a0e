"""DiscordWebhookPublisher with attachments, and its metrics, against the loopback webhook."""

from __future__ import annotations

import httpx
import pytest

from publishers.base import Metrics
from publishers.discord import DiscordWebhookPublisher
from publishers.errors import AuthExpired, Permanent, Transient
from tests.fakes import fixtures
from tests.fakes.discord import FakeDiscord
from tests.fakes.fixtures import Sleeps, picture

PHOTOS = [picture(colour=(n * 20, 90, 10)) for n in range(11)]

discord = fixtures.serve(FakeDiscord)
client = fixtures.client
sleeps = fixtures.sleeps


@pytest.fixture
def pub(discord: FakeDiscord, client: httpx.AsyncClient, sleeps: Sleeps) -> DiscordWebhookPublisher:
    return DiscordWebhookPublisher(client, webhook_url=discord.webhook_url, sleep=sleeps)


def long_text() -> str:
    return "\n\n".join(f"Part {n}: " + "word " * 150 for n in range(4))


async def test_images_are_attached_to_the_first_message(
    discord: FakeDiscord, pub: DiscordWebhookPublisher
) -> None:
    result = await pub.publish(long_text(), media=PHOTOS[:3])
    first, *rest = discord.messages
    assert [a.data for a in first.attachments] == PHOTOS[:3]
    assert all(a.content_type == "image/jpeg" for a in first.attachments)
    assert rest and all(m.attachments == [] for m in rest)
    assert result.part_ids == tuple(m.id for m in discord.messages)
    assert first.allowed_mentions == {"parse": []}  # the JSON still travels, in payload_json
    upload = discord.calls_to("POST")[0]
    assert [f.field for f in upload.files] == ["files[0]", "files[1]", "files[2]"]
    assert upload.body["attachments"] == [
        {"id": n, "filename": f.filename} for n, f in enumerate(upload.files)
    ]


async def test_images_alone_are_a_post(discord: FakeDiscord, pub: DiscordWebhookPublisher) -> None:
    result = await pub.publish("", media=[PHOTOS[0]])
    [message] = discord.messages
    assert message.content == "" and [a.data for a in message.attachments] == [PHOTOS[0]]
    assert result.external_id == message.id
    assert pub.validate("", media_count=1) == []


async def test_retry_after_a_failed_part_does_not_upload_again(
    discord: FakeDiscord, pub: DiscordWebhookPublisher
) -> None:
    discord.fail_next(500, {"message": "oops", "code": 0}, after=1)
    with pytest.raises(Transient) as err:
        await pub.publish(long_text(), media=PHOTOS[:2])
    result = await pub.publish(
        long_text(), media=PHOTOS[:2], already_posted=err.value.posted_part_ids
    )
    assert sum(len(m.attachments) for m in discord.messages) == 2
    assert result.part_ids == tuple(m.id for m in discord.messages)


async def test_more_than_ten_images_are_refused_before_any_request(
    discord: FakeDiscord, pub: DiscordWebhookPublisher
) -> None:
    assert pub.validate("hi", media_count=12) == [
        "Discord takes at most 10 images; this post has 12"
    ]
    with pytest.raises(Permanent, match="at most 10 images; this post has 11"):
        await pub.publish("hi", media=PHOTOS)
    assert discord.calls == []


async def test_an_oversized_file_is_permanent(
    discord: FakeDiscord, pub: DiscordWebhookPublisher
) -> None:
    huge = b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024)
    with pytest.raises(Permanent, match="Request entity too large"):
        await pub.publish("hi", media=[huge])
    assert discord.messages == []


async def test_metrics_sum_the_reactions_of_every_part(
    discord: FakeDiscord, pub: DiscordWebhookPublisher
) -> None:
    result = await pub.publish(long_text())
    first, second = result.part_ids[:2]
    discord.react(first, "🔥", 5)
    discord.react(first, "👍", 2)
    discord.react(second, "👍", 1)
    assert await pub.fetch_metrics(result) == Metrics(likes=8)
    gets = [c.path for c in discord.calls_to("GET")]
    assert len(gets) == len(result.part_ids) and all("/messages/" in p for p in gets)


async def test_metrics_of_a_deleted_webhook_say_reconnect(
    discord: FakeDiscord, pub: DiscordWebhookPublisher
) -> None:
    result = await pub.publish("hi")
    discord.delete_webhook()
    with pytest.raises(AuthExpired, match="reconnect"):
        await pub.fetch_metrics(result)
