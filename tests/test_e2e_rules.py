"""/rules and /sources end to end: the owner's messages, files and taps go through the loopback
Telegram server into the real app, and we check what the owner sees and what is stored."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import yaml
from sqlalchemy import select

from bot.app import Nexus
from storage.models import Event, Post, Rule, Source
from tests.conftest import OWNER
from tests.fakes.feeds import HTML_PAGE, FakeFeeds, rss
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_e2e_drafts import StartNexus, tap

RULES = """
- name: release-draft
  event: github.release.*
  conditions:
    - {path: release.prerelease, op: equals, value: false}
  actions:
    - {type: draft, template: "Announce {payload.release.tag_name}"}
- name: ping
  event: "*"
  actions:
    - {type: notify, template: "Event from {payload.sender.login}"}
"""


@pytest.fixture
async def feeds() -> AsyncIterator[FakeFeeds]:
    async with FakeFeeds() as server:
        yield server


async def say(tg: FakeTelegram, text: str, expect: str) -> FakeMessage:
    sent = await tg.user_sends(OWNER, text)
    return await tg.wait_message(
        OWNER, lambda m: expect in m.text and m.message_id > sent["message_id"]
    )


async def rules_in(app: Nexus) -> list[Rule]:
    async with app.sessions() as session:
        return list((await session.scalars(select(Rule).order_by(Rule.id))).all())


async def test_import_list_toggle_test_delete(tg: FakeTelegram, nexus: Nexus) -> None:
    empty = await say(tg, "/rules", "Rules")
    assert "No rules yet" in empty.text

    await say(tg, "/rules import", "Send the rules as YAML")
    done = await say(tg, RULES, "Imported")
    assert "2 new rules, 0 replaced" in done.text

    listing = await say(tg, "/rules", "Rules")
    assert "release-draft" in listing.text and "github.release.*" in listing.text
    assert listing.text.count("never ran") == 2

    await tap(tg, listing, "⏸ ping")
    toggled = await tg.wait_message(OWNER, lambda m: "(off)" in m.text)
    assert [r.enabled for r in await rules_in(nexus)] == [True, False]
    assert any("▶️ ping" == label for label, _ in toggled.buttons())

    await tap(tg, toggled, "Test")
    await tg.wait_message(OWNER, lambda m: "sample event as JSON" in m.text)
    bad = await say(tg, "{oops", "not valid JSON")
    assert "/cancel" in bad.text
    result = await say(
        tg,
        '{"type": "github.release.published", "payload": {"release": {"tag_name": "v3", '
        '"prerelease": false}}}',
        "Dry run",
    )
    assert "release-draft matches" in result.text
    assert "would draft a post for your approval from: Announce v3" in result.text
    assert "ping" not in result.text  # disabled rules are not tested
    async with nexus.sessions() as session:
        assert (await session.scalars(select(Post))).all() == []

    listing = await say(tg, "/rules", "Rules")
    delete = next(data for label, data in listing.buttons() if label == "🗑")
    await tg.user_taps(OWNER, listing.message_id, delete)
    confirm = await tg.wait_message(OWNER, lambda m: "Delete rule" in m.text)
    assert "release-draft" in confirm.text
    await tap(tg, confirm, "Back")
    await tg.wait_message(OWNER, lambda m: m.message_id == confirm.message_id and "⚙️" in m.text)
    assert len(await rules_in(nexus)) == 2
    await tg.user_taps(OWNER, listing.message_id, delete)
    confirm = await tg.wait_message(OWNER, lambda m: "Delete rule" in m.text)
    await tap(tg, confirm, "Yes, delete")
    await tg.wait_for(
        lambda: any("deleted" in a.get("text", "") for a in tg.callback_answers.values())
    )
    assert [r.name for r in await rules_in(nexus)] == ["ping"]


async def test_bad_import_changes_nothing_and_says_what_is_wrong(
    tg: FakeTelegram, nexus: Nexus
) -> None:
    await say(tg, "/rules import", "Send the rules as YAML")
    broken = RULES.replace("op: equals, value: false", "op: regex, value: '[unclosed'")
    error = await say(tg, broken, "Nothing was imported")
    assert "rule 'release-draft', field conditions.0" in error.text
    assert "invalid regex" in error.text
    assert await rules_in(nexus) == []
    done = await say(tg, RULES, "Imported")  # still waiting for the document: fixed, it goes in
    assert "2 new" in done.text


async def test_export_then_import_the_file(tg: FakeTelegram, nexus: Nexus) -> None:
    empty = await say(tg, "/rules export", "no rules")
    assert "export" in empty.text
    await say(tg, f"/rules import\n{RULES}", "Imported")

    await tg.user_sends(OWNER, "/rules export")
    exported = await tg.wait_message(OWNER, lambda m: m.document_id is not None)
    name, content = tg.document_of(exported)
    assert name == "rules.yaml" and "2 rules" in exported.text
    data = yaml.safe_load(content)
    assert [r["name"] for r in data] == ["release-draft", "ping"]

    data[1]["actions"][0]["template"] = "Changed"
    await say(tg, "/rules import", "Send the rules as YAML")
    sent = await tg.user_sends_document(OWNER, "rules.yaml", yaml.safe_dump(data).encode())
    done = await tg.wait_message(
        OWNER, lambda m: "Imported" in m.text and m.message_id > sent["message_id"]
    )
    assert "0 new rules, 2 replaced" in done.text
    assert "Changed" in (await rules_in(nexus))[1].actions

    await say(tg, "/rules import", "Send the rules as YAML")
    sent = await tg.user_sends_document(OWNER, "rules.yaml", "названия".encode("cp1251"))
    await tg.wait_message(OWNER, lambda m: "not UTF-8" in m.text)


async def test_add_a_feed_then_delete_it(tg: FakeTelegram, nexus: Nexus, feeds: FakeFeeds) -> None:
    url = feeds.serve("blog.xml", rss(("p1", "First"), ("p0", "Launch"), title="Example Blog"))
    question = await say(tg, f"/sources add {url}", "is a feed with 2 entries")
    assert "Example Blog" in question.text
    await tap(tg, question, "AI summaries")
    added = await tg.wait_message(OWNER, lambda m: "added" in m.text and "Feed" in m.text)
    assert "2 current entries are marked as seen" in added.text
    async with nexus.sessions() as session:
        source = (await session.scalars(select(Source))).one()
        events = (await session.scalars(select(Event))).all()
    assert source.kind == "feed" and source.mode == "draft" and source.url == url
    assert [e.status for e in events] == ["done", "done"]

    listing = await say(tg, "/sources", "Sources")
    assert url in listing.text and "AI summaries for approval" in listing.text
    await tap(tg, listing, f"🗑 {source.name}")
    confirm = await tg.wait_message(OWNER, lambda m: "Delete source" in m.text)
    await tap(tg, confirm, "Yes, delete")
    await tg.wait_message(OWNER, lambda m: "No sources yet" in m.text)
    async with nexus.sessions() as session:
        assert (await session.scalars(select(Event))).all() == []


async def test_bad_feed_urls_are_refused_with_the_reason(
    tg: FakeTelegram, nexus: Nexus, feeds: FakeFeeds
) -> None:
    page = feeds.serve("index.html", HTML_PAGE, "text/html")
    refused = await say(tg, f"/sources add {page}", "I can't use")
    assert "not an RSS or Atom feed" in refused.text
    gone = await say(tg, f"/sources add {feeds.url('nope.xml')}", "I can't use")
    assert "HTTP 404" in gone.text
    down = await say(tg, "/sources add http://127.0.0.1:9/feed.xml", "I can't use")
    assert "could not fetch" in down.text
    usage = await say(tg, "/sources add example.com/feed", "Send the feed's address")
    assert "/sources add https://" in usage.text
    async with nexus.sessions() as session:
        assert (await session.scalars(select(Source))).all() == []


async def test_webhook_secret_is_shown_once_and_never_logged(
    tg: FakeTelegram, nexus_factory: StartNexus, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = await nexus_factory(NEXUS_PUBLIC_URL="https://nexus.example.com")
    listing = await say(tg, "/sources", "Sources")
    await tap(tg, listing, "Webhook")
    kind = await tg.wait_message(OWNER, lambda m: "Which kind" in m.text)
    await tap(tg, kind, "GitHub")
    await tg.wait_message(OWNER, lambda m: "short name" in m.text)
    bad = await say(tg, "My Releases!", "lowercase letters")
    assert "Send another name" in bad.text
    ready = await say(tg, "releases", "is ready")
    assert "https://nexus.example.com/webhooks/releases" in ready.text

    async with app.sessions() as session:
        source = (await session.scalars(select(Source))).one()
    secret = app.vault.decrypt(source.secret or "")["secret"]
    assert len(secret) == 64 and secret in ready.text
    assert secret not in (source.secret or "")
    assert source.kind == "github" and source.name == "releases"

    listing = await say(tg, "/sources", "Sources")
    assert "https://nexus.example.com/webhooks/releases" in listing.text
    assert secret not in listing.text
    assert sum(secret in m.text for m in tg.messages(OWNER)) == 1
    assert secret not in caplog.text

    await tap(tg, listing, "Webhook")
    kind = await tg.wait_message(
        OWNER, lambda m: "Which kind" in m.text and m.message_id > listing.message_id
    )
    await tap(tg, kind, "Plain")
    await tg.wait_message(
        OWNER, lambda m: "short name" in m.text and m.message_id > listing.message_id
    )
    taken = await say(tg, "releases", "already exists")
    assert "Send another name" in taken.text
