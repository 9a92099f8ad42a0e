"""Taking a published post down again, from every target it went out to.

Each publication that is published is deleted on its platform part by part (the replies of a
thread first, so no reply is left hanging without its start), then marked ``deleted`` with one
conditional update, which also stops its metrics syncs. Deleting is idempotent on every
platform (a message already gone is not an error), so a double tap or a second try after a
partial failure deletes nothing twice and loses nothing: a target that failed stays
``published`` with the reason, and the owner can try again.

No transaction is open during the platform calls, as in the dispatcher.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from publishers.errors import PublishError
from scheduler import lifecycle
from scheduler.dispatcher import PublisherFor
from storage.models import Account, Publication, PublicationStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Removal:
    """One target's outcome: ``error`` is None when the post is gone from it."""

    account: Account
    url: str | None
    error: str | None = None


async def published_targets(session: AsyncSession, post_id: int) -> list[Publication]:
    """The publications of a post that are live on their platform, in target order."""
    stmt = (
        select(Publication)
        .where(Publication.post_id == post_id, Publication.status == PublicationStatus.PUBLISHED)
        .order_by(Publication.id)
    )
    return list((await session.scalars(stmt)).all())


async def _take_down(publisher_for: PublisherFor, pub: Publication) -> Removal:
    parts = pub.part_ids.split(",") if pub.part_ids else [pub.external_id or ""]
    try:
        publisher = publisher_for(pub.account)
        for part in reversed([p for p in parts if p]):
            await publisher.delete(part)
    except PublishError as exc:
        return Removal(pub.account, pub.url, error=exc.reason)
    except Exception:  # a broken account must not stop the other targets
        log.exception("deleting publication %s failed unexpectedly", pub.id)
        return Removal(pub.account, pub.url, error="unexpected error (see the log)")
    return Removal(pub.account, pub.url)


async def delete_everywhere(
    session: AsyncSession, publisher_for: PublisherFor, post_id: int
) -> list[Removal]:
    """Delete a post from every target where it is published; one outcome per target (none
    when nothing of it is live any more)."""
    pubs = await published_targets(session, post_id)
    await session.commit()  # no transaction open while the platforms answer
    removals = await asyncio.gather(*(_take_down(publisher_for, pub) for pub in pubs))
    for pub, removal in zip(pubs, removals, strict=True):
        if removal.error is None:
            await lifecycle.mark_deleted(session, pub.id)
        else:
            await lifecycle.note_delete_failed(session, pub.id, removal.error)
    await session.commit()
    return list(removals)
