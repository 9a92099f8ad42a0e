"""Contract tests: InstagramPublisher against the loopback Instagram Graph API, which downloads
every image from the public address Nexus gives it (a loopback static server here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from publishers.base import Metrics, Publisher, PublishResult
from publishers.errors import AuthExpired, Permanent, PublishError, RateLimited, Transient
from publishers.images import fit
from publishers.instagram import InstagramPublisher
from publishers.media import FileMediaHost
from tests.fakes import fixtures
from tests.fakes.fixtures import Sleeps, picture
from tests.fakes.instagram import FakeInstagram
from tests.fakes.public import PublicFiles

PHOTOS = [picture((120, 100), colour=(n * 20, 80, 160)) for n in range(11)]

ig = fixtures.serve(FakeInstagram)
client = fixtures.client
sleeps = fixtures.sleeps


@pytest.fixture
async def files(tmp_path: Path) -> AsyncIterator[PublicFiles]:
    async with PublicFiles(tmp_path / "public") as server:
        yield server


@pytest.fixture
def publisher(ig: FakeInstagram, client: httpx.AsyncClient, files: PublicFiles, sleeps: Sleeps):
    def make(
        token: str | None = None,
        c: httpx.AsyncClient | None = None,
        public_url: str | None = "",
    ) -> InstagramPublisher:
        url = files.root if public_url == "" else public_url
        return InstagramPublisher(
            c or client,
            user_id=ig.user_id,
            access_token=token or ig.token,
            base_url=ig.base_url,
            media_host=FileMediaHost(files.directory, url, platform="Instagram"),
            container_poll_attempts=3,
            container_poll_interval=0,
            sleep=sleeps,
        )

    return make


async def test_single_image_post_with_its_permalink(
    ig: FakeInstagram, files: PublicFiles, publisher
) -> None:
    pub = publisher()
    assert isinstance(pub, Publisher)
    result = await pub.publish("Launch day #nexus", media=[PHOTOS[0]])
    [post] = ig.posts
    assert (post.caption, post.media_type, post.images) == (
        "Launch day #nexus",
        "IMAGE",
        [PHOTOS[0]],
    )
    assert result == PublishResult(
        post.id, f"https://www.instagram.com/p/{post.shortcode}/", (post.id,)
    )
    assert len(files.calls) == 1  # Instagram really fetched the picture from our address
    order = [(c.method, c.path) for c in ig.calls]
    assert order[:2] == [
        ("GET", f"/{ig.user_id}/content_publishing_limit"),
        ("POST", f"/{ig.user_id}/media"),
    ]
    assert ("POST", f"/{ig.user_id}/media_publish") in order


async def test_carousel_of_several_images(ig: FakeInstagram, publisher) -> None:
    result = await publisher().publish("three angles", media=PHOTOS[:3])
    [post] = ig.posts
    assert post.media_type == "CAROUSEL" and post.images == PHOTOS[:3]
    assert post.caption == "three angles" and result.part_ids == (post.id,)
    creates = ig.calls_to("POST", f"/{ig.user_id}/media")
    assert [c.params.get("is_carousel_item") for c in creates] == ["true"] * 3 + [None]
    assert creates[-1].params["media_type"] == "CAROUSEL"
    assert creates[-1].params["children"].count(",") == 2


async def test_fitted_images_are_what_instagram_accepts(ig: FakeInstagram, publisher) -> None:
    """A transparent PNG panorama would be refused twice (type and shape); fitted, it goes."""
    png = picture((1200, 300), fmt="PNG")
    pub = publisher()
    with pytest.raises(Permanent, match="Only photo or video"):
        await pub.publish("raw", media=[png])
    data, mime = fit(png, pub.media_limits)
    await pub.publish("fitted", media=[data])
    assert mime == "image/jpeg" and [p.caption for p in ig.posts] == ["fitted"]


async def test_post_without_an_image_is_refused_before_any_request(
    ig: FakeInstagram, publisher
) -> None:
    pub = publisher()
    assert pub.validate("just words") == ["Instagram needs an image: send a photo with the brief"]
    with pytest.raises(Permanent, match="Instagram needs an image"):
        await pub.publish("just words")
    with pytest.raises(Permanent, match="at most 10 images; this post has 11"):
        await pub.publish("too many", media=PHOTOS)
    assert ig.calls == []


async def test_caption_rules_are_checked_before_any_request(ig: FakeInstagram, publisher) -> None:
    pub = publisher()
    tags = " ".join(f"#tag{n}" for n in range(31))
    assert pub.validate(tags, media_count=1) == [
        "Instagram takes at most 30 hashtags; this post has 31"
    ]
    assert pub.validate("x" * 2201, media_count=1) == [
        "Instagram captions take at most 2200 characters; this one has 2201"
    ]
    assert pub.validate("R&D #1 & #two", media_count=1) == []
    with pytest.raises(Permanent, match="30 hashtags"):
        await pub.publish(tags, media=[PHOTOS[0]])
    assert ig.calls == []


async def test_publishing_limit_reached_is_rate_limited_before_creating_anything(
    ig: FakeInstagram, publisher
) -> None:
    ig.used_quota = ig.quota_total
    with pytest.raises(RateLimited, match="used all 100 API posts") as err:
        await publisher().publish("hi", media=[PHOTOS[0]])
    assert err.value.retry_after == 3600
    assert ig.containers == {} and ig.posts == []


async def test_publishing_limit_met_at_publish_time_is_rate_limited(
    ig: FakeInstagram, publisher
) -> None:
    ig.fail_next(f"/{ig.user_id}/media_publish", 4, "Application request limit reached",
                 subcode=2207042)  # fmt: skip
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi", media=[PHOTOS[0]])
    assert err.value.retry_after == 3600 and ig.posts == []


@pytest.mark.parametrize("code", [4, 17, 32, 613])
async def test_rate_limit_codes(ig: FakeInstagram, publisher, code: int) -> None:
    ig.fail_next(f"/{ig.user_id}/media", code)
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi", media=[PHOTOS[0]])
    assert err.value.retry_after == 60


async def test_container_that_meta_could_not_process_is_permanent(
    ig: FakeInstagram, publisher
) -> None:
    ig.broken_containers.add(str(17_900_000_000_000_001))  # the first container made
    with pytest.raises(Permanent, match="Instagram could not process the image"):
        await publisher().publish("hi", media=[PHOTOS[0]])
    assert ig.posts == []


async def test_waits_for_processing_then_gives_up_as_transient(
    ig: FakeInstagram, publisher, sleeps: Sleeps
) -> None:
    ig.processing_polls = 2
    await publisher().publish("slow", media=[PHOTOS[0]])
    assert len(ig.posts) == 1 and sleeps.waits == [0, 0]
    ig.processing_polls = 10
    with pytest.raises(Transient, match="still processing"):
        await publisher().publish("slower", media=[PHOTOS[1]])
    assert len(ig.posts) == 1


async def test_expired_token_is_auth_expired(ig: FakeInstagram, publisher) -> None:
    with pytest.raises(AuthExpired, match="reconnect"):
        await publisher(token="expired").publish("hi", media=[PHOTOS[0]])
    with pytest.raises(AuthExpired):
        await publisher(token="expired").verify()


async def test_validation_error_from_meta_is_permanent_with_its_message(
    ig: FakeInstagram, publisher
) -> None:
    ig.fail_next(f"/{ig.user_id}/media", 100, "Invalid parameter: image_url is weird")
    with pytest.raises(Permanent, match="image_url is weird"):
        await publisher().publish("hi", media=[PHOTOS[0]])


async def test_server_errors_and_timeouts_are_transient(ig: FakeInstagram, publisher) -> None:
    ig.fail_next(f"/{ig.user_id}/media_publish", 2)
    with pytest.raises(Transient, match="temporary"):
        await publisher().publish("hi", media=[PHOTOS[0]])
    ig.fail_next(f"/{ig.user_id}/media", 0, http_status=503)
    with pytest.raises(Transient):
        await publisher().publish("hi", media=[PHOTOS[0]])
    ig.delay(f"/{ig.user_id}/content_publishing_limit", 1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        with pytest.raises(Transient, match="in time"):
            await publisher(c=impatient).publish("hi", media=[PHOTOS[0]])
    assert ig.posts == []


async def test_without_a_public_address_nothing_is_sent(ig: FakeInstagram, publisher) -> None:
    with pytest.raises(Permanent, match="^Instagram needs a public address.*NEXUS_PUBLIC_URL"):
        await publisher(public_url=None).publish("hi", media=[PHOTOS[0]])
    assert ig.calls == []


async def test_metrics_verify_and_delete(ig: FakeInstagram, publisher) -> None:
    pub = publisher()
    result = await pub.publish("count me", media=[PHOTOS[0]])
    post = ig.media[result.external_id]
    post.like_count, post.comments_count = 41, 5
    assert await pub.fetch_metrics(result) == Metrics(likes=41, replies=5)
    assert await pub.verify() == "@nexus.daily on Instagram" and pub.name == await pub.verify()
    with pytest.raises(Permanent, match="delete it in the app"):
        await pub.delete(result.external_id)
    again = await pub.publish("count me", media=[PHOTOS[0]], already_posted=result.part_ids)
    assert again == result and len(ig.posts) == 1


async def test_no_error_reveals_the_token(ig: FakeInstagram, publisher) -> None:
    secret = ig.token
    errors: list[PublishError] = []

    async def collect(pub: InstagramPublisher) -> None:
        try:
            await pub.publish("hi", media=[PHOTOS[0]])
        except PublishError as exc:
            errors.append(exc)

    await collect(publisher(token="wrong-" + secret))
    for code in (1, 4, 100, 190, 9999):
        ig.fail_next(f"/{ig.user_id}/media", code, f"weird {secret}")
        await collect(publisher())
    ig.delay(f"/{ig.user_id}/content_publishing_limit", 1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        await collect(publisher(c=impatient))
    assert len(errors) == 7
    for exc in errors:
        for shown in (str(exc), repr(exc), str(exc.args)):
            assert secret not in shown
    assert secret not in repr(publisher())
