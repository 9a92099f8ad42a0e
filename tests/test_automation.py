"""The rules engine and the feed poller end to end: events stored as the HTTP server stores them,
the real app (same factory as `nexus run`) with the loopback Telegram and Anthropic servers, feeds
served by a loopback web server, and the fake clock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from automation import rulebook
from automation import sources as source_service
from bot.app import Nexus, build_app
from config.settings import Settings
from storage.models import Event, Post, PostStatus, Publication, RuleRun, Source
from tests.clock import FakeClock
from tests.conftest import CHANNEL, OWNER
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.feeds import (
    HTML_PAGE,
    MALFORMED_RSS,
    WRONG_ENCODING_RSS,
    FakeFeeds,
    atom,
    rss,
)
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_e2e_drafts import is_preview, tap

StartNexus = Callable[..., Awaitable[Nexus]]

RELEASE = {
    "action": "published",
    "release": {"tag_name": "v2.3.0", "name": "Dark mode", "prerelease": False},
}


@pytest.fixture
async def feeds() -> AsyncIterator[FakeFeeds]:
    async with FakeFeeds() as server:
        yield server


async def add_rules(app: Nexus, document: str) -> None:
    async with app.sessions() as session:
        await rulebook.import_rules(session, document)


async def webhook_source(app: Nexus, name: str = "hooks") -> int:
    async with app.sessions() as session:
        source, _secret = await source_service.add_webhook(session, app.vault, "github", name)
        return source.id


async def store_event(
    app: Nexus, source_id: int, event_type: str, payload: Any, external_id: str = "d-1"
) -> int:
    """What the webhook server does before it acknowledges a delivery."""
    async with app.sessions() as session:
        event = Event(
            source_id=source_id,
            external_id=external_id,
            type=event_type,
            payload=json.dumps(payload),
        )
        session.add(event)
        await session.commit()
        return event.id


async def rows(app: Nexus, model: Any) -> list[Any]:
    async with app.sessions() as session:
        return list((await session.scalars(select(model).order_by(model.id))).all())


async def owner_started(tg: FakeTelegram) -> None:
    """Alerts go to owners who have started the bot (Telegram lets bots write only to them)."""
    sent = await tg.user_sends(OWNER, "/start")
    await tg.wait_message(OWNER, lambda m: m.message_id > sent["message_id"])


def failure_alerts(tg: FakeTelegram) -> list[FakeMessage]:
    return [m for m in tg.messages(OWNER) if "Automation" in m.text and "failed" in m.text]


DRAFT_RULE = """
- name: release-draft
  event: github.release.*
  conditions: [{path: release.prerelease, op: equals, value: false}]
  actions:
    - {type: draft, template: "Announce {payload.release.name} {payload.release.tag_name}"}
"""


async def test_draft_rule_shows_a_preview_that_publishes_when_approved(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    await add_rules(nexus, DRAFT_RULE)
    source = await webhook_source(nexus)
    event_id = await store_event(nexus, source, "github.release.published", RELEASE)

    assert await nexus.automation.process(event_id)
    preview = await tg.wait_message(OWNER, is_preview)
    assert "Dark mode v2.3.0" in preview.text
    [post] = await rows(nexus, Post)
    assert post.origin == "rule:1" and post.status == PostStatus.DRAFT
    [event] = await rows(nexus, Event)
    assert event.status == "done"
    [run] = await rows(nexus, RuleRun)
    assert run.ok and run.detail == f"draft #{post.id}" and run.event_id == event_id

    await tap(tg, preview, "Approve")
    channel_post = await tg.wait_message(CHANNEL)
    assert "Dark mode v2.3.0" in channel_post.text
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)


async def test_the_ai_gets_the_rendered_brief(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    app = await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url)
    await add_rules(app, DRAFT_RULE)
    source = await webhook_source(app)
    ai.reply_tool({"text": "v2.3.0 brings dark mode 🌙", "hashtags": ["release"]})
    await app.automation.process(
        await store_event(app, source, "github.release.published", RELEASE)
    )
    preview = await tg.wait_message(OWNER, is_preview)
    assert "v2.3.0 brings dark mode 🌙" in preview.text
    assert "Announce Dark mode v2.3.0" in str(ai.requests[-1]["messages"])


async def test_no_matching_rule_does_nothing(tg: FakeTelegram, nexus: Nexus) -> None:
    await add_rules(nexus, DRAFT_RULE)
    source = await webhook_source(nexus)
    prerelease = {"release": dict(RELEASE["release"], prerelease=True)}
    await nexus.automation.process(
        await store_event(nexus, source, "github.release.published", prerelease, "a")
    )
    await nexus.automation.process(await store_event(nexus, source, "github.push", RELEASE, "b"))
    assert await rows(nexus, Post) == []
    assert await rows(nexus, RuleRun) == []
    assert [e.status for e in await rows(nexus, Event)] == ["done", "done"]


async def test_autopublish_with_delay_goes_out_through_the_queue(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    await add_rules(
        nexus,
        """
