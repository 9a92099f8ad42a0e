"""What the owner decides about a post's timing: schedule, publish now, reschedule, cancel, and
the answers to the dispatcher's questions (retry, drop, "it was posted", "send again").

Each function is one transaction of conditional updates; it returns False (changing nothing)
when the post is no longer in a state where the decision applies, e.g. after a double tap.
The dispatcher does the publishing; these functions only set what is due and when.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import repositories as repo
from storage.models import Post, PostStatus, Publication, PublicationStatus, utcnow

#: Publication states the owner may still move in time (nothing has been sent for them).
_NOT_STARTED = (PublicationStatus.PENDING, PublicationStatus.HELD)


class NoTargets(Exception):
    """No enabled account to publish to, or every target is switched off for this post."""


async def schedule_post(
    session: AsyncSession,
    post: Post,
    when: datetime,
    *,
    immediate: bool = False,
    targets: Sequence[int | str] = (),
) -> bool:
    """draft → scheduled at `when`, with one pending publication per enabled account (only those
    named in `targets` by account id or platform, when given: a rule's autopublish)."""
    accounts = await repo.enabled_accounts(session)
    if targets:
        wanted = {str(t).lower() for t in targets}
        accounts = [a for a in accounts if str(a.id) in wanted or a.platform in wanted]
    if not accounts:
        raise NoTargets
    if not await repo.transition_post(
        session,
        post.id,
        [PostStatus.DRAFT],
        PostStatus.SCHEDULED,
        at_version=post.version,
        scheduled_at=when,
        immediate=immediate,
    ):
        await session.rollback()
        return False
    if not await repo.create_publications(session, post, accounts, due=when):
        await session.rollback()  # every target is off (or none is connected)
        raise NoTargets
    await session.commit()
    return True


async def reschedule(session: AsyncSession, post_id: int, when: datetime) -> bool:
    """Move a scheduled post (also one held as overdue) to `when`."""
    if not await repo.transition_post(
        session,
        post_id,
        [PostStatus.SCHEDULED],
        PostStatus.SCHEDULED,
        scheduled_at=when,
        immediate=False,
    ):
        await session.rollback()
        return False
    await session.execute(
        update(Publication)
        .where(Publication.post_id == post_id, Publication.status.in_(_NOT_STARTED))
        .values(status=PublicationStatus.PENDING, next_attempt_at=when, updated_at=utcnow())
    )
    await session.commit()
    return True


async def cancel_scheduled(session: AsyncSession, post_id: int) -> bool:
    """scheduled → draft, if no target has been tried yet; the draft keeps its text."""
    pubs = await repo.publications_of(session, post_id)
    if any(p.status not in _NOT_STARTED or p.attempts for p in pubs):
        await session.rollback()
        return False
    return await _back_to_draft(session, post_id, PostStatus.SCHEDULED)


async def _back_to_draft(session: AsyncSession, post_id: int, expected: str) -> bool:
    """expected → draft, dropping the post's publications (a draft has none), in one commit."""
    if not await repo.transition_post(
        session, post_id, [expected], PostStatus.DRAFT, scheduled_at=None
    ):
        await session.rollback()
        return False
    await session.execute(delete(Publication).where(Publication.post_id == post_id))
    await session.commit()
    return True


async def retry_failed(session: AsyncSession, post_id: int, now: datetime) -> bool:
    """The failed targets of a failed or partial post go out again now, with fresh attempts."""
    if not await repo.transition_post(
        session, post_id, [PostStatus.FAILED, PostStatus.PARTIAL], PostStatus.SCHEDULED
    ):
        await session.rollback()
        return False
    await session.execute(
        update(Publication)
        .where(Publication.post_id == post_id, Publication.status == PublicationStatus.FAILED)
        .values(
            status=PublicationStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=utcnow()
        )
    )
    await session.commit()
    return True


async def failed_back_to_draft(session: AsyncSession, post_id: int) -> bool:
    """A post that failed on every target becomes a draft again, to be edited and re-approved."""
    pubs = await repo.publications_of(session, post_id)
    if any(p.status == PublicationStatus.PUBLISHED for p in pubs):
        await session.rollback()
        return False
    return await _back_to_draft(session, post_id, PostStatus.FAILED)


async def drop_failed(session: AsyncSession, post_id: int) -> bool:
    """Give up on the failed targets: they are marked dropped and nothing more is tried."""
    result = await session.execute(
        update(Publication)
        .where(Publication.post_id == post_id, Publication.status == PublicationStatus.FAILED)
        .values(status=PublicationStatus.DROPPED, updated_at=utcnow())
    )
    await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def drop_overdue(session: AsyncSession, post_id: int) -> bool:
    """An overdue (held) post goes back to the drafts instead of out of time."""
    pubs = await repo.publications_of(session, post_id)
    if not pubs or any(p.status != PublicationStatus.HELD for p in pubs):
        await session.rollback()
        return False
    return await cancel_scheduled(session, post_id)


async def confirm_posted(session: AsyncSession, publication_id: int, now: datetime) -> bool:
    """The owner saw it on the platform: an interrupted publication counts as published."""
    ok = await repo.transition_publication(
        session,
        publication_id,
        [PublicationStatus.UNKNOWN],
        PublicationStatus.PUBLISHED,
        published_at=now,
        last_error=None,
    )
    await session.commit()
    return ok


async def send_again(session: AsyncSession, publication_id: int, now: datetime) -> bool:
    """The owner says it did not go out: send it again now."""
    ok = await repo.transition_publication(
        session,
        publication_id,
        [PublicationStatus.UNKNOWN],
        PublicationStatus.PENDING,
        next_attempt_at=now,
    )
    await session.commit()
    return ok


async def set_repeat(
    session: AsyncSession, post_id: int, rule_json: str | None, start: datetime | None
) -> bool:
    """Make a scheduled post repeat by a rule (first run at `start`), or stop repeating."""
    moved: dict[str, Any] = {} if start is None else {"scheduled_at": start}
    if not await repo.transition_post(
        session,
        post_id,
        [PostStatus.SCHEDULED],
        PostStatus.SCHEDULED,
        repeat_rule=rule_json,
        **moved,
    ):
        await session.rollback()
        return False
    if start is not None:
        await session.execute(
            update(Publication)
            .where(Publication.post_id == post_id, Publication.status.in_(_NOT_STARTED))
            .values(next_attempt_at=start, updated_at=utcnow())
        )
    await session.commit()
    return True


async def toggle_evergreen(session: AsyncSession, post_id: int) -> bool | None:
    """Flip a post's evergreen flag; returns the new value (None if the post is gone)."""
    post = await repo.get_post(session, post_id)
    if post is None:
        return None
    post.evergreen = not post.evergreen
    await session.commit()
    return post.evergreen
