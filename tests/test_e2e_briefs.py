"""End to end: replying to a preview steers the draft, and forwards and links are briefs.

The real application long-polls the loopback Telegram server; Claude is the loopback Anthropic
server, and web pages come from the loopback web server of ``tests.fakes.feeds`` (reached with
NEXUS_ALLOW_PRIVATE_URLS on, as every fake is, except where the refusal is what is tested)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import CHANNEL, OWNER
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.feeds import FakeFeeds
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_e2e_drafts import StartNexus, is_preview, preview_for, tap

ARTICLE = """<!DOCTYPE html><html><head>
<title>Release notes | Example</title>
<meta property="og:title" content="Nexus v2.3 is out">
<meta name="description" content="Dark mode, faster sync and a new API.">
<script>var tracking = "SECRET_TRACKER";</script><style>p { color: red }</style>
</head><body>
<nav><a href="/">Home</a> <a href="/blog">MENU_ITEM</a></nav>
<article><h1>Nexus v2.3</h1><p>Dark mode arrives on every platform.</p>
<p>Sync is three times faster &amp; uses less battery.</p></article>
<footer>FOOTER_TEXT © 2026</footer></body></html>"""


@pytest.fixture
async def web() -> AsyncIterator[FakeFeeds]:
    async with FakeFeeds() as server:
        yield server


async def with_claude(nexus_factory: StartNexus, ai: FakeAnthropic, **overrides: str) -> None:
    await nexus_factory(ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url, **overrides)


def newest_preview(tg: FakeTelegram, after: int) -> FakeMessage | None:
    found = [m for m in tg.messages(OWNER) if is_preview(m) and m.message_id > after]
    return found[-1] if found else None


async def reply(tg: FakeTelegram, to: FakeMessage, text: str) -> FakeMessage:
    """The owner replies `text` to `to`; returns the preview that comes after the reply."""
    sent = await tg.user_sends(OWNER, text, reply_to=to.message_id)
    await tg.wait_for(lambda: newest_preview(tg, sent["message_id"]) is not None)
    fresh = newest_preview(tg, sent["message_id"])
    assert fresh is not None
    return fresh


# --- reply to steer ------------------------------------------------------------------------------


async def test_a_reply_to_a_preview_rewrites_it_and_shows_what_changed(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    await with_claude(nexus_factory, ai)
    ai.reply_tool({"text": "Webinar on Thursday at 5 pm about the new API.", "hashtags": []})
    preview = await preview_for(tg, "announce the webinar")

    ai.reply_tool({"text": "Webinar on Friday at 5 pm about the new API.", "hashtags": []})
    fresh = await reply(tg, preview, "it moved to Friday")

    request = ai.requests[-1]
    assert "it moved to Friday" in str(request["messages"])  # the reply is the instruction
    assert "Webinar on Thursday" in str(request["messages"])  # on the previous draft
    assert "Webinar on Friday at 5 pm" in fresh.text
    assert fresh.html is not None
    assert "<s>Thursday</s>" in fresh.html and "<b>Friday</b>" in fresh.html
    old = next(m for m in tg.messages(OWNER) if m.message_id == preview.message_id)
    assert "updated" in old.text and old.buttons() == []  # one live preview

    await tap(tg, fresh, "Approve")
    post = await tg.wait_message(CHANNEL)
    assert post.text == "Webinar on Friday at 5 pm about the new API."  # no diff marks


async def test_equals_replaces_the_text_outright(
    tg: FakeTelegram, nexus_factory: StartNexus
) -> None:
    await nexus_factory()
    preview = await preview_for(tg, "announce v2.3 with dark mode")
    fresh = await reply(tg, preview, "= Dark mode & <faster> sync: v2.3 is out")
    assert "Dark mode & <faster> sync: v2.3 is out" in fresh.text
    assert "Offline" not in fresh.text  # the owner's own words
    assert fresh.html is not None and "<b>" in fresh.html and "&lt;faster&gt;" in fresh.html

    await tap(tg, fresh, "Approve")
    post = await tg.wait_message(CHANNEL)
    assert post.text == "Dark mode & <faster> sync: v2.3 is out"


async def test_an_empty_replacement_is_explained(
    tg: FakeTelegram, nexus_factory: StartNexus
) -> None:
    await nexus_factory()
    preview = await preview_for(tg, "announce v2.3 with dark mode")
    await tg.user_sends(OWNER, "=   ", reply_to=preview.message_id)
    await tg.wait_message(OWNER, lambda m: "After “=” comes the new text" in m.text)
    assert [m for m in tg.messages(OWNER) if is_preview(m)] == [preview]


async def test_a_reply_to_a_published_post_says_so_and_a_reply_elsewhere_is_a_brief(
    tg: FakeTelegram, nexus_factory: StartNexus
) -> None:
    await nexus_factory()
    preview = await preview_for(tg, "announce v2.3 with dark mode")
    await tap(tg, preview, "Approve")
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)

    sent = await tg.user_sends(OWNER, "shorter please", reply_to=preview.message_id)
    answer = await tg.wait_message(OWNER, lambda m: m.message_id > sent["message_id"])
    assert "already published" in answer.text
    assert len(tg.messages(CHANNEL)) == 1

    await tg.user_sends(OWNER, "/help")
    help_text = await tg.wait_message(OWNER, lambda m: "How Nexus works" in m.text)
    fresh = await reply(tg, help_text, "a post about our meetup in Berlin")
    assert "Berlin" in fresh.text


# --- forwards ------------------------------------------------------------------------------------


async def test_a_forwarded_channel_post_is_a_brief_naming_its_source(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus
) -> None:
    await with_claude(nexus_factory, ai)
    ai.reply_tool({"text": "Our friends at Example ship v5 🎉", "hashtags": []})
    text = "Example v5 is out. Read more"
    sent = await tg.user_sends(
        OWNER,
        text,
        forward_origin=tg.channel_origin("example_news", 42, "Example News"),
        entities=[
            {"type": "text_link", "offset": 23, "length": 9, "url": "https://example.com/v5"}
        ],
    )
    preview = await tg.wait_message(
        OWNER, lambda m: is_preview(m) and m.message_id > sent["message_id"]
    )
    assert "Our friends at Example ship v5" in preview.text
    asked = str(ai.requests[-1]["messages"])
    assert "Forwarded post from Example News (@example_news)" in asked
    assert "https://t.me/example_news/42" in asked
    assert "https://example.com/v5" in asked  # the link hidden behind "Read more"
    assert text in asked


async def test_a_forward_without_text_is_explained(
    tg: FakeTelegram, nexus_factory: StartNexus
) -> None:
    await nexus_factory()
    await tg.user_sends(OWNER, "", forward_origin=tg.channel_origin("example_news", 7))
    await tg.wait_message(OWNER, lambda m: "no text I can draft from" in m.text)


# --- links ---------------------------------------------------------------------------------------


async def test_a_link_is_read_and_kept_in_the_post(
    tg: FakeTelegram, ai: FakeAnthropic, web: FakeFeeds, nexus_factory: StartNexus
) -> None:
    await with_claude(nexus_factory, ai)
    url = web.serve("release", ARTICLE, content_type="text/html; charset=utf-8")
    ai.reply_tool({"text": "Nexus v2.3: dark mode and 3× faster sync.", "hashtags": []})
    preview = await preview_for(tg, f"short and punchy {url}")

    asked = str(ai.requests[-1]["messages"])
    for seen in ("Nexus v2.3 is out", "Dark mode, faster sync and a new API.", "three times"):
        assert seen in asked
    for hidden in ("SECRET_TRACKER", "MENU_ITEM", "FOOTER_TEXT", "color: red"):
        assert hidden not in asked
    assert "short and punchy" in asked
    assert url in preview.text  # Claude dropped the link; Nexus put it back

    await tap(tg, preview, "Approve")
    post = await tg.wait_message(CHANNEL)
    assert post.text == f"Nexus v2.3: dark mode and 3× faster sync.\n\n{url}"

    ai.reply_tool({"text": "Dark mode is here.", "hashtags": []})
    again = await preview_for(tg, f"{url}")
    await tg.user_sends(OWNER, "make it about sync", reply_to=again.message_id)
    ai.reply_tool({"text": "Sync got faster.", "hashtags": []})
    steered = await tg.wait_message(OWNER, lambda m: is_preview(m) and "Sync got" in m.text)
    assert url in steered.text  # a rewrite keeps the link too


async def test_a_page_inside_the_network_is_refused_and_the_link_alone_still_drafts(
    tg: FakeTelegram, web: FakeFeeds, nexus_factory: StartNexus
) -> None:
    await nexus_factory(NEXUS_ALLOW_PRIVATE_URLS="false")
    url = web.serve("release", ARTICLE, content_type="text/html")
    await tg.user_sends(OWNER, f"our release {url}")
    refused = await tg.wait_message(OWNER, lambda m: "I couldn't read" in m.text)
    assert "points to this machine itself" in refused.text
    assert web.calls == []  # refused before any request

    await tap(tg, refused, "Draft from the link alone")
    preview = await tg.wait_message(OWNER, lambda m: is_preview(m))
    assert url in preview.text


@pytest.mark.parametrize(
    ("serve", "reason"),
    [
        (lambda web: web.url("missing"), "answered 404"),
        (lambda web: web.serve("logo.png", b"\x89PNG....", content_type="image/png"), "image/png"),
        (lambda web: web.endless("huge"), "larger than"),
        (lambda web: web.trickle("slow", every=0.2), "within 1 s"),
    ],
    ids=["404", "not-html", "huge", "slow"],
)
async def test_a_page_that_cannot_be_read_is_explained(
    tg: FakeTelegram,
    web: FakeFeeds,
    nexus_factory: StartNexus,
    serve: object,
    reason: str,
) -> None:
    await nexus_factory(NEXUS_LINK_DEADLINE_S="1")
    url = serve(web)  # type: ignore[operator]
    await tg.user_sends(OWNER, url)
    failed = await tg.wait_message(OWNER, lambda m: "I couldn't read" in m.text, timeout=10)
    assert reason in failed.text
    assert [label for label, _ in failed.buttons()] == ["✍️ Draft from the link alone"]
