"""VKPublisher against the loopback VK API (errors inside HTTP 200, photo upload chain)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publishers.base import Metrics, Publisher, PublishResult
from publishers.errors import AuthExpired, Permanent, PublishError, RateLimited, Transient
from publishers.vk import VK_CAPTCHA_REASON, VK_MESSAGE_LIMIT, VKPublisher, make_guid
from tests.fakes import fixtures
from tests.fakes.vk import FakeVK

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 64
OFFLINE = VKPublisher(httpx.AsyncClient(), access_token="unused", group_id=1)  # split only


vk = fixtures.serve(FakeVK)
client = fixtures.client


@pytest.fixture
def publisher(vk: FakeVK, client: httpx.AsyncClient):
    def make(
        token: str | None = None, c: httpx.AsyncClient | None = None, base: str | None = None
    ) -> VKPublisher:
        return VKPublisher(
            c or client,
            base_url=base or vk.base_url,
            access_token=token or vk.token,
            group_id=vk.group_id,
        )

    return make


def long_text() -> str:
    """About 2.5 wall posts' worth of paragraphs."""
    paragraph = " ".join(f"слово{i} 🇺🇦 café." for i in range(400))
    return "\n\n".join(f"Part {n}: {paragraph}" for n in range(6))


async def test_posts_on_the_community_wall(vk: FakeVK, publisher) -> None:
    pub = publisher()
    assert isinstance(pub, Publisher)
    result = await pub.publish("Hello, VK! https://example.com/?a=1&b=2")
    [post] = vk.posts
    assert post.message == "Hello, VK! https://example.com/?a=1&b=2"
    assert post.owner_id == -vk.group_id and post.from_group and post.attachments == []
    assert result == PublishResult(
        str(post.id), f"https://vk.com/wall-{vk.group_id}_{post.id}", (str(post.id),)
    )
    [call] = vk.calls_to("wall.post")
    assert call.params["access_token"] == vk.token and call.params["v"] == "5.199"
    assert call.params["guid"] == make_guid(post.message, 0, post.message)


async def test_the_token_never_travels_in_a_url(vk: FakeVK, client: httpx.AsyncClient) -> None:
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(str(request.url))

    client.event_hooks["request"].append(record)
    pub = VKPublisher(client, base_url=vk.base_url, access_token=vk.token, group_id=vk.group_id)
    await pub.publish("hi", media=[PNG])
    await pub.verify()
    assert len(seen) == 5 and not any(vk.token in url for url in seen)


async def test_a_resent_post_is_not_duplicated(vk: FakeVK, publisher) -> None:
    """The post was created but the answer was lost: the same guid returns it again."""
    pub = publisher()
    first = await pub.publish("exactly once")
    again = await pub.publish("exactly once")
    assert again == first and len(vk.posts) == 1
    other = await pub.publish("exactly once", key="publication-2")
    assert other.external_id != first.external_id and len(vk.posts) == 2


async def test_long_text_becomes_several_wall_posts(vk: FakeVK, publisher) -> None:
    text = long_text()
    assert len(text) > 2 * VK_MESSAGE_LIMIT
    result = await publisher().publish(text)
    posts = vk.posts
    assert len(posts) == 3
    assert result.part_ids == tuple(str(p.id) for p in posts)
    assert result.url == f"https://vk.com/wall-{vk.group_id}_{posts[0].id}"
    assert all(len(p.message) <= VK_MESSAGE_LIMIT for p in posts)
    assert " ".join(p.message for p in posts).split() == text.split()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(
        st.text(st.characters(exclude_categories=("Z", "C")), min_size=1, max_size=60),
        min_size=1,
        max_size=40,
    ),
    limit_gap=st.integers(0, 3),
)
def test_splitting_keeps_every_word_within_the_limit(words: list[str], limit_gap: int) -> None:
    """Around the 16384 boundary: exactly at it stays one post, one more character splits."""
    filler = "a" * (VK_MESSAGE_LIMIT - len(" ".join(words)) - 1 - limit_gap)
    text = filler + " " + " ".join(words)
    parts = OFFLINE.split(text)
    assert len(text) <= VK_MESSAGE_LIMIT and parts == [text]
    longer = text + " tail"
    parts = OFFLINE.split(longer)
    assert len(parts) == 2 and all(len(p) <= VK_MESSAGE_LIMIT for p in parts)
    assert " ".join(parts).split() == longer.split()


