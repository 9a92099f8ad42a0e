"""Tokens Nexus can extend are extended long before they run out: a Threads account connected a
day ago or more gets a new 60-day token, stored encrypted, used from then on, and no expiry warning;
one Threads refuses to extend becomes a 🔑 alert in plain words. The real app runs against the
loopback Telegram and Threads servers (NEXUS_API_URLS points at the fake)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.app import Nexus
from storage import repositories as repo
from storage.models import Account
from tests.clock import FakeClock
from tests.conftest import OWNER
from tests.fakes.fixtures import serve
from tests.fakes.telegram import FakeTelegram
from tests.fakes.threads import FakeThreads

StartNexus = Callable[..., Awaitable[Nexus]]

th = serve(FakeThreads)


async def threads_account(nexus: Nexus, th: FakeThreads, clock: FakeClock) -> int:
    """A Threads account as /accounts connects it: a long-lived token good for 60 days."""
    async with nexus.sessions() as session:
        account = await repo.save_account(
            session,
            "threads",
            "@nexus.daily",
            "@nexus.daily",
            nexus.vault.encrypt({"user_id": th.user_id, "access_token": th.token}),
            token_expires_at=clock.now() + timedelta(days=60),
        )
        await session.commit()
        return account.id


async def account_row(nexus: Nexus, account_id: int) -> Account:
    async with nexus.sessions() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        return account


async def test_a_threads_token_is_extended_daily_long_before_it_runs_out(
    nexus_factory: StartNexus, clock: FakeClock, th: FakeThreads, tg: FakeTelegram
) -> None:
    nexus = await nexus_factory(NEXUS_API_URLS=f"threads={th.base_url}")
    account_id = await threads_account(nexus, th, clock)
    assert await nexus.tokens.renew_due() == 0  # just connected: Threads wants it a day old
    assert th.refreshes == 0

    clock.advance(days=1)
    assert await nexus.tokens.renew_due() == 1
    assert th.refreshes == 1
    account = await account_row(nexus, account_id)
    assert account.credentials and th.token not in account.credentials  # encrypted at rest
    assert nexus.vault.decrypt(account.credentials)["access_token"] == th.token
    assert account.token_expires_at == clock.now() + timedelta(seconds=5184000)
    # the old token is dead at the fake: the stored one is what works now
    assert await nexus.publishers.for_account(account).verify() == "@nexus.daily"

    assert await nexus.tokens.renew_due() == 0  # once per period, however many workers
    clock.advance(hours=6)
    assert await nexus.tokens.renew_due() == 0  # renewed less than a day ago
    assert th.refreshes == 1

    for _day in range(60):  # two months on, the daily renewals have kept it alive
        clock.advance(days=1)
        th.token_age_hours += 24
        assert await nexus.tokens.renew_due() == 1
    assert th.refreshes == 61
    await tg.user_sends(OWNER, "/accounts")
    overview = await tg.wait_message(OWNER, lambda m: "Accounts" in m.text)
    assert "Threads" in overview.text and "expires" not in overview.text


async def test_a_token_threads_will_not_extend_is_reported(
    nexus_factory: StartNexus, clock: FakeClock, th: FakeThreads, tg: FakeTelegram
) -> None:
    nexus = await nexus_factory(NEXUS_API_URLS=f"threads={th.base_url}")
    await tg.user_sends(OWNER, "/start")  # the owner has talked to the bot: alerts reach them
    await tg.wait_message(OWNER)
    account_id = await threads_account(nexus, th, clock)
    clock.advance(days=40)
    th.token = "THAAG-revoked-elsewhere"  # the owner removed the app's access on Threads
    assert await nexus.tokens.renew_due() == 0
    account = await account_row(nexus, account_id)
    assert "reconnect" in (account.last_error or "")
    assert account.token_expires_at is not None  # the old expiry stands

    await nexus.alerts.run_checks()
    alert = await tg.wait_message(OWNER, lambda m: "🔑" in m.text and "Threads" in m.text)
    assert "reconnect" in alert.text and "THAAG" not in alert.text
