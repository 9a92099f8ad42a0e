"""Publishers that live as long as the account: one login serves every publish, metrics sync and
health check; an expired session is refreshed, not logged into again; two processes renewing the
same single-use refresh token spend it once; what a publisher learns at connect time (a session,
a Discord webhook's guild) is stored with the account. Reports name platform and account, and a
token refused mid-publish reaches the owner as a 🔑 alert and a ⚠️ in /accounts.

Everything runs against the loopback servers, through the chat where the owner would act."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.app import Nexus, prepare_database
from bot.targets import RENEWAL_LEASE, TargetPublishers
from config.settings import Settings
from metrics.sync import STAGES
from publishers.bluesky import BlueskyPublisher
from publishers.errors import RateLimited
from publishers.telegram_limits import TelegramLimits
from storage import repositories as repo
from storage.crypto import Vault, generate_key
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import Account
from tests.clock import FakeClock
from tests.conftest import OWNER
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.discord import FakeDiscord
from tests.fakes.fixtures import serve
from tests.fakes.linkedin import FakeLinkedIn
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.fakes.x import FakeX
from tests.test_e2e_accounts import connect_mastodon
from tests.test_e2e_drafts import preview_for, tap
from tests.test_e2e_stats import publish

StartNexus = Callable[..., Awaitable[Nexus]]

bluesky = serve(FakeBluesky)
discord = serve(FakeDiscord)

LOGIN = "com.atproto.server.createSession"
REFRESH = "com.atproto.server.refreshSession"


async def connect(tg: FakeTelegram, platform: str, answers: list[str]) -> FakeMessage:
    """Connect an account through /accounts, answering each step."""
    await tg.user_sends(OWNER, "/accounts")
    overview = await tg.wait_message(OWNER, lambda m: "Accounts" in m.text)
    await tap(tg, overview, "Connect an account")
    pick = await tg.wait_message(OWNER, lambda m: "Which platform" in m.text)
    await tap(tg, pick, platform)
    for step, answer in enumerate(answers, 1):
        await tg.wait_message(OWNER, lambda m, s=step: f"step {s} of {len(answers)}" in m.text)
        await tg.user_sends(OWNER, answer)
    return await tg.wait_message(OWNER, lambda m: "Connected" in m.text)


async def stored_credentials(app: Nexus, platform: str) -> tuple[str, dict]:
    async with app.sessions() as session:
        account = await session.scalar(select(Account).where(Account.platform == platform))
        assert account is not None and account.credentials
        return account.credentials, app.vault.decrypt(account.credentials)


async def test_one_bluesky_login_serves_publishes_metrics_and_health_checks(
    tg: FakeTelegram, bluesky: FakeBluesky, nexus: Nexus, clock: FakeClock
) -> None:
    await connect(tg, "Bluesky", [bluesky.handle, bluesky.app_password, bluesky.base_url])
    assert len(bluesky.calls_to(LOGIN)) == 1
    encrypted, credentials = await stored_credentials(nexus, "bluesky")
    assert credentials["access_jwt"] and credentials["did"] == bluesky.did  # kept for later
    assert (
        credentials["access_jwt"] not in encrypted and credentials["refresh_jwt"] not in encrypted
    )

    _post, report = await publish(tg, "bluesky first")
    assert "Bluesky @nexus.bsky.social" in report.text and "Telegram @nexus_channel" in report.text
    await publish(tg, "bluesky second")
    clock.advance(seconds=STAGES[0].total_seconds())
    assert len((await nexus.metrics.run_once()).synced) == 4
    for _check in range(2):
        clock.advance(minutes=30)
        assert await nexus.alerts.check_accounts() == 2

    assert len(bluesky.posts) == 2
    assert len(bluesky.calls_to(LOGIN)) == 1  # connect, two posts, metrics, two health checks

    bluesky.expire_access_tokens()  # two hours on
    clock.advance(minutes=30)
    assert await nexus.alerts.check_accounts() == 2
    await publish(tg, "bluesky third")
    assert len(bluesky.calls_to(REFRESH)) == 1 and len(bluesky.calls_to(LOGIN)) == 1
    _, renewed = await stored_credentials(nexus, "bluesky")
    assert renewed["refresh_jwt"] != credentials["refresh_jwt"]  # the rotated one is stored
    async with nexus.sessions() as session:
        account = await session.scalar(select(Account).where(Account.platform == "bluesky"))
        assert account is not None and account.last_error is None


async def test_concurrent_calls_without_a_session_log_in_once(bluesky: FakeBluesky) -> None:
    async with httpx.AsyncClient() as http:
        publisher = BlueskyPublisher(
            http,
            service=bluesky.base_url,
            handle=bluesky.handle,
            app_password=bluesky.app_password,
        )
        await asyncio.gather(*(publisher.publish(f"post {i}") for i in range(5)))
    assert len(bluesky.posts) == 5
    assert len(bluesky.calls_to(LOGIN)) == 1


async def test_the_fake_refuses_the_31st_login_in_five_minutes_as_bluesky_does(
    bluesky: FakeBluesky,
) -> None:
    bluesky.now = lambda: 1_800_000_000.0
    async with httpx.AsyncClient() as http:

        def fresh() -> BlueskyPublisher:
            return BlueskyPublisher(
                http,
                service=bluesky.base_url,
                handle=bluesky.handle,
                app_password=bluesky.app_password,
                clock=lambda: 1_800_000_060.0,
            )

        for _login in range(30):
            await fresh().verify()
        with pytest.raises(RateLimited) as limited:
            await fresh().verify()
    assert limited.value.retry_after == 240  # the window ends 300 s after the first login
    assert "app_password" not in str(limited.value) and bluesky.app_password not in str(
        limited.value
    )


async def test_two_processes_renew_an_expired_x_token_once_and_both_publish(
    make_settings: Callable[..., Settings], x: FakeX, clock: FakeClock
) -> None:
    settings = make_settings(NEXUS_API_URLS=f"x={x.base_url}")
    await prepare_database(settings)
    vault = Vault(generate_key())
    engines = [create_engine(settings.resolved_database_url) for _ in range(2)]
    sessions = [make_session_factory(engine) for engine in engines]  # one per process
    async with sessions[0]() as session:
        credentials = {
            "client_id": x.client_id,
            "access_token": x.access_token,
            "refresh_token": x.refresh_token,
        }
        account = await repo.save_account(
            session, "x_oauth2", "@nexus_x", "@nexus_x", vault.encrypt(credentials)
        )
        await session.commit()
    x.expire_access_token()

    async def publish_from(process: TargetPublishers, text: str) -> str:
        async with process.sessions() as session:
            row = await session.get(Account, account.id)
            assert row is not None
        return (await process.for_account(row).publish(text)).external_id

    try:
        async with httpx.AsyncClient() as http:
            bot, worker = (
                TargetPublishers(settings, http, TelegramLimits(), vault, s, clock)
                for s in sessions
            )
            posted = await asyncio.gather(
                publish_from(bot, "from the bot"), publish_from(worker, "from a worker")
            )
        async with sessions[1]() as session:
            row = await session.get(Account, account.id)
            assert row is not None and row.credentials
            stored = vault.decrypt(row.credentials)
    finally:
        for engine in engines:
            await engine.dispose()
    assert len(set(posted)) == 2 and len(x.posts) == 2
    assert x.refreshes == 1 and x.refresh_reuses == 0  # the single-use token was spent once
    assert stored["refresh_token"] == x.refresh_token  # the live one is kept


async def test_the_same_publisher_serves_an_account_until_it_is_reconnected_or_dropped(
    nexus: Nexus, bluesky: FakeBluesky
) -> None:
    credentials = {"handle": bluesky.handle, "app_password": bluesky.app_password}
    async with nexus.sessions() as session:
        account = await repo.save_account(
            session, "bluesky", "@a.bsky.social", "@a", nexus.vault.encrypt(credentials)
        )
        await session.commit()
    first = nexus.publishers.for_account(account)
    assert nexus.publishers.for_account(account) is first

    async with nexus.sessions() as session:  # the owner reconnects with a new app password
        account = await repo.save_account(
            session,
            "bluesky",
            "@a.bsky.social",
            "@a",
            nexus.vault.encrypt({**credentials, "app_password": "new-pass-word-0000"}),
        )
        await session.commit()
    second = nexus.publishers.for_account(account)
    assert second is not first
    nexus.publishers.forget(account.id)
    assert nexus.publishers.for_account(account) is not second


async def test_discord_report_lines_carry_the_post_link(
    tg: FakeTelegram, discord: FakeDiscord, nexus: Nexus
) -> None:
    discord.guild_in_messages = False  # as on Discord: a webhook's message names no guild
    await connect(tg, "Discord", [discord.webhook_url])
    _, credentials = await stored_credentials(nexus, "discord")
    assert credentials["guild_id"] == discord.guild_id

    _post, report = await publish(tg, "discord news")

    message_id = discord.messages[0].id
    link = f"https://discord.com/channels/{discord.guild_id}/{discord.channel_id}/{message_id}"
    assert any(e.get("url") == link for e in report.entities), report.entities
    assert "Discord" in report.text
    assert len(discord.calls_to("GET")) == 1  # the guild was read once, at connect time


async def test_a_token_refused_while_publishing_alerts_the_owner(
    tg: FakeTelegram, linkedin: FakeLinkedIn, nexus_factory: StartNexus
) -> None:
    await nexus_factory(NEXUS_API_URLS=f"linkedin={linkedin.base_url}")
    await connect(tg, "LinkedIn", [linkedin.person_urn, linkedin.token])
    secret = linkedin.token
    linkedin.token = "AQX-a-new-token-the-owner-made"  # the old one was revoked

    preview = await preview_for(tg, "linkedin launch")
    await tap(tg, preview, "Approve")

    alert = await tg.wait_message(OWNER, lambda m: "🔑 <b>LinkedIn" in (m.html or ""))
    assert f"LinkedIn {linkedin.person_name}" in alert.text
    report = await tg.wait_message(
        OWNER, lambda m: m.message_id == preview.message_id and "published" in m.text
    )
    assert f"❌ LinkedIn {linkedin.person_name}" in report.text
    assert "✅ Telegram @nexus_channel" in report.text
    await tg.user_sends(OWNER, "/accounts")
    overview = await tg.wait_message(OWNER, lambda m: "⚠️ LinkedIn" in m.text)
    assert f"⚠️ LinkedIn {linkedin.person_name}" in overview.text
    assert all(secret not in m.text for m in tg.messages(OWNER))


async def test_a_renewal_lease_has_one_holder_and_a_dead_one_is_overtaken(
    database_url: str, clock: FakeClock
) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = make_session_factory(engine)
    ttl = timedelta(minutes=2)

    async def take(key: str, at: datetime) -> bool:
        async with sessions() as session:
            taken = await repo.take_lease(session, key, at, ttl)
            await session.commit()
            return taken

    async def release(key: str, taken_at: datetime) -> None:
        async with sessions() as session:
            await repo.release_lease(session, key, taken_at)
            await session.commit()

    try:
        first = clock.now()
        assert await take("refresh:1", first)
        assert not await take("refresh:1", first + timedelta(seconds=30))  # held
        assert await take("refresh:2", first)  # another account's lease is its own
        later = first + ttl + timedelta(seconds=1)
        assert await take("refresh:1", later)  # its holder died: overtaken
        await release("refresh:1", first)  # the dead holder's late release changes nothing
        assert not await take("refresh:1", later)
        await release("refresh:1", later)
        assert await take("refresh:1", later)
    finally:
        await engine.dispose()


async def test_a_restart_releases_only_the_renewal_leases_its_earlier_incarnations_held(
    database_url: str, clock: FakeClock
) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = make_session_factory(engine)
    now = clock.now()
    held = {
        "refresh:1": "box#dead",  # this name's process, killed mid-renewal
        "refresh:2": "box#live",  # this very incarnation
        "refresh:3": "other#1",  # another process's renewal in progress
        "refresh:4": "boxer#1",  # a name that merely starts alike
        "refresh:5": None,  # taken by a version that named no holder
        "learn:1": "box#dead",  # not a renewal
    }
    try:
        async with sessions() as session:
            for key, holder in held.items():
                assert await repo.take_lease(session, key, now, RENEWAL_LEASE, holder=holder)
            await session.commit()
            released = await repo.release_leases_of_earlier(session, "refresh:", "box", "box#live")
            await session.commit()
            assert released == ["refresh:1"]
            for key in held:  # the rest still hold, well inside the lease
                taken = await repo.take_lease(
                    session, key, now + timedelta(seconds=1), RENEWAL_LEASE
                )
                assert taken == (key == "refresh:1"), key
            await session.commit()
    finally:
        await engine.dispose()


async def test_a_bluesky_login_cut_off_by_a_kill_does_not_hold_up_publishing_after_a_restart(
    tg: FakeTelegram,
    bluesky: FakeBluesky,
    nexus_factory: StartNexus,
    clock: FakeClock,
) -> None:
    """A fresh process logs in to Bluesky with its first publish, under the account's renewal
    lease; killed meanwhile, it leaves the lease behind. Restarted under its name, it publishes
    in its first pass rather than wait the lease out (two minutes: every post with a Bluesky
    target reported that much later)."""
    app = await nexus_factory(NEXUS_WORKER_NAME="box")
    credentials = {
        "handle": bluesky.handle,
        "app_password": bluesky.app_password,
        "service": bluesky.base_url,
    }
    async with app.sessions() as session:
        account = await repo.save_account(
            session, "bluesky", bluesky.handle, "@nexus", app.vault.encrypt(credentials)
        )
        await session.commit()
        # killed mid-login: the lease stays behind, named after that incarnation; another
        # process's renewal is under way meanwhile
        assert await repo.take_lease(
            session, f"refresh:{account.id}", clock.now(), RENEWAL_LEASE, holder="box#dead"
        )
        assert await repo.take_lease(
            session, "refresh:999", clock.now(), RENEWAL_LEASE, holder="other#live"
        )
        await session.commit()
    await app.dp.stop_polling()
    await app.aclose()

    clock.advance(seconds=10)  # back well inside the lease
    app = await nexus_factory(NEXUS_WORKER_NAME="box")
    _post, report = await publish(tg, "after the restart")

    assert "Bluesky" in report.text
    assert len(bluesky.posts) == 1 and len(bluesky.calls_to(LOGIN)) == 1
    async with app.sessions() as session:  # the other process's lease is left to it
        assert not await repo.take_lease(session, "refresh:999", clock.now(), RENEWAL_LEASE)
        await session.commit()


async def test_a_token_refused_while_reading_metrics_alerts_the_owner(
    tg: FakeTelegram, mastodon: FakeMastodon, nexus: Nexus, clock: FakeClock
) -> None:
    await connect_mastodon(tg, mastodon.base_url, mastodon.token)
    await tg.wait_message(OWNER, lambda m: "Connected" in m.text)
    await publish(tg, "federated news")
    secret, mastodon.token = mastodon.token, "revoked-in-the-meantime"

    clock.advance(seconds=STAGES[0].total_seconds())
    await nexus.metrics.run_once()

    alert = await tg.wait_message(OWNER, lambda m: "🔑 <b>Mastodon @" in (m.html or ""))
    assert "reconnect" in alert.text.lower()
    async with nexus.sessions() as session:
        account = await session.scalar(select(Account).where(Account.platform == "mastodon"))
        assert account is not None and account.last_error
    assert all(secret not in m.text for m in tg.messages(OWNER))
