"""Configuration: environment variables (and an optional `.env`) read with pydantic-settings.

The variable names are Nexus's public interface and are documented in the README table. A bad
configuration never ends in a traceback: `load_settings` raises `ConfigError`, whose message names
every bad variable and says how to fix it, and the CLI turns that into exit code 2.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from publishers.quota import XPrices
from scheduler.timeparse import parse_clock
from storage.db import sqlite_file

DEFAULT_AI_MODEL = "claude-sonnet-5-5"

_CHANNEL_RE = re.compile(r"^(@[A-Za-z][A-Za-z0-9_]{3,31}|-100\d{5,})$", re.ASCII)
_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{8,}$", re.ASCII)

#: How to fix each variable, shown next to its name when it is missing or invalid.
HINTS: dict[str, str] = {
    "TELEGRAM_BOT_TOKEN": "create a bot with @BotFather and copy the token it gives you "
    "(it looks like 123456789:AA…)",
    "TELEGRAM_API_SERVER": "a base URL such as http://localhost:8081, or leave it unset",
    "NEXUS_OWNER_IDS": "comma-separated numeric Telegram user ids, e.g. 12345678,87654321 "
    "(ask @userinfobot for yours)",
    "NEXUS_CHANNEL": "the channel's @username or its numeric id starting with -100",
    "NEXUS_DATA_DIR": "a writable directory, default ./data",
    "NEXUS_DATABASE_URL": "sqlite+aiosqlite:///path/to/nexus.db or "
    "postgresql+asyncpg://user:password@host/db",
    "NEXUS_SECRET_KEY": "run `nexus keygen` and paste its output, or leave it unset to keep "
    "a key file in the data dir",
    "ANTHROPIC_API_KEY": "an Anthropic API key, or leave it unset for the offline drafter",
    "ANTHROPIC_BASE_URL": "a base URL such as https://api.anthropic.com, or leave it unset",
    "NEXUS_AI_MODEL": f"a Claude model id, default {DEFAULT_AI_MODEL}",
    "NEXUS_TIMEZONE": "an IANA time zone such as Europe/Berlin",
    "NEXUS_LOG_LEVEL": "one of DEBUG, INFO, WARNING, ERROR",
    "NEXUS_MISFIRE_GRACE": "whole minutes, at least 1 (with 0 every post, even one published "
    "at once, would be held as late), e.g. 15",
    "NEXUS_MAX_ATTEMPTS": "a whole number from 1 to 50, e.g. 5",
    "NEXUS_EVERGREEN_GAP_DAYS": "whole days between repeats of an evergreen post, e.g. 30",
    "NEXUS_PUBLIC_URL": "the https:// address where this server is reachable from the internet "
    "(needed for Instagram images), or leave it unset",
    "NEXUS_HTTP_HOST": "the address the webhook and health server listens on, default 127.0.0.1",
    "NEXUS_HTTP_PORT": "a TCP port from 1 to 65535 (0 picks a free one), default 8080",
    "NEXUS_DIGEST_AT": "a local time as HH:MM, e.g. 09:00",
    "NEXUS_ALERT_COOLDOWN_MINUTES": "whole minutes between two alerts of the same kind, e.g. 60",
    "NEXUS_QUEUE_ALERT_AT": "how many overdue publications count as a backed-up queue, e.g. 10",
    "NEXUS_SILENCE_ALERT_HOURS": "hours without any published post before an alert, or leave "
    "it unset to turn that alert off",
    "NEXUS_AI_BUDGET_USD": "a monthly AI budget in US dollars such as 20, or leave it unset",
    "NEXUS_X_PRICE_POST": "X's price of one post in US dollars, such as 0.015 (0 to 100)",
    "NEXUS_X_PRICE_LINK_POST": "X's price of one post with a link in US dollars, such as 0.20 "
    "(0 to 100)",
    "NEXUS_WEBHOOK_RATE": "events accepted per source per minute, e.g. 100",
    "NEXUS_FEED_POLL_MINUTES": "minutes between two polls of an RSS/Atom feed, e.g. 15",
    "NEXUS_ALLOW_PRIVATE_URLS": "true to let feeds and Mastodon/Bluesky/Discord servers live "
    "on this machine or the local network, else leave it unset (false)",
    "NEXUS_API_URLS": "platform=URL pairs separated by commas, e.g. "
    "x=https://x-proxy.example.com,linkedin=http://127.0.0.1:9000",
}


class ConfigError(Exception):
    """The configuration cannot be used; `str()` is a readable report, one line per variable."""


class Settings(BaseSettings):
    """Every knob of Nexus. Field aliases are the environment variable names."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    telegram_bot_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_server: str | None = Field(None, validation_alias="TELEGRAM_API_SERVER")
    owner_ids: Annotated[frozenset[int], NoDecode] = Field(
        frozenset(), validation_alias="NEXUS_OWNER_IDS"
    )
    channel: str | None = Field(None, validation_alias="NEXUS_CHANNEL")
    data_dir: Path = Field(Path("./data"), validation_alias="NEXUS_DATA_DIR")
    database_url: str | None = Field(None, validation_alias="NEXUS_DATABASE_URL")
    secret_key: SecretStr | None = Field(None, validation_alias="NEXUS_SECRET_KEY")
    anthropic_api_key: SecretStr | None = Field(None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(None, validation_alias="ANTHROPIC_BASE_URL")
    ai_model: str = Field(DEFAULT_AI_MODEL, validation_alias="NEXUS_AI_MODEL")
    timezone: str = Field("UTC", validation_alias=AliasChoices("NEXUS_TIMEZONE"))
    log_level: str = Field("INFO", validation_alias="NEXUS_LOG_LEVEL")
    misfire_grace_minutes: int = Field(
        15, ge=1, le=7 * 24 * 60, validation_alias="NEXUS_MISFIRE_GRACE"
    )
    max_attempts: int = Field(5, ge=1, le=50, validation_alias="NEXUS_MAX_ATTEMPTS")
    #: Names this process's claims on publications; by default the host's name and the
    #: process's slot on the data dir ("box-1", "box-2": storage.backup.RunLock), so processes
    #: on one host never share a name and a restart takes over only its own claims.
    worker_name: str = Field("", max_length=64, validation_alias="NEXUS_WORKER_NAME")
    evergreen_gap_days: int = Field(30, ge=1, le=3650, validation_alias="NEXUS_EVERGREEN_GAP_DAYS")
    public_url: str | None = Field(None, validation_alias="NEXUS_PUBLIC_URL")
    api_urls: Annotated[dict[str, str], NoDecode] = Field({}, validation_alias="NEXUS_API_URLS")
    #: Feeds and the servers owners connect may be private, loopback or link-local addresses
    #: (a LAN-hosted instance); off, such URLs and redirects are refused (publishers.outbound).
    allow_private_urls: bool = Field(False, validation_alias="NEXUS_ALLOW_PRIVATE_URLS")
    #: How long the owner waits for the page behind a link sent as a brief (ai.links).
    link_deadline_s: float = Field(15.0, gt=0, le=120, validation_alias="NEXUS_LINK_DEADLINE_S")
    http_host: str = Field("127.0.0.1", validation_alias="NEXUS_HTTP_HOST")
    http_port: int = Field(8080, ge=0, le=65535, validation_alias="NEXUS_HTTP_PORT")
    digest_at: str = Field("09:00", validation_alias="NEXUS_DIGEST_AT")
    alert_cooldown_minutes: int = Field(
        60, ge=1, le=7 * 24 * 60, validation_alias="NEXUS_ALERT_COOLDOWN_MINUTES"
    )
    queue_alert_at: int = Field(10, ge=1, le=100_000, validation_alias="NEXUS_QUEUE_ALERT_AT")
    silence_alert_hours: int | None = Field(
        None, ge=1, le=24 * 365, validation_alias="NEXUS_SILENCE_ALERT_HOURS"
    )
    ai_budget_usd: float | None = Field(None, gt=0, validation_alias="NEXUS_AI_BUDGET_USD")
    #: X's pay-per-use prices per post, shown on the approval card and kept in the ledger.
    x_price_post: float = Field(0.015, ge=0, le=100, validation_alias="NEXUS_X_PRICE_POST")
    x_price_link_post: float = Field(0.20, ge=0, le=100, validation_alias="NEXUS_X_PRICE_LINK_POST")
    webhook_rate: int = Field(100, ge=1, le=1_000_000, validation_alias="NEXUS_WEBHOOK_RATE")
    feed_poll_minutes: int = Field(
        15, ge=1, le=7 * 24 * 60, validation_alias="NEXUS_FEED_POLL_MINUTES"
    )
    #: GET /metrics needs `Authorization: Bearer <this>`; unset, /metrics is off (404).
    metrics_token: SecretStr | None = Field(
        None, min_length=16, validation_alias="NEXUS_METRICS_TOKEN"
    )
    log_format: Literal["text", "json"] = Field("text", validation_alias="NEXUS_LOG_FORMAT")
    #: `nexus worker` serves /health and /metrics on this port (unset: no HTTP server).
    worker_http_port: int | None = Field(
        None, ge=0, le=65535, validation_alias="NEXUS_WORKER_HTTP_PORT"
    )

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        if not _TOKEN_RE.match(value.get_secret_value().strip()):
            raise ValueError("does not look like a bot token")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("owner_ids", mode="before")
    @classmethod
    def _parse_owner_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            bad = [p for p in parts if not (p.isascii() and p.isdigit())]
            if bad:
                raise ValueError(f"not a numeric user id: {', '.join(bad)}")
            return frozenset(int(p) for p in parts)
        return value

    @field_validator("channel")
    @classmethod
    def _channel_shape(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value.startswith("https://t.me/"):
            value = "@" + value.removeprefix("https://t.me/").strip("/")
        if not _CHANNEL_RE.match(value):
            raise ValueError("not a channel @username or -100… id")
        return value

    @field_validator("api_urls", mode="before")
    @classmethod
    def _parse_api_urls(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        urls: dict[str, str] = {}
        for pair in filter(None, (p.strip() for p in value.split(","))):
            platform, _, url = pair.partition("=")
            if not platform.strip() or not re.match(r"^https?://[^\s/]+", url.strip()):
                raise ValueError(f"not a platform=URL pair: {pair!r}")
            urls[platform.strip().lower()] = url.strip().rstrip("/")
        return urls

    @field_validator("digest_at")
    @classmethod
    def _digest_time(cls, value: str) -> str:
        parsed = parse_clock(value)
        if parsed is None:
            raise ValueError(f"not a time of day {value!r}")
        return parsed

    @field_validator("telegram_api_server", "anthropic_base_url", "public_url")
    @classmethod
    def _url_shape(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.match(r"^https?://[^\s/]+", value.strip()):
            raise ValueError("not an http(s) URL")
        return value.strip().rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_shape(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value.startswith(("postgres://", "postgresql://")):
            value = "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("unsupported database URL")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return level

    @field_validator("ai_model")
    @classmethod
    def _model_present(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty model id")
        return value.strip()

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or a SQLite file inside the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'nexus.db').resolve()}"

    @property
    def database_file(self) -> Path | None:
        """The SQLite file (kept private with the data dir); None on PostgreSQL."""
        return sqlite_file(self.resolved_database_url)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def x_prices(self) -> XPrices:
        return XPrices(post=self.x_price_post, link_post=self.x_price_link_post)


class _TokenPresence(BaseSettings):
    """Reads only whether a bot token is given, from the same sources as `Settings`."""

    model_config = Settings.model_config
    telegram_bot_token: str | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")


def _env_name(loc: tuple[Any, ...]) -> str:
    field = str(loc[0]) if loc else "?"
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return str(alias or field).upper()


def _report(problems: list[tuple[str, str]]) -> str:
    """One line per bad variable: its name, what is wrong, and how to fix it. No values echoed."""
    lines = ["Nexus cannot start: the configuration has problems."]
    for name, problem in problems:
        lines.append(f"  {name} {problem}: {HINTS.get(name, 'see the README table')}.")
    lines.append("Set these in the environment or in a .env file, then start again.")
    return "\n".join(lines)


def load_settings(*, require_bot: bool = True, **overrides: Any) -> Settings:
    """Read the settings, raising ConfigError with a readable report if anything is wrong.

    `require_bot=False` serves the commands that only touch the database (`nexus migrate`,
    `nexus rotate-key`), which should not need a bot token.
    """
    problems: list[tuple[str, str]] = []
    settings: Settings | None = None
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        for err in exc.errors():
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append((_env_name(err["loc"]), f"is invalid ({message})"))
    if require_bot and _TokenPresence(**overrides).telegram_bot_token is None:
        problems.insert(0, ("TELEGRAM_BOT_TOKEN", "is not set"))
    if problems or settings is None:
        raise ConfigError(_report(problems))
    return settings
