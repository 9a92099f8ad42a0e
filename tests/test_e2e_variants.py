"""One idea, every platform in its own shape: per-target variants in the preview, switching and
editing them, leaving a target out, a target refused before publishing while the others go
out, and tokens a platform renews kept encrypted. The real app runs against the loopback
Telegram, Anthropic, Mastodon, X and LinkedIn servers (NEXUS_API_URLS points at them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.app import Nexus, ensure_first_brand
from storage import repositories as repo
from storage.models import Account, AiUsage, Publication, PublicationStatus
from tests.clock import FakeClock
from tests.conftest import CHANNEL, OWNER
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.linkedin import FakeLinkedIn
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.fakes.x import FakeX
from tests.test_e2e_drafts import preview_for, tap

StartNexus = Callable[..., Awaitable[Nexus]]


async def connect(nexus: Nexus, platform: str, handle: str, credentials: dict[str, Any]) -> int:
    """An account connected as /accounts leaves it: credentials encrypted in its row."""
    async with nexus.sessions() as session:
        account = await repo.save_account(
            session, platform, handle, handle, nexus.vault.encrypt(credentials)
        )
        await session.commit()
        return account.id


async def start_with_targets(
    nexus_factory: StartNexus,
    mastodon: FakeMastodon,
    x: FakeX,
    linkedin: FakeLinkedIn,
    *,
    ai: FakeAnthropic | None = None,
    **env: str,
) -> Nexus:
    """The app with the channel, Mastodon, X and LinkedIn connected; drafting with Claude (the
    fake) when ``ai`` is given, else offline."""
    apis = f"x={x.base_url},linkedin={linkedin.base_url}"
    if ai is not None:
        env |= {"ANTHROPIC_API_KEY": ai.api_key, "ANTHROPIC_BASE_URL": ai.base_url}
    nexus = await nexus_factory(NEXUS_API_URLS=apis, **env)
    await ensure_first_brand(nexus)  # the channel is the first target, as after any first start
    await connect(
        nexus,
        "mastodon",
        "@nexus@masto.test",
        {"instance": mastodon.base_url, "access_token": mastodon.token},
    )
    await connect(
        nexus,
        "x",
        "@nexus_x",
        {
            "api_key": x.consumer_key,
            "api_secret": x.consumer_secret,
            "access_token": x.oauth1_token,
            "access_token_secret": x.oauth1_token_secret,
        },
    )
    await connect(
        nexus,
        "linkedin",
        "Nexus Labs",
        {"author_urn": linkedin.organization_urn, "access_token": linkedin.token},
    )
    return nexus


async def publications(nexus: Nexus) -> dict[str, Publication]:
    async with nexus.sessions() as session:
        rows = await session.scalars(select(Publication).order_by(Publication.id))
        return {p.account.platform: p for p in rows}


async def publish(tg: FakeTelegram, nexus: Nexus, preview: FakeMessage) -> FakeMessage:
    """Approve and wait for this post's record (the dispatcher runs here or in the embedded
    scheduler the tap wakes)."""
    await tap(tg, preview, "Approve")
    await nexus.dispatcher.run_once()
    number = preview.text.split("#", 1)[1].split()[0].strip("</b>")
    # a whole dispatch to every target: on a loaded 2-core CI box it can outlast the usual 5 s
    return await tg.wait_message(
        OWNER, lambda m: "published" in m.text and f"#{number}" in m.text, timeout=15
    )


LONG_IDEA = (
    "announce Nexus 3.0: scheduled threads on every network, a calmer queue, per-platform "
    "previews with live character counts, photo albums straight from the chat, a digest every "
    "morning, alerts when anything breaks, and webhooks that turn each release into a draft"
)


async def test_preview_counts_each_target_with_its_own_rules(
    tg: FakeTelegram,
    nexus_factory: StartNexus,
    mastodon: FakeMastodon,
    x: FakeX,
    linkedin: FakeLinkedIn,
) -> None:
    nexus = await start_with_targets(nexus_factory, mastodon, x, linkedin)
    preview = await preview_for(tg, LONG_IDEA)
    lines = preview.text.splitlines()
    telegram_line = next(line for line in lines if line.startswith("✓ Telegram"))
    assert CHANNEL in telegram_line and telegram_line.endswith("/4096")
    assert any(line.startswith("✓ Mastodon") and "/500" in line for line in lines)
    assert any(line.startswith("✓ X") and "/280" in line for line in lines)
    assert any(line.startswith("✓ LinkedIn") and "/3000" in line for line in lines)

    await publish(tg, nexus, preview)
    pubs = await publications(nexus)
    assert set(pubs) == {"telegram", "mastodon", "x", "linkedin"}
    assert all(p.status == PublicationStatus.PUBLISHED for p in pubs.values())
    # X and Mastodon carry the hashtags (they help there); the text is the same idea
    assert len(tg.messages(CHANNEL)) == 1 and len(mastodon.posts) >= 1 and x.posts
    assert "Nexus 3.0" in linkedin.posts[0].commentary


async def test_claude_writes_a_variant_per_platform(
    tg: FakeTelegram,
    ai: FakeAnthropic,
    nexus_factory: StartNexus,
    mastodon: FakeMastodon,
    x: FakeX,
    linkedin: FakeLinkedIn,
) -> None:
    nexus = await start_with_targets(nexus_factory, mastodon, x, linkedin, ai=ai)
    ai.reply_tool(
        {
            "text": "Nexus 3.0 is out: threads everywhere.",
            "hashtags": ["release"],
            "variants": [
                {"platform": "x", "text": "Nexus 3.0 ships threads everywhere 🧵 #release"},
                {"platform": "linkedin", "text": "Today we release Nexus 3.0. Here is why."},
            ],
        }
    )
    preview = await preview_for(tg, "announce nexus 3.0")
    # the prompt listed every other platform with its limit
    system = ai.requests[-1]["system"]
    system_text = system if isinstance(system, str) else " ".join(b["text"] for b in system)
    assert "<targets>" in system_text and "x (X): up to 280" in system_text
    assert "linkedin (LinkedIn): at most 3000" in system_text

    await publish(tg, nexus, preview)
    assert x.posts[0].text == "Nexus 3.0 ships threads everywhere 🧵 #release"
    assert linkedin.posts[0].commentary == "Today we release Nexus 3.0. Here is why."
    # Mastodon was not written for: the main post adapted, hashtag kept
    assert mastodon.posts[0].text == "Nexus 3.0 is out: threads everywhere.\n\n#release"
    async with nexus.sessions() as session:
        usage = await session.scalars(select(AiUsage))
        assert [u.purpose for u in usage] == ["draft"]


async def test_switch_edit_and_leave_out_targets(
    tg: FakeTelegram,
    nexus_factory: StartNexus,
    mastodon: FakeMastodon,
    x: FakeX,
    linkedin: FakeLinkedIn,
) -> None:
    nexus = await start_with_targets(nexus_factory, mastodon, x, linkedin)
    preview = await preview_for(tg, "announce the spring sale")
    await tap(tg, preview, "Targets")
    first = await tg.wait_message(
        OWNER, lambda m: m.message_id == preview.message_id and "(1/4)" in m.text
    )
    assert "Telegram" in first.text.splitlines()[0]
    await tap(tg, first, "▶")
    second = await tg.wait_message(
        OWNER, lambda m: m.message_id == preview.message_id and "(2/4)" in m.text
    )
    assert "Mastodon" in second.text.splitlines()[0]
    await tap(tg, second, "▶")
    third = await tg.wait_message(
        OWNER, lambda m: m.message_id == preview.message_id and "(3/4)" in m.text
    )
    assert "X @nexus_x" in third.text.splitlines()[0]

    # leave X out of this post
    await tap(tg, third, "Leave out")
    off = await tg.wait_message(
        OWNER, lambda m: m.message_id == preview.message_id and "off for this post" in m.text
    )
    assert "Include" in " ".join(label for label, _ in off.buttons())

    # edit LinkedIn's text by hand: only LinkedIn changes
    await tap(tg, off, "▶")
    fourth = await tg.wait_message(
        OWNER, lambda m: m.message_id == preview.message_id and "(4/4)" in m.text
    )
    await tap(tg, fourth, "Edit this one")
    await tg.wait_message(OWNER, lambda m: "Send the new text for LinkedIn" in m.text)
    await tg.user_sends(OWNER, "Spring sale: 30% off every plan, this week only.")
    edited = await tg.wait_message(
        OWNER, lambda m: "(4/4)" in m.text and "30% off every plan" in m.text
    )

    # a new main text follows into the targets not edited by hand, not into LinkedIn's
    await tap(tg, edited, "Back")
    back = await tg.wait_message(
        OWNER, lambda m: m.message_id == edited.message_id and "⏸ X" in m.text
    )
    # the preview tells which target has a text of its own (the body above is the main text)
    marked = [line for line in back.text.splitlines() if line.endswith("✏️ own text")]
    assert len(marked) == 1 and marked[0].startswith("✓ LinkedIn")
    await tap(tg, back, "Edit")
    await tg.wait_message(OWNER, lambda m: "Send the new text for draft" in m.text)
    await tg.user_sends(OWNER, "The spring sale starts today.")
    fresh = await tg.wait_message(
        OWNER, lambda m: "The spring sale starts today." in m.text and "Approve" in str(m.buttons())
    )
    await publish(tg, nexus, fresh)

    pubs = await publications(nexus)
    assert set(pubs) == {"telegram", "mastodon", "linkedin"}  # X was left out
    assert x.posts == []
    assert tg.messages(CHANNEL)[0].text == "The spring sale starts today."
    assert mastodon.posts[0].text == "The spring sale starts today."
    assert linkedin.posts[0].commentary == "Spring sale: 30% off every plan, this week only."


async def test_a_target_that_cannot_take_its_text_is_refused_alone(
    tg: FakeTelegram,
    nexus_factory: StartNexus,
    mastodon: FakeMastodon,
    x: FakeX,
    linkedin: FakeLinkedIn,
) -> None:
    nexus = await start_with_targets(nexus_factory, mastodon, x, linkedin)
    preview = await preview_for(tg, "announce the long read")
    await tap(tg, preview, "Targets")
    view = await tg.wait_message(OWNER, lambda m: "(1/4)" in m.text)
    await tap(tg, view, "◀")  # the targets go round: left of the first is the last
    linkedin_view = await tg.wait_message(OWNER, lambda m: "(4/4)" in m.text)
    await tap(tg, linkedin_view, "Edit this one")
    await tg.wait_message(OWNER, lambda m: "Send the new text for LinkedIn" in m.text)
    await tg.user_sends(OWNER, "word " * 700)  # 3500 characters: LinkedIn has no threads
    checked = await tg.wait_message(OWNER, lambda m: "(4/4)" in m.text and "✗ LinkedIn" in m.text)
    assert "3499/3000" in checked.text

    await tap(tg, checked, "Back")
    back = await tg.wait_message(
        OWNER, lambda m: "✗ LinkedIn" in m.text and "Approve" in str(m.buttons())
    )
    await tap(tg, back, "Approve")
    await nexus.dispatcher.run_once()
    report = await tg.wait_message(
        OWNER, lambda m: "LinkedIn" in m.text and "#" in m.text and "Retry" in str(m.buttons())
    )
    assert "3000" in report.text
    pubs = await publications(nexus)
    assert pubs["linkedin"].status == PublicationStatus.FAILED
    assert pubs["linkedin"].attempts == 1  # refused before any request, not retried
    assert linkedin.posts == []
    assert all(pubs[p].status == PublicationStatus.PUBLISHED for p in ("telegram", "mastodon", "x"))


async def test_x_tokens_renewed_while_publishing_are_stored_encrypted(
    tg: FakeTelegram, nexus_factory: StartNexus, x: FakeX
) -> None:
    nexus = await nexus_factory(NEXUS_API_URLS=f"x={x.base_url}")
    account_id = await connect(
        nexus,
        "x_oauth2",
        "@nexus_x",
        {
            "client_id": x.client_id,
            "access_token": x.access_token,
            "refresh_token": x.refresh_token,
        },
    )
    old_refresh = x.refresh_token
    x.expire_access_token()
    preview = await preview_for(tg, "announce the token test")
    await publish(tg, nexus, preview)
    assert x.refreshes == 1 and len(x.posts) == 1
    async with nexus.sessions() as session:
        account = await session.get(Account, account_id)
        assert account is not None and account.credentials
        assert x.refresh_token not in account.credentials  # encrypted at rest
        stored = nexus.vault.decrypt(account.credentials)
    assert stored["refresh_token"] == x.refresh_token != old_refresh
    assert stored["access_token"] == x.access_token

    # the next post uses the stored pair: no second renewal (the old refresh token is dead)
    preview = await preview_for(tg, "announce the second post")
    await publish(tg, nexus, preview)
    assert x.refreshes == 1 and len(x.posts) == 2


async def test_accounts_warn_before_a_token_runs_out(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock, linkedin: FakeLinkedIn
) -> None:
    nexus = await nexus_factory(NEXUS_API_URLS=f"linkedin={linkedin.base_url}")
    async with nexus.sessions() as session:
        await repo.save_account(
            session,
            "linkedin",
            "Nexus Labs",
            "Nexus Labs",
            nexus.vault.encrypt({"author_urn": linkedin.organization_urn, "access_token": "t"}),
            token_expires_at=clock.now() + timedelta(days=60),
        )
        await session.commit()
    await tg.user_sends(OWNER, "/accounts")
    fine = await tg.wait_message(OWNER, lambda m: "Accounts" in m.text and "LinkedIn" in m.text)
    assert "expires" not in fine.text
    clock.advance(days=55)
    await tg.user_sends(OWNER, "/accounts")
    soon = await tg.wait_message(
        OWNER, lambda m: "Accounts" in m.text and m.message_id > fine.message_id
    )
    assert "token expires 2027-01-21" in soon.text
    clock.advance(days=6)
    await tg.user_sends(OWNER, "/accounts")
    gone = await tg.wait_message(
        OWNER, lambda m: "Accounts" in m.text and m.message_id > soon.message_id
    )
    assert "token expired on 2027-01-21" in gone.text


def user_text(request: dict[str, Any]) -> str:
    content = request["messages"][0]["content"]
    return content if isinstance(content, str) else " ".join(b.get("text", "") for b in content)


def system_text(request: dict[str, Any]) -> str:
    system = request["system"]
    return system if isinstance(system, str) else " ".join(b["text"] for b in system)


async def open_x_variant(tg: FakeTelegram, preview: FakeMessage) -> FakeMessage:
    """Targets → ▶ ▶: the X target's view (the third of four)."""
    await tap(tg, preview, "Targets")
    view = await tg.wait_message(OWNER, lambda m: "(1/4)" in m.text)
    for step in ("(2/4)", "(3/4)"):
        await tap(tg, view, "▶")
        view = await tg.wait_message(OWNER, lambda m, s=step: s in m.text)  # type: ignore[misc]
    assert "X @nexus_x" in view.text.splitlines()[0]
    return view


