"""The one factory that wires Nexus together, used by `nexus run` and by the tests alike.

`build_app` makes the Bot, the Dispatcher (with its routers, middlewares and dependencies), the
database engine, the drafter, the HTTP client for publishers and the HTTP server (webhooks,
health, media), which the startup hook of `nexus run` starts: the webhook server lives in the bot
process, `nexus worker` serves no HTTP. Nothing here holds business rules; it only connects the
rooms.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from aiogram import Bot, Dispatcher, methods
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.methods.base import Response
from aiogram.types import BotCommand
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ai import make_drafter
from ai.drafter import Drafter
from ai.learning import learn_due
from automation.engine import AutomationEngine
from automation.feeds import FeedPoller
from automation.server import (
    CachedProbe,
    HttpConfig,
    HttpServer,
    MetricsEndpoint,
    Probe,
    build_http_app,
    build_worker_http_app,
)
from bot.fit import FitToLimits
from bot.fsm import DatabaseStorage, FsmWrites
from bot.inline import run_filters_inline
from bot.keys import open_vault
from bot.middlewares import ChatActions, RoleGate, SessionMiddleware
from bot.notifier import BotNotifier
from bot.targets import TargetPublishers
from bot.throttle import TelegramThrottle
from config.settings import Settings
from handlers import build_routers, errors
from handlers.accounts import AccountStates
from handlers.credentials import HeldCredentials, forget_when_left
from handlers.drafting import Drafting
from metrics.alerts import HEALTH_EVERY, AlertConfig, Alerts
from metrics.digest import Digests
from metrics.observability import Observability
from metrics.sync import MetricsSync
from publishers.outbound import GuardedClient, OutboundPolicy
from publishers.telegram_limits import TelegramLimits
from scheduler.clock import Clock, SystemClock
from scheduler.dispatcher import DispatchConfig, PublicationDispatcher
from scheduler.review_timeouts import REVIEW_EVERY_S, run_review_timeouts
from scheduler.runtime import SchedulerRuntime
from scheduler.series import recycle_evergreen_everywhere
from scheduler.tokens import RENEW_EVERY, TokenKeeper
from storage import repositories as repo
from storage import teams
from storage.backup import RunLock
from storage.crypto import Vault
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade
from storage.permissions import make_private
from ui.texts import Texts, languages

log = logging.getLogger(__name__)

#: aiogram builds `Response[T]` for every call, and pydantic keeps those generic classes only
#: weakly: after a garbage collection each is rebuilt (6–14 ms, blocking the loop). Holding the
#: ones the bot uses keeps them built.
_RESPONSE_TYPES = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (
        methods.AnswerCallbackQuery,
        methods.DeleteMessage,
        methods.EditMessageReplyMarkup,
        methods.EditMessageText,
        methods.GetMe,
        methods.GetUpdates,
        methods.SendChatAction,
        methods.SendMessage,
        methods.SendPhoto,
        methods.SetMyCommands,
    )
)
MENU_COMMANDS = (
    "start",
    "new",
    "drafts",
    "plan",
    "queue",
    "slots",
    "stats",
    "digest",
    "voice",
    "timezone",
    "brand",
    "rules",
    "sources",
    "team",
    "log",
    "review",
    "cancel",
    "help",
)


@dataclass
class Nexus:
    """A wired application. `await app.aclose()` releases every connection it opened."""

    settings: Settings
    bot: Bot
    dp: Dispatcher
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    drafter: Drafter
    #: AI drafting jobs running in the background (outside the chat's event lock).
    drafting: Drafting
    #: Where conversations stand (the FSM), in the database: they survive restarts.
    fsm: DatabaseStorage
    #: Secrets typed into a connection form, in memory until the form is complete.
    held: HeldCredentials
    http: httpx.AsyncClient
    #: The hardened clients for users' URLs: feeds (and links), and the servers that receive
    #: credentials (https required).
    outbound: GuardedClient
    servers: GuardedClient
    vault: Vault
    clock: Clock
    publishers: TargetPublishers
    dispatcher: PublicationDispatcher
    metrics: MetricsSync
    #: Renews the tokens that platforms let Nexus extend.
    tokens: TokenKeeper
    alerts: Alerts
    digests: Digests
    runtime: SchedulerRuntime | None
    #: Runs the rules on stored events.
    automation: AutomationEngine
    feeds: FeedPoller
    #: The Prometheus metrics of this app (GET /metrics).
    observability: Observability
    #: Webhooks, health and media; `http_server.port` is the bound port (NEXUS_HTTP_PORT=0).
    http_server: HttpServer
    #: Called with each webhook event's id after its commit (the HTTP server's `on_event`):
    #: first the wake-up of the rules engine's pass; tests may add their own.
    event_listeners: list[Callable[[int], None]] = field(default_factory=list)
    new_key_file: Path | None = None
    #: Held while the app lives: `nexus restore` refuses to replace the database under it.
    run_lock: RunLock | None = None
    #: Set once the start-up hook has run (scheduler, catch-up drain, HTTP server, commands).
    started: asyncio.Event = field(default_factory=asyncio.Event)
    _closed: bool = field(default=False, repr=False)

    def wake(self) -> None:
        """Ask the dispatcher to look for due work now (a no-op without an embedded scheduler:
        the workers' poll finds it)."""
        if self.runtime is not None:
            self.runtime.wake()

    async def start_polling(self, *, handle_signals: bool = False) -> None:
        """Long-poll Telegram until `dp.stop_polling()` (or SIGINT/SIGTERM under `nexus run`)."""
        await self.dp.start_polling(
            self.bot,
            allowed_updates=self.dp.resolve_used_update_types(),
            handle_signals=handle_signals,
        )

    async def start_scheduler(self) -> None:
        """Take over what this process's previous incarnation left when it died: its token
        renewals first (a publish may need one at once), then, with the embedded scheduler,
        its claims (`SchedulerRuntime.start`)."""
        await self.publishers.recover()
        if self.runtime is not None:
            await self.runtime.start()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.http_server.stop()  # first: queued webhook events still need the database
        if not await self.fsm.idle(UPDATES_GRACE_S):  # updates in hand: their state changes
            log.warning("stopping while the bot still handles an update")
        self.automation.stop()  # what is left stays "new" for the next start
        if self.runtime is not None:
            await self.runtime.shutdown()
        await self.automation.idle()
        await self.drafting.shutdown(self.bot)  # before the drafter, the bot and the database
        self.held.clear()
        await self.drafter.aclose()
        await self.http.aclose()
        await self.outbound.aclose()
        await self.servers.aclose()
        await self.bot.session.close()
        await self.engine.dispose()
        if self.run_lock is not None:
            self.run_lock.release()


#: How long a stop waits for the updates being handled (their conversation state is written
#: when each handler returns).
UPDATES_GRACE_S = 10.0


def freeze_startup_objects() -> None:
    """Move everything alive after start-up (modules, the app) out of the garbage collector's
    sight. Without it every full collection walks all of aiogram, SQLAlchemy and pydantic and
    stalls the event loop for 90–250 ms (the p99 of bench/bot_loop.py); with it, collections only
    look at objects made since."""
    gc.collect()
    gc.freeze()


async def prepare_database(settings: Settings) -> None:
    """Create the data dir, bring the schema up to date and make both private, 0700/0600
    (run at every start; `storage.permissions`)."""
    changed = make_private(settings.data_dir, settings.database_file)
    engine = create_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    changed += make_private(settings.data_dir, settings.database_file)
    for loose in changed:
        log.info("made %s private (was %04o)", loose.path, loose.mode)


def _make_bot(settings: Settings, limits: TelegramLimits) -> Bot:
    token = settings.telegram_bot_token
    assert token is not None, "load_settings(require_bot=True) guarantees a token"
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_server))
        if settings.telegram_api_server
        else AiohttpSession()
    )
    bot = Bot(
        token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    bot.session.middleware(FitToLimits())  # nothing over 4,096 / 1,024 reaches Telegram
    bot.session.middleware(TelegramThrottle(limits))
    return bot


async def ensure_first_brand(app: Nexus) -> None:
    """NEXUS_OWNER_IDS own the first brand and NEXUS_CHANNEL is its publishing target (an account
    row), from the first start on and after every change of the settings."""
    async with app.sessions() as session:
        await teams.ensure_first_brand(session, app.settings.owner_ids)
        if app.settings.channel:
            await repo.ensure_account(session, "telegram", app.settings.channel)
        await session.commit()


async def _on_startup(app: Nexus) -> None:
    await ensure_first_brand(app)
    await app.drafting.report_interrupted(app.bot)  # drafts the last run did not finish
    await app.start_scheduler()
    if app.runtime is not None:
        app.automation.drain_soon()  # the whole backlog a crash left behind, at once
    await app.http_server.start()  # after the scheduler, so readiness holds from the first hit
    for language in languages():
        t = Texts(language)
        commands = [BotCommand(command=c, description=t.plain(f"cmd.{c}")) for c in MENU_COMMANDS]
        await app.bot.set_my_commands(
            commands, language_code=None if language == "en" else language
        )
    if app.new_key_file is not None:
        log.warning("created a new secret key at %s: back it up", app.new_key_file)
        for owner in app.settings.owner_ids:
            try:
                await app.bot.send_message(
                    owner, Texts("en")("key.created", path=str(app.new_key_file))
                )
            except Exception as exc:  # the owner may not have started the bot yet
                log.warning("could not tell owner %s about the new key: %s", owner, exc)
    app.started.set()


#: How often free slots are checked for an evergreen post to recycle.
EVERGREEN_EVERY_S = 15 * 60
#: How often published posts due for a metrics snapshot are synced.
METRICS_EVERY_S = 5 * 60
#: Digests and alerts look every minute: a digest goes out within a minute of its time.
DIGEST_EVERY_S = ALERTS_EVERY_S = 60
#: How often the periodic distillation of the owner's decisions looks whether it is due.
LEARN_CHECK_EVERY_S = 15 * 60
#: How often events left "new" or abandoned by a dead worker are looked for (start-up and each
#: webhook drain the backlog at once; this catches events other processes stored).
EVENTS_CATCH_UP_S = 60


def _runtime(
    settings: Settings,
    dispatcher: PublicationDispatcher,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    jobs: dict[str, tuple[float, Callable[[], Awaitable[object]]]],
) -> SchedulerRuntime:
    """The embedded scheduler: the dispatcher, evergreen recycling and the other periodic
    ``jobs`` (name → (every how many seconds, the task))."""

    async def evergreen() -> None:
        if await recycle_evergreen_everywhere(
            sessions,
            clock,
            default_tz=settings.tz,
            min_gap=timedelta(days=settings.evergreen_gap_days),
        ):
            runtime.wake()  # the copy is due soon: let the dispatcher time its wake-up

    runtime = SchedulerRuntime(
        dispatcher,
        clock,
        periodic={"evergreen": (EVERGREEN_EVERY_S, evergreen), **jobs},
    )
    return runtime


#: How long a Telegram getMe result stands for /health/ready, and how long it may take.
TELEGRAM_PROBE_TTL_S, TELEGRAM_PROBE_TIMEOUT_S = 30.0, 3


def _http_server(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    vault: Vault,
    clock: Clock,
    bot: Bot,
    runtime: SchedulerRuntime | None,
    listeners: list[Callable[[int], None]],
    observability: Observability,
) -> HttpServer:
    """The webhook/health/media/metrics server, with readiness probes for what only `bot/`
    knows."""

    async def telegram() -> None:
        await bot.get_me(request_timeout=TELEGRAM_PROBE_TIMEOUT_S)

    probes: dict[str, Probe] = {
        "telegram": CachedProbe(
            telegram, clock, ttl=TELEGRAM_PROBE_TTL_S, timeout=TELEGRAM_PROBE_TIMEOUT_S
        )
    }
    if runtime is not None:
        probes["scheduler"] = _scheduler_probe(runtime)

    def on_event(event_id: int) -> None:
        for listener in listeners:
            listener(event_id)

    config = HttpConfig(webhook_rate=settings.webhook_rate, media_dir=settings.data_dir / "public")
    app = build_http_app(
        sessions,
        vault,
        clock,
        config,
        on_event=on_event,
        probes=probes,
        metrics=_metrics_endpoint(settings, sessions, observability),
        observe_webhook=observability.observe_webhook,
    )
    return HttpServer(app, settings.http_host, settings.http_port)


def _scheduler_probe(runtime: SchedulerRuntime) -> Probe:
    async def scheduler_running() -> None:
        if not runtime.scheduler.running:
            raise RuntimeError("the scheduler is not running")

    return scheduler_running


def _metrics_endpoint(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], observability: Observability
) -> MetricsEndpoint:
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    return MetricsEndpoint(lambda: observability.render(sessions), token)


