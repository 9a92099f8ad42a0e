"""The HTTP server of the bot process: signed webhooks in, health out, public images out.

    POST /webhooks/{source}   a signed event → 202 {"id", "type"} once it is committed
    GET  /health              liveness: the process answers → 200 {"status": "ok"}
    GET  /health/ready        readiness: database, scheduler, Telegram → 200, or 503 naming
                              the failed check
    GET  /media/{sha256}.ext  images for platforms that fetch them by URL (Instagram)
    GET  /metrics             Prometheus text format, with ``Authorization: Bearer
                              <NEXUS_METRICS_TOKEN>``; 404 while no token is set (this port
                              usually faces the internet for webhooks)

Every error is JSON ``{"error": "<plain words>"}``. No answer names the server software
(aiohttp's ``Server: Python/… aiohttp/…`` banner is removed: it only helps someone matching
versions to known bugs), and every answer carries ``X-Content-Type-Options: nosniff``. A
rejected webhook stores nothing. The checks of a webhook run cheapest first, so junk costs
little: the source name (a cached lookup), the declared length, the rate limit, the body (read
up to the limit only), the signature, the JSON, and last the unique event id, which the database
enforces in the same transaction as the insert.

This module knows nothing of aiogram: readiness checks that need the bot or the scheduler come
in as named probes from `bot.app`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automation.intake import (
    Clock,
    EventWriter,
    IntakeError,
    InvalidEvent,
    NewEvent,
    RateLimiter,
    SourceDirectory,
    SourceGone,
    event_type,
    external_id,
)
from automation.signatures import (
    DEFAULT_TOLERANCE,
    SignatureError,
    verify_github,
    verify_nexus,
)
from storage.crypto import Vault

log = logging.getLogger(__name__)

#: The largest webhook body accepted (GitHub caps its payloads at 25 MB, but ours are events,
#: not files: 256 KiB is generous and bounds what one request can make us buffer).
MAX_BODY = 256 * 1024
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}
#: A content hash and an image extension: nothing else can name a file, so no path tricks.
MEDIA_NAME = r"[0-9a-f]{64}\.(?:jpg|png|gif|webp)"

Probe = Callable[[], Awaitable[object]]
"""A readiness check: returns when the dependency is fine, raises when it is not."""


@dataclass(frozen=True)
class HttpConfig:
    """The settings the server needs (taken from `config.settings.Settings` by `bot.app`)."""

    #: Events accepted per source in any 60 seconds (NEXUS_WEBHOOK_RATE).
    webhook_rate: int = 100
    #: Where the public images live (data_dir / "public"); None serves none.
    media_dir: Path | None = None
    max_body: int = MAX_BODY
    tolerance: int = DEFAULT_TOLERANCE
    #: How long a source's decrypted secret is trusted before it is read again (seconds).
    source_ttl: float = 5.0
    #: The longest any readiness check may take (seconds).
    probe_timeout: float = 3.0


#: What each webhook answer is counted as (``observe_webhook``).
WEBHOOK_ANSWERS = {
    202: "accepted",
    400: "invalid",
    401: "bad_signature",
    404: "unknown_source",
    409: "duplicate",
    413: "too_large",
    429: "rate_limited",
    503: "store_failed",
}
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class MetricsEndpoint:
    """``GET /metrics``: `render` makes the exposition; only a caller with the token sees it."""

    render: Callable[[], Awaitable[bytes]]
    token: str | None

    async def handle(self, request: web.Request) -> web.Response:
        if not self.token:
            return _error(404, "metrics are off: set NEXUS_METRICS_TOKEN to serve them")
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {self.token}".encode()):
            return _error(
                401,
                "send Authorization: Bearer <NEXUS_METRICS_TOKEN>",
                {"WWW-Authenticate": "Bearer"},
            )
        return web.Response(
            body=await self.render(), headers={"Content-Type": METRICS_CONTENT_TYPE}
        )


class ProbeFailed(Exception):
    """A readiness check failed; `str()` says how."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


class CachedProbe:
    """Runs a costly check (a Telegram round trip) at most once per `ttl` seconds; callers in
    between get the last outcome, and concurrent callers share one run. A load balancer polling
    readiness every second then costs Telegram one getMe per `ttl`."""

    def __init__(
        self, probe: Probe, clock: Clock, *, ttl: float = 30.0, timeout: float = 3.0
    ) -> None:
        self.probe, self.clock, self.ttl, self.timeout = probe, clock, ttl, timeout
        self._until = float("-inf")
        self._failure: str | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> None:
        async with self._lock:
            now = self.clock.now().timestamp()
            if now >= self._until:
                try:
                    await asyncio.wait_for(self.probe(), self.timeout)
                    self._failure = None
                except Exception as exc:
                    self._failure = _describe(exc)
                self._until = now + self.ttl
        if self._failure is not None:
            raise ProbeFailed(self._failure)


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


