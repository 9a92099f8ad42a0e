"""Accounts from the chat: connect Mastodon step by step against its loopback server, the
secret deleted from the chat and stored only encrypted, then a post goes out everywhere."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Nexus
from storage.models import Account
from tests.conftest import CHANNEL, OWNER
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeTelegram
from tests.test_e2e_drafts import preview_for, tap


async def open_mastodon_form(tg: FakeTelegram) -> None:
    """/accounts → Connect → Mastodon, up to the question for the instance's address."""
    await tg.user_sends(OWNER, "/accounts")
    overview = await tg.wait_message(OWNER, lambda m: "Accounts" in m.text)
    await tap(tg, overview, "Connect an account")
    pick = await tg.wait_message(OWNER, lambda m: "Which platform" in m.text)
    await tap(tg, pick, "Mastodon")
    await tg.wait_message(OWNER, lambda m: "step 1 of 2" in m.text)


async def connect_mastodon(tg: FakeTelegram, instance: str, token: str) -> dict:
    await open_mastodon_form(tg)
    await tg.user_sends(OWNER, instance)
    await tg.wait_message(OWNER, lambda m: "step 2 of 2" in m.text and "delete" in m.text)
    return await tg.user_sends(OWNER, token)


async def test_connect_mastodon_then_publish_everywhere(
    tg: FakeTelegram, mastodon: FakeMastodon, nexus: Nexus
) -> None:
    secret = await connect_mastodon(tg, mastodon.base_url, mastodon.token)
    done = await tg.wait_message(OWNER, lambda m: "Connected" in m.text)
    assert "@" in done.text
    assert (OWNER, secret["message_id"]) in tg.deleted_user_messages
    assert all(mastodon.token not in m.text for m in tg.messages(OWNER))
    async with nexus.sessions() as session:
        account = await session.scalar(select(Account).where(Account.platform == "mastodon"))
        assert account is not None and account.credentials
        assert mastodon.token not in account.credentials  # encrypted at rest
        assert nexus.vault.decrypt(account.credentials)["access_token"] == mastodon.token

    preview = await preview_for(tg, "announce the mastodon launch")
    assert "@nexus_channel" in preview.text and "@" in preview.text.split("→", 1)[1]
    await tap(tg, preview, "Approve")
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    assert len(tg.messages(CHANNEL)) == 1
    assert len(mastodon.posts) == 1
    assert "mastodon launch" in mastodon.posts[0].text.lower()


async def test_a_rejected_token_is_not_saved(
    tg: FakeTelegram, mastodon: FakeMastodon, nexus: Nexus
) -> None:
    await connect_mastodon(tg, mastodon.base_url, "not-the-token")
    failed = await tg.wait_message(OWNER, lambda m: "did not accept" in m.text)
    assert "not-the-token" not in failed.text
    async with nexus.sessions() as session:
        assert await session.scalar(select(Account).where(Account.platform == "mastodon")) is None


async def test_disconnect_deletes_credentials(
    tg: FakeTelegram, mastodon: FakeMastodon, nexus: Nexus
) -> None:
    await connect_mastodon(tg, mastodon.base_url, mastodon.token)
    await tg.wait_message(OWNER, lambda m: "Connected" in m.text)
    await tg.user_sends(OWNER, "/accounts")
    overview = await tg.wait_message(OWNER, lambda m: "Accounts" in m.text and "Mastodon" in m.text)
    mastodon_row = [d for label, d in overview.buttons() if "Disconnect" in label][1]
    await tg.user_taps(OWNER, overview.message_id, mastodon_row)
    await tg.wait_for(
        lambda: any("Disconnected" in a.get("text", "") for a in tg.callback_answers.values())
    )
    async with nexus.sessions() as session:
        account = await session.scalar(select(Account).where(Account.platform == "mastodon"))
        assert account is not None and account.credentials is None and not account.enabled
    preview = await preview_for(tg, "only telegram now")
    await tap(tg, preview, "Approve")
    await tg.wait_message(OWNER, lambda m: "is published" in m.text)
    assert mastodon.posts == []
