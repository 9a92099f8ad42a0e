"""Alerts through the real app and the fake Telegram: cooldown and dedupe on the FakeClock (also
between two app instances on one database), the 🔕 Mute button, the AI budget, the backed-up
queue, and an account that fails its health check putting a scheduled post at risk."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import Nexus, build_app
from config.settings import Settings
from metrics.alerts import scrub
from storage import repositories as repo
from storage.models import FIRST_BRAND_ID, Account, AiUsage, Publication
from tests.clock import FakeClock
from tests.conftest import OWNER
from tests.fakes.telegram import FakeMessage, FakeTelegram
from tests.test_digest import Seeder, started
from tests.test_e2e_drafts import tap

StartNexus = Callable[..., Awaitable[Nexus]]


def alerts_in(tg: FakeTelegram, words: str) -> list[FakeMessage]:
    return [m for m in tg.messages(OWNER) if words in m.text]


async def test_cooldown_and_dedupe_per_key(
    tg: FakeTelegram,
    nexus_factory: StartNexus,
    make_settings: Callable[..., Settings],
    clock: FakeClock,
) -> None:
    app = await started(tg, nexus_factory, NEXUS_ALERT_COOLDOWN_MINUTES="60")
    worker = build_app(make_settings(NEXUS_ALERT_COOLDOWN_MINUTES="60"), clock=clock)
    try:
        # the same failure seen by two workers at once: one alert
        sent = await asyncio.gather(
            app.alerts.automation_failed(FIRST_BRAND_ID, "github", "signature mismatch"),
            worker.alerts.automation_failed(FIRST_BRAND_ID, "github", "signature mismatch"),
        )
        assert sorted(sent) == [False, True]
        alert = await tg.wait_message(OWNER, lambda m: "Automation github failed" in m.text)
        assert "signature mismatch" in alert.text

        clock.advance(minutes=59)
        assert not await app.alerts.automation_failed(
            FIRST_BRAND_ID, "github", "signature mismatch"
        )
        assert await app.alerts.automation_failed(
            FIRST_BRAND_ID, "rss:blog", "feed unreachable"
        )  # another key
        clock.advance(minutes=1)
        assert await worker.alerts.automation_failed(FIRST_BRAND_ID, "github", "signature mismatch")
        await tg.wait_for(lambda: len(alerts_in(tg, "Automation github failed")) == 2)
        assert len(alerts_in(tg, "Automation rss:blog failed")) == 1
    finally:
        await worker.aclose()


async def test_mute_button_silences_that_kind(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    app = await started(tg, nexus_factory, NEXUS_AI_BUDGET_USD="1")
    assert await app.alerts.automation_failed(FIRST_BRAND_ID, "github", "signature mismatch")
    alert = await tg.wait_message(OWNER, lambda m: "Automation github failed" in m.text)
    assert [label for label, _ in alert.buttons()] == ["🔕 Mute 24 h", "🔕 Mute 7 days"]

    await tap(tg, alert, "Mute 24 h")
    await tg.wait_message(OWNER, lambda m: "Muted until Mon 23 Nov 2026, 09:00 (UTC)" in m.text)
    await tg.wait_for(
        lambda: (
            [m for m in tg.messages(OWNER) if m.message_id == alert.message_id][0].buttons() == []
        )
    )

    clock.advance(hours=2)  # past the cooldown, inside the mute
    assert not await app.alerts.automation_failed(FIRST_BRAND_ID, "github", "signature mismatch")
    assert not await app.alerts.automation_failed(
        FIRST_BRAND_ID, "other", "another rule, the same kind"
    )
    async with app.sessions() as session:  # another kind still gets through
        session.add(
            AiUsage(
                at=clock.now(),
                model="m",
                purpose="draft",
                input_tokens=1,
                output_tokens=1,
                cost_usd=2.0,
            )
        )
        await session.commit()
    assert await app.alerts.check_budget()

    clock.advance(hours=23)
    assert await app.alerts.automation_failed(FIRST_BRAND_ID, "github", "signature mismatch")


async def test_budget_alert_counts_this_utc_month_only(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    app = await started(tg, nexus_factory, NEXUS_AI_BUDGET_USD="5")

    async def spend(when: datetime, usd: float) -> None:
        async with app.sessions() as session:
            session.add(
                AiUsage(
                    at=when,
                    model="claude",
                    purpose="draft",
                    input_tokens=1000,
                    output_tokens=500,
                    cost_usd=usd,
                )
            )
            await session.commit()

    await spend(datetime(2026, 10, 31, 23, 59, tzinfo=UTC), 40.0)  # last month
    await spend(datetime(2026, 11, 1, 0, 0, tzinfo=UTC), 3.0)
    assert not await app.alerts.check_budget()
    await spend(datetime(2026, 11, 21, 12, 0, tzinfo=UTC), 2.5)
    assert await app.alerts.check_budget()
    alert = await tg.wait_message(OWNER, lambda m: "AI budget is used up" in m.text)
    assert "$5.50 spent of $5.00" in alert.text
    assert await app.alerts.run_checks() == 0  # the periodic job: already told

    clock.advance(hours=23)
    assert not await app.alerts.check_budget()  # at most once a day
    clock.current = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    assert not await app.alerts.check_budget()  # a new month starts from zero


async def test_backed_up_queue_alert(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    app = await started(tg, nexus_factory, NEXUS_QUEUE_ALERT_AT="2")
    async with app.sessions() as session:
        accounts = await repo.enabled_accounts(session)
        for n in range(3):
            post = await repo.create_draft(
                session, author_id=OWNER, brief=f"b{n}", text=f"t{n}", offline=True
            )
            await repo.create_publications(
                session, post, accounts, due=clock.now() + timedelta(minutes=n)
            )
        await session.commit()

    clock.advance(minutes=3)  # two of three are more than two minutes late
    assert await app.alerts.run_checks() == 0
    clock.advance(minutes=1)
    assert await app.alerts.run_checks() == 1
    alert = await tg.wait_message(OWNER, lambda m: "publications are overdue" in m.text)
    assert "3 publications" in alert.text
    assert await app.alerts.run_checks() == 0  # dedupe inside the cooldown


async def test_failed_health_check_alerts_and_puts_a_post_at_risk(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    app = await started(tg, nexus_factory)
    assert await app.alerts.check_accounts() == 1
    assert await app.alerts.run_checks() == 0  # healthy

    tg.set_bot_admin(tg._resolve("@nexus_channel")["id"], False)  # someone demoted the bot
    clock.advance(minutes=30)
    assert await app.alerts.check_accounts() == 1
    assert await app.alerts.check_accounts() == 0  # one check per half hour, whoever runs it
    async with app.sessions() as session:
        account = await session.scalar(select(Account))
        assert account is not None and account.last_error and "not an admin" in account.last_error
        post = await repo.create_draft(session, author_id=OWNER, brief="b", text="t", offline=True)
        await repo.create_publications(
            session, post, [account], due=clock.now() + timedelta(minutes=40)
        )
        await session.commit()

    assert await app.alerts.run_checks() == 2
    await tg.wait_message(
        OWNER, lambda m: "failed its check" in m.text and "not an admin" in m.text
    )
    risk = await tg.wait_message(OWNER, lambda m: f"Post #{post.id}" in m.text)
    assert "is due Sun 22 Nov 2026, 10:10 (UTC)" in risk.text

    async with app.sessions() as session:
        pubs = await session.scalars(select(Publication))
        assert [p.status for p in pubs] == ["pending"]  # alerts change nothing else


def test_scrub_hides_token_like_strings_and_query_strings() -> None:
    reason = (
        "401 from https://api.example.com/v1/me?access_token=abc for token "
        "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    )
    cleaned = scrub(reason)
    assert "access_token" not in cleaned and "AAHdqTcv" not in cleaned
    assert "https://api.example.com/v1/me" in cleaned
    assert scrub("the bot is not an admin of @nexus_channel") == (
        "the bot is not an admin of @nexus_channel"
    )


async def test_engagement_drop_against_the_seven_day_median(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    app = await started(tg, nexus_factory)
    async with app.sessions() as session:
        seed = Seeder(session)
        account = await session.scalar(select(Account))
        assert account is not None
        for day, engagement in zip(range(14, 21), (30, 40, 20, 30, 50, 30, 10), strict=True):
            await seed.published(account, datetime(2026, 11, day, 12, tzinfo=UTC), engagement)
        await seed.published(account, datetime(2026, 11, 21, 12, tzinfo=UTC), 16)
        await session.commit()
    assert await app.alerts.run_checks() == 0  # 16 against a median of 30: -47%, not yet

    async with app.sessions() as session:
        seed = Seeder(session)
        await seed.published(account, datetime(2026, 11, 21, 13, tzinfo=UTC), 12)
        await session.commit()
    clock.advance(minutes=30)
    assert await app.alerts.run_checks() == 0  # judged at most once an hour
    clock.advance(minutes=30)
    assert await app.alerts.run_checks() == 1  # median 14: -53%
    alert = await tg.wait_message(OWNER, lambda m: "Engagement fell" in m.text)
    assert "14 reactions each, -53% against the 7-day median of 30" in alert.text
    clock.advance(hours=2)
    assert await app.alerts.run_checks() == 0  # once a day


async def test_a_token_that_runs_out_is_announced_three_days_before(
    tg: FakeTelegram, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    app = await started(tg, nexus_factory)
    async with app.sessions() as session:
        await repo.save_account(
            session,
            "linkedin",
            "Nexus Labs",
            "Nexus Labs",
            app.vault.encrypt({"author_urn": "urn:li:organization:1", "access_token": "t"}),
            token_expires_at=clock.now() + timedelta(days=60),  # LinkedIn's lifetime
        )
        await session.commit()
    assert await app.alerts.run_checks() == 0
    clock.advance(days=56)  # four days left: not yet
    assert await app.alerts.run_checks() == 0
    clock.advance(days=1, minutes=1)
    assert await app.alerts.run_checks() == 1
    alert = await tg.wait_message(OWNER, lambda m: "Nexus Labs" in m.text)
    assert "reconnect" in alert.text.lower() or "expire" in alert.text.lower()
    assert "🔕" in " ".join(label for label, _ in alert.buttons())
    assert await app.alerts.run_checks() == 0  # once per cooldown, not every minute
