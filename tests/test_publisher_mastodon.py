"""Contract tests: MastodonPublisher against the loopback Mastodon server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from publishers.base import Metrics, Publisher, PublishResult
from publishers.errors import AuthExpired, Permanent, PublishError, RateLimited, Transient
from publishers.mastodon import MastodonPublisher, make_idempotency_key, mastodon_length
from tests.fakes import fixtures
from tests.fakes.fixtures import Sleeps
from tests.fakes.mastodon import FakeMastodon, countable_length

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC).timestamp()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


masto = fixtures.serve(FakeMastodon)
client = fixtures.client
sleeps = fixtures.sleeps


@pytest.fixture
def publisher(masto: FakeMastodon, client: httpx.AsyncClient, sleeps: Sleeps):
    def make(
        token: str | None = None, c: httpx.AsyncClient | None = None, base: str | None = None
    ) -> MastodonPublisher:
        return MastodonPublisher(
            c or client,
            base_url=base or masto.base_url,
            access_token=token or masto.token,
            clock=lambda: NOW,
            sleep=sleeps,
        )

    return make


def long_text(paragraphs: int = 6) -> str:
    return "\n\n".join(
        f"Part {n}: " + " ".join(f"word{n}_{i} 🇺🇦 café." for i in range(30))
        for n in range(paragraphs)
    )


async def test_publishes_a_status_with_its_web_url(masto: FakeMastodon, publisher) -> None:
    pub = publisher()
    assert isinstance(pub, Publisher)
    result = await pub.publish("Hello, fediverse! https://example.com/?a=1&b=2")
    [status] = masto.posts
    assert status.text == "Hello, fediverse! https://example.com/?a=1&b=2"
    assert status.visibility == "public" and status.in_reply_to_id is None
    assert result == PublishResult(status.id, status.url, (status.id,))
    [call] = masto.calls_to("POST", "/api/v1/statuses")
    assert call.headers["Authorization"] == f"Bearer {masto.token}"
    assert call.headers["Idempotency-Key"] == make_idempotency_key(status.text, 0, status.text)


async def test_counts_like_mastodon(masto: FakeMastodon, publisher) -> None:
    url = "https://example.com/" + "a" * 600
    assert mastodon_length(url) == countable_length(url) == 23
    assert mastodon_length("hi @alice@example.social") == 9
    assert mastodon_length("👨‍👩‍👧‍👦 café") == 6  # graphemes, not code points
    # a long URL and a far-domain mention fit in one status although len() is way over 500
    text = f"{url} @someone@a.very.long.instance.example.org " + "x" * 450
    assert len(text) > 1000 and mastodon_length(text) <= 500
    result = await publisher().publish(text)
    assert len(result.part_ids) == 1 and masto.posts[0].text == text


async def test_limit_comes_from_the_instance_and_is_cached(masto: FakeMastodon, publisher) -> None:
    masto.max_characters = 1000
    pub = publisher()
    assert await pub.max_characters() == 1000
    text = " ".join(["word"] * 180)  # 899 characters
    await pub.publish(text)
    await pub.publish(text + " again")
    assert len(masto.posts) == 2
    assert len(masto.calls_to("GET", "/api/v2/instance")) == 1


async def test_long_text_becomes_a_reply_thread(masto: FakeMastodon, publisher) -> None:
    text = long_text()
    result = await publisher().publish(text)
    posts = masto.posts
    assert len(posts) >= 3
    assert result.part_ids == tuple(p.id for p in posts)
    assert result.url == posts[0].url
    assert posts[0].in_reply_to_id is None
    assert [p.in_reply_to_id for p in posts[1:]] == [p.id for p in posts[:-1]]
    assert all(countable_length(p.text) <= 500 for p in posts)
    assert " ".join(p.text for p in posts).split() == text.split()
    keys = [c.headers["Idempotency-Key"] for c in masto.calls_to("POST", "/api/v1/statuses")]
    assert len(set(keys)) == len(keys)


async def test_retry_after_a_timeout_does_not_double_post(masto: FakeMastodon, publisher) -> None:
    """The status was created but the answer was lost: the same key returns it again."""
    pub = publisher()
    first = await pub.publish("exactly once")
    again = await pub.publish("exactly once")
    assert again == first and len(masto.posts) == 1


async def test_media_is_uploaded_and_polled_until_processed(
    masto: FakeMastodon, publisher, sleeps: Sleeps, tmp_path: Path
) -> None:
    masto.processing_polls = 2
    picture = tmp_path / "chart.png"
    picture.write_bytes(PNG)
    result = await publisher().publish(
        long_text(), media=[PNG, picture], alt_texts=["a logo", "a chart"]
    )
    first = masto.posts[0]
    assert first.id == result.external_id and len(first.media_ids) == 2
    assert all(not p.media_ids for p in masto.posts[1:])
    media = [masto.media[i] for i in first.media_ids]
    assert [m.description for m in media] == ["a logo", "a chart"]
    assert all(m.mime == "image/png" and m.data == PNG for m in media)
    assert len(masto.calls_to("POST", "/api/v2/media")) == 2
    assert sleeps.waits == [1.0] * 6  # 2 answers of 206 each, then the ready one


async def test_media_that_never_finishes_is_transient(
    masto: FakeMastodon, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    masto.processing_polls = 100
    pub = MastodonPublisher(
        client,
        base_url=masto.base_url,
        access_token=masto.token,
        media_poll_attempts=3,
        media_poll_interval=0.5,
        sleep=sleeps,
    )
    with pytest.raises(Transient, match="still processing"):
        await pub.publish("with a picture", media=[PNG])
    assert masto.posts == [] and sleeps.waits == [0.5] * 3


async def test_too_many_attachments_are_refused_before_upload(
    masto: FakeMastodon, publisher
) -> None:
    with pytest.raises(Permanent, match="at most 4"):
        await publisher().publish("five", media=[PNG] * 5)
    assert masto.calls_to("POST", "/api/v2/media") == []


async def test_429_waits_until_the_reset_time(masto: FakeMastodon, publisher) -> None:
    reset = datetime.fromtimestamp(NOW + 120, UTC).isoformat().replace("+00:00", ".382101Z")
    masto.fail_next(
        "/api/v1/statuses", 429, {"error": "Too many requests"}, {"X-RateLimit-Reset": reset}
    )
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi")
    assert err.value.retry_after == pytest.approx(120.382101)
    assert err.value.posted_part_ids == ()
    masto.fail_next("/api/v1/statuses", 429, {"error": "Too many requests"})
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi")
    assert err.value.retry_after == 60


async def test_rejected_token_is_auth_expired(publisher) -> None:
    with pytest.raises(AuthExpired, match="reconnect"):
        await publisher(token="wrong").publish("hi")
    with pytest.raises(AuthExpired):
        await publisher(token="wrong").verify()


async def test_validation_error_is_permanent_with_the_server_text(
    masto: FakeMastodon, publisher
) -> None:
    masto.fail_next(
        "/api/v1/statuses", 422, {"error": "Validation failed: Text character limit exceeded"}
    )
    with pytest.raises(Permanent, match="Validation failed: Text character limit exceeded"):
        await publisher().publish("hi")
    # the real check as well: an instance whose limit is lower than it announced
    pub = publisher()
    await pub.max_characters()
    masto.max_characters = 10
    with pytest.raises(Permanent, match="character limit of 10 exceeded"):
        await pub.publish("more than ten characters")


async def test_server_error_and_timeout_are_transient(masto: FakeMastodon, publisher) -> None:
    masto.fail_next("/api/v1/statuses", 503, {"error": "Service unavailable"})
    with pytest.raises(Transient):
        await publisher().publish("hi")
    masto.delay("/api/v1/statuses", 1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        with pytest.raises(Transient, match="in time"):
            await publisher(c=impatient).publish("hi")
    masto.delay("/api/v1/statuses", 0)
    with pytest.raises(Transient, match="could not reach"):
        await publisher(base="http://127.0.0.1:9").publish("hi")


async def test_mid_thread_failure_then_retry_sends_only_the_rest(
    masto: FakeMastodon, publisher
) -> None:
    text = long_text()
    pub = publisher()
    masto.fail_next("/api/v1/statuses", 500, {"error": "oops"}, after=2)
    with pytest.raises(Transient) as err:
        await pub.publish(text)
    posted = err.value.posted_part_ids
    assert len(posted) == 2 and "2 of" in err.value.reason
    calls = len(masto.calls_to("POST", "/api/v1/statuses"))

    result = await pub.publish(text, already_posted=posted)

    assert result.part_ids[:2] == posted
    assert result.url == masto.statuses[posted[0]].url
    posts = masto.posts
    assert tuple(p.id for p in posts) == result.part_ids
    assert [p.in_reply_to_id for p in posts[1:]] == [p.id for p in posts[:-1]]
    assert " ".join(p.text for p in posts).split() == text.split()  # nothing twice
    sent = masto.calls_to("POST", "/api/v1/statuses")[calls:]
    assert len(sent) == len(result.part_ids) - 2
    assert sent[0].params["in_reply_to_id"] == posted[-1]


async def test_verify_names_the_account(masto: FakeMastodon, publisher) -> None:
    pub = publisher()
    assert await pub.verify() == "@nexus@127.0.0.1"
    assert pub.name == "@nexus@127.0.0.1"


async def test_delete_is_idempotent(masto: FakeMastodon, publisher) -> None:
    pub = publisher()
    result = await pub.publish("to be removed")
    await pub.delete(result.external_id)
    assert masto.posts == []
    await pub.delete(result.external_id)


async def test_validate_in_plain_words(publisher) -> None:
    pub = publisher()
    assert pub.validate("fine") == []
    assert pub.validate(long_text()) == []
    assert pub.validate("  ") == ["the post is empty"]
    [problem] = pub.validate("x" * 501)
    assert "too long" in problem


async def test_no_error_reveals_the_token(masto: FakeMastodon, publisher) -> None:
    secret = masto.token
    errors: list[PublishError] = []

    async def collect(pub: MastodonPublisher, text: str = "hi") -> None:
        try:
            await pub.publish(text)
        except PublishError as exc:
            errors.append(exc)

    await collect(publisher(token="wrong-" + secret))
    masto.fail_next("/api/v1/statuses", 422, {"error": f"weird {secret}"})
    await collect(publisher())
    masto.fail_next("/api/v1/statuses", 429, {"error": "slow down"})
    await collect(publisher())
    masto.fail_next("/api/v1/statuses", 500, {"error": secret}, after=1)
    await collect(publisher(), long_text())
    masto.delay("/api/v1/statuses", 1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        await collect(publisher(c=impatient))
    masto.delay("/api/v1/statuses", 0)
    assert len(errors) == 5
    for exc in errors:
        for shown in (str(exc), repr(exc), str(exc.args)):
            assert secret not in shown
    assert secret not in repr(publisher())


# ------------------------------------------------------------------ metrics and media limits
async def test_fetch_metrics_reads_the_head_status(masto: FakeMastodon, publisher) -> None:
    pub = publisher()
    result = await pub.publish(long_text())
    head, second = result.part_ids[:2]
    masto.set_counts(head, favourites_count=6, reblogs_count=2, replies_count=3)
    masto.set_counts(second, favourites_count=99)
    assert await pub.fetch_metrics(result) == Metrics(likes=6, reposts=2, replies=3, views=None)


async def test_fetch_metrics_rate_limit_auth_and_deleted_post(
    masto: FakeMastodon, publisher
) -> None:
    pub = publisher()
    result = await pub.publish("counted")
    reset = datetime.fromtimestamp(NOW + 45, UTC).isoformat()
    path = f"/api/v1/statuses/{result.external_id}"
    masto.fail_next(path, 429, {"error": "Too many requests"}, {"X-RateLimit-Reset": reset})
    with pytest.raises(RateLimited) as err:
        await pub.fetch_metrics(result)
    assert err.value.retry_after == 45
    with pytest.raises(AuthExpired, match="reconnect"):
        await publisher(token="wrong").fetch_metrics(result)
    await pub.delete(result.external_id)
    with pytest.raises(Permanent, match="^the post was deleted on Mastodon$"):
        await pub.fetch_metrics(result)


async def test_media_limits_and_validate_count_images(masto: FakeMastodon, publisher) -> None:
    pub = publisher()
    assert (pub.media_limits.max_count, pub.media_limits.max_bytes) == (4, 16 * 1024 * 1024)
    assert pub.validate("fine", media_count=4) == []
    assert pub.validate("fine", media_count=5) == [
        "Mastodon takes at most 4 images; this post has 5"
    ]
    masto.max_media_attachments = 6  # an instance that allows more
    await pub.max_characters()
    assert pub.media_limits.max_count == 6 and pub.validate("fine", media_count=5) == []
    assert type(pub).media_limits.max_count == 4  # other publishers keep the default
