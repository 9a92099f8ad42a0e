"""Contract tests: BlueskyPublisher against the loopback PDS, and properties of its text rules."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publishers.base import Metrics, Publisher, PublishResult
from publishers.bluesky import (
    BLUESKY_GRAPHEME_LIMIT,
    BlueskyPublisher,
    Span,
    _fallback_graphemes,
    find_spans,
    grapheme_len,
    graphemes,
    post_measure,
)
from publishers.errors import (
    AuthExpired,
    Permanent,
    PublishError,
    RateLimited,
    TextTooLong,
    Transient,
)
from publishers.mastodon import mastodon_length
from publishers.text import BREAKABLE_SPACE, split_text
from tests.fakes import fixtures
from tests.fakes.bluesky import FakeBluesky

NOW = 1_795_000_000.0
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FAST = settings(max_examples=60, deadline=None)


sky = fixtures.serve(FakeBluesky, lambda f: f.add_account("alice.example.com", "did:plc:alice"))
client = fixtures.client


@pytest.fixture
def publisher(sky: FakeBluesky, client: httpx.AsyncClient):
    def make(
        password: str | None = None, c: httpx.AsyncClient | None = None, service: str | None = None
    ) -> BlueskyPublisher:
        return BlueskyPublisher(
            c or client,
            service=service or sky.base_url,
            handle="@Nexus.bsky.social",
            app_password=password or sky.app_password,
            clock=lambda: NOW,
        )

    return make


def long_text(paragraphs: int = 4) -> str:
    return "\n\n".join(
        f"Part {n}: " + " ".join(f"w{n}_{i} 👨‍👩‍👧‍👦 café." for i in range(25))
        for n in range(paragraphs)
    )


def facet_slices(record: dict) -> list[tuple[str, str]]:
    data = record["text"].encode()
    out = []
    for facet in record.get("facets", []):
        index, [feature] = facet["index"], facet["features"]
        kind = feature["$type"].rsplit("#", 1)[1]
        out.append((kind, data[index["byteStart"] : index["byteEnd"]].decode()))
    return out


# ---------------------------------------------------------------- contract
async def test_publishes_a_post_with_facets(sky: FakeBluesky, publisher) -> None:
    pub = publisher()
    assert isinstance(pub, Publisher)
    assert (pub.platform, pub.name) == ("bluesky", "@nexus.bsky.social")
    text = (
        "Привет 👋🏽 @alice.example.com! See https://example.com/a?b=1. "
        "#Nexus #2026 @nobody.example.org"
    )
    result = await pub.publish(text)
    [post] = sky.posts
    assert post.text == text
    assert post.value["createdAt"] == "2026-11-18T11:06:40.000Z"
    assert facet_slices(post.value) == [
        ("mention", "@alice.example.com"),
        ("link", "https://example.com/a?b=1"),
        ("tag", "#Nexus"),
    ]  # "#2026" is no tag and an unknown handle stays plain text
    features = [f["features"][0] for f in post.value["facets"]]
    assert features[0]["did"] == "did:plc:alice"
    assert features[1]["uri"] == "https://example.com/a?b=1"
    assert features[2]["tag"] == "Nexus"
    assert result == PublishResult(
        external_id=post.uri,
        url=f"https://bsky.app/profile/nexus.bsky.social/post/{post.rkey}",
        part_ids=(post.uri,),
    )
    [session] = sky.calls_to("com.atproto.server.createSession")
    assert session.params == {"identifier": "nexus.bsky.social", "password": sky.app_password}


async def test_session_is_reused(sky: FakeBluesky, publisher) -> None:
    pub = publisher()
    await pub.publish("one")
    await pub.publish("two")
    assert len(sky.calls_to("com.atproto.server.createSession")) == 1


async def test_long_text_becomes_a_thread_with_reply_refs(sky: FakeBluesky, publisher) -> None:
    text = long_text()
    result = await publisher().publish(text)
    posts = sky.posts
    assert len(posts) >= 3 and result.part_ids == tuple(p.uri for p in posts)
    root = {"uri": posts[0].uri, "cid": posts[0].cid}
    assert "reply" not in posts[0].value
    for parent, post in zip(posts, posts[1:], strict=False):
        assert post.value["reply"] == {
            "root": root,
            "parent": {"uri": parent.uri, "cid": parent.cid},
        }
    assert all(grapheme_len(p.text) <= BLUESKY_GRAPHEME_LIMIT for p in posts)
    assert " ".join(p.text for p in posts).split() == text.split()


async def test_images_are_uploaded_and_embedded(
    sky: FakeBluesky, publisher, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"\x01" * 1000)
    await publisher().publish(long_text(), media=[PNG, photo], alt_texts=["a logo"])
    first, *rest = sky.posts
    embed = first.value["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert [i["alt"] for i in embed["images"]] == ["a logo", ""]
    assert [i["image"]["mimeType"] for i in embed["images"]] == ["image/png", "image/jpeg"]
    assert [c.headers["Content-Type"] for c in sky.calls_to("com.atproto.repo.uploadBlob")] == [
        "image/png",
        "image/jpeg",
    ]
    assert all("embed" not in p.value for p in rest)


async def test_oversized_or_too_many_images_are_refused_before_upload(
    sky: FakeBluesky, publisher
) -> None:
    with pytest.raises(Permanent, match="at most 1,000,000 bytes"):
        await publisher().publish("big", media=[PNG, PNG + b"\x00" * 1_000_000])
    with pytest.raises(Permanent, match="at most 4 images"):
        await publisher().publish("many", media=[PNG] * 5)
    assert sky.calls == []  # not even a login


async def test_429_waits_until_ratelimit_reset(sky: FakeBluesky, publisher) -> None:
    sky.fail_next(
        "com.atproto.repo.createRecord",
        429,
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        {"ratelimit-reset": str(int(NOW) + 300), "ratelimit-remaining": "0"},
    )
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi")
    assert err.value.retry_after == 300 and err.value.posted_part_ids == ()
    sky.fail_next("com.atproto.repo.createRecord", 429, {"error": "RateLimitExceeded"})
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi")
    assert err.value.retry_after == 60


async def test_expired_access_token_is_refreshed_and_the_call_retried(
    sky: FakeBluesky, publisher
) -> None:
    pub = publisher()
    await pub.publish("before")
    sky.expire_access_tokens()
    await pub.publish("after")
    assert [p.text for p in sky.posts] == ["before", "after"]
    assert len(sky.calls_to("com.atproto.server.refreshSession")) == 1
    assert len(sky.calls_to("com.atproto.server.createSession")) == 1


async def test_dead_refresh_token_logs_in_again(sky: FakeBluesky, publisher) -> None:
    pub = publisher()
    await pub.publish("before")
    sky.revoke_sessions()
    await pub.publish("after")
    assert len(sky.posts) == 2
    assert len(sky.calls_to("com.atproto.server.createSession")) == 2


async def test_revoked_app_password_is_auth_expired(sky: FakeBluesky, publisher) -> None:
    pub = publisher()
    await pub.publish("before")
    sky.change_password("new-pass-word-0000")
    with pytest.raises(AuthExpired, match="app password"):
        await pub.publish("after")
    with pytest.raises(AuthExpired):
        await publisher(password="wrong").verify()
    assert [p.text for p in sky.posts] == ["before"]


async def test_invalid_request_is_permanent(sky: FakeBluesky, publisher) -> None:
    sky.fail_next(
        "com.atproto.repo.createRecord",
        400,
        {"error": "InvalidRequest", "message": "Invalid app.bsky.feed.post record: nope"},
    )
    with pytest.raises(Permanent, match="Invalid app.bsky.feed.post record: nope"):
        await publisher().publish("hi")


async def test_server_error_and_timeout_are_transient(sky: FakeBluesky, publisher) -> None:
    sky.fail_next("com.atproto.repo.createRecord", 502)
    with pytest.raises(Transient):
        await publisher().publish("hi")
    sky.delay("com.atproto.server.createSession", 1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        with pytest.raises(Transient, match="in time"):
            await publisher(c=impatient).publish("hi")
    sky.delay("com.atproto.server.createSession", 0)
    with pytest.raises(Transient, match="could not reach"):
        await publisher(service="http://127.0.0.1:9").verify()


async def test_mid_thread_failure_then_retry_sends_only_the_rest(
    sky: FakeBluesky, publisher
) -> None:
    text = long_text()
    pub = publisher()
    sky.fail_next("com.atproto.repo.createRecord", 500, after=2)
    with pytest.raises(Transient) as err:
        await pub.publish(text)
    posted = err.value.posted_part_ids
    assert len(posted) == 2 and "2 of" in err.value.reason
    before = len(sky.calls_to("com.atproto.repo.createRecord"))

    # a fresh publisher, as after a restart: the cids come from getRecord
    result = await publisher().publish(text, already_posted=posted)

    posts = sky.posts
    assert result.part_ids[:2] == posted and tuple(p.uri for p in posts) == result.part_ids
    assert len(sky.calls_to("com.atproto.repo.createRecord")) - before == len(posts) - 2
    root = {"uri": posts[0].uri, "cid": posts[0].cid}
    for parent, post in zip(posts, posts[1:], strict=False):
        assert post.value["reply"] == {
            "root": root,
            "parent": {"uri": parent.uri, "cid": parent.cid},
        }
    assert " ".join(p.text for p in posts).split() == text.split()


async def test_verify_and_delete(sky: FakeBluesky, publisher) -> None:
    pub = publisher()
    assert await pub.verify() == "@nexus.bsky.social"
    result = await pub.publish("to be removed")
    await pub.delete(result.external_id)
    assert sky.posts == []
    await pub.delete(result.external_id)  # already gone: fine


async def test_validate_in_plain_words(publisher) -> None:
    pub = publisher()
    assert pub.validate("fine") == []
    assert pub.validate(long_text()) == []
    assert pub.validate("\n") == ["the post is empty"]
    [problem] = pub.validate("https://example.com/" + "a" * 300)
    assert "too long" in problem
    with pytest.raises(TextTooLong):
        await pub.publish("x" * 301)


async def test_no_error_reveals_a_secret(sky: FakeBluesky, publisher) -> None:
    errors: list[PublishError] = []

    async def collect(pub: BlueskyPublisher, text: str = "hi") -> None:
        try:
            await pub.publish(text)
        except PublishError as exc:
            errors.append(exc)

    await collect(publisher(password="wrong-password-1"))
    good = publisher()
    await good.publish("warm up")
    assert good._access and good._refresh
    secrets = [sky.app_password, good._access, good._refresh]
    sky.fail_next(
        "com.atproto.repo.createRecord",
        400,
        {"error": "InvalidRequest", "message": f"echo {sky.app_password} {good._access}"},
    )
    await collect(good)
    sky.fail_next("com.atproto.repo.createRecord", 429, {"error": "RateLimitExceeded"})
    await collect(good)
    sky.fail_next("com.atproto.repo.createRecord", 500, after=1)
    await collect(good, long_text())
    sky.change_password("another-pass-1234")
    await collect(good)
    assert len(errors) == 5
    secrets.append("wrong-password-1")
    for exc in errors:
        for shown in (str(exc), repr(exc), str(exc.args)):
            assert not any(s in shown for s in secrets)
    assert sky.app_password not in repr(good)


# ---------------------------------------------------------------- properties
LETTERS = ["a", "Z", "é", "ñ̃", "字", "Я", "7", "👍🏽", "👨‍👩‍👧‍👦", "🇺🇦", "-", "'"]
plain_words = st.lists(st.sampled_from(LETTERS), min_size=1, max_size=8).map("".join)
LOWER = "abcdefghijklmnopqrstuvwxyz"
label = st.text(LOWER + "0123456789", min_size=1, max_size=8)
tld = st.text(LOWER, min_size=2, max_size=6)
handles = st.builds(lambda ls, t: ".".join([*ls, t]), st.lists(label, min_size=1, max_size=3), tld)
path_segments = st.lists(st.text(LOWER + "ABC0123456789_~-", min_size=1, max_size=10), max_size=3)
links = st.builds(
    lambda scheme, host, path, query: f"{scheme}://{host}{''.join('/' + p for p in path)}{query}",
    st.sampled_from(["https", "http"]),
    handles,
    path_segments,
    st.sampled_from(["", "", "?a=1", "?q=42&r=x"]),
)
tags = st.builds(
    lambda first, middle, last: first + (middle + last if last else ""),
    st.sampled_from(["a", "Z", "é", "字"]),
    st.text(LOWER + "AB0123456789é_", max_size=14),
    st.sampled_from(["", "a", "9", "é"]),
)
trailing = st.sampled_from(["", "", ".", ",", "!", "?", ":"])
separators = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", " \u3000 "])


@st.composite
def rich_texts(draw: st.DrawFn, max_tokens: int = 30) -> tuple[str, list[tuple[str, str, str]]]:
    """A text and the (kind, value, exact source text) of each link/mention/tag in it."""
    pieces: list[str] = []
    expected: list[tuple[str, str, str]] = []
    for _ in range(draw(st.integers(min_value=1, max_value=max_tokens))):
        kind = draw(st.sampled_from(["word", "word", "link", "mention", "tag"]))
        if kind == "word":
            pieces.append(draw(plain_words))
        else:
            if kind == "link":
                value = draw(links)
                source = value
            elif kind == "mention":
                handle = draw(handles)
                value, source = handle, "@" + handle
            else:
                value = draw(tags)
                source = "#" + value
            expected.append((kind, value, source))
            pieces.append(source + draw(trailing))
        pieces.append(draw(separators))
    return "".join(pieces), expected


@FAST
@given(rich_texts())
def test_facet_byte_ranges_cover_exactly_the_entity(case) -> None:
    text, expected = case
    spans = find_spans(text)
    data = text.encode()
    assert [(s.kind, s.value) for s in spans] == [(k, v) for k, v, _ in expected]
    for span, (_, _, source) in zip(spans, expected, strict=True):
        assert isinstance(span, Span)
        assert data[span.byte_start : span.byte_end].decode() == source


def boundaries(text: str) -> set[int]:
    out, position = {0}, 0
    for cluster in graphemes(text):
        position += len(cluster)
        out.add(position)
    return out


_GAP = re.compile(f"[{re.escape(BREAKABLE_SPACE)}]+")


def check_split(text: str, parts: list[str], limit: int, measure) -> None:
    assert all(parts) and all(measure(p) <= limit for p in parts)
    assert [t for t in _GAP.split(" ".join(parts)) if t] == [t for t in _GAP.split(text) if t]
    cuts = boundaries(text)
    position = 0
    for part in parts:  # a verbatim slice, starting and ending on grapheme boundaries
        start = text.find(part, position)
        assert start >= 0 and start in cuts and start + len(part) in cuts
        position = start + len(part)
    # every URL, mention and tag survives whole in one part
    for span in find_spans(text):
        assert any(span.value.lower() in p.lower() for p in parts)


@FAST
@given(rich_texts(max_tokens=60), st.integers(min_value=90, max_value=BLUESKY_GRAPHEME_LIMIT))
def test_bluesky_split_keeps_words_links_and_graphemes_whole(case, limit: int) -> None:
    text, _ = case
    parts = split_text(text, limit, post_measure)
    check_split(text, parts, limit, post_measure)
    assert all(len(p.encode()) <= 3000 for p in parts)


@FAST
@given(rich_texts(max_tokens=60), st.integers(min_value=40, max_value=500))
def test_mastodon_split_keeps_words_links_and_graphemes_whole(case, limit: int) -> None:
    text, _ = case
    parts = split_text(text, limit, mastodon_length)
    check_split(text, parts, limit, mastodon_length)


def test_byte_limit_splits_heavy_graphemes() -> None:
    family = "👨‍👩‍👧‍👦"  # 1 grapheme, 25 bytes
    text = " ".join([family] * 200)  # 399 graphemes, 5199 bytes
    parts = split_text(text, BLUESKY_GRAPHEME_LIMIT, post_measure)
    assert len(parts) == 2 and all(len(p.encode()) <= 3000 for p in parts)
    assert all(grapheme_len(p) <= 300 for p in parts)


@pytest.mark.parametrize(
    "text",
    [
        "plain ascii\r\nline",
        "👨‍👩‍👧‍👦 family, 🇺🇦🇵🇱 flags, 👍🏽 tone, ❤️ selector",
        "é ñ̃ combining, 한글 \u1100\u1161\u11a8 jamo, 字 Я",
        "🏴󠁧󠁢󠁳󠁣󠁴󠁿 subdivision flag",
    ],
)
def test_fallback_graphemes_agree_with_regex(text: str) -> None:
    """Without the ``regex`` package the approximation must count these the same way."""
    assert _fallback_graphemes(text) == graphemes(text)


# ------------------------------------------------------------------ metrics and media limits
async def test_fetch_metrics_reads_the_head_post(sky: FakeBluesky, publisher) -> None:
    pub = publisher()
    result = await pub.publish(long_text())
    head, second = result.part_ids[:2]
    sky.set_counts(head, likeCount=4, repostCount=2, quoteCount=1, replyCount=3)
    sky.set_counts(second, likeCount=99)
    assert await pub.fetch_metrics(result) == Metrics(likes=4, reposts=3, replies=3, views=None)
    [call] = sky.calls_to("app.bsky.feed.getPosts")
    assert call.params["uris"] == head and call.headers["Authorization"].startswith("Bearer ")


async def test_fetch_metrics_rate_limit_auth_and_deleted_post(sky: FakeBluesky, publisher) -> None:
    pub = publisher()
    result = await pub.publish("counted")
    sky.fail_next(
        "app.bsky.feed.getPosts",
        429,
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        {"ratelimit-reset": str(int(NOW) + 30), "ratelimit-remaining": "0"},
    )
    with pytest.raises(RateLimited) as err:
        await pub.fetch_metrics(result)
    assert err.value.retry_after == 30
    sky.expire_access_tokens()  # the session is refreshed, then the post read
    assert await pub.fetch_metrics(result) == Metrics()
    await pub.delete(result.external_id)
    with pytest.raises(Permanent, match="^the post was deleted on Bluesky$"):
        await pub.fetch_metrics(result)
    sky.change_password("new-pass-word-0000")
    with pytest.raises(AuthExpired, match="app password"):
        await pub.fetch_metrics(result)


async def test_media_limits_and_validate_count_images(publisher) -> None:
    pub = publisher()
    assert (pub.media_limits.max_count, pub.media_limits.max_bytes) == (4, 1_000_000)
    assert pub.validate("fine", media_count=4) == []
    assert pub.validate("fine", media_count=6) == [
        "Bluesky takes at most 4 images; this post has 6"
    ]