@web.middleware
async def _json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """aiohttp's own errors (no such route, wrong method) and crashes answer JSON too."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        keep = {k: v for k, v in exc.headers.items() if k.lower() in {"allow", "retry-after"}}
        return _error(exc.status, (exc.reason or "error").lower(), headers=keep)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return _error(500, "internal error")


class _Checks:
    """Readiness: the database and the named probes, run side by side, each with a deadline."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        probes: Mapping[str, Probe],
        timeout: float,
    ) -> None:
        self.sessions, self.timeout = sessions, timeout
        self.probes: dict[str, Probe] = {"database": self._database, **probes}

    async def _database(self) -> None:
        async with self.sessions() as session:
            await session.execute(text("SELECT 1"))

    async def _check(self, probe: Probe) -> str:
        try:
            await asyncio.wait_for(probe(), self.timeout)
        except Exception as exc:
            return _describe(exc)
        return "ok"

    async def ready(self, request: web.Request) -> web.Response:
        names = list(self.probes)
        outcomes = await asyncio.gather(*(self._check(self.probes[n]) for n in names))
        checks = dict(zip(names, outcomes, strict=True))
        failed = [n for n in names if checks[n] != "ok"]
        if not failed:
            return web.json_response({"status": "ready", "checks": checks})
        error = "; ".join(f"{n}: {checks[n]}" for n in failed)
        return web.json_response(
            {"status": "not ready", "error": error, "checks": checks}, status=503
        )


class _Routes:
    """The request handlers and the state they share."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        vault: Vault,
        clock: Clock,
        config: HttpConfig,
        on_event: Callable[[int], None] | None,
        probes: Mapping[str, Probe],
        observe_webhook: Callable[[str], None],
    ) -> None:
        self.sessions, self.clock, self.config = sessions, clock, config
        self.observe_webhook = observe_webhook
        self.sources = SourceDirectory(sessions, vault, clock, ttl=config.source_ttl)
        self.limiter = RateLimiter(config.webhook_rate)
        self.writer = EventWriter(sessions, on_event)
        self.checks = _Checks(sessions, probes, config.probe_timeout)

    # ---------------------------------------------------------------- webhooks
    async def receive(self, request: web.Request) -> web.Response:
        response = await self._receive(request)
        self.observe_webhook(WEBHOOK_ANSWERS.get(response.status, str(response.status)))
        return response

    async def _receive(self, request: web.Request) -> web.Response:
        name = request.match_info["source"]
        source = await self.sources.get(name)
        if source is None:
            return _error(404, "no webhook source with this name")
        too_large = f"the body is larger than {self.config.max_body // 1024} KiB"
        if (request.content_length or 0) > self.config.max_body:
            return _error(413, too_large)
        received_at = self.clock.now()
        now = received_at.timestamp()
        if wait := self.limiter.retry_after(source.id, now):
            return self._rate_limited(wait)
        try:
            body = await request.read()  # stops once past client_max_size
        except web.HTTPRequestEntityTooLarge:
            return _error(413, too_large)
        try:
            if source.kind == "github":
                verify_github(source.secret, request.headers.get("X-Hub-Signature-256"), body)
            else:
                signature = request.headers.get("X-Nexus-Signature")
                verify_nexus(source.secret, signature, body, now, self.config.tolerance)
        except SignatureError as exc:
            log.debug("webhook %s: %s", name, exc)
            return _error(exc.status, str(exc))
        try:
            raw = body.decode("utf-8")
            payload = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            return _error(400, "the body is not JSON")
        if not isinstance(payload, dict):
            return _error(400, "the body must be a JSON object")
        try:
            kind = event_type(source.kind, payload, request.headers)
            ext_id = external_id(source.kind, payload, request.headers, body)
        except InvalidEvent as exc:
            return _error(exc.status, str(exc))
        if wait := self.limiter.acquire(source.id, now):
            return self._rate_limited(wait)
        try:
            event_id = await self.writer.store(NewEvent(source.id, ext_id, kind, raw, received_at))
        except IntakeError as exc:
            self.limiter.release(source.id, now)
            if isinstance(exc, SourceGone):
                self.sources.forget(name)
            return _error(exc.status, str(exc))
        return web.json_response({"id": event_id, "type": kind}, status=202)

    @staticmethod
    def _rate_limited(wait: int) -> web.Response:
        return _error(
            429, "too many events from this source; slow down", {"Retry-After": str(wait)}
        )

    # ---------------------------------------------------------------- health
    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    # ---------------------------------------------------------------- media
    async def media(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]  # the route's pattern has vetted it
        directory = self.config.media_dir
        path = directory / name if directory is not None else None
        try:
            # a regular file, not a symlink that could point anywhere
            regular = path is not None and stat.S_ISREG(os.lstat(path).st_mode)
        except OSError:
            regular = False
        if not regular or path is None:
            return _error(404, "no such image")
        return web.FileResponse(
            path,
            headers={
                "Content-Type": MEDIA_TYPES[name.rsplit(".", 1)[1]],
                # the name is the content's hash: it never changes, and the images are public
                # by design (platforms fetch them), so any cache may keep them for a year
                "Cache-Control": "public, max-age=31536000, immutable",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        """The writer runs while the server does; on the way down it writes what is queued."""
        self.writer.start()
        yield
        await self.writer.stop()


async def _quiet_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: drop the version banner, forbid content sniffing (a browser must
    not run an uploaded "image" as HTML)."""
    response.headers.pop("Server", None)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")