def worker_http_server(app: Nexus, port: int) -> HttpServer:
    """`nexus worker --http-port`: /health (database and scheduler) and /metrics."""
    probes = {"scheduler": _scheduler_probe(app.runtime)} if app.runtime is not None else {}
    metrics = _metrics_endpoint(app.settings, app.sessions, app.observability)
    return HttpServer(
        build_worker_http_app(app.sessions, probes, metrics), app.settings.http_host, port
    )


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    with_scheduler: bool = True,
    limits: TelegramLimits | None = None,
) -> Nexus:
    """Wire the application. The database must already be migrated (`prepare_database`).

    `with_scheduler=False` is `nexus run --no-scheduler`: the bot only schedules; workers
    (`nexus worker`) publish. `limits` defaults to Telegram's real rate limits (benchmarks lift
    them to measure Nexus rather than Telegram's policy).
    """
    engine = create_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    vault, new_key_file = open_vault(settings)
    observability = Observability()
    api_key = settings.anthropic_api_key
    clock = clock or SystemClock()
    limits = limits or TelegramLimits()  # one limiter for everything sent with this token
    bot = _make_bot(settings, limits)
    http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
    allow_private = settings.allow_private_urls
    outbound = GuardedClient(OutboundPolicy(allow_private=allow_private))
    servers = GuardedClient(OutboundPolicy(allow_private=allow_private, require_https=True))
    run_lock = RunLock.acquire(settings.data_dir)  # a restore in progress stops us here
    # one live process per name: the host and the slot whose lock it holds (or the owner's)
    worker_name = settings.worker_name or f"{socket.gethostname()}-{run_lock.slot}"
    publishers = TargetPublishers(
        settings,
        http,
        limits,
        vault,
        sessions,
        clock,
        servers=servers.http,
        worker_name=worker_name,
    )
    notifier = BotNotifier(bot, sessions, settings.timezone)

    async def auth_refused(account_id: int, reason: str) -> None:
        await alerts.account_refused(account_id, reason)  # `alerts` is bound below, before use

    dispatcher = PublicationDispatcher(
        sessions,
        publishers.for_account,
        notifier,
        clock,
        DispatchConfig(
            max_attempts=settings.max_attempts,
            misfire_grace=timedelta(minutes=settings.misfire_grace_minutes),
            media_dir=settings.data_dir,
            default_tz=settings.timezone,
            worker_name=worker_name,
        ),
        on_auth_refused=auth_refused,
        observe=observability.observe_publication,
    )
    metrics = MetricsSync(sessions, publishers.for_account, clock, on_auth_refused=auth_refused)
    tokens = TokenKeeper(sessions, publishers.for_account, clock)
    alerts = Alerts(
        sessions,
        notifier,
        clock,
        AlertConfig(
            cooldown=timedelta(minutes=settings.alert_cooldown_minutes),
            queue_alert_at=settings.queue_alert_at,
            silence=(
                timedelta(hours=settings.silence_alert_hours)
                if settings.silence_alert_hours
                else None
            ),
            budget_usd=settings.ai_budget_usd,
            tz=settings.tz,
        ),
        publisher_for=publishers.for_account,
        observe=observability.observe_alert,
    )
    digests = Digests(
        sessions,
        notifier,
        clock,
        default_tz=settings.timezone,
        default_at=settings.digest_at,
        translate=lambda language, key: Texts(language).plain(key),
    )
    drafter = make_drafter(api_key, settings.ai_model, settings.anthropic_base_url)
    runtime: SchedulerRuntime | None = None

    def wake() -> None:
        if runtime is not None:
            runtime.wake()

    automation = AutomationEngine(
        sessions,
        drafter,
        notifier,
        clock,
        failures=alerts,
        wake=wake,
    )
    feeds = FeedPoller(sessions, outbound, automation, clock, observability.observe_feed_poll)
    if with_scheduler:
        runtime = _runtime(
            settings,
            dispatcher,
            sessions,
            clock,
            {
                "metrics": (METRICS_EVERY_S, metrics.run_once),
                "digest": (DIGEST_EVERY_S, digests.run_due),
                "alerts": (ALERTS_EVERY_S, alerts.run_checks),
                "health": (HEALTH_EVERY.total_seconds(), alerts.check_accounts),
                "tokens": (RENEW_EVERY.total_seconds(), tokens.renew_due),
                "feeds": (settings.feed_poll_minutes * 60, feeds.poll_all),
                "events": (EVENTS_CATCH_UP_S, automation.catch_up),
                "learn": (LEARN_CHECK_EVERY_S, lambda: learn_due(sessions, drafter, clock.now())),
                "reviews": (
                    REVIEW_EVERY_S,
                    lambda: run_review_timeouts(sessions, notifier, clock, wake),
                ),
            },
        )
    listeners: list[Callable[[int], None]] = [automation.drain_soon]
    fsm = DatabaseStorage(sessions)
    held = HeldCredentials()
    fsm.on_state(forget_when_left(held, AccountStates.field.state))
    app = Nexus(
        settings=settings,
        bot=bot,
        dp=Dispatcher(storage=fsm, events_isolation=SimpleEventIsolation()),
        engine=engine,
        sessions=sessions,
        drafter=drafter,
        drafting=Drafting(
            sessions,
            drafter,
            data_dir=settings.data_dir,
            publisher_for=publishers.for_account,
            clock=clock,
            default_tz=settings.timezone,
        ),
        fsm=fsm,
        held=held,
        http=http,
        outbound=outbound,
        servers=servers,
        vault=vault,
        clock=clock,
        publishers=publishers,
        dispatcher=dispatcher,
        metrics=metrics,
        tokens=tokens,
        alerts=alerts,
        digests=digests,
        runtime=runtime,
        automation=automation,
        feeds=feeds,
        observability=observability,
        http_server=_http_server(
            settings, sessions, vault, clock, bot, runtime, listeners, observability
        ),
        event_listeners=listeners,
        new_key_file=new_key_file,
        run_lock=run_lock,
    )
    dp = app.dp
    dp.update.outer_middleware(FsmWrites(fsm))  # outside the session: writes after the handler
    dp.update.outer_middleware(
        SessionMiddleware(app.sessions, settings.timezone, publishers.for_account, app.clock)
    )
    dp.message.middleware(RoleGate())
    dp.callback_query.middleware(RoleGate())
    dp.message.middleware(ChatActions())
    dp.callback_query.middleware(ChatActions())
    dp.include_routers(*build_routers())
    dp.include_router(errors.router())  # what any handler raises: logged, answered, told
    run_filters_inline(dp)
    dp.workflow_data.update(
        settings=settings,
        drafter=app.drafter,
        drafting=app.drafting,
        held=held,
        clock=app.clock,
        wake=app.wake,
        publishers=publishers,
        publisher_for=publishers.for_account,
        vault=vault,
        alerts=alerts,
        digests=digests,
        http=http,
        outbound=outbound,
    )

    async def on_startup() -> None:
        await _on_startup(app)

    dp.startup.register(on_startup)
    return app
