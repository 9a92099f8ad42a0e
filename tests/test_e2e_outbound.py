"""User-supplied URLs end to end with NEXUS_ALLOW_PRIVATE_URLS off (production's default): the
owner hears why a feed or a server inside the network is refused, in the chat and in the feed
failure alert. Only loopback fakes exist here, and they are refused before any request."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from automation import sources as source_service
from automation.feeds import ALERT_AFTER, Fetched
from storage.models import Account, Source
from tests.conftest import OWNER
from tests.fakes.feeds import FakeFeeds, rss
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeTelegram
from tests.test_automation import failure_alerts, owner_started
from tests.test_e2e_accounts import open_mastodon_form
from tests.test_e2e_drafts import StartNexus
from tests.test_e2e_rules import say

REFUSED = (
    "that address points to this machine itself (127.0.0.1); "
    "Nexus refuses it unless NEXUS_ALLOW_PRIVATE_URLS is on"
)


@pytest.fixture
async def feeds() -> AsyncIterator[FakeFeeds]:
    async with FakeFeeds() as server:
        yield server


async def test_a_feed_inside_the_network_is_refused_with_the_reason(
    tg: FakeTelegram, feeds: FakeFeeds, nexus_factory: StartNexus
) -> None:
    nexus = await nexus_factory(NEXUS_ALLOW_PRIVATE_URLS="false")
    url = feeds.serve("feed.xml", rss(("1", "One")))
    refused = await say(tg, f"/sources add {url}", "I can't use")
    assert REFUSED in refused.text
    assert feeds.calls == []
    async with nexus.sessions() as session:
        assert (await session.scalars(select(Source))).all() == []


async def test_a_mastodon_server_inside_the_network_is_not_connected(
    tg: FakeTelegram, mastodon: FakeMastodon, nexus_factory: StartNexus
) -> None:
    nexus = await nexus_factory(NEXUS_ALLOW_PRIVATE_URLS="false")
    await open_mastodon_form(tg)
    await tg.user_sends(OWNER, mastodon.base_url)  # plain http: tokens would travel in clear
    await tg.wait_message(OWNER, lambda m: "not an address starting with https://" in m.text)
    await tg.user_sends(OWNER, mastodon.base_url.replace("http://", "https://"))
    await tg.wait_message(OWNER, lambda m: "step 2 of 2" in m.text)
    await tg.user_sends(OWNER, mastodon.token)
    failed = await tg.wait_message(OWNER, lambda m: "did not accept" in m.text)
    assert REFUSED in failed.text
    assert mastodon.calls == []  # the token never left
    async with nexus.sessions() as session:
        assert await session.scalar(select(Account).where(Account.platform == "mastodon")) is None


async def test_the_feed_alert_says_why_the_address_is_refused(
    tg: FakeTelegram, feeds: FakeFeeds, nexus_factory: StartNexus
) -> None:
    """A feed stored before the setting was turned off (or whose name now resolves inside the
    network) fails every poll with the reason, and the alert carries it."""
    nexus = await nexus_factory(NEXUS_ALLOW_PRIVATE_URLS="false")
    await owner_started(tg)
    url = feeds.serve("feed.xml", rss(("1", "One")))
    async with nexus.sessions() as session:
        source = await source_service.add_feed(session, Fetched(not_modified=True), url, "draft")
    for _ in range(ALERT_AFTER):
        await nexus.feeds.poll_all()
    [alert] = failure_alerts(tg)
    assert REFUSED in alert.text
    assert feeds.calls == []
    async with nexus.sessions() as session:
        stored = await session.get(Source, source.id)
        assert stored is not None and REFUSED in (stored.last_error or "")
