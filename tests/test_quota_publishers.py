"""What a post costs or uses, per platform, against the loopback fakes speaking each platform's
wire format: X's pay-per-use prices and caps, Threads' and Instagram's publishing limits read
live, Bluesky's write points. A used-up quota is a ``QuotaUsedUp`` (never a plain failure), and
a short rate limit stays a ``RateLimited``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from publishers.bluesky import BlueskyPublisher
from publishers.errors import QuotaUsedUp, RateLimited, Transient
from publishers.instagram import InstagramPublisher
from publishers.media import FileMediaHost
from publishers.quota import (
    Quota,
    XPrices,
    bluesky_quota,
    price,
    rolling_reset,
)
from publishers.threads import ThreadsPublisher
from publishers.x import OAuth1UserAuth, XPublisher
from tests.fakes import fixtures
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.instagram import FakeInstagram
from tests.fakes.public import PublicFiles
from tests.fakes.threads import FakeThreads
from tests.fakes.x import FakeX

x = fixtures.serve(FakeX)
th = fixtures.serve(FakeThreads)
sky = fixtures.serve(FakeBluesky)
ig = fixtures.serve(FakeInstagram)
client = fixtures.client
NOW = 1_790_000_000.0


@pytest.fixture
async def files(tmp_path: Path) -> AsyncIterator[PublicFiles]:
    async with PublicFiles(tmp_path / "public") as server:
        yield server


def x_publisher(fake: FakeX, c: httpx.AsyncClient, prices: XPrices | None = None) -> XPublisher:
    auth = OAuth1UserAuth(
        consumer_key=fake.consumer_key,
        consumer_secret=fake.consumer_secret,
        access_token=fake.oauth1_token,
        access_token_secret=fake.oauth1_token_secret,
    )
    return XPublisher(c, base_url=fake.base_url, auth=auth, prices=prices, clock=lambda: NOW)


# --- X: pay-per-use ------------------------------------------------------------------------------


def test_x_prices_a_post_a_link_post_and_every_part_of_a_thread(
    x: FakeX, client: httpx.AsyncClient
) -> None:
    pub = x_publisher(x, client)
    assert pub.cost("Dark mode is here").usd == pytest.approx(0.015)
    linked = pub.cost("Dark mode is here: https://example.com/v2")
    assert (linked.usd, linked.parts, linked.links) == (pytest.approx(0.20), 1, 1)
    thread = " ".join(f"word{i}" for i in range(120)) + " https://example.com/notes"
    cost = pub.cost(thread)
    assert cost.parts == len(pub.split(thread)) >= 3 and cost.links == 1
    assert cost.usd == pytest.approx(0.20 + 0.015 * (cost.parts - 1))
    cheaper = x_publisher(x, client, XPrices(post=0.01, link_post=0.05))
    assert cheaper.cost("see example.com/x").usd == pytest.approx(0.05)


@given(
    parts=st.integers(min_value=1, max_value=50),
    links=st.integers(min_value=0, max_value=60),
    post=st.floats(min_value=0, max_value=5, allow_nan=False),
    extra=st.floats(min_value=0, max_value=5, allow_nan=False),
)
def test_a_price_is_each_post_at_its_rate(
    parts: int, links: int, post: float, extra: float
) -> None:
    prices = XPrices(post=post, link_post=post + extra)
    cost = price(parts, links, prices)
    counted = min(links, parts)
    assert cost.links == counted and cost.parts == parts
    assert cost.usd == pytest.approx(counted * (post + extra) + (parts - counted) * post, abs=1e-5)
    assert price(parts, 0, prices).usd <= cost.usd + 1e-5 <= price(parts, parts, prices).usd + 2e-5


async def test_x_usage_cap_is_a_used_up_quota_until_its_reset(
    x: FakeX, client: httpx.AsyncClient
) -> None:
    pub = x_publisher(x, client)
    x.usage_cap, x.usage_cap_reset = 0, int(NOW) + 3 * 86400
    with pytest.raises(QuotaUsedUp) as caught:
        await pub.publish("first of the month")
    assert caught.value.window == "month" and caught.value.retry_after == 3 * 86400
    assert "usage cap" in caught.value.reason and not x.posts


async def test_x_24_hour_posting_limit_is_a_used_up_quota(
    x: FakeX, client: httpx.AsyncClient
) -> None:
    x.now = lambda: NOW
    pub = x_publisher(x, client)
    x.daily_post_limit = 1
    await pub.publish("the one post of the day")
    with pytest.raises(QuotaUsedUp) as caught:
        await pub.publish("one too many")
    error = caught.value
    assert (error.limit, error.window, error.retry_after) == (1, "day", 86400)
    assert len(x.posts) == 1


async def test_x_short_rate_limit_stays_a_rate_limit(x: FakeX, client: httpx.AsyncClient) -> None:
    x.fail_next("/2/tweets", 429, headers={"x-rate-limit-reset": str(int(NOW) + 120)})
    with pytest.raises(RateLimited) as caught:
        await x_publisher(x, client).publish("hello")
    assert not isinstance(caught.value, QuotaUsedUp) and caught.value.retry_after == 120


# --- Threads and Instagram: publishing limits read live -----------------------------------------


def threads(th: FakeThreads, c: httpx.AsyncClient) -> ThreadsPublisher:
    return ThreadsPublisher(c, base_url=th.base_url, access_token=th.token, user_id=th.user_id)


async def test_threads_reads_its_publishing_limit(
    th: FakeThreads, client: httpx.AsyncClient
) -> None:
    pub = threads(th, client)
    th.used_quota = 12
    assert await pub.quota() == Quota(12, 250, "day")
    await pub.publish(" ".join(f"word{i}" for i in range(150)))  # a chain counts once
    assert len(th.posts) >= 2 and await pub.quota() == Quota(13, 250, "day")


async def test_threads_refuses_before_any_container_when_the_limit_is_used(
    th: FakeThreads, client: httpx.AsyncClient
) -> None:
    th.used_quota = 250
    with pytest.raises(QuotaUsedUp) as caught:
        await threads(th, client).publish("one more")
    assert (caught.value.limit, caught.value.window) == (250, "day")
    assert "250 API posts" in caught.value.reason
    assert not th.calls_to("POST", f"/{th.user_id}/threads") and not th.posts


async def test_threads_limit_reached_at_publish_time_is_a_used_up_quota(
    th: FakeThreads, client: httpx.AsyncClient
) -> None:
    """Another app takes the last place between our check and our publish: Threads refuses
    the publish with its rate-limit code, and the fresh count says the limit is used."""
    th.used_quota = 249
    th.delay(f"/{th.user_id}/threads_publish", 0.3)

    async def another_app_posts() -> None:
        while not th.calls_to("POST", f"/{th.user_id}/threads_publish"):
            await asyncio.sleep(0.01)
        th.used_quota = 250

    racer = asyncio.create_task(another_app_posts())
    with pytest.raises(QuotaUsedUp):
        await threads(th, client).publish("racing another app")
    await racer
    assert not th.posts


async def test_threads_rate_limit_with_room_left_stays_a_rate_limit(
    th: FakeThreads, client: httpx.AsyncClient
) -> None:
    th.fail_next(f"/{th.user_id}/threads_publish", 4)
    with pytest.raises(RateLimited) as caught:
        await threads(th, client).publish("slow down")
    assert not isinstance(caught.value, QuotaUsedUp)


async def test_a_limit_read_that_fails_is_an_error_not_a_number(
    th: FakeThreads, client: httpx.AsyncClient
) -> None:
    th.fail_next(f"/{th.user_id}/threads_publishing_limit", 2)
    with pytest.raises(Transient):
        await threads(th, client).quota()


async def test_instagram_over_its_limit_is_a_used_up_quota(
    ig: FakeInstagram, client: httpx.AsyncClient, files: PublicFiles
) -> None:
    pub = InstagramPublisher(
        client,
        base_url=ig.base_url,
        access_token=ig.token,
        user_id=ig.user_id,
        media_host=FileMediaHost(files.directory, files.root, platform="Instagram"),
    )
    ig.used_quota = ig.quota_total - 3
    assert await pub.quota() == Quota(ig.quota_total - 3, ig.quota_total, "day")
    ig.used_quota = ig.quota_total
    with pytest.raises(QuotaUsedUp) as caught:
        await pub.publish("caption", media=[fixtures.picture()])
    assert caught.value.limit == ig.quota_total and not ig.media


# --- Bluesky: write points -----------------------------------------------------------------------


async def test_bluesky_write_points_used_up_is_a_used_up_quota(
    sky: FakeBluesky, client: httpx.AsyncClient
) -> None:
    sky.now = lambda: NOW
    pub = BlueskyPublisher(
        client,
        service=sky.base_url,
        handle=sky.handle,
        app_password=sky.app_password,
        clock=lambda: NOW,
    )
    sky.spend_points(4_998)
    with pytest.raises(QuotaUsedUp) as caught:
        await pub.publish("three points too many")
    error = caught.value
    assert (error.limit, error.window, error.unit) == (5000, "hour", "points")
    assert error.retry_after == 3600 and not sky.posts


def test_bluesky_quota_is_the_tighter_window() -> None:
    assert bluesky_quota(30, 60) == Quota(30, 5000, "hour", "points")
    assert bluesky_quota(10, 30_000) == Quota(30_000, 35_000, "day", "points")


def test_a_moving_window_frees_when_its_oldest_post_leaves() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    day, hour = timedelta(days=1), timedelta(hours=1)
    assert rolling_reset(now - 20 * hour, day, now, hour) == now + 4 * hour
    assert rolling_reset(None, day, now, hour) == now + hour
    assert rolling_reset(now - 2 * day, day, now, hour) == now + hour
