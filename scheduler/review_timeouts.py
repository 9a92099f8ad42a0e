"""The review timeout job: drafts that waited longer than their brand's review timeout get the
brand's fallback (remind the reviewers, skip, or publish at their time anyway), each in its own
transaction (`scheduler.lifecycle.lapse_reviews`), and the notifier says so on the cards and to
the author. Runs every minute; the database says what is due, so a restart loses nothing and
two processes never apply one fallback twice (each change is a conditional update)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler.clock import Clock
from scheduler.lifecycle import lapse_reviews
from scheduler.notify import Notifier
from storage.models import PostStatus

log = logging.getLogger(__name__)

#: How often overdue reviews are looked for.
REVIEW_EVERY_S = 60


async def run_review_timeouts(
    sessions: async_sessionmaker[AsyncSession],
    notifier: Notifier,
    clock: Clock,
    wake: Callable[[], None],
) -> int:
    """Apply the fallback to every overdue review; how many drafts it touched."""
    async with sessions() as session:
        lapses = await lapse_reviews(session, clock.now())
    if any(lapse.status == PostStatus.SCHEDULED for lapse in lapses):
        wake()  # a draft published anyway may be due now
    for lapse in lapses:
        try:
            await notifier.review_lapsed(lapse.post_id, lapse.fallback)
        except Exception:  # one message that failed must not keep the others back
            log.exception("could not report the review timeout of post %s", lapse.post_id)
    return len(lapses)
