"""Posting the parts of a split post in order, with exact bookkeeping: one routine for every
thread-capable publisher.

A long text becomes parts 0…n-1. What is *confirmed* is always a prefix: part i is sent only
once parts 0…i-1 have platform ids, so ``confirmed[i]`` is part i's id. :func:`post_thread`
resumes after the confirmed prefix (never sending a confirmed part again), sends each
remaining part with the previous part's id (for reply chains), and on a failure raises the
error with ``posted_part_ids`` set to the *complete* confirmed prefix (the parts passed in
included), so whoever stores it replaces what it had.

A part whose outcome is unknown (:class:`~publishers.errors.OutcomeUnknown`: it may be live)
stops the thread at that part:

* ``resend_is_safe`` (the platform dedups the part by a key we chose: Mastodon's
  ``Idempotency-Key``, VK's ``guid``, a Bluesky record key) → the part is sent once more right
  away with the same key; if that is unknown too, the error becomes a plain ``Transient`` (a
  later attempt with the same key cannot duplicate the part);
* otherwise the ``OutcomeUnknown`` goes up as it is: the owner is asked, and "send again"
  resumes from that part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager

from publishers.errors import OutcomeUnknown, Permanent, PublishError, Transient

OnConfirmed = Callable[[tuple[str, ...]], Awaitable[None]]
"""``on_confirmed(part_ids)``: told the complete confirmed prefix after every part, so the
caller can store it before the next part goes out (a crash then loses at most one part's id)."""

SendPart = Callable[[int, str | None], Awaitable[str]]
"""``send_part(index, previous_id)`` posts part ``index`` (replying to ``previous_id``, the id of
part ``index - 1``, or ``None`` for the first part) and returns its platform id."""


def confirmed_parts(parts: Sequence[str], already_posted: Sequence[str], noun: str) -> list[str]:
    """The ids of the parts already out, checked against ``parts`` (``noun``: "messages")."""
    if not parts:
        raise Permanent("the post is empty")
    confirmed = [str(i) for i in already_posted]
    if len(confirmed) > len(parts):
        raise Permanent(
            f"{len(confirmed)} parts were recorded as posted but the text now has only "
            f"{len(parts)}: delete the posted {noun} and publish again"
        )
    return confirmed


async def post_thread(
    parts: Sequence[str],
    already_posted: Sequence[str],
    send_part: SendPart,
    *,
    noun: str,
    resend_is_safe: bool = False,
    lead: Sequence[str] = (),
    on_confirmed: OnConfirmed | None = None,
) -> list[str]:
    """Post the parts after the confirmed prefix ``already_posted``; every part's id, in order.

    On failure the raised ``PublishError`` carries the complete confirmed prefix (see the module
    docstring); ``noun`` names the parts in reasons ("posts"). ``lead``: ids that come before
    the parts in the bookkeeping (a Telegram album sent as one step), kept in front of them.
    ``on_confirmed`` hears the complete prefix (``lead`` included) after every new part.
    """
    confirmed = confirmed_parts(parts, already_posted, noun)
    for index in range(len(confirmed), len(parts)):
        previous = confirmed[-1] if confirmed else None
        try:
            try:
                part_id = await send_part(index, previous)
            except OutcomeUnknown:
                if not resend_is_safe:
                    raise
                part_id = await _resend(send_part, index, previous)
        except PublishError as exc:
            note_confirmed(exc, [*lead, *confirmed], len(lead) + len(parts))
            raise
        confirmed.append(str(part_id))
        if on_confirmed is not None and index + 1 < len(parts):
            await on_confirmed((*lead, *confirmed))
    return confirmed


async def _resend(send_part: SendPart, index: int, previous: str | None) -> str:
    """Send a part again with the same key (the platform dedups it): once, right away."""
    try:
        return await send_part(index, previous)
    except OutcomeUnknown as exc:
        raise Transient(
            f"{exc.reason}; a later attempt resends it under the same key, so it cannot appear "
            f"twice"
        ) from exc


def note_confirmed(exc: PublishError, confirmed: Sequence[str], total: int) -> None:
    """Set ``exc.posted_part_ids`` to the complete confirmed prefix and say so in its reason."""
    exc.posted_part_ids = tuple(confirmed)
    if confirmed:
        exc.reason = (
            f"{exc.reason} ({len(confirmed)} of {total} parts were already posted; "
            f"a retry sends only the rest)"
        )
        exc.args = (exc.reason,)


@contextmanager
def harmless() -> Iterator[None]:
    """Around requests that publish nothing (uploads, containers, sessions): a timeout there
    cannot have made a post, so an ``OutcomeUnknown`` is only a ``Transient``."""
    try:
        yield
    except OutcomeUnknown as exc:
        raise Transient(exc.reason, posted_part_ids=exc.posted_part_ids) from exc


def key_digest(*pieces: str) -> str:
    """A hex digest of ``pieces`` for platforms that want a short opaque key."""
    joined = "\x1f".join(pieces)
    return hashlib.sha256(joined.encode()).hexdigest()