async def test_one_target_is_rewritten_alone(
    tg: FakeTelegram,
    ai: FakeAnthropic,
    nexus_factory: StartNexus,
    mastodon: FakeMastodon,
    x: FakeX,
    linkedin: FakeLinkedIn,
) -> None:
    nexus = await start_with_targets(nexus_factory, mastodon, x, linkedin, ai=ai)
    ai.reply_tool(
        {
            "text": "Nexus 3.0 is out: threads everywhere.",
            "variants": [
                {"platform": "x", "text": "Nexus 3.0 ships threads on every network you use 🧵"},
                {"platform": "linkedin", "text": "Today we release Nexus 3.0. Here is why."},
            ],
        }
    )
    preview = await preview_for(tg, "announce nexus 3.0")
    view = await open_x_variant(tg, preview)

    await tap(tg, view, "Rewrite this one")
    menu = await tg.wait_message(
        OWNER, lambda m: m.message_id == view.message_id and "rewrite the X @nexus_x text" in m.text
    )
    ai.reply_tool(
        {
            "text": "Nexus 3.0: threads everywhere.",
            "variants": [{"platform": "x", "text": "Nexus 3.0: threads everywhere 🧵"}],
        }
    )
    await tap(tg, menu, "Shorter")
    rewritten = await tg.wait_message(
        OWNER, lambda m: "(3/4)" in m.text and "Nexus 3.0: threads everywhere 🧵" in m.text
    )
    # Claude saw the X text as the draft to rewrite, for X alone
    asked = ai.requests[-1]
    assert "Nexus 3.0 ships threads on every network you use 🧵" in user_text(asked)
    assert "This is the X version" in user_text(asked) and "shorter" in user_text(asked)
    assert "x (X): up to 280" in system_text(asked) and "linkedin (" not in system_text(asked)

    # the main text changes later: the rewritten X text stays, the others follow
    await tap(tg, rewritten, "Back")
    back = await tg.wait_message(
        OWNER, lambda m: m.message_id == rewritten.message_id and "Approve" in str(m.buttons())
    )
    assert "Nexus 3.0 is out: threads everywhere." in back.text  # the main post is untouched
    assert any(
        line.startswith("✓ X") and line.endswith("✏️ own text") for line in back.text.splitlines()
    )
    await tap(tg, back, "Edit")
    await tg.wait_message(OWNER, lambda m: "Send the new text for draft" in m.text)
    await tg.user_sends(OWNER, "Nexus 3.0 is here.")
    fresh = await tg.wait_message(
        OWNER, lambda m: "Nexus 3.0 is here." in m.text and "Approve" in str(m.buttons())
    )
    await publish(tg, nexus, fresh)
    assert [p.text for p in x.posts] == ["Nexus 3.0: threads everywhere 🧵"]
    assert linkedin.posts[0].commentary == "Nexus 3.0 is here."  # not chosen by hand: follows
    assert mastodon.posts[0].text == "Nexus 3.0 is here."
    assert tg.messages(CHANNEL)[0].text == "Nexus 3.0 is here."
    async with nexus.sessions() as session:
        usage = await session.scalars(select(AiUsage).order_by(AiUsage.id))
        assert [u.purpose for u in usage] == ["draft", "regenerate"]


