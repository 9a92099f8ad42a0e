"""Inbound webhooks, health and media: real HTTP over loopback against the running server, real
SQLite and PostgreSQL, a FakeClock for signature timestamps, the rate-limit window and caches."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automation.server import (
    CachedProbe,
    HttpConfig,
    HttpServer,
    HttpServerError,
    Probe,
    build_http_app,
)
from automation.signatures import (
    BadSignature,
    MalformedSignature,
    MissingSignature,
    SignatureError,
    StaleSignature,
    sign,
    verify_github,
    verify_nexus,
)
from bot.app import Nexus
from storage.crypto import Vault, generate_key
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import Event, Source
from tests.clock import FakeClock
from tests.fakes.telegram import FakeTelegram

# ------------------------------------------------------------------ signature vectors
#: GitHub's documented example ("Validating webhook deliveries").
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

#: Computed independently with
#: printf '%s' '1767225600.{"type":"release.published","id":"evt_1"}' |
#:   openssl dgst -sha256 -hmac whsec_test
NEXUS_SECRET = "whsec_test"
NEXUS_BODY = b'{"type":"release.published","id":"evt_1"}'
NEXUS_T = 1767225600
NEXUS_V1 = "55d41c1e334dfa48bec947858448d8fef1f4ba01ccaa1928fad83e96d4c1e515"
NEXUS_HEADER = f"t={NEXUS_T},v1={NEXUS_V1}"


def test_github_documented_example() -> None:
    verify_github(GITHUB_SECRET, GITHUB_SIGNATURE, GITHUB_BODY)
    verify_github(GITHUB_SECRET.encode(), GITHUB_SIGNATURE, GITHUB_BODY)


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (None, MissingSignature),
        ("", MissingSignature),
        ("sha1=" + "0" * 40, MalformedSignature),
        ("sha256=" + "0" * 63, MalformedSignature),
        ("sha256=" + "g" * 64, MalformedSignature),
        ("sha256", MalformedSignature),
        ("sha256=" + "0" * 64, BadSignature),
    ],
)
def test_github_rejections(header: str | None, error: type[SignatureError]) -> None:
    with pytest.raises(error):
        verify_github(GITHUB_SECRET, header, GITHUB_BODY)
    with pytest.raises(BadSignature):
        verify_github("another secret", GITHUB_SIGNATURE, GITHUB_BODY)


def test_nexus_vector() -> None:
    assert sign(NEXUS_SECRET, NEXUS_BODY, NEXUS_T) == NEXUS_HEADER
    assert verify_nexus(NEXUS_SECRET, NEXUS_HEADER, NEXUS_BODY, now=NEXUS_T + 10) == NEXUS_T


def test_nexus_accepts_any_of_several_signatures_and_unknown_schemes() -> None:
    """Secret rotation: the sender signs with the old and the new secret."""
    old = "0" * 64
    for header in (
        f"t={NEXUS_T},v1={old},v1={NEXUS_V1}",
        f"v1={NEXUS_V1}, t={NEXUS_T}, v0=whatever",
    ):
        assert verify_nexus(NEXUS_SECRET, header, NEXUS_BODY, now=NEXUS_T) == NEXUS_T


def test_nexus_tolerance_is_five_minutes_either_way() -> None:
    for now in (NEXUS_T - 300, NEXUS_T + 300):
        verify_nexus(NEXUS_SECRET, NEXUS_HEADER, NEXUS_BODY, now=now)
    for now in (NEXUS_T - 301, NEXUS_T + 301):
        with pytest.raises(StaleSignature):
            verify_nexus(NEXUS_SECRET, NEXUS_HEADER, NEXUS_BODY, now=now)


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (None, MissingSignature),
        ("", MissingSignature),
        ("garbage", MalformedSignature),
        (f"v1={NEXUS_V1}", MalformedSignature),
        (f"t={NEXUS_T}", MalformedSignature),
        (f"t=-{NEXUS_T},v1={NEXUS_V1}", MalformedSignature),
        (f"t=1e9,v1={NEXUS_V1}", MalformedSignature),
        (f"t={NEXUS_T},t={NEXUS_T},v1={NEXUS_V1}", MalformedSignature),
        (f"t={NEXUS_T},v1={NEXUS_V1.upper()}", MalformedSignature),
        (f"t={NEXUS_T},v1={NEXUS_V1[:-1]}", MalformedSignature),
        (f"t={NEXUS_T}," + ",".join(["v1=" + "0" * 64] * 9), MalformedSignature),
        (f"t={NEXUS_T},v1={'0' * 64}", BadSignature),
        (f"t={NEXUS_T + 1},v1={NEXUS_V1}", BadSignature),
    ],
)
def test_nexus_rejections(header: str | None, error: type[SignatureError]) -> None:
    with pytest.raises(error) as caught:
        verify_nexus(NEXUS_SECRET, header, NEXUS_BODY, now=NEXUS_T)
    assert caught.value.status == 401 and str(caught.value)


def test_nexus_rejects_another_body_or_secret() -> None:
    with pytest.raises(BadSignature):
        verify_nexus(NEXUS_SECRET, NEXUS_HEADER, NEXUS_BODY + b" ", now=NEXUS_T)
    with pytest.raises(BadSignature):
        verify_nexus("whsec_other", NEXUS_HEADER, NEXUS_BODY, now=NEXUS_T)


# ------------------------------------------------------------------ the running server
SECRET = "s3cret-for-tests"
RATE = 5


@dataclass
class Harness:
    """The server on a free loopback port, a client, and ways to look at the database."""

    server: HttpServer
    client: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]
    vault: Vault
    clock: FakeClock
    media_dir: Path
    announced: list[int] = field(default_factory=list)

    async def add_source(self, name: str, kind: str = "webhook", **extra: Any) -> int:
        async with self.sessions() as session:
            source = Source(
                kind=kind, name=name, secret=self.vault.encrypt({"secret": SECRET}), **extra
            )
            session.add(source)
            await session.commit()
            return source.id

    async def events(self) -> list[Event]:
        async with self.sessions() as session:
            return list((await session.scalars(select(Event).order_by(Event.id))).all())

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    async def post(
        self,
        name: str,
        body: bytes | dict[str, Any],
        *,
        secret: str = SECRET,
        skew: int = 0,
        headers: dict[str, str] | None = None,
        signed: bool = True,
    ) -> httpx.Response:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        all_headers = {"Content-Type": "application/json"}
        if signed:
            all_headers["X-Nexus-Signature"] = sign(secret, raw, self.now() + skew)
        all_headers.update(headers or {})
        return await self.client.post(f"/webhooks/{name}", content=raw, headers=all_headers)

    async def post_github(
        self, name: str, body: dict[str, Any], event: str, delivery: str | None = None
    ) -> httpx.Response:
        raw = json.dumps(body).encode()
        digest = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        headers = {"X-GitHub-Event": event, "X-Hub-Signature-256": f"sha256={digest}"}
        if delivery:
            headers["X-GitHub-Delivery"] = delivery
        return await self.client.post(f"/webhooks/{name}", content=raw, headers=headers)


@pytest.fixture
async def h(database_url: str, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Harness]:
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = make_session_factory(engine)
    vault = Vault(generate_key())
    media_dir = tmp_path / "public"
    media_dir.mkdir()
    announced: list[int] = []
    config = HttpConfig(webhook_rate=RATE, media_dir=media_dir)
    app = build_http_app(sessions, vault, clock, config, on_event=announced.append)
    server = HttpServer(app, "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            yield Harness(server, client, sessions, vault, clock, media_dir, announced)
    finally:
        await server.stop()
        await engine.dispose()


def _error_of(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["error"]
    assert isinstance(message, str) and message
    return message


async def test_accepts_a_signed_event_and_stores_it_before_answering(h: Harness) -> None:
    await h.add_source("ci")
    body = b'{"type": "release.published", "id": 42, "tag": "v1.2"}'
    response = await h.post("ci", body)
    assert response.status_code == 202
    answer = response.json()
    [event] = await h.events()
    assert answer == {"id": event.id, "type": "release.published"}
    assert (event.external_id, event.type, event.payload, event.status) == (
        "42",
        "release.published",
        body.decode(),
        "new",
    )
    assert event.received_at == h.clock.now()
    assert h.announced == [event.id]


async def test_type_and_id_fall_back_to_header_then_body_hash(h: Harness) -> None:
    await h.add_source("plain")
    first = await h.post("plain", {"n": 1}, headers={"X-Nexus-Event-Id": "delivery-7"})
    body = b'{"n": 2}'
    second = await h.post("plain", body)
    assert first.status_code == second.status_code == 202
    events = await h.events()
    assert [(e.type, e.external_id) for e in events] == [
        ("event", "delivery-7"),
        ("event", hashlib.sha256(body).hexdigest()),
    ]


async def test_github_event_type_and_delivery_id(h: Harness) -> None:
    await h.add_source("gh", kind="github")
    published = await h.post_github("gh", {"action": "published"}, "release", "d-1")
    ping = await h.post_github("gh", {"zen": "Keep it simple"}, "ping", "d-2")
    assert published.json()["type"] == "github.release.published"
    assert ping.json()["type"] == "github.ping"
    assert [(e.type, e.external_id) for e in await h.events()] == [
        ("github.release.published", "d-1"),
        ("github.ping", "d-2"),
    ]
    # a Nexus signature is not a GitHub one
    assert (await h.post("gh", {"id": 1})).status_code == 401
    replay = await h.post_github("gh", {"action": "published"}, "release", "d-1")
    assert replay.status_code == 409
    assert len(await h.events()) == 2


async def test_unknown_disabled_and_feed_sources_are_404(h: Harness) -> None:
    await h.add_source("off", enabled=False)
    await h.add_source("news", kind="feed")
    for name in ("nope", "off", "news", "x" * 65):
        response = await h.post(name, {"id": 1})
        assert response.status_code == 404, name
        assert "source" in _error_of(response)
    assert await h.events() == []


async def test_oversize_body_is_413_declared_or_streamed(h: Harness) -> None:
    await h.add_source("big")
    too_big = b'{"pad": "' + b"x" * (256 * 1024) + b'"}'
    declared = await h.post("big", too_big)
    assert declared.status_code == 413 and "KiB" in _error_of(declared)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked encoding
        for start in range(0, len(too_big), 16 * 1024):
            yield too_big[start : start + 16 * 1024]

    headers = {"X-Nexus-Signature": sign(SECRET, too_big, h.now())}
    streamed = await h.client.post("/webhooks/big", content=chunks(), headers=headers)
    assert streamed.status_code == 413
    fits = b'{"pad": "' + b"x" * (256 * 1024 - 20) + b'"}'
    assert (await h.post("big", fits)).status_code == 202
    assert len(await h.events()) == 1


async def test_missing_bad_and_skewed_signatures_are_401(h: Harness) -> None:
    await h.add_source("sig")
    body = {"id": "e1"}
    cases = {
        "missing": await h.post("sig", body, signed=False),
        "wrong secret": await h.post("sig", body, secret="guess"),
        "garbage": await h.post("sig", body, headers={"X-Nexus-Signature": "t=1,v1=zz"}),
        "from the future": await h.post("sig", body, skew=301),
        "from the past": await h.post("sig", body, skew=-301),
    }
    for case, response in cases.items():
        assert response.status_code == 401, case
        _error_of(response)
    assert "timestamp" in _error_of(cases["from the past"])
    assert await h.events() == []
    assert (await h.post("sig", body, skew=-299)).status_code == 202


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b'["an", "array"]',
        b'"a string"',
        b'{"value": NaN}',
        b"\xff\xfe{}",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"type": 7}',
        b'{"type": "x\\u0000y"}',
        b'{"type": "\\ud800"}',
        b'{"id": {"nested": 1}}',
        b'{"id": true}',
        b'{"id": "' + b"i" * 256 + b'"}',
    ],
    ids=lambda b: b[:24].decode("latin-1"),
)
async def test_bodies_that_are_not_a_usable_json_object_are_400(h: Harness, body: bytes) -> None:
    await h.add_source("json")
    response = await h.post("json", body)
    assert response.status_code == 400
    _error_of(response)
    assert await h.events() == []


async def test_replay_is_409_and_stores_nothing_more(h: Harness) -> None:
    await h.add_source("rp")
    body = {"type": "order.paid", "id": "ord_1"}
    assert (await h.post("rp", body)).status_code == 202
    h.clock.advance(seconds=10)  # a fresh signature does not make it a new event
    again = await h.post("rp", body)
    assert again.status_code == 409 and "already" in _error_of(again)
    same_bytes = b'{"no": "id"}'
    assert (await h.post("rp", same_bytes)).status_code == 202
    assert (await h.post("rp", same_bytes)).status_code == 409
    assert len(await h.events()) == 2
    assert len(h.announced) == 2


async def test_concurrent_copies_of_one_event_store_it_once(h: Harness) -> None:
    """Copies arriving together land in one batch: exactly one is accepted."""
    await h.add_source("burst")
    responses = await asyncio.gather(*(h.post("burst", {"id": "same"}) for _ in range(RATE)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [202] + [409] * (RATE - 1)
    assert len(await h.events()) == 1


async def test_rate_limit_is_429_with_retry_after_and_slides(h: Harness) -> None:
    await h.add_source("rl")
    other = await h.add_source("other")
    for i in range(RATE - 1):
        assert (await h.post("rl", {"id": i})).status_code == 202
        h.clock.advance(seconds=10)
    # a replay is refused without using up a slot: the last one is still free
    assert (await h.post("rl", {"id": 0})).status_code == 409
    assert (await h.post("rl", {"id": "last"})).status_code == 202
    limited = await h.post("rl", {"id": "one too many"})
    assert limited.status_code == 429
    assert "slow down" in _error_of(limited)
    assert limited.headers["Retry-After"] == "20"  # the first event leaves the window at 60 s
    assert (await h.post("other", {"id": "x"})).status_code == 202  # limits are per source
    h.clock.advance(seconds=20)
    assert (await h.post("rl", {"id": "one too many"})).status_code == 202
    assert (await h.post("rl", {"id": "and another"})).status_code == 429
    stored = await h.events()
    assert len(stored) == RATE + 2
    assert "one too many" in {e.external_id for e in stored}
    assert sum(e.source_id == other for e in stored) == 1


async def test_a_deleted_source_stops_at_once_even_while_cached(h: Harness) -> None:
    source_id = await h.add_source("gone")
    assert (await h.post("gone", {"id": 1})).status_code == 202
    async with h.sessions() as session:
        await session.execute(delete(Event))
        await session.execute(delete(Source).where(Source.id == source_id))
        await session.commit()
    response = await h.post("gone", {"id": 2})  # the secret is still cached: the insert fails
    assert response.status_code == 404
    assert (await h.post("gone", {"id": 3})).status_code == 404
    assert await h.events() == []


async def test_a_disabled_source_stops_within_seconds(h: Harness) -> None:
    await h.add_source("pause")
    assert (await h.post("pause", {"id": 1})).status_code == 202
    async with h.sessions() as session:
        await session.execute(update(Source).values(enabled=False))
        await session.commit()
    h.clock.advance(seconds=6)
    assert (await h.post("pause", {"id": 2})).status_code == 404
    assert len(await h.events()) == 1


async def test_other_routes_and_methods_answer_json(h: Harness) -> None:
    missing = await h.client.get("/nothing/here")
    assert missing.status_code == 404
    _error_of(missing)
    wrong_method = await h.client.get("/webhooks/ci")
    assert wrong_method.status_code == 405
    _error_of(wrong_method)


# ------------------------------------------------------------------ random traffic
_FIELDS = st.sampled_from(["type", "id", "action", "data"]) | st.text(max_size=4)
_ODD = st.sampled_from(["\x00", "\ud800", "é", "x" * 300, "", " ", "github.push"])
_VALUES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | _ODD
)
#: What a client can send as a header value (HTTP strips the spaces around it anyway).
_HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(
    str.strip
) | st.sampled_from(["x" * 300, "e1", ""])

#: (secret, skew): sign with Nexus's scheme at the server's "now" plus the skew, when sent.
NexusSigning = tuple[str, int] | None
RandomRequest = tuple[str, bytes, dict[str, str], NexusSigning]


@st.composite
def requests(draw: st.DrawFn) -> RandomRequest:
    """A request to a plain, GitHub or unknown source, with any body and signature mode."""
    name = draw(st.sampled_from(["plain", "gh", "unknown"]))
    if draw(st.booleans()):
        payload = draw(st.dictionaries(_FIELDS, _VALUES, max_size=4))
        ascii_only = draw(st.booleans())
        raw = json.dumps(payload, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    else:
        raw = draw(st.binary(max_size=64) | st.sampled_from([b"[]", b"1", b"{", b"null"]))
    headers: dict[str, str] = {}
    for header in ("X-Nexus-Event-Id", "X-GitHub-Event", "X-GitHub-Delivery"):
        if draw(st.booleans()):
            headers[header] = draw(_HEADER_TEXT)
    mode = draw(st.sampled_from(["valid", "valid", "valid", "wrong", "missing", "garbage"]))
    secret = SECRET if mode == "valid" else "not the secret"
    nexus: NexusSigning = None
    if mode == "garbage":
        headers["X-Nexus-Signature"] = headers["X-Hub-Signature-256"] = draw(_HEADER_TEXT)
    elif mode != "missing" and name == "gh":
        digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha256={digest}"
    elif mode != "missing":
        nexus = (secret, draw(st.sampled_from([0, 0, 0, -299, 301, -400])))
    return name, raw, headers, nexus


@pytest.fixture
async def random_sources(h: Harness) -> Harness:
    await h.add_source("plain")
    await h.add_source("gh", kind="github")
    return h


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(requests(), min_size=1, max_size=4))
async def test_random_requests_never_fail_the_server_or_leave_partial_rows(
    random_sources: Harness, batch: list[RandomRequest]
) -> None:
    """Whatever arrives, the answer is 2xx or 4xx, and the table holds exactly the accepted."""
    h = random_sources
    h.clock.advance(seconds=61)  # a fresh rate-limit window for every example
    accepted = {e.id for e in await h.events()}

    async def send(
        name: str, raw: bytes, headers: dict[str, str], nexus: NexusSigning
    ) -> httpx.Response:
        if nexus is not None:
            secret, skew = nexus
            headers = {**headers, "X-Nexus-Signature": sign(secret, raw, h.now() + skew)}
        return await h.client.post(f"/webhooks/{name}", content=raw, headers=headers)

    responses = await asyncio.gather(*(send(*request) for request in batch))
    for response in responses:
        assert 200 <= response.status_code < 500, response.text
        assert response.status_code < 300 or _error_of(response)
        if response.status_code == 202:
            accepted.add(response.json()["id"])
    assert {e.id for e in await h.events()} == accepted
    assert set(h.announced) == accepted


# ------------------------------------------------------------------ health
async def test_health_and_readiness_with_probes(database_url: str, clock: FakeClock) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    up = {"telegram": True}
    calls: list[int] = []

    async def telegram() -> None:
        calls.append(1)
        if not up["telegram"]:
            raise ConnectionError("cannot reach api.telegram.org")

    async def hangs() -> None:
        await asyncio.Event().wait()

    async def serve(config: HttpConfig, probes: dict[str, Probe]) -> HttpServer:
        sessions = make_session_factory(engine)
        app = build_http_app(sessions, Vault(generate_key()), clock, config, probes=probes)
        server = HttpServer(app, "127.0.0.1", 0)
        await server.start()
        return server

    server = await serve(HttpConfig(), {"telegram": CachedProbe(telegram, clock, ttl=30)})
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.get("/health")).json() == {"status": "ok"}
            ready = await client.get("/health/ready")
            assert ready.status_code == 200
            assert ready.json()["checks"] == {"database": "ok", "telegram": "ok"}
            up["telegram"] = False
            assert (await client.get("/health/ready")).status_code == 200  # cached for 30 s
            clock.advance(seconds=31)
            down = await client.get("/health/ready")
            assert down.status_code == 503
            assert down.json()["checks"]["database"] == "ok"
            assert "telegram" in _error_of(down) and "cannot reach" in _error_of(down)
            assert (await client.get("/health/ready")).status_code == 503
            assert len(calls) == 2  # one getMe per 30 s, however often readiness is asked
    finally:
        await server.stop()
    # a check that hangs fails after the timeout instead of hanging the answer
    server = await serve(HttpConfig(probe_timeout=0.05), {"scheduler": hangs})
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            slow = await client.get("/health/ready")
            assert slow.status_code == 503
            assert slow.json()["checks"]["scheduler"] == "timed out"
    finally:
        await server.stop()
        await engine.dispose()


async def test_a_taken_port_is_a_clear_error(h: Harness) -> None:
    assert h.server.port
    app = build_http_app(h.sessions, h.vault, h.clock, HttpConfig())
    with pytest.raises(HttpServerError, match="cannot listen on 127.0.0.1"):
        await HttpServer(app, "127.0.0.1", h.server.port).start()


# ------------------------------------------------------------------ media
PNG = bytes.fromhex("89504e470d0a1a0a") + b"not really a png, but served as one"
NAME = hashlib.sha256(PNG).hexdigest()


async def _raw_get(server: HttpServer, path: str) -> int:
    """A GET with the path exactly as given (clients normalise ../ away)."""
    assert server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    status_line = await reader.readline()
    await reader.read()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


async def test_media_serves_public_images_only(h: Harness, tmp_path: Path) -> None:
    for ext in ("png", "jpg", "gif", "webp"):
        (h.media_dir / f"{NAME}.{ext}").write_bytes(PNG)
    (tmp_path / "secret.key").write_text("do not serve")
    outside = tmp_path / ("a" * 64 + ".png")
    outside.write_bytes(b"outside")
    os.symlink(outside, h.media_dir / ("b" * 64 + ".png"))
    (h.media_dir / ("c" * 64 + ".png")).mkdir()

    image = await h.client.get(f"/media/{NAME}.png")
    assert image.status_code == 200
    assert image.content == PNG
    assert image.headers["content-type"] == "image/png"
    assert "immutable" in image.headers["cache-control"]
    for ext, mime in (("jpg", "image/jpeg"), ("gif", "image/gif"), ("webp", "image/webp")):
        assert (await h.client.get(f"/media/{NAME}.{ext}")).headers["content-type"] == mime

    refused = [
        f"/media/{'d' * 64}.png",  # not there
        f"/media/{NAME.upper()}.png",
        f"/media/{NAME}.svg",
        f"/media/{NAME}.png.txt",
        f"/media/{NAME[:-1]}.png",
        f"/media/{'b' * 64}.png",  # a symlink out of the directory
        f"/media/{'c' * 64}.png",  # a directory
        "/media/secret.key",
        "/media/",
    ]
    for path in refused:
        response = await h.client.get(path)
        assert response.status_code == 404, path
        _error_of(response)
    for path in (
        "/media/../secret.key",
        "/media/%2e%2e/secret.key",
        "/media/..%2fsecret.key",
        f"/media/..%2f..%2f{'a' * 64}.png",
        f"/media/%2e%2e%2f{'a' * 64}.png",
    ):
        assert await _raw_get(h.server, path) == 404, path


# ------------------------------------------------------------------ the real app
async def test_the_app_serves_webhooks_health_and_media(
    nexus_factory: Callable[..., Any], tg: FakeTelegram, clock: FakeClock
) -> None:
    app: Nexus = await nexus_factory(NEXUS_HTTP_PORT="0")
    await asyncio.wait_for(app.http_server.wait_started(), 10)
    assert app.http_server.port and app.http_server.port != 8080
    received: list[int] = []
    app.event_listeners.append(received.append)
    async with app.sessions() as session:
        session.add(Source(kind="webhook", name="shop", secret=app.vault.encrypt({"secret": "k"})))
        await session.commit()
    public = app.settings.data_dir / "public"
    public.mkdir(parents=True, exist_ok=True)
    (public / f"{NAME}.png").write_bytes(PNG)

    async with httpx.AsyncClient(base_url=app.http_server.url) as client:
        body = b'{"type": "order.paid", "id": "o-1"}'
        t = int(clock.now().timestamp())
        accepted = await client.post(
            "/webhooks/shop", content=body, headers={"X-Nexus-Signature": sign("k", body, t)}
        )
        assert accepted.status_code == 202
        assert accepted.json()["type"] == "order.paid"
        assert received == [accepted.json()["id"]]
        assert (await client.get(f"/media/{NAME}.png")).content == PNG

        # a burst wakes one pass of the rules engine, which processes every event exactly once
        async def post(i: int) -> httpx.Response:
            body = json.dumps({"type": "order.paid", "id": f"burst-{i}"}).encode()
            signature = sign("k", body, int(clock.now().timestamp()))
            return await client.post(
                "/webhooks/shop", content=body, headers={"X-Nexus-Signature": signature}
            )

        burst = await asyncio.gather(*(post(i) for i in range(20)))
        assert [r.status_code for r in burst] == [202] * 20
        await app.automation.idle()
        async with app.sessions() as session:
            statuses = (await session.scalars(select(Event.status))).all()
        assert sorted(statuses) == ["done"] * 21
        assert len(received) == 21

        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "telegram": "ok", "scheduler": "ok"}
        await tg.close()  # Telegram goes away
        clock.advance(seconds=31)  # past the cached getMe
        down = await client.get("/health/ready")
        assert down.status_code == 503
        assert down.json()["checks"]["telegram"] != "ok"
        assert down.json()["checks"]["database"] == "ok"
        assert (await client.get("/health")).status_code == 200  # alive all the same


async def test_no_answer_names_the_server_software(h: Harness) -> None:
    """aiohttp's `Server: Python/3.x aiohttp/3.x` helps only someone matching versions to bugs;
    no answer carries it, errors included, and none may be sniffed into another type."""
    (h.media_dir / f"{NAME}.png").write_bytes(PNG)
    answers = [
        await h.client.get("/health"),
        await h.client.get("/health/ready"),
        await h.client.get("/no-such-page"),
        await h.client.post("/webhooks/nobody", content=b"{}"),
        await h.client.get(f"/media/{NAME}.png"),
    ]
    assert [a.status_code for a in answers][2:] == [404, 404, 200]
    for answer in answers:
        assert "server" not in answer.headers, answer.request.url
        assert answer.headers["x-content-type-options"] == "nosniff"
    media = answers[-1]
    assert media.headers["cache-control"] == "public, max-age=31536000, immutable"
