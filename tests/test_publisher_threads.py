"""ThreadsPublisher against the loopback Threads Graph API (two-step posts, reply chains)."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publishers.base import Publisher, PublishResult, RenewsToken
from publishers.errors import AuthExpired, Permanent, PublishError, RateLimited, Transient
from publishers.threads import THREADS_TEXT_LIMIT, ThreadsPublisher
from tests.fakes import fixtures
from tests.fakes.threads import FakeThreads

OFFLINE = ThreadsPublisher(httpx.AsyncClient(), access_token="unused", user_id="1")  # split only


th = fixtures.serve(FakeThreads)
client = fixtures.client


@pytest.fixture
def publisher(th: FakeThreads, client: httpx.AsyncClient):
    def make(
        token: str | None = None, c: httpx.AsyncClient | None = None, base: str | None = None
    ) -> ThreadsPublisher:
        return ThreadsPublisher(
            c or client,
            base_url=base or th.base_url,
            access_token=token or th.token,
            user_id=th.user_id,
        )

    return make


def long_text(paragraphs: int = 4) -> str:
    return "\n\n".join(
        f"Part {n}: " + " ".join(f"word{n}_{i} 🇺🇦 café." for i in range(30))
        for n in range(paragraphs)
    )


async def test_publishes_in_two_steps_with_a_permalink(th: FakeThreads, publisher) -> None:
    pub = publisher()
    assert isinstance(pub, Publisher)
    result = await pub.publish("Hello, Threads! https://example.com/?a=1&b=2")
    [post] = th.posts
    assert post.text == "Hello, Threads! https://example.com/?a=1&b=2" and post.reply_to_id is None
    assert result == PublishResult(
        post.id, f"https://www.threads.net/@nexus.daily/post/{post.shortcode}", (post.id,)
    )
    [create] = th.calls_to("POST", f"/{th.user_id}/threads")
    assert create.params["media_type"] == "TEXT" and create.params["text"] == post.text
    [publish] = th.calls_to("POST", f"/{th.user_id}/threads_publish")
    assert th.containers[publish.params["creation_id"]].media_id == post.id


async def test_long_text_becomes_a_reply_chain(th: FakeThreads, publisher) -> None:
    text = long_text()
    result = await publisher().publish(text)
    posts = th.posts
    assert len(posts) >= 3
    assert result.part_ids == tuple(p.id for p in posts)
    assert posts[0].reply_to_id is None
    assert [p.reply_to_id for p in posts[1:]] == [p.id for p in posts[:-1]]
    assert all(len(p.text) <= THREADS_TEXT_LIMIT for p in posts)
    assert " ".join(p.text for p in posts).split() == text.split()


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(
        st.text(st.characters(exclude_categories=("Z", "C")), min_size=1, max_size=40),
        min_size=1,
        max_size=80,
    )
)
def test_split_parts_fit_and_keep_every_word(words: list[str]) -> None:
    text = " ".join(words)
    parts = OFFLINE.split(text)
    assert all(0 < len(p) <= THREADS_TEXT_LIMIT for p in parts)
    assert " ".join(parts).split() == text.split()
    assert (len(parts) == 1) == (len(text) <= THREADS_TEXT_LIMIT)


@pytest.mark.parametrize("code", [4, 17, 32, 613])
async def test_rate_limit_codes_wait_a_minute(th: FakeThreads, publisher, code: int) -> None:
    th.fail_next(f"/{th.user_id}/threads", code)
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi")
    assert err.value.retry_after == 60 and err.value.posted_part_ids == ()


async def test_rejected_token_is_auth_expired(th: FakeThreads, publisher) -> None:
    with pytest.raises(AuthExpired, match="reconnect"):
        await publisher(token="wrong").publish("hi")
    with pytest.raises(AuthExpired):
        await publisher(token="wrong").verify()
    th.fail_next(
        f"/{th.user_id}/threads_publish", 190, "Error validating access token", subcode=463
    )
    with pytest.raises(AuthExpired):
        await publisher().publish("hi")


async def test_invalid_parameter_is_permanent_with_meta_message(th: FakeThreads, publisher) -> None:
    th.fail_next(f"/{th.user_id}/threads", 100, "Param text is weird")
    with pytest.raises(Permanent, match="Param text is weird"):
        await publisher().publish("hi")
    # the real check: a container of a reply to a post that is gone
    with pytest.raises(Permanent, match="replying to does not exist"):
        await publisher().publish(long_text(), already_posted=["404"])
    assert th.posts == []


async def test_service_errors_and_timeout_are_transient(th: FakeThreads, publisher) -> None:
    for code in (1, 2):
        th.fail_next(f"/{th.user_id}/threads_publish", code)
        with pytest.raises(Transient, match="temporary"):
            await publisher().publish("hi")
    th.delay(f"/{th.user_id}/threads", 1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        with pytest.raises(Transient, match="in time"):
            await publisher(c=impatient).publish("hi")
    th.delay(f"/{th.user_id}/threads", 0)
    with pytest.raises(Transient, match="could not reach"):
        await publisher(base="http://127.0.0.1:9/v1.0").publish("hi")
    assert th.posts == []


async def test_failure_mid_chain_then_retry_sends_only_the_rest(th: FakeThreads, publisher) -> None:
    text = long_text()
    pub = publisher()
    th.fail_next(f"/{th.user_id}/threads_publish", 613, after=2)
    with pytest.raises(RateLimited) as err:
        await pub.publish(text)
    posted = err.value.posted_part_ids
    assert len(posted) == 2 and "2 of" in err.value.reason
    creates = len(th.calls_to("POST", f"/{th.user_id}/threads"))

    result = await pub.publish(text, already_posted=posted)

    assert result.part_ids[:2] == posted
    posts = th.posts
    assert tuple(p.id for p in posts) == result.part_ids
    assert [p.reply_to_id for p in posts[1:]] == [p.id for p in posts[:-1]]
    assert " ".join(p.text for p in posts).split() == text.split()  # nothing twice
    sent = th.calls_to("POST", f"/{th.user_id}/threads")[creates:]
    assert len(sent) == len(result.part_ids) - 2
    assert sent[0].params["reply_to_id"] == posted[-1]


async def test_permalink_failure_still_returns_the_post(th: FakeThreads, publisher) -> None:
    result = await publisher().publish("hi")
    th.fail_next(f"/{result.external_id}", 2)
    assert await publisher().permalink(result.external_id) is None


async def test_renew_token_extends_it_and_hands_the_new_one_over(
    th: FakeThreads, client: httpx.AsyncClient
) -> None:
    stored: list[dict[str, str]] = []

    async def keep(tokens: dict[str, str]) -> None:
        stored.append(tokens)

    pub = ThreadsPublisher(
        client, base_url=th.base_url, access_token=th.token, user_id=th.user_id, on_tokens=keep
    )
    old = th.token
    assert isinstance(pub, RenewsToken)
    assert await pub.renew_token() == 5184000  # 60 days
    assert stored == [{"access_token": th.token}] and th.token != old
    [call] = th.calls_to("GET", "/refresh_access_token")  # at the root, not under /v1.0
    assert call.params["grant_type"] == "th_refresh_token"
    assert await pub.verify() == "@nexus.daily"  # the publisher goes on with the new token


async def test_a_token_that_cannot_be_renewed_is_auth_expired(th: FakeThreads, publisher) -> None:
    th.token_age_hours = 3  # Threads refreshes only tokens 24 hours or older
    with pytest.raises(AuthExpired, match="reconnect"):
        await publisher().renew_token()
    with pytest.raises(AuthExpired):
        await publisher(token="THAAG-someone-else").renew_token()
    assert th.refreshes == 0


async def test_verify_names_the_account(publisher) -> None:
    pub = publisher()
    assert await pub.verify() == "@nexus.daily" and pub.name == "@nexus.daily"


async def test_delete_is_idempotent(th: FakeThreads, publisher) -> None:
    pub = publisher()
    result = await pub.publish("to be removed")
    await pub.delete(result.external_id)
    assert th.posts == []
    await pub.delete(result.external_id)


async def test_validate_in_plain_words(publisher) -> None:
    pub = publisher()
    assert pub.validate("fine") == []
    assert pub.validate(long_text()) == []
    assert pub.validate("  ") == ["the post is empty"]
    [problem] = pub.validate("x" * 501)
    assert "too long" in problem


async def test_no_error_reveals_the_token(th: FakeThreads, publisher) -> None:
    secret = th.token
    errors: list[PublishError] = []

    async def collect(pub: ThreadsPublisher, text: str = "hi") -> None:
        try:
            await pub.publish(text)
        except PublishError as exc:
            errors.append(exc)

    await collect(publisher(token="wrong-" + secret))
    for code in (1, 4, 100, 190, 9999):
        th.fail_next(f"/{th.user_id}/threads", code, f"weird {secret}")
        await collect(publisher())
    th.fail_next(f"/{th.user_id}/threads_publish", 2, secret, after=1)
    await collect(publisher(), long_text())
    th.delay(f"/{th.user_id}/threads", 1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        await collect(publisher(c=impatient))
    th.delay(f"/{th.user_id}/threads", 0)
    assert len(errors) == 8
    for exc in errors:
        for shown in (str(exc), repr(exc), str(exc.args)):
            assert secret not in shown
    assert secret not in repr(publisher())