#: The application's event writer (benchmarks read its batch counters).
WRITER = web.AppKey("writer", EventWriter)


def build_http_app(
    sessions: async_sessionmaker[AsyncSession],
    vault: Vault,
    clock: Clock,
    config: HttpConfig,
    *,
    on_event: Callable[[int], None] | None = None,
    probes: Mapping[str, Probe] | None = None,
    metrics: MetricsEndpoint | None = None,
    observe_webhook: Callable[[str], None] = lambda answer: None,
) -> web.Application:
    """The aiohttp application. `on_event(event_id)` is called after each event's commit;
    `probes` are readiness checks besides the database (``{"telegram": …}``); each webhook's
    answer is counted with `observe_webhook`."""
    routes = _Routes(sessions, vault, clock, config, on_event, probes or {}, observe_webhook)
    app = web.Application(client_max_size=config.max_body, middlewares=[_json_errors])
    app[WRITER] = routes.writer
    app.cleanup_ctx.append(routes.lifecycle)
    app.on_response_prepare.append(_quiet_headers)
    app.router.add_post("/webhooks/{source}", routes.receive)
    app.router.add_get("/health", routes.health)
    app.router.add_get("/health/ready", routes.checks.ready)
    app.router.add_get("/media/{name:" + MEDIA_NAME + "}", routes.media)
    if metrics is not None:
        app.router.add_get("/metrics", metrics.handle)
    return app


def build_worker_http_app(
    sessions: async_sessionmaker[AsyncSession],
    probes: Mapping[str, Probe],
    metrics: MetricsEndpoint,
    *,
    probe_timeout: float = 3.0,
) -> web.Application:
    """What `nexus worker --http-port` serves: ``GET /health`` (200 only while the database
    answers and every probe, e.g. the scheduler, passes; 503 naming what failed) and
    ``GET /metrics``. No webhooks: only `nexus run` takes those."""
    checks = _Checks(sessions, probes, probe_timeout)
    app = web.Application(middlewares=[_json_errors])
    app.router.add_get("/health", checks.ready)
    app.router.add_get("/metrics", metrics.handle)
    return app


class HttpServerError(Exception):
    """The server cannot listen where it was told to."""


class HttpServer:
    """An aiohttp application bound to a host and port; port 0 binds a free one, which
    `port` and `url` then give."""

    def __init__(
        self, app: web.Application, host: str, port: int, *, shutdown_timeout: float = 5.0
    ) -> None:
        self.app, self.host, self.requested_port = app, host, port
        self.shutdown_timeout = shutdown_timeout
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._started = asyncio.Event()

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the HTTP server is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        if self._runner is not None:
            return
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=self.shutdown_timeout)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.requested_port).start()
        except OSError as exc:
            await runner.cleanup()
            raise HttpServerError(
                f"cannot listen on {self.host}:{self.requested_port} ({exc.strerror or exc}); "
                "set NEXUS_HTTP_HOST / NEXUS_HTTP_PORT"
            ) from exc
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._started.set()
        log.info("HTTP server (webhooks, health, media) listening on %s", self.url)

    async def wait_started(self) -> None:
        """Until `start` has bound the port (tests: the app starts it in its startup hook)."""
        await self._started.wait()

    async def stop(self) -> None:
        """Stop taking requests, let those in flight finish, then write queued events."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
            self._started.clear()
