"""Observability: /metrics scraped over real HTTP after drafting with the fake Claude,
publishing to the fake Telegram and taking webhooks; the worker's own /health and /metrics;
JSON logs that stay redacted, tracebacks included."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ai.service import create_draft
from automation import sources as source_service
from automation.signatures import sign
from bot.app import Nexus, build_app, prepare_database, worker_http_server
from bot.logs import configure_logging
from config.settings import Settings
from metrics.observability import Observability
from scheduler.lifecycle import schedule_post
from storage.models import User
from tests.clock import FakeClock
from tests.conftest import CHANNEL, OWNER
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.telegram import FakeTelegram
from tests.test_automation import StartNexus

TOKEN = "metrics-token-0123456789"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, keyed by (name, labels), parsed by prometheus_client."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    scrape: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return scrape[(name, frozenset(labels.items()))]


async def scrape(app: Nexus, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=app.http_server.url) as client:
        return await client.get("/metrics", headers=headers)


async def test_metrics_after_drafting_publishing_and_webhooks(
    tg: FakeTelegram, ai: FakeAnthropic, nexus_factory: StartNexus, clock: FakeClock
) -> None:
    app = await nexus_factory(
        NEXUS_METRICS_TOKEN=TOKEN, ANTHROPIC_API_KEY=ai.api_key, ANTHROPIC_BASE_URL=ai.base_url
    )
    await asyncio.wait_for(app.http_server.wait_started(), 10)
    async with app.sessions() as session:
        await session.merge(User(id=OWNER))
        await session.commit()
        post = await create_draft(
            session, app.drafter, author_id=OWNER, brief="Launch day", max_chars=4000
        )
        assert await schedule_post(session, post, clock.now() + timedelta(minutes=5))
        _source, secret = await source_service.add_webhook(session, app.vault, "webhook", "ci")
        await session.commit()
        waiting = await scrape(app)
    assert waiting.status_code == 200, waiting.text
    assert waiting.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    before = samples(waiting.text)
    assert value(before, "nexus_queue_scheduled_posts") == 1
    assert value(before, "nexus_queue_pending_publications") == 1
    assert value(before, "nexus_unknown_publications") == 0

    clock.advance(minutes=5, seconds=42)  # the send is 42 s late
    await app.dispatcher.run_once()
    await tg.wait_message(CHANNEL)
    body = json.dumps({"type": "deploy"}).encode()
    now = int(clock.now().timestamp())
    async with httpx.AsyncClient(base_url=app.http_server.url) as client:
        answers = [
            await client.post("/webhooks/ci", content=body, headers={"X-Nexus-Signature": s})
            for s in (sign(secret, body, now), sign(secret, body, now), sign("wrong", body, now))
        ]
        answers.append(await client.post("/webhooks/nope", content=body))
    assert [a.status_code for a in answers] == [202, 409, 401, 404]

    after = samples((await scrape(app)).text)
    assert value(after, "nexus_publications_total", platform="telegram", outcome="published") == 1
    assert value(after, "nexus_publish_lateness_seconds_count", platform="telegram") == 1
    assert value(after, "nexus_publish_lateness_seconds_sum", platform="telegram") == 42
    assert (
        value(after, "nexus_publish_lateness_seconds_bucket", platform="telegram", le="30.0") == 0
    )
    assert (
        value(after, "nexus_publish_lateness_seconds_bucket", platform="telegram", le="60.0") == 1
    )
    assert value(after, "nexus_queue_scheduled_posts") == 0
    assert value(after, "nexus_queue_pending_publications") == 0
    for answer in ("accepted", "duplicate", "bad_signature", "unknown_source"):
        assert value(after, "nexus_webhook_events_total", answer=answer) == 1
    [(model, calls)] = [
        (dict(labels)["model"], v)
        for (name, labels), v in after.items()
        if name == "nexus_ai_calls_total"
    ]
    assert calls == 1 and model
    tokens_in = value(
        after, "nexus_ai_tokens_total", model=model, purpose="draft", direction="input"
    )
    assert tokens_in > 0
    assert value(after, "nexus_ai_cost_usd_total", model=model, purpose="draft") > 0


async def test_metrics_need_the_token_and_are_off_without_one(
    nexus_factory: StartNexus,
) -> None:
    guarded = await nexus_factory(NEXUS_METRICS_TOKEN=TOKEN)
    await asyncio.wait_for(guarded.http_server.wait_started(), 10)
    assert (await scrape(guarded, None)).status_code == 401
    assert (await scrape(guarded, "not-the-token-at-all")).status_code == 401
    off = await nexus_factory()
    await asyncio.wait_for(off.http_server.wait_started(), 10)
    answer = await scrape(off)
    assert answer.status_code == 404 and "NEXUS_METRICS_TOKEN" in answer.json()["error"]


def test_each_app_counts_on_its_own() -> None:
    first, second = Observability(), Observability()
    first.observe_alert("queue")
    assert first.alerts.labels("queue")._value.get() == 1
    assert second.alerts.labels("queue")._value.get() == 0


async def test_the_worker_serves_health_and_metrics_on_its_own_port(
    make_settings: Callable[..., Settings], clock: FakeClock
) -> None:
    settings = make_settings(NEXUS_METRICS_TOKEN=TOKEN)
    await prepare_database(settings)
    app = build_app(settings, clock=clock)
    status = worker_http_server(app, 0)
    try:
        await app.start_scheduler()
        await status.start()
        async with httpx.AsyncClient(base_url=status.url) as client:
            healthy = await client.get("/health")
            assert healthy.status_code == 200, healthy.text
            assert healthy.json()["checks"] == {"database": "ok", "scheduler": "ok"}
            metrics = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert "nexus_queue_pending_publications 0.0" in metrics.text
            assert (await client.post("/webhooks/x", content=b"{}")).status_code in (404, 405)
            assert app.runtime is not None
            await app.runtime.shutdown()
            stopped = await client.get("/health")
            assert stopped.status_code == 503 and "scheduler" in stopped.json()["error"]
    finally:
        await status.stop()
        await app.aclose()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def test_json_logs_are_one_object_per_line_and_redacted(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "sk-ant-very-secret-value"
    configure_logging("INFO", [secret], "json")
    log = logging.getLogger("nexus.test")
    log.info("calling with %s", secret)
    try:
        raise RuntimeError(f'bad "key" {secret}')
    except RuntimeError:
        log.exception("it failed")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "calling with ***" and first["level"] == "INFO"
    assert first["logger"] == "nexus.test" and first["time"].endswith("+00:00")
    assert second["message"] == "it failed"
    assert "Traceback" in second["exception"] and 'bad "key" ***' in second["exception"]
    assert secret not in "".join(lines)
