"""The platforms Nexus can publish to: what credentials each needs and how to build its publisher.

Adding a platform is one publisher module, one fake server, one contract test, and one entry
here (see CONTRIBUTING in the README). Credentials arrive as a plain dict (the caller decrypts
them); nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import httpx

from publishers.base import Publisher, Renewal, unshared_renewal
from publishers.bluesky import BLUESKY_GRAPHEME_LIMIT, BlueskyPublisher, post_measure
from publishers.discord import DISCORD_MESSAGE_LIMIT, DiscordWebhookPublisher, discord_length
from publishers.instagram import INSTAGRAM_CAPTION_LIMIT, InstagramPublisher
from publishers.linkedin import LINKEDIN_TEXT_LIMIT, LinkedInPublisher
from publishers.mastodon import MASTODON_DEFAULT_LIMIT, MastodonPublisher, mastodon_length
from publishers.media import FileMediaHost, MediaHost
from publishers.quota import XPrices
from publishers.telegram import TelegramPublisher
from publishers.telegram_limits import TelegramLimits
from publishers.text import TELEGRAM_TEXT_LIMIT, split_text, utf16_len
from publishers.threads import THREADS_TEXT_LIMIT, ThreadsPublisher
from publishers.vk import VK_MESSAGE_LIMIT, VKPublisher
from publishers.x import (
    X_WEIGHTED_LIMIT,
    OAuth1UserAuth,
    OAuth2UserAuth,
    XPublisher,
    x_weighted_length,
)


@dataclass(frozen=True)
class Field:
    """One credential the owner types when connecting an account."""

    name: str
    #: A secret is deleted from the chat as soon as it is read, and stored only encrypted.
    secret: bool = False
    #: For URLs: the value must start with http(s)://. The publisher reaches it through the
    #: hardened client (``Context.servers``): https, and no private address unless allowed.
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
    #: Stores renewed credentials of the account being built (platforms that rotate tokens);
    #: None when nothing is stored yet (credentials being verified before they are saved).
    save_credentials: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    #: The hardened client (``publishers.outbound``, https required) for the servers the owner
    #: names: Mastodon instances, Bluesky services, Discord webhooks. ``None`` only where a
    #: test builds publishers by hand; then ``http`` serves.
    servers_http: httpx.AsyncClient | None = None
    #: Renews the account's tokens under a lease all processes share (see ``Renewal``).
    renewal: Renewal = unshared_renewal
    #: API base URLs that replace a platform's public one (NEXUS_API_URLS: a proxy, a test
    #: server), by platform key.
    api_urls: Mapping[str, str] = field(default_factory=dict)
    #: X's pay-per-use prices (NEXUS_X_PRICE_POST, NEXUS_X_PRICE_LINK_POST).
    x_prices: XPrices = field(default_factory=XPrices)

    @property
    def servers(self) -> httpx.AsyncClient:
        """The client for a server the owner chose (see ``servers_http``)."""
        return self.servers_http or self.http

    def api(self, platform: str) -> dict[str, Any]:
        """``base_url=…`` for a publisher whose platform has an override, else nothing."""
        url = self.api_urls.get(platform)
        return {"base_url": url} if url else {}


def _media_host(ctx: Context, platform: str) -> MediaHost | None:
    """``ctx.media_host``, with its errors naming ``platform`` where it can."""
    host = ctx.media_host
    return host.for_platform(platform) if isinstance(host, FileMediaHost) else host


Builder = Callable[[Context, str, dict[str, Any]], Publisher]


class PublisherFactory(Protocol):
    """Builds a publisher for credentials (e.g. to verify them before they are saved), and
    forgets the one kept for an account."""

    def for_credentials(
        self, platform: str, handle: str, credentials: dict[str, Any]
    ) -> Publisher: ...

    def forget(self, account_id: int) -> None:
        """Drop the publisher kept for an account that was disconnected."""


@dataclass(frozen=True)
class TextRules:
    """How a platform counts a post and what shape suits it, for drafting and the preview.

    ``threads``: a longer text goes out as a thread (or consecutive messages) instead of being
    refused. ``hashtags``: hashtags help there (they are left out where they don't).
    """

    limit: int
    measure: Callable[[str], int] = len
    threads: bool = False
    hashtags: bool = True

    def parts(self, text: str) -> int:
        """How many posts ``text`` becomes (1 where it fits); raises ``TextTooLong``."""
        if self.measure(text) <= self.limit or not self.threads:
            return 1
        return len(split_text(text, self.limit, self.measure))


@dataclass(frozen=True)
class Platform:
    key: str
    title: str
    fields: tuple[Field, ...]
    build: Builder
    text: TextRules
    #: How long a token lasts from when it is connected (LinkedIn, Meta long-lived tokens: 60
    #: days): the owner is warned before it runs out, unless Nexus extends it first (a publisher
    #: that is ``RenewsToken``: Threads).
    token_lifetime: timedelta | None = None


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
        ctx.servers, base_url=creds["instance"], access_token=creds["access_token"]
    )


def _x(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    auth = OAuth1UserAuth(
        consumer_key=creds["api_key"],
        consumer_secret=creds["api_secret"],
        access_token=creds["access_token"],
        access_token_secret=creds["access_token_secret"],
    )
    return XPublisher(ctx.http, auth=auth, prices=ctx.x_prices, **ctx.api("x"))


def _x_oauth2(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    """X with an OAuth 2.0 user token: X rotates the refresh token at every renewal, so the
    new pair is stored at once (the old refresh token no longer works)."""
    auth = OAuth2UserAuth(
        access_token=creds["access_token"],
        refresh_token=creds["refresh_token"],
        client_id=creds["client_id"],
        client_secret=creds.get("client_secret") or None,
    )
    save = ctx.save_credentials

    async def on_tokens(tokens: dict[str, Any]) -> None:
        if save is not None:
            renewed = {"access_token": tokens["access_token"]}
            renewed["refresh_token"] = tokens["refresh_token"]
            await save({**creds, **renewed})

    publisher = XPublisher(
        ctx.http,
        auth=auth,
        on_tokens=on_tokens,
        renewal=ctx.renewal,
        prices=ctx.x_prices,
        **ctx.api("x"),
    )
    publisher.platform = "x_oauth2"  # the target's key: its rules and texts are found by it
    return publisher


def _store_with(ctx: Context, creds: dict[str, Any]) -> Callable[[dict[str, str]], Awaitable[None]]:
    """An ``on_tokens`` hook that stores what a publisher learnt (a session, a guild) together
    with the account's other credentials."""
    save = ctx.save_credentials

    async def on_tokens(learnt: dict[str, str]) -> None:
        if save is not None:
            await save({**creds, **learnt})

    return on_tokens


def _discord(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    return DiscordWebhookPublisher(
        ctx.servers,
        webhook_url=creds["webhook_url"],
        guild_id=creds.get("guild_id"),
        on_tokens=_store_with(ctx, creds),
    )


def _vk(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    return VKPublisher(
        ctx.http,
        access_token=creds["access_token"],
        group_id=int(creds["group_id"]),
        **ctx.api("vk"),
    )


def _linkedin(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    return LinkedInPublisher(
        ctx.http,
        access_token=creds["access_token"],
        author_urn=creds["author_urn"],
        **ctx.api("linkedin"),
    )


def _threads(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    """Threads: a renewed long-lived token replaces the old one in the stored credentials."""
    return ThreadsPublisher(
        ctx.http,
        on_tokens=_store_with(ctx, creds),
        access_token=creds["access_token"],
        user_id=creds["user_id"],
        media_host=_media_host(ctx, "Threads"),
        **ctx.api("threads"),
    )


def _instagram(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    return InstagramPublisher(
        ctx.http,
        user_id=creds["user_id"],
        access_token=creds["access_token"],
        media_host=_media_host(ctx, "Instagram"),
        **ctx.api("instagram"),
    )


def _bluesky(ctx: Context, handle: str, creds: dict[str, Any]) -> Publisher:
    return BlueskyPublisher(
        ctx.servers,
        service=creds.get("service") or "https://bsky.social",
        handle=creds["handle"],
        app_password=creds["app_password"],
        session=creds,
        on_tokens=_store_with(ctx, creds),
        renewal=ctx.renewal,
    )


#: LinkedIn access tokens and Meta's long-lived tokens last 60 days.
META_AND_LINKEDIN_TOKEN_LIFETIME = timedelta(days=60)

PLATFORMS: dict[str, Platform] = {
    p.key: p
    for p in (
        Platform(
            "telegram",
            "Telegram channel",
            (Field("channel"),),
            _telegram,
            TextRules(TELEGRAM_TEXT_LIMIT, utf16_len, threads=True),
        ),
        Platform(
            "mastodon",
            "Mastodon",
            (Field("instance", url=True), Field("access_token", secret=True)),
            _mastodon,
            TextRules(MASTODON_DEFAULT_LIMIT, mastodon_length, threads=True),
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
            TextRules(BLUESKY_GRAPHEME_LIMIT, post_measure, threads=True),
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
            TextRules(X_WEIGHTED_LIMIT, x_weighted_length, threads=True),
        ),
        Platform(
            "x_oauth2",
            "X (OAuth 2.0)",
            (
                Field("client_id"),
                Field("client_secret", secret=True, optional=True),
                Field("access_token", secret=True),
                Field("refresh_token", secret=True),
            ),
            _x_oauth2,
            TextRules(X_WEIGHTED_LIMIT, x_weighted_length, threads=True),
        ),
        Platform(
            "discord",
            "Discord",
            (Field("webhook_url", secret=True, url=True),),
            _discord,
            TextRules(DISCORD_MESSAGE_LIMIT, discord_length, threads=True, hashtags=False),
        ),
        Platform(
            "vk",
            "VK",
            (Field("group_id", number=True), Field("access_token", secret=True)),
            _vk,
            TextRules(VK_MESSAGE_LIMIT),
        ),
        Platform(
            "linkedin",
            "LinkedIn",
            (Field("author_urn"), Field("access_token", secret=True)),
            _linkedin,
            TextRules(LINKEDIN_TEXT_LIMIT),
            token_lifetime=META_AND_LINKEDIN_TOKEN_LIFETIME,
        ),
        Platform(
            "threads",
            "Threads",
            (Field("user_id", number=True), Field("access_token", secret=True)),
            _threads,
            TextRules(THREADS_TEXT_LIMIT, threads=True),
            token_lifetime=META_AND_LINKEDIN_TOKEN_LIFETIME,
        ),
        Platform(
            "instagram",
            "Instagram",
            (Field("user_id", number=True), Field("access_token", secret=True)),
            _instagram,
            TextRules(INSTAGRAM_CAPTION_LIMIT),
            token_lifetime=META_AND_LINKEDIN_TOKEN_LIFETIME,
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


def platform_name(key: str) -> str:
    """What the owner calls a platform: "Telegram", "X" (either way of signing in)."""
    spec = PLATFORMS.get(key)
    return spec.title.removesuffix(" channel").split(" (")[0] if spec else key


def target_label(platform: str, title: str | None, handle: str) -> str:
    """ "X @owner", "Threads @owner", "LinkedIn Owner", "Telegram @channel": the one way every
    report, preview, alert and /accounts line names a target, so two accounts called alike on
    different platforms are told apart."""
    return f"{platform_name(platform)} {title or handle}"


class NamedTarget(Protocol):
    """An account as far as its label goes (storage's ``Account``)."""

    @property
    def platform(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def handle(self) -> str: ...


def account_label(account: NamedTarget) -> str:
    """:func:`target_label` of an account."""
    return target_label(account.platform, account.title, account.handle)