- name: auto
  event: deploy.*
  actions:
    - {type: autopublish, template: "Deployed {payload.version} 🚀", targets: [telegram],
       delay: 30}
""",
    )
    source = await webhook_source(nexus)
    start = clock.now()
    await nexus.automation.process(
        await store_event(nexus, source, "deploy.done", {"version": "1.4"})
    )
    [post] = await rows(nexus, Post)
    assert post.status == PostStatus.SCHEDULED and post.origin == "rule:1"
    assert post.scheduled_at == start + timedelta(minutes=30)
    [pub] = await rows(nexus, Publication)
    assert pub.next_attempt_at == start + timedelta(minutes=30)

    clock.advance(minutes=29)
    await nexus.dispatcher.run_once()
    assert tg.messages(CHANNEL) == []

    clock.advance(minutes=2)
    await nexus.dispatcher.run_once()
    published = await tg.wait_message(CHANNEL)
    assert published.text == "Deployed 1.4 🚀"
    assert not any(is_preview(m) for m in tg.messages(OWNER))  # no approval was asked


async def test_notify_sends_the_rendered_text_as_plain_text(tg: FakeTelegram, nexus: Nexus) -> None:
    await add_rules(
        nexus,
        """
- name: ping
  event: "*"
  actions: [{type: notify, template: "<b>{payload.who}</b> starred {payload.repo} {payload.x}"}]
""",
    )
    source = await webhook_source(nexus)
    await nexus.automation.process(
        await store_event(nexus, source, "github.star.created", {"who": "ann", "repo": "a&b"})
    )
    note = await tg.wait_message(OWNER, lambda m: "starred" in m.text)
    assert note.text == "<b>ann</b> starred a&b"  # Telegram trims the empty field's space
    [run] = await rows(nexus, RuleRun)
    assert run.ok and "empty: x" in run.detail


async def test_a_failing_rule_is_logged_and_alerts_the_owner(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    await owner_started(tg)
    await add_rules(
        nexus,
        """
- name: to-mastodon
  event: "*"
  actions: [{type: autopublish, template: "Hello {payload.who}", targets: [mastodon]}]
- name: ping
  event: "*"
  actions: [{type: notify, template: "ping {payload.who}"}]