async def test_photos_go_through_the_upload_chain(vk: FakeVK, publisher, tmp_path: Path) -> None:
    picture = tmp_path / "chart.jpg"
    picture.write_bytes(JPEG)
    result = await publisher().publish(long_text(), media=[PNG, picture])
    first, *rest = vk.posts
    assert first.id == int(result.external_id)
    photos = [vk.photos[int(a.split("_")[1])] for a in first.attachments]
    assert [p.data for p in photos] == [PNG, JPEG]
    assert first.attachments == [f"photo{-vk.group_id}_{p.id}" for p in photos]
    assert all(p.attachments == [] for p in rest)
    assert len(vk.calls_to("photos.getWallUploadServer")) == 2
    uploads = vk.calls_to("upload")
    assert [u.files["photo"][0] for u in uploads] == [PNG, JPEG]
    assert all("access_token" not in u.params for u in uploads)
    assert len(vk.calls_to("photos.saveWallPhoto")) == 2


async def test_a_file_vk_cannot_read_is_permanent(vk: FakeVK, publisher, tmp_path: Path) -> None:
    with pytest.raises(Permanent, match="not an image"):
        await publisher().publish("hi", media=[b"plain text, not a picture"])
    assert vk.calls_to("upload") == []
    broken = tmp_path / "broken.png"  # named like an image; VK's upload server can't read it
    broken.write_bytes(b"garbage")
    with pytest.raises(Permanent, match="not an image it can read"):
        await publisher().publish("hi", media=[broken])
    assert len(vk.calls_to("upload")) == 1 and vk.posts == []
    vk.fail_next("upload", 0, http_status=502)
    with pytest.raises(Transient):
        await publisher().publish("hi", media=[PNG])
    with pytest.raises(Permanent, match="at most 10"):
        await publisher().publish("hi", media=[PNG] * 11)


@pytest.mark.parametrize(
    ("code", "wait"),
    [(6, 1.0), (9, 60.0), (29, 3600.0)],
)
async def test_rate_limit_signals_wait_as_documented(
    vk: FakeVK, publisher, code: int, wait: float
) -> None:
    vk.fail_next("wall.post", code)
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi")
    assert err.value.retry_after == wait and err.value.posted_part_ids == ()
    assert vk.posts == []


async def test_rejected_token_is_auth_expired(vk: FakeVK, publisher) -> None:
    with pytest.raises(AuthExpired, match="reconnect"):
        await publisher(token="wrong").publish("hi")
    with pytest.raises(AuthExpired):
        await publisher(token="wrong").verify()


async def test_captcha_is_permanent_in_plain_words(vk: FakeVK, publisher) -> None:
    vk.fail_next("wall.post", 14)
    with pytest.raises(Permanent) as err:
        await publisher().publish("hi")
    assert err.value.reason == VK_CAPTCHA_REASON


async def test_validation_error_is_permanent_with_vk_text(
    vk: FakeVK, publisher, client: httpx.AsyncClient
) -> None:
    vk.fail_next("wall.post", 100, "One of the parameters specified was missing or invalid: x")
    with pytest.raises(Permanent, match="missing or invalid: x"):
        await publisher().publish("hi")
    # the real check: a community the token can't post to
    wrong = VKPublisher(
        client,
        base_url=vk.base_url,
        access_token=vk.token,
        group_id=vk.group_id + 1,
    )
    with pytest.raises(Permanent, match="Access to adding post denied"):
        await wrong.publish("hi")


