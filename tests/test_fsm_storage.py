"""Conversations survive restarts: aiogram's FSM in our `fsm_states` table (SQLite and
PostgreSQL), and secrets typed while connecting an account never reach it."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import text

from bot.app import Nexus, prepare_database
from bot.fsm import DatabaseStorage
from config.settings import Settings
from handlers.accounts import AccountStates
from storage.db import create_engine, make_session_factory
from tests.clock import FakeClock
from tests.conftest import OWNER, running
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.fixtures import serve
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeTelegram
from tests.test_e2e_accounts import connect_mastodon, open_mastodon_form
from tests.test_e2e_drafts import is_preview, preview_for, tap

bluesky = serve(FakeBluesky)


async def raw_rows(app: Nexus) -> str:
    """Every stored conversation, as the raw text of its rows (once the update in hand, whose
    answer the test has seen, has stored its state)."""
    await app.fsm.idle(5)
    async with app.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM fsm_states"))).all()
    return repr([tuple(row) for row in rows])


async def test_storage_keeps_state_and_data_per_key(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    await prepare_database(settings)
    engine = create_engine(settings.resolved_database_url)
    try:
        storage = DatabaseStorage(make_session_factory(engine))
        key = StorageKey(bot_id=1, chat_id=OWNER, user_id=OWNER)
        in_thread = StorageKey(bot_id=1, chat_id=OWNER, user_id=OWNER, thread_id=7)
        other = StorageKey(bot_id=1, chat_id=OWNER, user_id=OWNER, destiny="other")
        heard: list[tuple[int, str | None]] = []
        storage.on_state(lambda k, state: heard.append((k.user_id, state)))

        await storage.set_state(key, AccountStates.field)
        await storage.set_data(key, {"post": 5, "name": "Ünïcode <b>"})
        assert await storage.update_data(key, {"more": [1, 2]}) == {
            "post": 5,
            "name": "Ünïcode <b>",
            "more": [1, 2],
        }
        await storage.set_state(in_thread, "x:y")
        assert await storage.get_state(other) is None and await storage.get_data(other) == {}

        again = DatabaseStorage(make_session_factory(engine))  # a new process, nothing cached
        assert await again.get_state(key) == AccountStates.field.state
        assert (await again.get_data(key))["more"] == [1, 2]
        assert await again.get_state(in_thread) == "x:y"
        await again.set_state(key, None)
        await again.set_data(key, {})
        third = DatabaseStorage(make_session_factory(engine))
        assert await third.get_state(key) is None and await third.get_data(key) == {}
        assert heard == [(OWNER, AccountStates.field.state), (OWNER, "x:y")]
    finally:
        await engine.dispose()


async def test_an_edit_survives_a_restart(
    tg: FakeTelegram, make_settings: Callable[..., Settings], clock: FakeClock
) -> None:
    settings = make_settings()
    async with running(settings, clock):
        preview = await preview_for(tg, "the harvest festival")
        await tap(tg, preview, "Edit")
        await tg.wait_message(OWNER, lambda m: "Send the new text" in m.text)
    async with running(settings, clock):  # Nexus restarted between the question and the answer
        await tg.user_sends(OWNER, "Harvest festival: Saturday, 10:00, the old mill.")
        fresh = await tg.wait_message(
            OWNER, lambda m: is_preview(m) and "the old mill" in m.text, timeout=10
        )
        assert "Harvest festival: Saturday" in fresh.text
        drafts = [m for m in tg.messages(OWNER) if is_preview(m)]
        assert all("old mill" in m.text for m in drafts)  # it was the edit, not a new brief
        assert "Draft #1" in fresh.text


async def test_connecting_an_account_puts_no_secret_in_the_fsm(
    tg: FakeTelegram, mastodon: FakeMastodon, bluesky: FakeBluesky, nexus: Nexus
) -> None:
    # a secret in the middle of the form (Bluesky: handle, app password, server)
    await open_bluesky_form(tg)
    await tg.user_sends(OWNER, bluesky.handle)
    await tg.wait_message(OWNER, lambda m: "step 2 of 3" in m.text)
    secret = await tg.user_sends(OWNER, bluesky.app_password)
    await tg.wait_message(OWNER, lambda m: "step 3 of 3" in m.text)
    assert (OWNER, secret["message_id"]) in tg.deleted_user_messages
    rows = await raw_rows(nexus)
    assert "bluesky" in rows and bluesky.handle in rows  # the form is stored…
    assert bluesky.app_password not in rows  # …its secret is not
    await tg.user_sends(OWNER, bluesky.base_url)
    await tg.wait_message(OWNER, lambda m: "Connected" in m.text, timeout=10)
    assert bluesky.app_password not in await raw_rows(nexus)
    assert len(nexus.held) == 0

    # the secret as the last answer (Mastodon)
    await connect_mastodon(tg, mastodon.base_url, mastodon.token)
    await tg.wait_message(OWNER, lambda m: "Connected" in m.text and "Mastodon" not in m.text)
    assert mastodon.token not in await raw_rows(nexus)


async def open_bluesky_form(tg: FakeTelegram) -> None:
    await tg.user_sends(OWNER, "/accounts")
    overview = await tg.wait_message(OWNER, lambda m: "Accounts" in m.text and m.buttons() != [])
    await tap(tg, overview, "Connect an account")
    pick = await tg.wait_message(OWNER, lambda m: "Which platform" in m.text)
    await tap(tg, pick, "Bluesky")
    await tg.wait_message(OWNER, lambda m: "step 1 of 3" in m.text)


async def test_a_cancelled_form_drops_its_secret(
    tg: FakeTelegram, bluesky: FakeBluesky, nexus: Nexus
) -> None:
    await open_bluesky_form(tg)
    await tg.user_sends(OWNER, bluesky.handle)
    await tg.wait_message(OWNER, lambda m: "step 2 of 3" in m.text)
    await tg.user_sends(OWNER, bluesky.app_password)
    await tg.wait_message(OWNER, lambda m: "step 3 of 3" in m.text)
    assert len(nexus.held) == 1
    await tg.user_sends(OWNER, "/cancel")
    await tg.wait_message(OWNER, lambda m: "Cancelled" in m.text)
    assert len(nexus.held) == 0
    assert await raw_rows(nexus) == "[]"


async def test_a_form_that_times_out_forgets_its_secret(
    tg: FakeTelegram, bluesky: FakeBluesky, nexus: Nexus
) -> None:
    nexus.held.ttl = 0.2
    await open_bluesky_form(tg)
    await tg.user_sends(OWNER, bluesky.handle)
    await tg.wait_message(OWNER, lambda m: "step 2 of 3" in m.text)
    await tg.user_sends(OWNER, bluesky.app_password)
    await tg.wait_message(OWNER, lambda m: "step 3 of 3" in m.text)
    await tg.wait_for(lambda: len(nexus.held) == 0)  # dropped by its timer, untouched
    await tg.user_sends(OWNER, bluesky.base_url)
    expired = await tg.wait_message(OWNER, lambda m: "ran out" in m.text)
    assert "/accounts" in expired.text
    assert await raw_rows(nexus) == "[]"
    assert not [m for m in tg.messages(OWNER) if "Connected" in m.text]


async def test_a_form_without_secrets_yet_continues_after_a_restart(
    tg: FakeTelegram,
    mastodon: FakeMastodon,
    make_settings: Callable[..., Settings],
    clock: FakeClock,
) -> None:
    settings = make_settings()
    async with running(settings, clock):
        await open_mastodon_form(tg)
        await tg.user_sends(OWNER, mastodon.base_url)
        await tg.wait_message(OWNER, lambda m: "step 2 of 2" in m.text)
    async with running(settings, clock):
        await tg.user_sends(OWNER, mastodon.token)
        await tg.wait_message(OWNER, lambda m: "Connected" in m.text, timeout=10)


async def test_a_secret_typed_before_a_restart_is_asked_again(
    tg: FakeTelegram,
    bluesky: FakeBluesky,
    make_settings: Callable[..., Settings],
    clock: FakeClock,
) -> None:
    settings = make_settings()
    async with running(settings, clock):
        await open_bluesky_form(tg)
        await tg.user_sends(OWNER, bluesky.handle)
        await tg.wait_message(OWNER, lambda m: "step 2 of 3" in m.text)
        await tg.user_sends(OWNER, bluesky.app_password)
        await tg.wait_message(OWNER, lambda m: "step 3 of 3" in m.text)
    async with running(settings, clock) as app:
        assert bluesky.app_password not in await raw_rows(app)
        await tg.user_sends(OWNER, bluesky.base_url)
        await tg.wait_message(OWNER, lambda m: "ran out" in m.text)
        assert await raw_rows(app) == "[]"