""",
    )
    source = await webhook_source(nexus)
    event_id = await store_event(nexus, source, "x", {"who": "bob"})
    await nexus.automation.process(event_id)

    alert = await tg.wait_message(OWNER, lambda m: "to-mastodon" in m.text)
    assert "failed" in alert.text and "no enabled account" in alert.text
    await tg.wait_message(OWNER, lambda m: m.text == "ping bob")  # the other rule still ran
    failed, ok = await rows(nexus, RuleRun)
    assert not failed.ok and "autopublish failed" in failed.detail
    assert ok.ok
    [event] = await rows(nexus, Event)
    assert event.status == "failed"
    [post] = await rows(nexus, Post)
    assert post.status == PostStatus.DRAFT  # kept as a draft, never published
    assert tg.messages(CHANNEL) == []


async def test_an_event_is_processed_once_however_often_it_is_offered(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    await add_rules(nexus, DRAFT_RULE)
    source = await webhook_source(nexus)
    event_id = await store_event(nexus, source, "github.release.published", RELEASE)
    nexus.automation.submit(event_id)  # the webhook server's on_event
    nexus.automation.submit(event_id)
    await nexus.automation.process_pending()
    await nexus.automation.idle()
    assert len(await rows(nexus, Post)) == 1
    assert len(await rows(nexus, RuleRun)) == 1
    assert not await nexus.automation.process(event_id)


async def test_pending_events_are_caught_up_and_interrupted_ones_run_again(
    tg: FakeTelegram, nexus: Nexus, clock: FakeClock
) -> None:
    await owner_started(tg)
    await add_rules(nexus, DRAFT_RULE)
    source = await webhook_source(nexus)
    left_new = await store_event(nexus, source, "github.release.published", RELEASE, "a")
    interrupted = await store_event(nexus, source, "github.release.published", RELEASE, "b")
    async with nexus.sessions() as session:
        event = await session.get(Event, interrupted)
        assert event is not None
        event.status, event.attempts = "processing", 1
        event.claimed_by, event.lease_until = "dead-host:1:x#1", clock.now() - timedelta(hours=1)
        await session.commit()

    await nexus.automation.drain()  # (the start-up catch-up may race it: fine)
    await nexus.automation.idle()
    statuses = {e.id: e.status for e in await rows(nexus, Event)}
    assert statuses == {left_new: "done", interrupted: "done"}
    assert len(await rows(nexus, Post)) == 2
    assert failure_alerts(tg) == []


# --- feeds -------------------------------------------------------------------------------------


async def add_feed(app: Nexus, url: str, mode: str) -> int:
    async with app.sessions() as session:
        fetched = await source_service.check_feed(app.outbound, url)
        return (await source_service.add_feed(session, fetched, url, mode)).id


async def test_feed_entries_become_drafts_once_with_conditional_gets(
    tg: FakeTelegram, nexus: Nexus, feeds: FakeFeeds
) -> None:
    url = feeds.serve("blog.xml", rss(("p1", "First post"), ("p0", "Launch")))
    source_id = await add_feed(nexus, url, "draft")
    assert [e.status for e in await rows(nexus, Event)] == ["done", "done"]

    assert await nexus.feeds.poll(source_id) == 0  # unchanged: a 304, nothing drafted
    assert feeds.calls[-1].if_none_match == feeds.pages["/blog.xml"].etag
    assert feeds.calls[-1].if_modified_since is not None
    assert await rows(nexus, Post) == []

    feeds.serve("blog.xml", rss(("p2", "Dark mode is here"), ("p1", "First post"), ("p0", "L")))
    assert await nexus.feeds.poll(source_id) == 1
    preview = await tg.wait_message(OWNER, is_preview)
    assert "Dark mode is here" in preview.text
    [post] = await rows(nexus, Post)
    assert post.origin == f"rss:{source_id}"
    assert "https://blog.example.com/p2" in post.brief

    assert await nexus.feeds.poll(source_id) == 0
    assert len(await rows(nexus, Post)) == 1
    [source] = await rows(nexus, Source)
    assert source.etag == feeds.pages["/blog.xml"].etag and source.polled_at is not None


@pytest.mark.parametrize(
    ("body", "first", "second"),
    [
        (atom(("1", "One")), atom(("2", "Two"), ("1", "One")), "Two"),
        (
            MALFORMED_RSS,
            MALFORMED_RSS.replace(
                "<item>",
                "<item><title>Eggs & ham</title>"
                "<link>https://tips.example.com/eggs</link></item>"
                "<item>",
                1,
            ),
            "Eggs & ham",
        ),
    ],
)
async def test_rules_mode_feeds_emit_rss_item_events(
    tg: FakeTelegram, nexus: Nexus, feeds: FakeFeeds, body: str, first: str, second: str
) -> None:
    await add_rules(
        nexus,
        """
- name: new-item
  event: rss.item
  actions: [{type: notify, template: "New: {payload.title} {payload.link} ({payload.feed})"}]
