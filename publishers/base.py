"""The protocol every platform publisher implements, and what publishing returns.

Publishers are pure adapters: given an injected ``httpx.AsyncClient``, credentials and a base
URL, they talk to one platform. They know nothing of the database or aiogram; failures are
raised as :mod:`publishers.errors` subclasses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from publishers.media import MediaItem
from publishers.quota import Cost, Quota
from publishers.thread import OnConfirmed


@dataclass(frozen=True)
class PublishResult:
    """Where a post went.

    ``external_id`` identifies the post (the first message of a split post); ``part_ids`` lists
    every message that makes up the post, in order (``(external_id,)`` when not split).
    """

    external_id: str
    url: str | None
    part_ids: tuple[str, ...]


@dataclass(frozen=True)
class Metrics:
    """A published post's counters as the platform reports them right now.

    ``views`` is None where the platform does not expose views or impressions.
    """

    likes: int = 0
    reposts: int = 0
    replies: int = 0
    views: int | None = None

    @property
    def engagement(self) -> int:
        return self.likes + self.reposts + self.replies


@dataclass(frozen=True)
class MediaLimits:
    """What a platform accepts as images; ``publishers.images.fit`` shrinks files to it.

    ``required``: the platform cannot post text alone (Instagram). ``aspect``: the allowed
    width/height range ``(lowest, highest)``, or None when any shape goes (Instagram: 4:5 to
    1.91:1; ``fit`` pads with white rather than crop).
    """

    max_count: int
    max_bytes: int
    max_side: int
    formats: tuple[str, ...] = ("image/jpeg", "image/png")
    required: bool = False
    aspect: tuple[float, float] | None = None


@runtime_checkable
class Publisher(Protocol):
    platform: str
    """Platform key, e.g. ``"telegram"``."""
    name: str
    """Human label of the target, e.g. ``"@nexus_channel"``."""

    media_limits: MediaLimits
    """Images this platform takes with a post."""

    def validate(self, text: str, *, media_count: int = 0) -> list[str]:
        """Problems with ``text`` (and ``media_count`` images) in plain words; an empty list
        means it can be published."""
        ...

    async def publish(
        self,
        text: str,
        *,
        already_posted: Sequence[str] = (),
        media: Sequence[MediaItem] = (),
        key: str = "",
        on_confirmed: OnConfirmed | None = None,
    ) -> PublishResult:
        """Publish plain ``text`` with ``media`` (already fitted to ``media_limits``); raise a
        ``PublishError`` subclass on failure.

        ``already_posted`` holds the confirmed parts of a split post, by index
        (``PublishError.posted_part_ids`` of the failed attempt): only the rest is sent, and
        media go with the first part only. ``key`` names this publication the same way in every
        process and after a restart (the dispatcher passes ``"pub-<id>"``); platforms that
        dedup by a key we choose derive each part's key from it, so a resend cannot duplicate.
        A part that may have gone out on a platform without that raises ``OutcomeUnknown``.
        ``on_confirmed`` hears the complete confirmed prefix after each part of a split post.
        """
        ...

    async def fetch_metrics(self, result: PublishResult) -> Metrics:
        """The current counters of a published post (summed over its parts where the
        platform counts them per part); raise a ``PublishError`` subclass on failure."""
        ...

    async def delete(self, external_id: str) -> None:
        """Delete a published message by its id; deleting a missing message is not an error."""
        ...

    async def verify(self) -> str:
        """Make a cheap authenticated call; return a human description of the target."""
        ...


@runtime_checkable
class HasAudience(Protocol):
    """A publisher that can count its audience (a channel's members, an account's followers)."""

    async def audience(self) -> int:
        """The current number of members or followers."""
        ...


@runtime_checkable
class Priced(Protocol):
    """A publisher whose platform charges per post (X's pay-per-use)."""

    def cost(self, text: str) -> Cost:
        """What publishing ``text`` costs (every part of a thread is a post); raises
        ``TextTooLong`` when it cannot be split."""
        ...


@runtime_checkable
class HasQuota(Protocol):
    """A publisher whose platform can tell how much of the posting quota is used (Threads,
    Instagram)."""

    async def quota(self) -> Quota:
        """The quota as the platform reports it now; raises a ``PublishError`` subclass."""
        ...


@runtime_checkable
class RenewsToken(Protocol):
    """A publisher whose long-lived token can be extended before it runs out (Threads). The
    renewed credentials are handed to the publisher's ``on_tokens`` hook to be stored."""

    async def renew_token(self) -> float:
        """Extend the access token; how many seconds the new one lasts. Raises a
        ``PublishError`` subclass (``AuthExpired`` once it can no longer be renewed)."""
        ...


#: Runs a token renewal under a lease that every Nexus process shares, so a single-use refresh
#: token (X OAuth 2.0, Bluesky) is spent once. Entered, it yields the account's credentials as
#: stored now: if another process renewed them while this one waited for the lease, they hold
#: the new tokens, which the publisher adopts instead of renewing again. The renewed credentials
#: are stored (``on_tokens``) before the lease is left.
Renewal = Callable[[], AbstractAsyncContextManager[Mapping[str, Any] | None]]


@asynccontextmanager
async def unshared_renewal() -> AsyncIterator[Mapping[str, Any] | None]:
    """The renewal of a publisher nothing else shares (credentials being verified): no lease,
    nothing stored to re-read."""
    yield None
