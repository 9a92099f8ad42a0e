"""Keeping long-lived tokens alive where the platform allows it (Threads), so the owner never
has to reconnect an account that Nexus could have kept.

A token is renewed once a day: Threads extends tokens that are at least 24 hours old (and
not yet expired), and the age of a token pasted in /accounts is unknown to Nexus, so renewing
daily keeps every token about 60 days from its end whatever its real age was. A renewal
stores the new token encrypted at once, through the publisher's ``on_tokens`` hook, and the
new expiry here, so the 🔑 expiry warning never comes for it. A refusal (``AuthExpired``, a
``Permanent`` error) becomes the account's last error, which the alerts report to the owner in
plain words; a network hiccup or a rate limit is simply tried again next period. One worker per
period does it (a ``claim_period`` key), however many run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from publishers.base import RenewsToken
from publishers.errors import AuthExpired, Permanent, PublishError
from scheduler.clock import Clock
from scheduler.dispatcher import PublisherFor
from storage import repositories as repo

log = logging.getLogger(__name__)

#: Renew a token once it has this little left: a day after it was connected or renewed.
RENEW_WITHIN = timedelta(days=59)
#: How often the accounts are looked at.
RENEW_EVERY = timedelta(hours=6)


class TokenKeeper:
    """The periodic renewal of the accounts' tokens (a job of the embedded scheduler)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        publisher_for: PublisherFor,
        clock: Clock,
    ) -> None:
        self.sessions = sessions
        self.publisher_for = publisher_for
        self.clock = clock

    async def renew_due(self) -> int:
        """Renew every enabled account's token that is due; how many were renewed."""
        now = self.clock.now()
        slot = int(now.timestamp() // RENEW_EVERY.total_seconds())
        async with self.sessions() as session:
            if not await repo.claim_period(session, f"tokens:{slot}"):
                return 0
            await session.commit()
            due = [
                account
                for account in await repo.enabled_accounts(session)
                if account.token_expires_at is not None
                and now < account.token_expires_at <= now + RENEW_WITHIN
            ]
        renewed = 0
        for account in due:
            values: dict[str, datetime | str | None]
            try:
                publisher = self.publisher_for(account)
                if not isinstance(publisher, RenewsToken):
                    continue
                lifetime = await publisher.renew_token()
                values = {
                    "token_expires_at": self.clock.now() + timedelta(seconds=lifetime),
                    "last_error": None,
                }
                renewed += 1
            except (AuthExpired, Permanent) as exc:
                values = {"last_error": exc.reason}
            except PublishError as exc:
                log.info("renewing the token of account %s: %s; next time", account.id, exc)
                continue
            except Exception:
                log.exception("renewing the token of account %s failed", account.id)
                continue
            async with self.sessions() as session:
                await repo.set_account_health(session, account.id, **values)
                await session.commit()
        return renewed