""",
    )
    url = feeds.serve("feed.xml", body, "application/atom+xml")
    source_id = await add_feed(nexus, url, "rules")
    feeds.serve("feed.xml", first, "application/atom+xml")
    assert await nexus.feeds.poll(source_id) == 1
    note = await tg.wait_message(OWNER, lambda m: m.text.startswith("New: "))
    assert second in note.text
    events = await rows(nexus, Event)
    assert events[-1].type == "rss.item" and events[-1].status == "done"


async def test_feed_with_a_lying_encoding_is_still_read(nexus: Nexus, feeds: FakeFeeds) -> None:
    url = feeds.serve("news.xml", WRONG_ENCODING_RSS)
    fetched = await source_service.check_feed(nexus.outbound, url)
    assert [i.payload["link"] for i in fetched.items] == ["https://news.example.ru/2"]
    assert fetched.items[0].key == "https://news.example.ru/2"  # no guid: the link is the key


async def test_entries_without_id_or_link_are_keyed_by_title_and_date(
    nexus: Nexus, feeds: FakeFeeds
) -> None:
    body = (
        rss(("x", "X"))
        .replace("<guid>x</guid>", "")
        .replace("<link>https://blog.example.com/x</link>", "")
    )
    fetched = await source_service.check_feed(nexus.outbound, feeds.serve("a.xml", body))
    assert fetched.items[0].key.startswith("sha256:")


async def test_a_failing_feed_alerts_once_and_recovers(
    tg: FakeTelegram, nexus: Nexus, feeds: FakeFeeds, clock: FakeClock
) -> None:
    await owner_started(tg)
    url = feeds.serve("flaky.xml", rss(("a", "A")))
    source_id = await add_feed(nexus, url, "draft")
    feeds.fail_next("flaky.xml", 503, times=5)
    for _ in range(5):
        await nexus.feeds.poll_all()
    [source] = await rows(nexus, Source)
    assert source.failures == 5 and "HTTP 503" in (source.last_error or "")
    alerts = failure_alerts(tg)
    assert len(alerts) == 1 and "flaky" in alerts[0].text or "127-0-0-1" in alerts[0].text
    assert "3 polls in a row failed" in alerts[0].text

    await nexus.feeds.poll(source_id)
    [source] = await rows(nexus, Source)
    assert source.failures == 0 and source.last_error is None
    clock.advance(hours=2)  # past the alert cooldown
    feeds.fail_next("flaky.xml", 503, times=3)
    for _ in range(3):
        await nexus.feeds.poll(source_id)
    assert len(failure_alerts(tg)) == 2  # a new run of failures is a new alert


async def test_two_instances_on_one_database_draft_each_entry_once(
    tg: FakeTelegram,
    feeds: FakeFeeds,
    nexus: Nexus,
    make_settings: Callable[..., Settings],
    clock: FakeClock,
) -> None:
    url = feeds.serve("blog.xml", rss(("p0", "Launch")))
    source_id = await add_feed(nexus, url, "draft")
    other = build_app(make_settings(), clock=clock, with_scheduler=False)  # a restart/worker
    try:
        feeds.serve("blog.xml", rss(("p1", "News"), ("p0", "Launch")))
        await nexus.feeds.poll(source_id)
        async with other.sessions() as session:  # the restart forgot the validators
            source = await session.get(Source, source_id)
            assert source is not None
            source.etag = source.last_modified = None
            await session.commit()
        assert await other.feeds.poll(source_id) == 0
        assert await other.automation.process_pending() == 0
    finally:
        await other.aclose()
    async with nexus.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Post)) == 1
    assert len([m for m in tg.messages(OWNER) if is_preview(m)]) == 1


async def test_html_pages_and_unreachable_urls_are_refused(nexus: Nexus, feeds: FakeFeeds) -> None:
    from automation.feeds import FeedError

    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        await source_service.check_feed(
            nexus.outbound, feeds.serve("index.html", HTML_PAGE, "text/html")
        )
    with pytest.raises(FeedError, match="HTTP 404"):
        await source_service.check_feed(nexus.outbound, feeds.url("missing.xml"))
    with pytest.raises(FeedError, match="could not fetch"):
        await source_service.check_feed(nexus.outbound, "http://127.0.0.1:9/feed.xml")
