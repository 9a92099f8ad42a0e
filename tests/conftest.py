"""Shared fixtures: the real database (SQLite file, or PostgreSQL when NEXUS_TEST_POSTGRES_URL is
set), the loopback Telegram and Anthropic servers, and the real application built by the same
factory as `nexus run`, long-polling the fake Telegram."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, text

from bot.app import Nexus, build_app, prepare_database
from config.settings import Settings
from storage.db import create_engine
from tests.clock import FakeClock
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.fixtures import serve
from tests.fakes.linkedin import FakeLinkedIn
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeTelegram
from tests.fakes.x import FakeX

OWNER = 1001
CHANNEL = "@nexus_channel"


def _per_worker(url: str | None) -> str | None:
    """Each pytest-xdist worker gets its own database, ``<db>_<worker id>`` (e.g. ``test_gw0``),
    so parallel tests never wipe each other's schema; a run without xdist uses ``<db>`` itself."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


POSTGRES_URL = _per_worker(os.environ.get("NEXUS_TEST_POSTGRES_URL"))

#: Every variable Nexus reads; cleared so the developer's own environment never leaks in.
NEXUS_ENV = (
    "TELEGRAM_BOT_TOKEN TELEGRAM_API_SERVER NEXUS_OWNER_IDS NEXUS_CHANNEL NEXUS_DATA_DIR "
    "NEXUS_DATABASE_URL NEXUS_SECRET_KEY ANTHROPIC_API_KEY ANTHROPIC_BASE_URL NEXUS_AI_MODEL "
    "NEXUS_TIMEZONE NEXUS_LOG_LEVEL NEXUS_MISFIRE_GRACE NEXUS_MAX_ATTEMPTS "
    "NEXUS_EVERGREEN_GAP_DAYS NEXUS_PUBLIC_URL NEXUS_HTTP_HOST NEXUS_HTTP_PORT NEXUS_DIGEST_AT "
    "NEXUS_ALERT_COOLDOWN_MINUTES "
    "NEXUS_QUEUE_ALERT_AT NEXUS_SILENCE_ALERT_HOURS NEXUS_AI_BUDGET_USD NEXUS_WEBHOOK_RATE "
    "NEXUS_FEED_POLL_MINUTES NEXUS_API_URLS NEXUS_ALLOW_PRIVATE_URLS NEXUS_LINK_DEADLINE_S "
    "NEXUS_X_PRICE_POST NEXUS_X_PRICE_LINK_POST"
).split()


def pytest_configure(config: pytest.Config) -> None:
    """With NEXUS_TEST_POSTGRES_URL set (as .ci/run does), an unreachable server ends the run;
    a worker's own database is created on first use."""
    if POSTGRES_URL:
        try:
            asyncio.run(_ensure_database(POSTGRES_URL))
            asyncio.run(_ping_postgres(POSTGRES_URL))
        except Exception as exc:
            pytest.exit(
                f"NEXUS_TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {exc}", returncode=3
            )


async def _ensure_database(url: str) -> None:
    """CREATE DATABASE through the server's ``postgres`` maintenance database, if missing.
    Two workers creating theirs at the same instant may find template1 busy: try again."""
    name = make_url(url).database
    admin = create_engine(
        make_url(url).set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        for attempt in range(10):
            async with admin.connect() as conn:
                exists = "SELECT 1 FROM pg_database WHERE datname = :name"
                if await conn.scalar(text(exists), {"name": name}):
                    return
                try:
                    await conn.execute(text(f'CREATE DATABASE "{name}"'))
                    return
                except Exception:
                    if attempt == 9:
                        raise
            await asyncio.sleep(0.2 * (attempt + 1))
    finally:
        await admin.dispose()


async def _ping_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in NEXUS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file is read


async def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def _db_params() -> list[Any]:
    reason = "NEXUS_TEST_POSTGRES_URL is not set (.ci/run sets it to the local server)"
    return [
        "sqlite",
        pytest.param(
            "postgres",
            marks=[pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason=reason)],
        ),
    ]


@pytest.fixture(params=_db_params())
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or the PostgreSQL test database wiped."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'nexus.db'}"
    assert POSTGRES_URL
    await reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        server.add_user(OWNER, "Owner", "en")
        server.add_channel("nexus_channel")
        yield server


@pytest.fixture
async def ai() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as server:
        yield server


#: Loopback platform servers for the end-to-end tests (publisher contract tests set up their own).
mastodon = serve(FakeMastodon)
x = serve(FakeX)
linkedin = serve(FakeLinkedIn)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_settings(tg: FakeTelegram, database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """Settings as a user would write them, pointed at the loopback servers."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_SERVER": tg.base_url,
            "NEXUS_OWNER_IDS": str(OWNER),
            "NEXUS_CHANNEL": CHANNEL,
            "NEXUS_DATA_DIR": str(tmp_path / "data"),
            "NEXUS_DATABASE_URL": database_url,
            # a free port: tests (and engineers) run side by side, 8080 may be taken
            "NEXUS_HTTP_PORT": "0",
            # the feeds, Mastodon, Bluesky and Discord fakes listen on 127.0.0.1
            "NEXUS_ALLOW_PRIVATE_URLS": "true",
        }
        values.update(overrides)
        return Settings(_env_file=None, **{k: v for k, v in values.items() if v is not None})

    return make


@asynccontextmanager
async def running(settings: Settings, clock: FakeClock) -> AsyncIterator[Nexus]:
    """`nexus run` in-process: migrate, build with the one factory, long-poll until the end."""
    await prepare_database(settings)
    app = build_app(settings, clock=clock)
    polling = asyncio.create_task(app.start_polling())
    # start-up done (or failed), and its catch-up drain of stored events finished: a test that
    # stores an event and runs the rules itself must not race that drain for it
    started = asyncio.create_task(app.started.wait())
    await asyncio.wait([started, polling], timeout=10, return_when=asyncio.FIRST_COMPLETED)
    started.cancel()
    await app.automation.idle()
    try:
        yield app
    finally:
        if not polling.done():
            with contextlib.suppress(RuntimeError):  # a test may have stopped it already
                await app.dp.stop_polling()
            await asyncio.wait_for(polling, 10)
        await app.aclose()


@pytest.fixture
async def nexus_factory(
    make_settings: Callable[..., Settings], clock: FakeClock
) -> AsyncIterator[Callable[..., Awaitable[Nexus]]]:
    """Start the app (settings overrides as keyword arguments); stopped at the end of the test."""
    managers: list[Any] = []

    async def start(**overrides: Any) -> Nexus:
        cm = running(make_settings(**overrides), clock)
        managers.append(cm)
        return await cm.__aenter__()

    yield start
    for cm in reversed(managers):
        await cm.__aexit__(None, None, None)


@pytest.fixture
async def nexus(nexus_factory: Callable[..., Awaitable[Nexus]]) -> Nexus:
    """The app with the offline drafter."""
    return await nexus_factory()