async def test_a_target_rewrite_in_own_words_that_fails_can_be_retried(
    tg: FakeTelegram,
    ai: FakeAnthropic,
    nexus_factory: StartNexus,
    mastodon: FakeMastodon,
    x: FakeX,
    linkedin: FakeLinkedIn,
) -> None:
    await start_with_targets(nexus_factory, mastodon, x, linkedin, ai=ai)
    ai.reply_tool({"text": "The spring sale starts today: 30% off every plan."})
    preview = await preview_for(tg, "announce the spring sale")
    view = await open_x_variant(tg, preview)
    before = view.text
    await tap(tg, view, "Rewrite this one")
    menu = await tg.wait_message(OWNER, lambda m: "rewrite the X @nexus_x text" in m.text)
    await tap(tg, menu, "My own instruction")
    await tg.wait_message(OWNER, lambda m: "change the X @nexus_x text of draft" in m.text)
    ai.fail(400, "invalid_request_error", "prompt is too long")
    instruction = await tg.user_sends(OWNER, "make it playful, one emoji")
    error = await tg.wait_message(
        OWNER, lambda m: "Retry" in str(m.buttons()) and "Claude" in m.text
    )
    # nothing changed, and the X view is back as it was
    await tg.wait_message(OWNER, lambda m: m.message_id == view.message_id and m.text == before)

    ai.reply_tool(
        {"text": "Spring sale!", "variants": [{"platform": "x", "text": "Spring sale 🌷 30% off"}]}
    )
    await tap(tg, error, "Retry")
    await tg.wait_message(OWNER, lambda m: "(3/4)" in m.text and "Spring sale 🌷 30% off" in m.text)
    assert "make it playful, one emoji" in user_text(ai.requests[-1])
    assert instruction["message_id"] < error.message_id
    assert error.deleted  # the error is handled
