"""TelegramPublisher with photos and albums, audience and metrics, against the loopback Bot API."""

from __future__ import annotations

import httpx
import pytest

from publishers.base import Metrics, PublishResult
from publishers.errors import Permanent, RateLimited, Transient
from publishers.telegram import TelegramPublisher
from tests.fakes import fixtures
from tests.fakes.fixtures import picture
from tests.fakes.telegram import FakeTelegram

CHANNEL = "@nexus_channel"
PHOTOS = [picture(colour=(n * 20, 100, 200)) for n in range(12)]

client = fixtures.client


@pytest.fixture
async def tg():
    async with FakeTelegram() as fake:
        fake.add_channel("nexus_channel", title="Nexus News")
        yield fake


@pytest.fixture
def pub(tg: FakeTelegram, client: httpx.AsyncClient) -> TelegramPublisher:
    return TelegramPublisher(client, token=tg.token, chat=CHANNEL, base_url=tg.base_url)


def sent(tg: FakeTelegram) -> list[str]:
    return [c.method for c in tg.calls]


async def test_one_photo_goes_with_the_text_as_its_caption(
    tg: FakeTelegram, pub: TelegramPublisher
) -> None:
    result = await pub.publish("R&D <beta> is out", media=[PHOTOS[0]])
    [message] = tg.messages(CHANNEL)
    assert message.photo and message.file == PHOTOS[0]
    assert message.text == "R&D <beta> is out"  # escaped, so shown verbatim
    assert result == PublishResult(
        str(message.message_id),
        f"https://t.me/nexus_channel/{message.message_id}",
        (str(message.message_id),),
    )
    assert sent(tg) == ["sendPhoto"] and tg.calls[0].params["parse_mode"] == "HTML"


async def test_an_album_carries_the_caption_on_its_first_photo(
    tg: FakeTelegram, pub: TelegramPublisher
) -> None:
    result = await pub.publish("three views of the launch", media=PHOTOS[:3])
    messages = tg.messages(CHANNEL)
    assert [m.file for m in messages] == PHOTOS[:3]
    assert len({m.media_group_id for m in messages}) == 1 and messages[0].media_group_id
    assert [m.text for m in messages] == ["three views of the launch", "", ""]
    assert result.part_ids == tuple(str(m.message_id) for m in messages)
    assert sent(tg) == ["sendMediaGroup"]


async def test_caption_length_counts_the_shown_text_in_utf16(
    tg: FakeTelegram, pub: TelegramPublisher
) -> None:
    ampersands = "&" * 1024  # 5120 characters once escaped, 1024 once Telegram parsed them
    await pub.publish(ampersands, media=[PHOTOS[0]])
    assert [m.text for m in tg.messages(CHANNEL)] == [ampersands]
    emoji = "😀" * 513  # 513 characters but 1026 UTF-16 units: no longer a caption
    await pub.publish(emoji, media=[PHOTOS[1]])
    photo, text = tg.messages(CHANNEL)[1:]
    assert (photo.photo, photo.text, text.text) == (True, "", emoji)


async def test_long_text_follows_the_album_as_messages(
    tg: FakeTelegram, pub: TelegramPublisher
) -> None:
    text = "\n\n".join(f"Paragraph {n}: " + "word " * 300 for n in range(4))
    result = await pub.publish(text, media=PHOTOS[:2])
    messages = tg.messages(CHANNEL)
    assert [m.photo for m in messages[:2]] == [True, True]
    assert all(m.text == "" for m in messages[:2])
    texts = messages[2:]
    assert len(texts) >= 2 and " ".join(m.text for m in texts).split() == text.split()
    assert result.part_ids == tuple(str(m.message_id) for m in messages)
    assert result.external_id == str(messages[0].message_id)
    assert sent(tg)[0] == "sendMediaGroup"
    assert all(
        c.params["link_preview_options"] == {"is_disabled": True}
        for c in tg.calls
        if c.method == "sendMessage"
    )


async def test_a_photo_needs_no_text(tg: FakeTelegram, pub: TelegramPublisher) -> None:
    result = await pub.publish("", media=[PHOTOS[0]])
    [message] = tg.messages(CHANNEL)
    assert message.photo and result.part_ids == (str(message.message_id),)
    assert pub.validate("", media_count=1) == []
    assert pub.validate("", media_count=0) == ["the post is empty"]


async def test_failure_after_the_album_keeps_it_and_a_retry_sends_only_the_text(
    tg: FakeTelegram, pub: TelegramPublisher
) -> None:
    text = "\n\n".join(f"Paragraph {n}: " + "word " * 300 for n in range(4))
    tg.fail_next("sendMessage", error_code=500, description="Internal Server Error", after=1)
    with pytest.raises(Transient) as err:
        await pub.publish(text, media=PHOTOS[:3])
    posted = err.value.posted_part_ids
    assert len(posted) == 4 and "already posted" in err.value.reason  # the album + one part

    result = await pub.publish(text, media=PHOTOS[:3], already_posted=posted)

    messages = tg.messages(CHANNEL)
    assert result.part_ids[:4] == posted
    assert tuple(str(m.message_id) for m in messages) == result.part_ids
    assert sum(m.photo for m in messages) == 3  # the album went out once
    assert " ".join(m.text for m in messages).split() == text.split()  # no part twice


async def test_too_many_photos_are_refused_before_any_request(
    tg: FakeTelegram, pub: TelegramPublisher
) -> None:
    assert pub.validate("hi", media_count=11) == [
        "Telegram takes at most 10 images; this post has 11"
    ]
    with pytest.raises(Permanent, match="at most 10 images"):
        await pub.publish("hi", media=PHOTOS[:11])
    assert tg.calls == []


async def test_album_rate_limit_posts_nothing(tg: FakeTelegram, pub: TelegramPublisher) -> None:
    tg.fail_next("sendMediaGroup", error_code=429, description="", retry_after=7)
    with pytest.raises(RateLimited) as err:
        await pub.publish("hi", media=PHOTOS[:2])
    assert err.value.retry_after == 7 and err.value.posted_part_ids == ()
    assert tg.messages(CHANNEL) == []


async def test_a_file_telegram_cannot_read_is_permanent(
    tg: FakeTelegram, pub: TelegramPublisher
) -> None:
    with pytest.raises(Permanent, match="IMAGE_PROCESS_FAILED"):
        await pub.publish("hi", media=[b"\xff\xd8\xff not a jpeg after all"])
    assert tg.messages(CHANNEL) == []


async def test_audience_is_the_member_count(tg: FakeTelegram, pub: TelegramPublisher) -> None:
    channel_id = tg.add_channel("big", title="Big")
    tg.member_counts[channel_id] = 1234
    big = TelegramPublisher(pub._client, token=tg.token, chat="@big", base_url=tg.base_url)
    assert await big.audience() == 1234
    assert [c.method for c in tg.calls] == ["getChatMemberCount"]


async def test_metrics_are_empty_because_reactions_come_as_updates(
    tg: FakeTelegram, pub: TelegramPublisher
) -> None:
    result = await pub.publish("hello")
    assert await pub.fetch_metrics(result) == Metrics()
    assert sent(tg) == ["sendMessage"]
