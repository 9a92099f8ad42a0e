"""Errors raised by publishers.

Every failure a publisher can meet is mapped at the boundary (``raise ... from exc``) into one
of these, so the scheduler decides what to do from the class alone and shows ``reason`` to the
owner as is::

    PublishError                  .reason: plain words for the owner, never a token or URL
    ├── RateLimited               .retry_after: seconds the platform asked us to wait
    │   └── QuotaUsedUp           a posting quota is used up (Threads' 250 a day, Instagram's
    │                             content_publishing_limit, X's usage cap, Bluesky's write
    │                             points): the target moves to a slot after ``retry_after``
    ├── Transient                 the request did not get through (connect error, 5xx): retry
    │   └── OutcomeUnknown        it may have got through (timeout or dropped connection after
    │                             sending): never resent blindly; see below
    ├── Permanent                 the request itself is wrong: retrying won't help
    │   └── TextTooLong           a single word or link is longer than a whole message
    └── AuthExpired               the credentials were rejected: the owner must reconnect

``OutcomeUnknown`` is a ``Transient`` so code that only reads (metrics, verify, delete) may
retry it like any network trouble; a *publish* raising it means the post may be live. Where the
platform makes a resend safe (an idempotency key, a chosen record key, a container's status)
the publisher resends itself and turns the unknown into a plain ``Transient`` (a later attempt
with the same ``key`` cannot duplicate); where it does not, ``publish`` raises
``OutcomeUnknown`` and the scheduler asks the owner instead of retrying.

Split posts: when a long text goes out as several messages and part k fails, parts before it
are already public. The error then carries ``posted_part_ids``: the *complete* list of parts
confirmed so far, by index (those passed in as ``already_posted`` included), and the reason
says so. Store it as it is (replace, never append) and pass it back as
``publish(text, already_posted=...)`` on retry: only the missing parts are sent, so nothing
appears twice. An error raised before anything was posted has ``posted_part_ids == ()``.
"""

from __future__ import annotations

from collections.abc import Sequence


class PublishError(Exception):
    """Base class. ``str(err)`` is ``err.reason``."""

    def __init__(self, reason: str, *, posted_part_ids: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.posted_part_ids: tuple[str, ...] = tuple(posted_part_ids)

    def __str__(self) -> str:
        return self.reason

    def __repr__(self) -> str:
        extra = f", posted_part_ids={self.posted_part_ids!r}" if self.posted_part_ids else ""
        return f"{type(self).__name__}({self.reason!r}{extra})"


class RateLimited(PublishError):
    """The platform asked us to slow down; try again after ``retry_after`` seconds."""

    def __init__(
        self,
        retry_after: float,
        reason: str | None = None,
        *,
        posted_part_ids: Sequence[str] = (),
    ) -> None:
        self.retry_after = float(retry_after)
        super().__init__(
            reason or f"the platform asked to wait {self.retry_after:g} seconds before posting",
            posted_part_ids=posted_part_ids,
        )


class QuotaUsedUp(RateLimited):
    """A posting quota is used up until it resets in ``retry_after`` seconds. Retrying sooner
    is pointless, so the dispatcher moves the target to a free slot after the reset and tells
    the owner. ``limit`` and ``window`` say which quota, for the owner's message: ``limit``
    posts (or write ``points``) per ``window`` (``"day"``, ``"hour"``, ``"month"``); ``limit``
    is None where the platform does not say."""

    def __init__(
        self,
        retry_after: float,
        reason: str,
        *,
        limit: int | None = None,
        window: str = "day",
        unit: str = "posts",
        posted_part_ids: Sequence[str] = (),
    ) -> None:
        self.limit = limit
        self.window = window
        self.unit = unit
        super().__init__(retry_after, reason, posted_part_ids=posted_part_ids)


class Transient(PublishError):
    """A temporary failure (network, timeout, server error); retrying later may succeed."""


class OutcomeUnknown(Transient):
    """The request may have reached the platform (a timeout or a dropped connection after it was
    sent): the post may be live. Resend only where the platform makes that safe."""


class Permanent(PublishError):
    """The platform refused the request for a reason a retry won't fix."""


class AuthExpired(PublishError):
    """The credentials were rejected or revoked; the owner has to reconnect the account."""


class TextTooLong(Permanent):
    """The text cannot be split into messages: one word or link exceeds the limit alone."""
