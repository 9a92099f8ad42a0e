"""Contract tests: XPublisher against the loopback X API v2 server, and X's weighted counting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publishers.base import Metrics, Publisher, PublishResult
from publishers.errors import (
    AuthExpired,
    OutcomeUnknown,
    Permanent,
    PublishError,
    RateLimited,
    TextTooLong,
    Transient,
)
from publishers.x import (
    OAuth1UserAuth,
    OAuth2UserAuth,
    XPublisher,
    oauth1_authorization,
    split_for_x,
    x_weighted_length,
)
from tests.fakes import fixtures
from tests.fakes.x import FakeX, weighted_length

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC).timestamp()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


x = fixtures.serve(FakeX)
client = fixtures.client


class Tokens:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def __call__(self, tokens: dict[str, Any]) -> None:
        self.seen.append(tokens)


@pytest.fixture
def tokens() -> Tokens:
    return Tokens()


@pytest.fixture
def publisher(x: FakeX, client: httpx.AsyncClient, tokens: Tokens):
    def make(
        *,
        oauth1: bool = False,
        access_token: str | None = None,
        consumer_secret: str | None = None,
        c: httpx.AsyncClient | None = None,
        base: str | None = None,
    ) -> XPublisher:
        auth: OAuth1UserAuth | OAuth2UserAuth
        if oauth1:
            auth = OAuth1UserAuth(
                x.consumer_key,
                consumer_secret or x.consumer_secret,
                x.oauth1_token,
                x.oauth1_token_secret,
            )
        else:
            auth = OAuth2UserAuth(
                access_token or x.access_token, x.refresh_token, x.client_id, x.client_secret
            )
        return XPublisher(
            c or client, base_url=base or x.base_url, auth=auth, on_tokens=tokens, clock=lambda: NOW
        )

    return make


def long_text(paragraphs: int = 4) -> str:
    return "\n\n".join(
        f"Part {n}: "
        + " ".join(f"word{n}_{i} 🇺🇦 東京 https://example.com/{n}/{i}." for i in range(12))
        for n in range(paragraphs)
    )


# ------------------------------------------------------------------ counting
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("https://example.com/" + "a" * 200, 23),
        ("see example.com/path and https://t.co/abc", 4 + 23 + 5 + 23),
        ("Node.js and name.io", 19),  # not links for X
        ("你好", 4),
        ("안녕", 4),
        ("Привет", 6),
        ("👨‍👩‍👧‍👦", 2),  # a ZWJ family is one emoji
        ("👍🏽", 2),
        ("🇺🇦", 2),
        ("1️⃣", 2),
        ("e\u0301", 1),  # NFC first
        ("…", 2),
        ("—", 1),
        ("€", 2),
        ("https://example.com这是", 27),
    ],
)
def test_weighted_length_matches_twitter_text(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected
    assert weighted_length(text) == expected  # the fake's own implementation agrees


def test_links_without_a_scheme_follow_twitter_text() -> None:
    assert x_weighted_length("t.co/abc") == 23  # a country TLD with a path
    assert x_weighted_length("bbc.co.uk") == 23  # ... or with a second label
    assert x_weighted_length("example.co") == 23  # .co and .tv are linked even alone
    assert x_weighted_length("name.io") == 7  # any other lone country TLD is not
    assert x_weighted_length("me@example.com") == 14  # nor is an e-mail address's domain


def test_limits_at_the_edge() -> None:
    assert split_for_x("a" * 280) == ["a" * 280]
    assert split_for_x("中" * 140) == ["中" * 140]
    with pytest.raises(TextTooLong):
        split_for_x("中" * 141)
    assert len(split_for_x("中" * 100 + " " + "中" * 100)) == 2


_WORDS = st.one_of(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12),
    st.text(st.sampled_from("中文日本語한국어ПриветمرحباΕλλάδα…—€"), min_size=1, max_size=12),
    st.sampled_from(
        [
            "👨‍👩‍👧‍👦",
            "👍🏽",
            "🇺🇦",
            "1️⃣",
            "❤️",
            "café",
            "e\u0301",
            "https://example.com/a/very/long/path?q=1&r=2#frag",
            "https://x.com/i/web/status/1860000000000000001",
            "example.com",
            "news.example.org/a",
            "name.io",
            "end.",
            "(see https://example.net/x)",
        ]
    ),
)
_SEPARATORS = st.sampled_from([" ", "  ", "\n", "\n\n", "\t"])


@st.composite
def documents(draw: st.DrawFn) -> str:
    items = draw(st.lists(st.tuples(_WORDS, _SEPARATORS), min_size=1, max_size=120))
    return "".join(w + s for w, s in items)


@settings(max_examples=150, deadline=None)
@given(documents())
def test_split_fits_and_keeps_every_word(text: str) -> None:
    parts = split_for_x(text)
    assert parts and all(x_weighted_length(p) <= 280 for p in parts)
    assert all(weighted_length(p) <= 280 for p in parts)  # what the server checks
    assert " ".join(parts).split() == text.split()  # no word, URL or grapheme cut or lost
    assert x_weighted_length(text) == weighted_length(text)


@settings(max_examples=100, deadline=None)
@given(st.text(), st.integers(min_value=23, max_value=280))
def test_split_arbitrary_text(text: str, limit: int) -> None:
    try:
        parts = split_for_x(text, limit)
    except TextTooLong:
        assert any(x_weighted_length(w) > limit for w in text.split())
        return
    assert all(x_weighted_length(p) <= limit for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())


def test_oauth1_signature_matches_the_documented_example() -> None:
    """The worked example of X's "Creating a signature" guide."""
    auth = OAuth1UserAuth(
        "xvz1evFS4wEEPTGEFPHBog",
        "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    )
    header = oauth1_authorization(
        "POST",
        "https://api.twitter.com/1.1/statuses/update.json?include_entities=true",
        auth,
        form=[("status", "Hello Ladies + Gentlemen, a signed OAuth request!")],
        nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
        timestamp=1318622958,
    )
    assert 'oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D"' in header
    assert header.startswith("OAuth ")


# ------------------------------------------------------------------ publishing
async def test_publishes_a_post_with_its_url(x: FakeX, publisher) -> None:
    pub = publisher()
    assert isinstance(pub, Publisher)
    result = await pub.publish("Hello, X! https://example.com/?a=1&b=2")
    [tweet] = x.posts
    assert tweet.text == "Hello, X! https://example.com/?a=1&b=2" and tweet.in_reply_to is None
    assert result == PublishResult(tweet.id, f"https://x.com/i/web/status/{tweet.id}", (tweet.id,))
    [call] = x.calls_to("POST", "/2/tweets")
    assert call.headers["Authorization"] == f"Bearer {x.access_token}"
    assert call.params == {"text": tweet.text}


async def test_oauth1_requests_are_signed(x: FakeX, publisher) -> None:
    pub = publisher(oauth1=True)
    first = await pub.publish("signed with HMAC-SHA1")
    await pub.publish("a second post, a fresh nonce", media=[PNG])
    assert await pub.verify() == "@nexus_x"
    await pub.delete(first.external_id)
    assert [t.text for t in x.posts] == ["a second post, a fresh nonce"]
    header = x.calls_to("POST", "/2/tweets")[0].headers["Authorization"]
    assert 'oauth_signature_method="HMAC-SHA1"' in header
    assert f'oauth_timestamp="{int(NOW)}"' in header
    with pytest.raises(AuthExpired, match="reconnect"):
        await publisher(oauth1=True, consumer_secret="wrong-secret").publish("forged")
    assert x.refreshes == 0


async def test_long_text_becomes_a_reply_thread(x: FakeX, publisher) -> None:
    text = long_text()
    result = await publisher().publish(text)
    posts = x.posts
    assert len(posts) >= 3
    assert result.part_ids == tuple(t.id for t in posts)
    assert posts[0].in_reply_to is None
    assert [t.in_reply_to for t in posts[1:]] == [t.id for t in posts[:-1]]
    assert all(weighted_length(t.text) <= 280 for t in posts)
    assert " ".join(t.text for t in posts).split() == text.split()


async def test_images_are_uploaded_and_attached_to_the_first_post(
    x: FakeX, publisher, tmp_path: Path
) -> None:
    picture = tmp_path / "chart.jpg"
    picture.write_bytes(JPEG)
    result = await publisher().publish(long_text(), media=[PNG, picture])
    first = x.posts[0]
    assert first.id == result.external_id and len(first.media_ids) == 2
    assert all(not t.media_ids for t in x.posts[1:])
    assert [x.media[i].mime for i in first.media_ids] == ["image/png", "image/jpeg"]
    uploads = x.calls_to("POST", "/2/media/upload")
    assert [u.params["media_category"] for u in uploads] == ["tweet_image"] * 2
    assert x.calls_to("POST", "/2/tweets")[0].params["media"] == {"media_ids": first.media_ids}


async def test_bad_images_are_refused_before_upload(x: FakeX, publisher) -> None:
    with pytest.raises(Permanent, match="at most 4"):
        await publisher().publish("five", media=[PNG] * 5)
    with pytest.raises(Permanent, match="JPEG, PNG, GIF or WebP"):
        await publisher().publish("a video", media=[b"\x00\x00\x00\x18ftypmp42"])
    with pytest.raises(Permanent, match="5 MB"):
        await publisher().publish("huge", media=[PNG + b"\x00" * (5 * 1024 * 1024)])
    assert x.calls_to("POST", "/2/media/upload") == [] and x.posts == []


async def test_429_waits_until_x_rate_limit_reset(x: FakeX, publisher) -> None:
    problem = {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    x.fail_next(
        "/2/tweets",
        429,
        problem,
        {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(NOW) + 120),
        },
    )
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi")
    assert err.value.retry_after == 120 and err.value.posted_part_ids == ()
    # the 24-hour posting cap has its own reset time
    x.fail_next(
        "/2/tweets",
        429,
        problem,
        {
            "x-rate-limit-reset": str(int(NOW) + 60),
            "x-user-limit-24hour-limit": "17",
            "x-user-limit-24hour-remaining": "0",
            "x-user-limit-24hour-reset": str(int(NOW) + 7200),
        },
    )
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi")
    assert err.value.retry_after == 7200
    x.fail_next("/2/tweets", 429, problem)
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi")
    assert err.value.retry_after == 900


async def test_expired_access_token_is_refreshed_once(x: FakeX, publisher, tokens: Tokens) -> None:
    pub = publisher()
    old_refresh = x.refresh_token
    x.expire_access_token()
    result = await pub.publish("after a refresh")
    assert x.posts[0].id == result.external_id
    assert x.refreshes == 1
    [new] = tokens.seen
    assert new["access_token"] == x.access_token and new["refresh_token"] == x.refresh_token
    assert new["refresh_token"] != old_refresh and new["expires_at"] == NOW + 7200
    assert isinstance(pub.auth, OAuth2UserAuth) and pub.auth.access_token == x.access_token
    [token_call] = x.calls_to("POST", "/2/oauth2/token")
    assert token_call.params["grant_type"] == "refresh_token"
    assert token_call.params["client_id"] == x.client_id  # a public client
    await pub.publish("no second refresh")
    assert x.refreshes == 1


async def test_confidential_client_refreshes_with_basic_auth_and_async_callback(
    client: httpx.AsyncClient,
) -> None:
    seen: list[dict[str, Any]] = []

    async def store(new: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        seen.append(new)

    async with FakeX(client_secret="x-client-secret") as x:
        auth = OAuth2UserAuth(x.access_token, x.refresh_token, x.client_id, "x-client-secret")
        pub = XPublisher(client, base_url=x.base_url, auth=auth, on_tokens=store)
        x.expire_access_token()
        assert await pub.verify() == "@nexus_x"
        assert [s["access_token"] for s in seen] == [x.access_token]
        assert (
            x.calls_to("POST", "/2/oauth2/token")[0].headers["Authorization"].startswith("Basic ")
        )


async def test_concurrent_401s_refresh_only_once(x: FakeX, publisher, tokens: Tokens) -> None:
    pub = publisher()
    x.expire_access_token()
    await asyncio.gather(pub.publish("one"), pub.publish("two"), pub.verify())
    assert x.refreshes == 1 and len(tokens.seen) == 1 and len(x.posts) == 2


async def test_refused_refresh_is_auth_expired(x: FakeX, publisher, tokens: Tokens) -> None:
    x.revoke()
    with pytest.raises(AuthExpired, match="reconnect the X account"):
        await publisher().publish("hi")
    assert tokens.seen == [] and x.posts == []


async def test_duplicate_and_invalid_posts_are_permanent_with_x_detail(x: FakeX, publisher) -> None:
    pub = publisher()
    await pub.publish("only once")
    with pytest.raises(Permanent, match="duplicate content") as err:
        await pub.publish("only once")
    assert not isinstance(err.value, (AuthExpired, Transient))
    x.fail_next(
        "/2/tweets",
        400,
        {
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
            "errors": [{"message": "Your Tweet text is too long."}],
        },
    )
    with pytest.raises(Permanent, match="too long"):
        await pub.publish("hi there")


async def test_server_error_and_timeout_are_transient(x: FakeX, publisher) -> None:
    x.fail_next(
        "/2/tweets",
        503,
        {
            "title": "Service Unavailable",
            "detail": "Service Unavailable",
            "type": "about:blank",
            "status": 503,
        },
    )
    with pytest.raises(Transient, match="server error"):
        await publisher().publish("hi")
    x.delay("/2/tweets", 1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        with pytest.raises(OutcomeUnknown, match="in time") as err:  # it may be out
            await publisher(c=impatient).publish("hi")
    assert isinstance(err.value.__cause__, httpx.TimeoutException)
    x.delay("/2/tweets", 0)
    with pytest.raises(Transient, match="could not reach"):
        await publisher(base="http://127.0.0.1:9").publish("hi")


async def test_mid_thread_failure_then_retry_sends_only_the_rest(x: FakeX, publisher) -> None:
    text = long_text()
    pub = publisher()
    x.fail_next("/2/tweets", 500, after=2)
    with pytest.raises(Transient) as err:
        await pub.publish(text, media=[PNG])
    posted = err.value.posted_part_ids
    assert len(posted) == 2 and "2 of" in err.value.reason
    calls, uploads = (
        len(x.calls_to("POST", "/2/tweets")),
        len(x.calls_to("POST", "/2/media/upload")),
    )

    result = await pub.publish(text, already_posted=posted, media=[PNG])

    assert result.part_ids[:2] == posted and result.external_id == posted[0]
    posts = x.posts
    assert tuple(t.id for t in posts) == result.part_ids
    assert [t.in_reply_to for t in posts[1:]] == [t.id for t in posts[:-1]]
    assert " ".join(t.text for t in posts).split() == text.split()
    sent = x.calls_to("POST", "/2/tweets")[calls:]
    assert len(sent) == len(result.part_ids) - 2
    assert sent[0].params["reply"] == {"in_reply_to_tweet_id": posted[-1]}
    assert len(x.calls_to("POST", "/2/media/upload")) == uploads  # not uploaded again


async def test_verify_and_idempotent_delete(x: FakeX, publisher) -> None:
    pub = publisher()
    assert await pub.verify() == "@nexus_x" and pub.name == "@nexus_x"
    result = await pub.publish("to be removed")
    await pub.delete(result.external_id)
    assert x.posts == []
    await pub.delete(result.external_id)
    x.fail_next("/2/tweets/123", 404)
    await pub.delete("123")


async def test_validate_in_plain_words(publisher) -> None:
    pub = publisher()
    assert pub.validate("fine") == []
    assert pub.validate(long_text()) == []
    assert pub.validate("  ") == ["the post is empty"]
    [problem] = pub.validate("中" * 141)
    assert "too long" in problem


async def test_no_error_reveals_a_secret(x: FakeX, publisher) -> None:
    secrets_ = [
        x.access_token,
        x.refresh_token,
        x.consumer_secret,
        x.oauth1_token,
        x.oauth1_token_secret,
    ]
    errors: list[PublishError] = []

    async def collect(pub: XPublisher, text: str = "hi") -> None:
        try:
            await pub.publish(text)
        except PublishError as exc:
            errors.append(exc)

    await collect(publisher(oauth1=True, consumer_secret="wrong"))
    x.fail_next("/2/tweets", 400, {"title": "Invalid Request", "detail": f"bad {x.access_token}"})
    await collect(publisher())
    x.fail_next("/2/tweets", 403, {"title": "Forbidden", "detail": f"no {x.oauth1_token_secret}"})
    await collect(publisher(oauth1=True))
    x.fail_next("/2/tweets", 429)
    await collect(publisher())
    x.fail_next("/2/tweets", 500, after=1)
    await collect(publisher(), long_text())
    x.delay("/2/tweets", 1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        await collect(publisher(c=impatient))
    x.delay("/2/tweets", 0)
    x.revoke()
    await collect(publisher())
    assert len(errors) == 7
    for exc in errors:
        for shown in (str(exc), repr(exc), str(exc.args)):
            assert not any(s in shown for s in secrets_), shown
    for pub in (publisher(), publisher(oauth1=True)):
        assert not any(s in repr(pub) or s in repr(pub.auth) for s in secrets_)


# ------------------------------------------------------------------ metrics and media limits
async def test_fetch_metrics_reads_the_head_post(x: FakeX, publisher) -> None:
    result = await publisher().publish(long_text())
    head, second = result.part_ids[:2]
    x.set_metrics(
        head, like_count=5, retweet_count=2, quote_count=1, reply_count=3, impression_count=120
    )
    x.set_metrics(second, like_count=99)
    for pub in (publisher(), publisher(oauth1=True)):  # OAuth 1.0a signs the query too
        assert await pub.fetch_metrics(result) == Metrics(likes=5, reposts=3, replies=3, views=120)
    [call, _] = x.calls_to("GET", f"/2/tweets/{head}")
    assert call.params["tweet.fields"] == "public_metrics"


async def test_fetch_metrics_rate_limit_auth_and_deleted_post(x: FakeX, publisher) -> None:
    pub = publisher()
    result = await pub.publish("counted")
    path = f"/2/tweets/{result.external_id}"
    x.fail_next(path, 429, None, {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1"})
    x.fail_next(path, 429, None, {"x-rate-limit-reset": str(int(NOW) + 42)})
    with pytest.raises(RateLimited) as err:
        await pub.fetch_metrics(result)
    assert err.value.retry_after == 1  # a reset already past waits the minimum
    with pytest.raises(RateLimited) as err:
        await pub.fetch_metrics(result)
    assert err.value.retry_after == 42
    x.expire_access_token()  # renewed once, then read
    assert await pub.fetch_metrics(result) == Metrics(views=0)
    await pub.delete(result.external_id)
    with pytest.raises(Permanent, match="^the post was deleted on X$"):
        await pub.fetch_metrics(result)
    x.revoke()
    with pytest.raises(AuthExpired):
        await pub.fetch_metrics(result)


async def test_media_limits_and_validate_count_images(publisher) -> None:
    pub = publisher()
    assert (pub.media_limits.max_count, pub.media_limits.max_bytes) == (4, 5 * 1024 * 1024)
    assert "image/webp" in pub.media_limits.formats
    assert pub.validate("fine", media_count=4) == []
    assert pub.validate("fine", media_count=6) == ["X takes at most 4 images; this post has 6"]
    with pytest.raises(Permanent, match="X takes at most 4 images; this post has 5"):
        await pub.publish("five", media=[PNG] * 5)
