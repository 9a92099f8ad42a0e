"""When the answer is lost: what may have reached the platform is told apart from what cannot
have, resent only where the platform dedups it, and otherwise left to the owner; and the thread
routine's bookkeeping is exact."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publishers.bluesky import BlueskyPublisher, record_key
from publishers.errors import OutcomeUnknown, Permanent, PublishError, Transient
from publishers.http import send
from publishers.instagram import InstagramPublisher
from publishers.mastodon import MastodonPublisher
from publishers.media import FileMediaHost
from publishers.telegram import TelegramPublisher
from publishers.thread import harmless, post_thread
from publishers.threads import ThreadsPublisher
from publishers.vk import VKPublisher
from publishers.x import OAuth2UserAuth, XPublisher
from tests.fakes import fixtures
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.instagram import FakeInstagram
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.public import PublicFiles
from tests.fakes.telegram import FakeTelegram
from tests.fakes.threads import FakeThreads
from tests.fakes.vk import FakeVK
from tests.fakes.x import FakeX
from tests.test_thread_faults import RIGS, migrate_to, scenario, thread_text

masto = fixtures.serve(FakeMastodon)
vk = fixtures.serve(FakeVK)
sky = fixtures.serve(FakeBluesky)
x = fixtures.serve(FakeX)
th = fixtures.serve(FakeThreads)
client = fixtures.client


async def _no_sleep(seconds: float) -> None:
    return None


def x_publisher(x: FakeX, c: httpx.AsyncClient) -> XPublisher:
    auth = OAuth2UserAuth(x.access_token, x.refresh_token, x.client_id, x.client_secret)
    return XPublisher(c, base_url=x.base_url, auth=auth)


# ---------------------------------------------------------------- the HTTP boundary
async def test_a_dropped_answer_after_the_post_is_unknown_and_the_post_is_there(
    x: FakeX, client: httpx.AsyncClient
) -> None:
    x.lose_answer("/2/tweets", "drop")
    with pytest.raises(OutcomeUnknown, match="may have gone out") as err:
        await x_publisher(x, client).publish("hello")
    assert isinstance(err.value.__cause__, httpx.RemoteProtocolError)
    assert [t.text for t in x.posts] == ["hello"]  # why it must not be resent blindly


async def test_a_slow_answer_is_unknown(x: FakeX) -> None:
    x.lose_answer("/2/tweets", "slow", seconds=2.0)
    async with httpx.AsyncClient(timeout=0.05) as impatient:
        with pytest.raises(OutcomeUnknown, match="did not answer in time") as err:
            await x_publisher(x, impatient).publish("hello")
    assert isinstance(err.value.__cause__, httpx.ReadTimeout)


async def test_a_refused_connection_is_only_transient(client: httpx.AsyncClient) -> None:
    pub = XPublisher(
        client, base_url="http://127.0.0.1:9", auth=OAuth2UserAuth("a", "r", "id", None)
    )
    with pytest.raises(Transient, match="could not reach X") as err:
        await pub.publish("hello")
    assert not isinstance(err.value, OutcomeUnknown)  # nothing left us: safe to retry


async def test_a_lost_answer_to_a_read_is_only_transient(x: FakeX, client) -> None:
    x.lose_answer("/2/users/me", "drop")
    with pytest.raises(Transient) as err:
        await x_publisher(x, client).verify()
    assert not isinstance(err.value, OutcomeUnknown)


async def test_a_lost_answer_to_a_telegram_read_over_post_is_only_transient(
    tg: FakeTelegram, client: httpx.AsyncClient
) -> None:
    tg.lose_answer("getchat", "drop")
    pub = TelegramPublisher(client, token=tg.token, chat="@nexus_channel", base_url=tg.base_url)
    with pytest.raises(Transient) as err:
        await pub.verify()
    assert not isinstance(err.value, OutcomeUnknown)
    tg.lose_answer("sendmessage", "drop")
    with pytest.raises(OutcomeUnknown):
        await pub.publish("hello")


NEVER_SENT = [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError]
MAYBE_SENT = [
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,
]


@pytest.mark.parametrize("error", NEVER_SENT + MAYBE_SENT)
@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_every_transport_failure_is_mapped_by_whether_it_may_have_acted(
    error: type[httpx.HTTPError], method: str
) -> None:
    """The whole table (httpx's transport raises each failure; the real servers above show the
    common ones end to end)."""

    def fail(request: httpx.Request) -> httpx.Response:
        raise error("boom", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(fail)) as c:
        with pytest.raises(Transient) as err:
            await send(c, method, "https://example.test/post", platform="Example")
    maybe = error in MAYBE_SENT and method == "POST"
    assert isinstance(err.value, OutcomeUnknown) == maybe
    assert isinstance(err.value.__cause__, error)
    assert "boom" not in err.value.reason  # httpx's text (a URL, a token) stays in the cause


# ---------------------------------------------------------------- safe resends
async def test_mastodon_resends_a_lost_part_under_its_key_and_nothing_doubles(
    masto: FakeMastodon, client: httpx.AsyncClient
) -> None:
    pub = MastodonPublisher(client, base_url=masto.base_url, access_token=masto.token)
    text = thread_text(3, 500, 7)
    masto.lose_answer("/api/v1/statuses", "drop", after=1)
    result = await pub.publish(text, key="pub-1")
    assert [s.text for s in masto.posts] == pub.split(text)
    assert result.part_ids == tuple(s.id for s in masto.posts)
    keys = [c.headers["Idempotency-Key"] for c in masto.calls_to("POST", "/api/v1/statuses")]
    assert len(keys) == 4 and keys[1] == keys[2]  # the lost part went again under its key


async def test_mastodon_twice_lost_waits_for_the_next_attempt_under_the_same_key(
    masto: FakeMastodon, client: httpx.AsyncClient
) -> None:
    pub = MastodonPublisher(client, base_url=masto.base_url, access_token=masto.token)
    text = thread_text(2, 500, 8)
    masto.lose_answer("/api/v1/statuses", "drop", after=1, times=2)
    with pytest.raises(Transient, match="same key") as err:
        await pub.publish(text, key="pub-2")
    assert not isinstance(err.value, OutcomeUnknown)
    assert len(err.value.posted_part_ids) == 1
    result = await pub.publish(text, already_posted=err.value.posted_part_ids, key="pub-2")
    assert [s.text for s in masto.posts] == pub.split(text)  # part 2 once, found by its key
    assert result.part_ids == tuple(s.id for s in masto.posts)


async def test_vk_resends_a_lost_wall_post_with_its_guid(vk: FakeVK, client) -> None:
    pub = VKPublisher(client, base_url=vk.base_url, access_token=vk.token, group_id=vk.group_id)
    vk.lose_answer("wall.post", "drop")
    result = await pub.publish("exactly once", key="pub-3")
    assert [p.message for p in vk.posts] == ["exactly once"]
    assert result.external_id == str(vk.posts[0].id)
    guids = [c.params["guid"] for c in vk.calls_to("wall.post")]
    assert len(guids) == 2 and guids[0] == guids[1]


async def test_bluesky_finds_a_lost_post_under_its_record_key(sky: FakeBluesky, client) -> None:
    pub = BlueskyPublisher(
        client, service=sky.base_url, handle=sky.handle, app_password=sky.app_password
    )
    text = thread_text(2, 300, 9)
    sky.lose_answer("com.atproto.repo.createRecord", "drop", after=1)
    result = await pub.publish(text, key="pub-4")
    assert [r.text for r in sky.posts] == pub.split(text)
    assert [r.rkey for r in sky.posts] == [record_key("pub-4", 0), record_key("pub-4", 1)]
    assert result.part_ids == tuple(r.uri for r in sky.posts)
    assert sky.posts[1].value["reply"]["parent"]["uri"] == sky.posts[0].uri


async def test_bluesky_without_a_key_asks(sky: FakeBluesky, client) -> None:
    pub = BlueskyPublisher(
        client, service=sky.base_url, handle=sky.handle, app_password=sky.app_password
    )
    sky.lose_answer("com.atproto.repo.createRecord", "drop")
    with pytest.raises(OutcomeUnknown):
        await pub.publish("hi")


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=20), st.integers(0, 50))
def test_record_keys_are_tids_and_stable(key: str, index: int) -> None:
    rkey = record_key(key, index)
    assert re.fullmatch(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}", rkey)
    assert rkey == record_key(key, index)  # every process, every retry
    assert rkey != record_key(key, index + 1) and rkey != record_key(key + "x", index)


async def test_threads_a_published_container_whose_answer_was_lost_is_asked_about(
    th: FakeThreads, client
) -> None:
    pub = ThreadsPublisher(client, base_url=th.base_url, access_token=th.token, user_id=th.user_id)
    text = thread_text(2, 500, 10)
    th.lose_answer(f"/{th.user_id}/threads_publish", "drop", after=1)
    with pytest.raises(OutcomeUnknown, match="says it was published") as err:
        await pub.publish(text)
    assert len(err.value.posted_part_ids) == 1  # the first part is confirmed, by index
    assert len([p for p in th.media.values() if not p.deleted]) == 2  # never published twice


async def test_instagram_a_lost_publish_answer_is_asked_about(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with FakeInstagram() as ig, PublicFiles(tmp_path / "public") as files:
        pub = InstagramPublisher(
            client,
            base_url=ig.base_url,
            access_token=ig.token,
            user_id=ig.user_id,
            media_host=FileMediaHost(files.directory, files.root, platform="Instagram"),
            container_poll_interval=0,
            sleep=_no_sleep,
        )
        ig.lose_answer(f"/{ig.user_id}/media_publish", "drop")
        with pytest.raises(OutcomeUnknown, match="says it was published"):
            await pub.publish("caption", media=[fixtures.picture((800, 800))])
        assert len(ig.media) == 1  # published once; asking beats publishing it again


# ---------------------------------------------------------------- the thread routine
class Platform:
    """A stand-in send_part: records what it is asked, fails where told."""

    def __init__(self, failures: dict[int, list[PublishError]]) -> None:
        self.failures = failures
        self.sent: list[tuple[int, str | None]] = []

    async def send(self, index: int, previous: str | None) -> str:
        self.sent.append((index, previous))
        if self.failures.get(index):
            raise self.failures[index].pop(0)
        return f"id{index}"


async def test_the_error_carries_every_confirmed_part_and_a_retry_resumes_after_them() -> None:
    platform = Platform({2: [Transient("down"), Transient("down")]})
    stored: list[tuple[str, ...]] = []

    async def store(ids: tuple[str, ...]) -> None:
        stored.append(ids)

    parts = ["a", "b", "c", "d"]
    with pytest.raises(Transient) as first:
        await post_thread(parts, ["id0"], platform.send, noun="posts", on_confirmed=store)
    assert first.value.posted_part_ids == ("id0", "id1")  # complete, not just this attempt's
    with pytest.raises(Transient) as second:
        await post_thread(parts, first.value.posted_part_ids, platform.send, noun="posts")
    assert second.value.posted_part_ids == ("id0", "id1")  # replacing it changes nothing
    done = await post_thread(parts, second.value.posted_part_ids, platform.send, noun="posts")
    assert done == ["id0", "id1", "id2", "id3"]
    assert [i for i, _ in platform.sent] == [1, 2, 2, 2, 3]  # no part posted twice
    assert [prev for _, prev in platform.sent] == ["id0", "id1", "id1", "id1", "id2"]
    assert stored == [("id0", "id1")]


async def test_an_unknown_part_stops_the_thread_unless_a_resend_is_safe() -> None:
    unsafe = Platform({1: [OutcomeUnknown("lost")]})
    with pytest.raises(OutcomeUnknown) as err:
        await post_thread(["a", "b", "c"], [], unsafe.send, noun="posts")
    assert err.value.posted_part_ids == ("id0",) and [i for i, _ in unsafe.sent] == [0, 1]
    safe = Platform({1: [OutcomeUnknown("lost")]})
    assert await post_thread(["a", "b"], [], safe.send, noun="posts", resend_is_safe=True) == [
        "id0",
        "id1",
    ]


async def test_more_recorded_parts_than_the_text_has_is_refused() -> None:
    with pytest.raises(Permanent, match="only 1"):
        await post_thread(["a"], ["1", "2"], Platform({}).send, noun="posts")


def test_harmless_requests_are_only_transient() -> None:
    with pytest.raises(Transient) as err, harmless():
        raise OutcomeUnknown("an upload timed out")
    assert not isinstance(err.value, OutcomeUnknown)


# ---------------------------------------------------------------- through the dispatcher
def test_a_slow_channel_gets_one_copy_and_the_owner_is_asked(tmp_path: Path) -> None:
    """The report that started it: the answer came after the client's timeout; the post went
    out once, was not reported published, and the owner was asked."""
    db = tmp_path / "db.sqlite3"
    asyncio.run(migrate_to(db))
    texts, record, pub, questions = asyncio.run(scenario(RIGS["telegram"], db, 2, "slow", 0, 3))
    assert [p.text for p in record] == texts  # each part once, in order
    assert questions == 1  # asked, not told "published" on a guess


async def test_mastodon_sends_again_after_the_owner_deleted_the_stray_copy(
    masto: FakeMastodon, client: httpx.AsyncClient
) -> None:
    """Asked after a crash, the owner deleted the copy that did go out and tapped Send again:
    the key still names the deleted status (Mastodon answers 404), so a second stable key is
    used, and the post appears once."""
    pub = MastodonPublisher(client, base_url=masto.base_url, access_token=masto.token)
    first = await pub.publish("once more", key="pub-5")
    await pub.delete(first.external_id)
    again = await pub.publish("once more", key="pub-5")
    assert [s.text for s in masto.posts] == ["once more"] and again.external_id != first.external_id
    assert await pub.publish("once more", key="pub-5") == again  # and that key is stable too
