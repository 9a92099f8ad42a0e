"""LinkedInPublisher against the loopback LinkedIn REST server (little-text escaping!)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publishers.base import Metrics, Publisher, PublishResult
from publishers.errors import AuthExpired, Permanent, PublishError, RateLimited, Transient
from publishers.linkedin import (
    LINKEDIN_TEXT_LIMIT,
    LITTLE_TEXT_RESERVED,
    LinkedInPublisher,
    escape_little_text,
)
from publishers.text import BREAKABLE_SPACE
from tests.fakes import fixtures
from tests.fakes.linkedin import FakeLinkedIn, render_little_text

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 64


li = fixtures.serve(FakeLinkedIn)
client = fixtures.client


@pytest.fixture
def publisher(li: FakeLinkedIn, client: httpx.AsyncClient):
    def make(
        token: str | None = None,
        c: httpx.AsyncClient | None = None,
        base: str | None = None,
        author: str | None = None,
    ) -> LinkedInPublisher:
        return LinkedInPublisher(
            c or client,
            base_url=base or li.base_url,
            access_token=token or li.token,
            author_urn=author or li.organization_urn,
        )

    return make


async def test_publishes_a_post_and_reads_the_urn_header(li: FakeLinkedIn, publisher) -> None:
    pub = publisher()
    assert isinstance(pub, Publisher)
    result = await pub.publish("Hello, LinkedIn!")
    [post] = li.posts
    assert post.text == "Hello, LinkedIn!" and post.author == li.organization_urn
    assert result == PublishResult(
        post.urn, f"https://www.linkedin.com/feed/update/{post.urn}/", (post.urn,)
    )
    [call] = li.calls_to("POST", "/rest/posts")
    assert call.headers["Authorization"] == f"Bearer {li.token}"
    assert call.headers["Linkedin-Version"] == "202411"
    assert call.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert call.body == {
        "author": li.organization_urn,
        "commentary": "Hello, LinkedIn!",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }


async def test_the_fake_truncates_unescaped_markup_silently(
    li: FakeLinkedIn, client: httpx.AsyncClient
) -> None:
    """The trap we escape for: sent raw, LinkedIn cuts the post at the first reserved char."""
    raw = "Launch (beta) today #nexus"
    headers = {
        "Authorization": f"Bearer {li.token}",
        "Linkedin-Version": "202411",
        "X-Restli-Protocol-Version": "2.0.0",
    }
    body = {
        "author": li.person_urn,
        "commentary": raw,
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "lifecycleState": "PUBLISHED",
    }
    response = await client.post(f"{li.base_url}/rest/posts", json=body, headers=headers)
    assert response.status_code == 201 and response.content == b""  # no hint of trouble
    assert li.posts[0].text == "Launch "
    assert render_little_text(escape_little_text(raw)) == raw


async def test_reserved_characters_are_escaped(li: FakeLinkedIn, publisher) -> None:
    text = "Q&A (live) at 5pm: [slides] <here> #launch @team *bold* _x_ ~y~ {a|b} C:\\dir"
    await publisher().publish(text)
    [post] = li.posts
    assert post.text == text
    assert post.commentary == (
        "Q&A \\(live\\) at 5pm: \\[slides\\] \\<here\\> \\#launch \\@team \\*bold\\* "
        "\\_x\\_ \\~y\\~ \\{a\\|b\\} C:\\\\dir"
    )


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=st.text(
        # any character text can hold (a lone surrogate is no text: UTF-8 cannot encode it)
        st.sampled_from(LITTLE_TEXT_RESERVED + " \n\t") | st.characters(exclude_categories=("Cs",)),
        min_size=1,
        max_size=300,
    ).filter(lambda t: t.strip(BREAKABLE_SPACE))
)
async def test_any_text_arrives_whole(li: FakeLinkedIn, publisher, text: str) -> None:
    """For any text, what LinkedIn shows (escapes resolved) is the text: nothing truncated."""
    result = await publisher().publish(text)
    assert li.all_posts[result.external_id].text == text.strip(BREAKABLE_SPACE)


async def test_too_long_is_refused_before_sending(li: FakeLinkedIn, publisher) -> None:
    pub = publisher()
    fits = "x" * LINKEDIN_TEXT_LIMIT
    assert pub.validate(fits) == []
    # escaping lengthens the commentary, but LinkedIn counts what readers see
    await pub.publish("#" * LINKEDIN_TEXT_LIMIT)
    assert li.posts[0].text == "#" * LINKEDIN_TEXT_LIMIT
    [problem] = pub.validate(fits + "y")
    assert "too long" in problem and "no threads" in problem
    with pytest.raises(Permanent, match="too long"):
        await pub.publish(fits + "y")
    assert len(li.calls_to("POST", "/rest/posts")) == 1
    assert pub.validate(" \n ") == ["the post is empty"]


async def test_images_are_uploaded_and_attached(
    li: FakeLinkedIn, publisher, tmp_path: Path
) -> None:
    picture = tmp_path / "chart.jpg"
    picture.write_bytes(JPEG)
    pub = publisher()
    await pub.publish("one picture", media=[PNG], alt_texts=["a logo"])
    await pub.publish("two pictures", media=[PNG, picture], alt_texts=["a logo"])
    one, two = li.posts
    assert one.content is not None and two.content is not None
    image = li.images[one.content["media"]["id"]]
    assert image.data == PNG and image.owner == li.organization_urn
    assert one.content["media"]["altText"] == "a logo"
    refs = two.content["multiImage"]["images"]
    assert [li.images[r["id"]].data for r in refs] == [PNG, JPEG]
    assert [r["altText"] for r in refs] == ["a logo", ""]
    assert len(li.calls_to("POST", "/rest/images")) == 3
    [init, *_] = li.calls_to("POST", "/rest/images")
    assert init.query == {"action": "initializeUpload"}
    assert init.body == {"initializeUploadRequest": {"owner": li.organization_urn}}


async def test_not_an_image_is_refused(li: FakeLinkedIn, publisher) -> None:
    with pytest.raises(Permanent, match="not an image"):
        await publisher().publish("hi", media=[b"just some text"])
    with pytest.raises(Permanent, match="at most 20"):
        await publisher().publish("hi", media=[PNG] * 21)
    assert li.calls_to("POST", "/rest/images") == [] and li.posts == []


async def test_429_honours_retry_after(li: FakeLinkedIn, publisher) -> None:
    li.fail_next("/rest/posts", 429, "Resource level throttle limit", {"Retry-After": "17"})
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi")
    assert err.value.retry_after == 17 and err.value.posted_part_ids == ()
    li.fail_next("/rest/posts", 429, "Resource level throttle limit")
    with pytest.raises(RateLimited) as err:
        await publisher().publish("hi")
    assert err.value.retry_after == 60


async def test_rejected_token_is_auth_expired(publisher) -> None:
    with pytest.raises(AuthExpired, match="reconnect"):
        await publisher(token="wrong").publish("hi")
    with pytest.raises(AuthExpired):
        await publisher(token="wrong").verify()


async def test_validation_error_is_permanent_with_linkedin_message(
    li: FakeLinkedIn, publisher, client: httpx.AsyncClient
) -> None:
    li.fail_next("/rest/posts", 422, "/commentary :: something is off")
    with pytest.raises(Permanent, match="something is off"):
        await publisher().publish("hi")
    li.fail_next("/rest/posts", 400, "Invalid author")
    with pytest.raises(Permanent, match="Invalid author"):
        await publisher().publish("hi")
    # the real checks: posting as someone the token does not manage, an inactive version
    with pytest.raises(Permanent, match="Not enough permissions"):
        await publisher(author="urn:li:organization:999").publish("hi")
    old = LinkedInPublisher(
        client,
        base_url=li.base_url,
        access_token=li.token,
        author_urn=li.person_urn,
        version="202001",
    )
    with pytest.raises(Permanent, match="not active"):
        await old.publish("hi")
    assert li.posts == []


async def test_duplicate_content_is_the_post_already_made(li: FakeLinkedIn, publisher) -> None:
    """A retry after a timed-out create finds the post there: no failure, no second post."""
    pub = publisher()
    first = await pub.publish("exactly once")
    again = await pub.publish("exactly once")
    assert again == first and len(li.posts) == 1
    assert await pub.publish("exactly once", already_posted=first.part_ids) == first
    assert len(li.calls_to("POST", "/rest/posts")) == 2


async def test_server_error_and_timeout_are_transient(li: FakeLinkedIn, publisher) -> None:
    li.fail_next("/rest/posts", 503, "Service Unavailable")
    with pytest.raises(Transient):
        await publisher().publish("hi")
    li.delay("/rest/posts", 1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        with pytest.raises(Transient, match="in time"):
            await publisher(c=impatient).publish("hi")
    li.delay("/rest/posts", 0)
    with pytest.raises(Transient, match="could not reach"):
        await publisher(base="http://127.0.0.1:9").publish("hi")


async def test_verify_names_organization_or_person(li: FakeLinkedIn, publisher) -> None:
    org = publisher()
    assert await org.verify() == "Nexus Labs" and org.name == "Nexus Labs"
    person = publisher(author=li.person_urn)
    assert await person.verify() == "Nadia Nexus"
    with pytest.raises(Permanent, match="another person"):
        await publisher(author="urn:li:person:someoneElse").verify()
    with pytest.raises(ValueError):
        publisher(author="urn:li:company:1")


async def test_delete_is_idempotent_and_url_encodes_the_urn(
    li: FakeLinkedIn, publisher, client: httpx.AsyncClient
) -> None:
    urls: list[str] = []

    async def record(request: httpx.Request) -> None:
        urls.append(request.url.raw_path.decode())

    client.event_hooks["request"].append(record)
    pub = publisher()
    result = await pub.publish("to be removed")
    await pub.delete(result.external_id)
    assert li.posts == []
    assert urls[-1] == "/rest/posts/" + quote(result.external_id, safe="")
    assert "%3A" in urls[-1]
    [delete] = [c for c in li.calls if c.method == "DELETE"]
    assert delete.headers["X-RestLi-Method"] == "DELETE"
    await pub.delete(result.external_id)  # 404: already gone


async def test_no_error_reveals_the_token(li: FakeLinkedIn, publisher) -> None:
    secret = li.token
    errors: list[PublishError] = []

    async def collect(pub: LinkedInPublisher, **kwargs: object) -> None:
        try:
            await pub.publish("hi", **kwargs)  # type: ignore[arg-type]
        except PublishError as exc:
            errors.append(exc)

    await collect(publisher(token="wrong-" + secret))
    for status in (400, 403, 422, 429, 500):
        li.fail_next("/rest/posts", status, f"weird {secret}")
        await collect(publisher())
    li.fail_next("/rest/images", 422, f"bad owner {secret}")
    await collect(publisher(), media=[PNG])
    li.delay("/rest/posts", 1.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        await collect(publisher(c=impatient))
    li.delay("/rest/posts", 0)
    assert len(errors) == 8
    for exc in errors:
        for shown in (str(exc), repr(exc), str(exc.args)):
            assert secret not in shown
    assert secret not in repr(publisher())


# ------------------------------------------------------------------ metrics and media limits
async def test_fetch_metrics_reads_social_actions(li: FakeLinkedIn, publisher) -> None:
    pub = publisher()
    result = await pub.publish("counted")
    li.set_counts(result.external_id, likes=9, comments=4, first_level=3)
    assert await pub.fetch_metrics(result) == Metrics(likes=9, reposts=0, replies=4, views=None)
    [call] = li.calls_to("GET", f"/rest/socialActions/{result.external_id}")
    assert call.headers["Linkedin-Version"] and call.headers["X-Restli-Protocol-Version"]


async def test_fetch_metrics_rate_limit_auth_and_deleted_post(li: FakeLinkedIn, publisher) -> None:
    pub = publisher()
    result = await pub.publish("counted")
    path = f"/rest/socialActions/{result.external_id}"
    li.fail_next(path, 429, "Resource level throttle limit", {"Retry-After": "17"})
    with pytest.raises(RateLimited) as err:
        await pub.fetch_metrics(result)
    assert err.value.retry_after == 17
    with pytest.raises(AuthExpired, match="reconnect"):
        await publisher(token="wrong").fetch_metrics(result)
    await pub.delete(result.external_id)
    with pytest.raises(Permanent, match="^the post was deleted on LinkedIn$"):
        await pub.fetch_metrics(result)


async def test_media_limits_and_validate_count_images(publisher) -> None:
    pub = publisher()
    assert (pub.media_limits.max_count, pub.media_limits.max_bytes) == (20, 5 * 1024 * 1024)
    assert pub.validate("fine", media_count=20) == []
    assert pub.validate("fine", media_count=21) == [
        "LinkedIn takes at most 20 images; this post has 21"
    ]
