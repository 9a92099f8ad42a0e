"""ThreadsPublisher with images (public URLs Threads downloads) and insights, against the fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from publishers.base import Metrics
from publishers.errors import Permanent, Transient
from publishers.media import FileMediaHost
from publishers.threads import ThreadsPublisher
from tests.fakes import fixtures
from tests.fakes.fixtures import Sleeps, picture
from tests.fakes.public import PublicFiles
from tests.fakes.threads import FakeThreads

PHOTOS = [picture(colour=(n * 10, 40, 90)) for n in range(21)]

th = fixtures.serve(FakeThreads)
client = fixtures.client
sleeps = fixtures.sleeps


@pytest.fixture
async def files(tmp_path: Path) -> AsyncIterator[PublicFiles]:
    async with PublicFiles(tmp_path / "public") as server:
        yield server


@pytest.fixture
def publisher(th: FakeThreads, client: httpx.AsyncClient, files: PublicFiles, sleeps: Sleeps):
    def make(public_url: str | None = "") -> ThreadsPublisher:
        url = files.root if public_url == "" else public_url
        host = FileMediaHost(files.directory, url, platform="Threads")
        return ThreadsPublisher(
            client,
            base_url=th.base_url,
            access_token=th.token,
            user_id=th.user_id,
            media_host=host,
            container_poll_interval=0,
            container_poll_attempts=3,
            sleep=sleeps,
        )

    return make


async def test_one_image_is_an_image_post_threads_downloaded(th: FakeThreads, publisher) -> None:
    result = await publisher().publish("launch day", media=[PHOTOS[0]])
    [post] = th.posts
    assert (post.media_type, post.text, post.images) == ("IMAGE", "launch day", [PHOTOS[0]])
    assert result.external_id == post.id and result.url and post.shortcode in result.url
    [create] = th.calls_to("POST", f"/{th.user_id}/threads")
    assert create.params["image_url"].startswith("http://127.0.0.1:")
    assert "/media/" in create.params["image_url"]


async def test_several_images_become_a_carousel(th: FakeThreads, publisher) -> None:
    text = "\n\n".join(f"Part {n}: " + "word " * 80 for n in range(3))
    result = await publisher().publish(text, media=PHOTOS[:3])
    first, *replies = th.posts
    assert first.media_type == "CAROUSEL" and first.images == PHOTOS[:3]
    assert replies and all(p.media_type == "TEXT" and not p.images for p in replies)
    assert result.part_ids == tuple(p.id for p in th.posts)
    items = [c for c in th.calls_to("POST", f"/{th.user_id}/threads") if "image_url" in c.params]
    assert len(items) == 3 and all(c.params["is_carousel_item"] == "true" for c in items)


async def test_publishing_waits_until_threads_has_processed_the_image(
    th: FakeThreads, publisher, sleeps: Sleeps
) -> None:
    th.processing_polls = 2
    await publisher().publish("", media=[PHOTOS[0]])
    assert len(th.posts) == 1 and sleeps.waits == [0, 0]
    th.processing_polls = 5
    with pytest.raises(Transient, match="still processing"):
        await publisher().publish("", media=[PHOTOS[1]])
    assert len(th.posts) == 1


async def test_an_image_threads_cannot_use_is_permanent(th: FakeThreads, publisher) -> None:
    with pytest.raises(Permanent, match="could not process the image"):
        await publisher().publish("gif", media=[picture(fmt="GIF")])
    assert th.posts == []


async def test_without_a_public_address_nothing_is_sent(th: FakeThreads, publisher) -> None:
    with pytest.raises(Permanent, match="Threads needs a public address.*NEXUS_PUBLIC_URL"):
        await publisher(public_url=None).publish("hi", media=[PHOTOS[0]])
    assert th.calls == []


async def test_too_many_images_are_refused_before_any_request(th: FakeThreads, publisher) -> None:
    pub = publisher()
    assert pub.validate("hi", media_count=21) == [
        "Threads takes at most 20 images; this post has 21"
    ]
    with pytest.raises(Permanent, match="at most 20"):
        await pub.publish("hi", media=PHOTOS)
    assert th.calls == []


async def test_metrics_come_from_insights(th: FakeThreads, publisher) -> None:
    result = await publisher().publish("count me")
    th.media[result.external_id].insights.update(likes=12, replies=3, reposts=2, views=480)
    assert await publisher().fetch_metrics(result) == Metrics(
        likes=12, reposts=2, replies=3, views=480
    )
    [call] = th.calls_to("GET", f"/{result.external_id}/insights")
    assert call.params["metric"] == "likes,replies,reposts,views"
