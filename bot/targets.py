"""The publishers of the target accounts: one long-lived publisher per account and credentials.

Publishing, metrics, health checks, token renewal and takedown all ask `TargetPublishers` for an
account's publisher and get the same object, so a session (Bluesky's JWTs) or a token refresh
(X's lock) is shared instead of redone per call. A publisher is kept while the account's stored
credentials are the ones it was built from, or ones it stored itself (renewed tokens, a learnt
session or guild); a reconnect stores other credentials and so gets a new publisher, and a
disconnect drops it (`forget`).

Token renewal runs under a database lease per account ("refresh:<account id>"), taken by every
process that uses the same database, so a single-use refresh token is spent once: the process
that waited re-reads the credentials the winner stored and uses those (`Renewal` in
publishers/base.py). A lease names its holder, ``<worker name>#<incarnation>`` like the
dispatcher's claims: a process killed mid-renewal (a Bluesky login is one, the first call of a
fresh process) would otherwise block the account's renewals, and so its publishing, for the
whole `RENEWAL_LEASE` after it restarts; `recover()`, on start, releases at once the leases of
its own earlier incarnations, dead since the restarted process holds their name.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings
from publishers.base import Publisher
from publishers.errors import Transient
from publishers.media import FileMediaHost
from publishers.registry import Context, build_publisher
from publishers.telegram_limits import TelegramLimits
from scheduler.clock import Clock, SystemClock
from storage import repositories as repo
from storage.crypto import Vault
from storage.models import Account

log = logging.getLogger(__name__)

TELEGRAM_API = "https://api.telegram.org"
#: The keys of the renewal leases ("refresh:<account id>").
RENEWAL_KEY = "refresh:"

#: A renewal lease runs out after this long (its holder died mid-renewal): then another process
#: may renew. A renewal is one HTTP call and one write, far shorter.
RENEWAL_LEASE = timedelta(minutes=2)
#: How long a process waits for another's renewal before giving up for now (a retry follows).
RENEWAL_WAIT_S = 30.0
RENEWAL_POLL_S = 0.05


def credentials_version(encrypted: str | None) -> str:
    """Tells one stored set of credentials from another without keeping them in memory."""
    return hashlib.sha256((encrypted or "").encode()).hexdigest()


@dataclass
class _Kept:
    """A live publisher and the versions of the stored credentials it stands for."""

    platform: str
    handle: str
    versions: set[str] = field(default_factory=set)
    publisher: Publisher | None = None


class TargetPublishers:
    """Keeps the publisher of each target account, decrypting its credentials: one shared HTTP
    client, and one Telegram limiter shared with the bot itself."""

    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        limits: TelegramLimits,
        vault: Vault,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock | None = None,
        *,
        servers: httpx.AsyncClient | None = None,
        worker_name: str = "",
    ) -> None:
        """``servers``: the hardened client for the servers the owner names (Mastodon, Bluesky,
        Discord); tests that point those at loopback fakes may leave it to ``http``.
        ``worker_name``: this process's name among those sharing the database, the one its
        dispatcher claims under (one live process per name); without one, leases name no
        holder and only run out."""
        token = settings.telegram_bot_token
        self.context = Context(
            http=http,
            servers_http=servers,
            telegram_token=token.get_secret_value() if token else "",
            telegram_api=settings.telegram_api_server or TELEGRAM_API,
            telegram_limits=limits,
            api_urls=settings.api_urls,
            x_prices=settings.x_prices,
            media_host=FileMediaHost(settings.data_dir / "public", settings.public_url),
        )
        self.vault = vault
        self.sessions = sessions
        self.clock = clock or SystemClock()
        self._kept: dict[int, _Kept] = {}
        self.worker_name = worker_name
        #: This incarnation, named in the leases it takes.
        self.holder = f"{worker_name}#{secrets.token_hex(4)}" if worker_name else None

    def for_account(self, account: Account) -> Publisher:
        """The account's publisher: the kept one while its credentials are unchanged."""
        version = credentials_version(account.credentials)
        kept = self._kept.get(account.id)
        if (
            kept is not None
            and kept.publisher is not None
            and version in kept.versions
            and (kept.platform, kept.handle) == (account.platform, account.handle)
        ):
            return kept.publisher
        kept = _Kept(account.platform, account.handle, {version})
        credentials = self.vault.decrypt(account.credentials) if account.credentials else {}
        account_id = account.id

        async def save(renewed: dict[str, Any]) -> None:
            encrypted = self.vault.encrypt(renewed)
            async with self.sessions() as session:
                await repo.store_credentials(session, account_id, encrypted)
                await session.commit()
            kept.versions.add(credentials_version(encrypted))

        context = replace(
            self.context,
            save_credentials=save,
            renewal=lambda: self._renewal(account_id),
        )
        kept.publisher = build_publisher(context, account.platform, account.handle, credentials)
        self._kept[account.id] = kept
        return kept.publisher

    def forget(self, account_id: int) -> None:
        """Drop a disconnected account's publisher (and the session it holds)."""
        self._kept.pop(account_id, None)

    def for_credentials(self, platform: str, handle: str, credentials: dict[str, Any]) -> Publisher:
        """A publisher for credentials not stored yet (to verify them before saving). What it
        learns while verifying (a session, a webhook's guild) is added to ``credentials``, so
        the caller stores it with them."""

        async def remember(learnt: dict[str, Any]) -> None:
            credentials.update(learnt)

        context = replace(self.context, save_credentials=remember)
        return build_publisher(context, platform, handle, credentials)

    async def recover(self) -> int:
        """On start: release the renewal leases this process's earlier incarnations held when
        they died (killed mid-renewal), rather than wait `RENEWAL_LEASE` for them to run out.
        Whatever the dead one may have sent meanwhile is what the lease running out would
        have left too: the stored credentials are the truth. Returns how many."""
        if self.holder is None:
            return 0
        async with self.sessions() as session:
            keys = await repo.release_leases_of_earlier(
                session, RENEWAL_KEY, self.worker_name, self.holder
            )
            await session.commit()
        for key in keys:
            log.warning("released %s, held by this process before it was stopped", key)
        return len(keys)

    @asynccontextmanager
    async def _renewal(self, account_id: int) -> AsyncIterator[Mapping[str, Any] | None]:
        """Hold the account's renewal lease; yield its credentials as stored now."""
        key = f"{RENEWAL_KEY}{account_id}"
        taken_at = await self._take_lease(key)
        try:
            async with self.sessions() as session:
                account = await session.get(Account, account_id)
                stored = account.credentials if account is not None else None
            yield self.vault.decrypt(stored) if stored else None
        finally:
            async with self.sessions() as session:
                await repo.release_lease(session, key, taken_at)
                await session.commit()

    async def _take_lease(self, key: str) -> datetime:
        """Wait for the lease ``key``; when taken, the time it was taken at (to release it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RENEWAL_WAIT_S
        while True:
            now = self.clock.now()
            async with self.sessions() as session:
                taken = await repo.take_lease(session, key, now, RENEWAL_LEASE, holder=self.holder)
                await session.commit()
            if taken:
                return now
            if loop.time() >= deadline:
                raise Transient(
                    "another Nexus process is renewing this account's access; will retry"
                )
            await asyncio.sleep(RENEWAL_POLL_S)
