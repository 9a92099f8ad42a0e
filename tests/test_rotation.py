"""Every encrypted value is found, rotated and verified: the registry comes from the columns'
``ENCRYPTED`` marker, `nexus rotate-key` (a real subprocess) re-encrypts all of it at once, and
afterwards a signed webhook still verifies over real HTTP and an account still publishes."""

from __future__ import annotations

import asyncio
import json
import re
import stat
from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy import update

from automation import sources as source_service
from automation.signatures import sign
from bot.app import Nexus
from config.settings import Settings
from scheduler.lifecycle import schedule_post
from storage import repositories as repo
from storage.crypto import (
    KEY_FILE_NAME,
    OLD_KEY_FILE_NAME,
    STAGED_KEY_FILE_NAME,
    Vault,
    generate_key,
)
from storage.encrypted import encrypted_columns, unreadable_values
from storage.models import Base, Source, User
from tests.clock import FakeClock
from tests.conftest import OWNER, running
from tests.fakes.mastodon import FakeMastodon
from tests.test_cli import nexus as nexus_command
from tests.test_e2e_variants import connect

#: Column names that hold or may hold a secret; each must be encrypted, or named below as not.
SECRET_LOOKING = re.compile(r"secret|credential|password|token|api_?key|cookie", re.IGNORECASE)
NOT_SECRETS = {"accounts.token_expires_at", "ai_usage.input_tokens", "ai_usage.output_tokens"}


def test_every_secret_looking_column_is_encrypted_and_registered() -> None:
    registered = {c.label for c in encrypted_columns()}
    assert {"accounts.credentials", "sources.secret"} <= registered
    for mapper in Base.registry.mappers:
        for prop in mapper.column_attrs:
            label = f"{mapper.local_table.name}.{prop.key}"
            if SECRET_LOOKING.search(prop.key) and label not in NOT_SECRETS:
                assert label in registered, f"{label} looks secret: mark it info=ENCRYPTED"


async def test_rotation_keeps_webhooks_verifying_and_accounts_publishing(
    make_settings: Callable[..., Settings], clock: FakeClock, mastodon: FakeMastodon
) -> None:
    settings = make_settings()
    async with running(settings, clock) as app:
        await connect(
            app,
            "mastodon",
            "@nexus@masto.test",
            {"instance": mastodon.base_url, "access_token": mastodon.token},
        )
        async with app.sessions() as session:
            _source, secret = await source_service.add_webhook(session, app.vault, "webhook", "ci")
            await session.commit()
        # a running Nexus would go on with the old key file: refused, nothing changes
        refused = await nexus_command(
            "rotate-key",
            cwd=settings.data_dir,
            NEXUS_DATA_DIR=str(settings.data_dir),
            NEXUS_DATABASE_URL=settings.resolved_database_url,
        )
        assert refused.code == 1 and "Nexus is running" in refused.err, refused.both
    old_key = (settings.data_dir / KEY_FILE_NAME).read_text().strip()
    assert not (settings.data_dir / STAGED_KEY_FILE_NAME).exists()

    rotated = await nexus_command(
        "rotate-key",
        cwd=settings.data_dir,
        NEXUS_DATA_DIR=str(settings.data_dir),
        NEXUS_DATABASE_URL=settings.resolved_database_url,
    )
    assert rotated.code == 0, rotated.both
    assert "1 in accounts.credentials" in rotated.out and "1 in sources.secret" in rotated.out
    assert secret not in rotated.both and mastodon.token not in rotated.both
    new_key = (settings.data_dir / KEY_FILE_NAME).read_text().strip()
    assert new_key != old_key
    backup = settings.data_dir / OLD_KEY_FILE_NAME
    assert backup.read_text().strip() == old_key and stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert not (settings.data_dir / STAGED_KEY_FILE_NAME).exists()

    async with running(settings, clock) as app:
        await asyncio.wait_for(app.http_server.wait_started(), 10)
        async with app.sessions() as session:
            assert await unreadable_values(session, app.vault) == []
            assert await unreadable_values(session, Vault(old_key)) != []
        body = json.dumps({"type": "deploy.done", "id": "r-1"}).encode()
        now = int(clock.now().timestamp())
        async with httpx.AsyncClient(base_url=app.http_server.url) as client:
            answer = await client.post(
                "/webhooks/ci",
                content=body,
                headers={"X-Nexus-Signature": sign(secret, body, now)},
            )
        assert answer.status_code == 202, answer.text
        await published_to_mastodon(app, clock, "after the rotation")
        assert [s.text for s in mastodon.posts] == ["after the rotation"]


async def published_to_mastodon(app: Nexus, clock: FakeClock, text: str) -> None:
    async with app.sessions() as session:
        await session.merge(User(id=OWNER))
        await session.flush()
        post = await repo.create_draft(
            session, author_id=OWNER, brief=text, text=text, offline=False
        )
        await session.commit()
        assert await schedule_post(
            session, post, clock.now() + timedelta(minutes=1), targets=["mastodon"]
        )
    clock.advance(minutes=2)
    await app.dispatcher.run_once()


async def test_a_value_the_key_cannot_open_is_named_and_rotation_changes_nothing(
    make_settings: Callable[..., Settings], clock: FakeClock
) -> None:
    settings = make_settings()
    async with running(settings, clock) as app:
        async with app.sessions() as session:
            good, _ = await source_service.add_webhook(session, app.vault, "webhook", "good")
            bad, _ = await source_service.add_webhook(session, app.vault, "webhook", "bad")
            stranger = Vault(generate_key())
            await session.execute(
                update(Source)
                .where(Source.id == bad.id)
                .values(secret=stranger.encrypt({"secret": "x"}))
            )
            await session.commit()
            assert await unreadable_values(session, app.vault) == [f"sources #{bad.id} secret"]
            before = {s.id: s.secret for s in await source_service.list_sources(session)}
    key_before = (settings.data_dir / KEY_FILE_NAME).read_text()

    rotated = await nexus_command(
        "rotate-key",
        cwd=settings.data_dir,
        NEXUS_DATA_DIR=str(settings.data_dir),
        NEXUS_DATABASE_URL=settings.resolved_database_url,
    )
    assert rotated.code == 2 and f"sources #{bad.id} secret" in rotated.err
    assert "Traceback" not in rotated.both
    assert (settings.data_dir / KEY_FILE_NAME).read_text() == key_before
    assert not (settings.data_dir / STAGED_KEY_FILE_NAME).exists()
    async with running(settings, clock) as app, app.sessions() as session:
        after = {s.id: s.secret for s in await source_service.list_sources(session)}
    assert after == before and good.id in after