async def test_internal_error_http_error_and_timeout_are_transient(vk: FakeVK, publisher) -> None:
    vk.fail_next("wall.post", 10)
    with pytest.raises(Transient, match="internal error"):
        await publisher().publish("hi")
    vk.fail_next("wall.post", 0, http_status=502)
    with pytest.raises(Transient, match="server error"):
        await publisher().publish("hi")
    vk.delay("wall.post", 1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        with pytest.raises(Transient, match="in time"):
            await publisher(c=impatient).publish("hi")
    vk.delay("wall.post", 0)
    with pytest.raises(Transient, match="could not reach"):
        await publisher(base="http://127.0.0.1:9/method").publish("hi")


async def test_failure_mid_split_then_retry_sends_only_the_rest(vk: FakeVK, publisher) -> None:
    text = long_text()
    pub = publisher()
    vk.fail_next("wall.post", 9, after=1)
    with pytest.raises(RateLimited) as err:
        await pub.publish(text, media=[PNG])
    posted = err.value.posted_part_ids
    assert len(posted) == 1 and "1 of 3" in err.value.reason
    calls = len(vk.calls_to("wall.post"))
    uploads = len(vk.calls_to("upload"))

    result = await pub.publish(text, media=[PNG], already_posted=posted)

    assert result.part_ids[:1] == posted and len(result.part_ids) == 3
    assert tuple(str(p.id) for p in vk.posts) == result.part_ids
    assert " ".join(p.message for p in vk.posts).split() == text.split()  # nothing twice
    assert len(vk.calls_to("wall.post")) - calls == 2
    assert len(vk.calls_to("upload")) == uploads  # photos went out with part 1 already


async def test_verify_names_the_community(vk: FakeVK, publisher) -> None:
    pub = publisher()
    assert pub.name == f"vk.com/club{vk.group_id}"
    assert await pub.verify() == "Nexus Community"
    assert pub.name == "Nexus Community"


async def test_delete_is_idempotent(vk: FakeVK, publisher) -> None:
    pub = publisher()
    result = await pub.publish("to be removed")
    await pub.delete(result.external_id)
    assert vk.posts == []
    await pub.delete(result.external_id)  # already deleted: VK answers 1
    await pub.delete("987654")  # never existed: error 100, treated as gone


async def test_validate_in_plain_words(publisher) -> None:
    pub = publisher()
    assert pub.validate("fine") == []
    assert pub.validate(long_text()) == []
    assert pub.validate("  ") == ["the post is empty"]
    [problem] = pub.validate("x" * (VK_MESSAGE_LIMIT + 1))
    assert "too long" in problem


async def test_no_error_reveals_the_token(vk: FakeVK, publisher, client: httpx.AsyncClient) -> None:
    """VK echoes every parameter, the token included, in ``request_params``: scrubbed."""
    secret = vk.token
    errors: list[PublishError] = []

    async def collect(pub: VKPublisher, text: str = "hi", **kwargs: object) -> None:
        try:
            await pub.publish(text, **kwargs)  # type: ignore[arg-type]
        except PublishError as exc:
            errors.append(exc)

    await collect(publisher(token="wrong-" + secret))
    for code in (6, 9, 10, 14, 29, 100, 15):
        vk.fail_next("wall.post", code, f"weird {secret}")
        await collect(publisher())
    vk.fail_next("photos.saveWallPhoto", 100, f"bad hash for {secret}")
    await collect(publisher(), media=[PNG])
    vk.fail_next("wall.post", 10, secret, after=1)
    await collect(publisher(), long_text())
    vk.delay("wall.post", 1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        await collect(publisher(c=impatient))
    vk.delay("wall.post", 0)
    assert len(errors) == 11
    # the fake really does echo it, as VK does
    raw = await client.post(f"{vk.base_url}/wall.post", data={"access_token": secret})
    assert raw.status_code == 200 and secret in raw.text and "request_params" in raw.text
    for exc in errors:
        for shown in (str(exc), repr(exc), str(exc.args), exc.reason):
            assert secret not in shown
    assert secret not in repr(publisher())


# ------------------------------------------------------------------ metrics and media limits
async def test_fetch_metrics_reads_the_first_wall_post(vk: FakeVK, publisher) -> None:
    pub = publisher()
    result = await pub.publish(long_text())
    head, second = result.part_ids[:2]
    vk.set_counts(head, likes=7, reposts=2, comments=3, views=120)
    vk.set_counts(second, likes=99)
    assert await pub.fetch_metrics(result) == Metrics(likes=7, reposts=2, replies=3, views=120)
    [call] = vk.calls_to("wall.getById")
    assert call.params["posts"] == f"-{vk.group_id}_{head}"
    assert call.params["access_token"] == vk.token and call.params["v"]


@pytest.mark.parametrize(("code", "wait"), [(6, 1.0), (9, 60.0), (29, 3600.0)])
async def test_fetch_metrics_rate_limits(vk: FakeVK, publisher, code: int, wait: float) -> None:
    pub = publisher()
    result = await pub.publish("counted")
    vk.fail_next("wall.getById", code)
    with pytest.raises(RateLimited) as err:
        await pub.fetch_metrics(result)
    assert err.value.retry_after == wait


async def test_fetch_metrics_auth_and_deleted_post(vk: FakeVK, publisher) -> None:
    pub = publisher()
    result = await pub.publish("counted")
    with pytest.raises(AuthExpired, match="reconnect"):
        await publisher(token="wrong").fetch_metrics(result)
    await pub.delete(result.external_id)
    with pytest.raises(Permanent, match="^the post was deleted on VK$"):
        await pub.fetch_metrics(result)


async def test_media_limits_and_validate_count_images(publisher) -> None:
    pub = publisher()
    assert pub.media_limits.max_count == 10
    assert pub.validate("fine", media_count=10) == []
    assert pub.validate("fine", media_count=11) == ["VK takes at most 10 images; this post has 11"]
