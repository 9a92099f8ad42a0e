"""The platforms Nexus can publish to: what credentials each needs and how to build its publisher.

Adding a platform is one publisher module, one fake server, one contract test, and one entry
here (see CONTRIBUTING in the README). Credentials arrive as a plain dict (the caller decrypts
them); nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from publishers.base import Publisher
from publishers.bluesky import BlueskyPublisher
from publishers.discord import DiscordWebhookPublisher
from publishers.instagram import InstagramPublisher
from publishers.linkedin import LinkedInPublisher
from publishers.mastodon import MastodonPublisher
from publishers.media import FileMediaHost, MediaHost
from publishers.telegram import TelegramPublisher
from publishers.telegram_limits import TelegramLimits
from publishers.threads import ThreadsPublisher
from publishers.vk import VKPublisher
from publishers.x import OAuth1UserAuth, XPublisher


@dataclass(frozen=True)
class Field:
    """One credential the owner types when connecting an account."""

    name: str
    #: A secret is deleted from the chat as soon as it is read, and stored only encrypted.
    secret: bool = False
    #: For URLs: the value must start with http(s)://.
    url: bool = False
    #: The owner may skip it ("-"); the publisher then uses its default.
    optional: bool = False
    #: A numeric id (digits only).
    number: bool = False


@dataclass(frozen=True)
class Context:
    """What every publisher may share: the HTTP client, Telegram's bot token and limits, and
    where images get a public address (Instagram and Threads fetch images by URL)."""

    http: httpx.AsyncClient
    telegram_token: str
    telegram_api: str
    telegram_limits: TelegramLimits
    media_host: MediaHost | None = None


def _media_host(ctx: Context, platform: str) -> MediaHost | None:
    """``ctx.media_host``, with its errors naming ``platform`` where it can."""
    host = ctx.media_host
    return host.for_platform(platform) if isinstance(host, FileMediaHost) else host


Builder = Callable[[Context, str, dict[str, Any]], Publisher]


class PublisherFactory(Protocol):
    """Builds a publisher for credentials (e.g. to verify them before they are saved)."""

    def for_credentials(
        self, platform: str, handle: str, credentials: dict[str, Any]
    ) -> Publisher: ...


@dataclass(frozen=True)
class Platform:
    key: str
    title: str
    fields: tuple[Field, ...]
    build: Builder


def _telegram(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    return TelegramPublisher(
        ctx.http,
        token=ctx.telegram_token,
        chat=handle,
        base_url=ctx.telegram_api,
        limits=ctx.telegram_limits,
    )


def _mastodon(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    return MastodonPublisher(
        ctx.http, base_url=creds["instance"], access_token=creds["access_token"]
    )


def _x(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    auth = OAuth1UserAuth(
        consumer_key=creds["api_key"],
        consumer_secret=creds["api_secret"],
        access_token=creds["access_token"],
        access_token_secret=creds["access_token_secret"],
    )
    return XPublisher(ctx.http, auth=auth)


def _discord(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    return DiscordWebhookPublisher(ctx.http, webhook_url=creds["webhook_url"])


def _vk(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    return VKPublisher(
        ctx.http, access_token=creds["access_token"], group_id=int(creds["group_id"])
    )


def _linkedin(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    return LinkedInPublisher(
        ctx.http, access_token=creds["access_token"], author_urn=creds["author_urn"]
    )


def _threads(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    return ThreadsPublisher(
        ctx.http,
        access_token=creds["access_token"],
        user_id=creds["user_id"],
        media_host=_media_host(ctx, "Threads"),
    )


def _instagram(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    return InstagramPublisher(
        ctx.http,
        user_id=creds["user_id"],
        access_token=creds["access_token"],
        media_host=_media_host(ctx, "Instagram"),
    )


def _bluesky(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    return BlueskyPublisher(
        ctx.http,
        service=creds.get("service") or "https://bsky.social",
        handle=creds["handle"],
        app_password=creds["app_password"],
    )


PLATFORMS: dict[str, Platform] = {
    p.key: p
    for p in (
        Platform("telegram", "Telegram channel", (Field("channel"),), _telegram),
        Platform(
            "mastodon",
            "Mastodon",
            (Field("instance", url=True), Field("access_token", secret=True)),
            _mastodon,
        ),
        Platform(
            "bluesky",
            "Bluesky",
            (
                Field("handle"),
                Field("app_password", secret=True),
                Field("service", url=True, optional=True),
            ),
            _bluesky,
        ),
        Platform(
            "x",
            "X",
            (
                Field("api_key", secret=True),
                Field("api_secret", secret=True),
                Field("access_token", secret=True),
                Field("access_token_secret", secret=True),
            ),
            _x,
        ),
        Platform("discord", "Discord", (Field("webhook_url", secret=True, url=True),), _discord),
        Platform(
            "vk",
            "VK",
            (Field("group_id", number=True), Field("access_token", secret=True)),
            _vk,
        ),
        Platform(
            "linkedin",
            "LinkedIn",
            (Field("author_urn"), Field("access_token", secret=True)),
            _linkedin,
        ),
        Platform(
            "threads",
            "Threads",
            (Field("user_id", number=True), Field("access_token", secret=True)),
            _threads,
        ),
        Platform(
            "instagram",
            "Instagram",
            (Field("user_id", number=True), Field("access_token", secret=True)),
            _instagram,
        ),
    )
}


def build_publisher(
    ctx: Context, platform: str, handle: str, credentials: dict[str, Any]
) -> Publisher:
    try:
        spec = PLATFORMS[platform]
    except KeyError:
        raise LookupError(f"no publisher for platform {platform!r}") from None
    return spec.build(ctx, handle, credentials)
