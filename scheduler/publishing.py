"""Publishing a post to its targets, exactly once each.

The life of a post here: draft ──approve──▶ approved ──▶ publishing ──▶ published | partial |
failed. Approval creates one publication per enabled account. Each publication is claimed with a
conditional UPDATE (pending → publishing) before the platform is called and finished after it
(publishing → published | failed), each step in its own short transaction, so a double tap, a
second worker or a retry can never send the same publication twice.

A rate limit (`RateLimited`) with a short wait is waited out with the injected clock and tried
again; any other `PublishError` fails that publication with the platform's reason in plain words,
and the other targets still go out. A failed publication can be retried (failed → pending); the
parts of a split post that already went out are kept and not sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from publishers.base import Publisher, PublishResult
from publishers.errors import PublishError, RateLimited
from scheduler.clock import Clock
from storage import repositories as repo
from storage.models import Account, PostStatus, Publication, PublicationStatus

#: Longest rate-limit wait taken inline; a longer one fails the attempt with the reason.
MAX_INLINE_WAIT_S = 60.0
#: How many times one publication is tried when the platform only asks us to wait.
RATE_LIMIT_TRIES = 3

PublisherFor = Callable[[Account], Publisher]


class CannotPublish(Exception):
    """The post is not in a state that can be published; `.status` is its current state."""

    def __init__(self, post_id: int, status: str | None) -> None:
        super().__init__(f"post {post_id} is {status or 'gone'}")
        self.post_id = post_id
        self.status = status


class NoTargets(Exception):
    """No enabled account to publish to."""


@dataclass(frozen=True)
class TargetOutcome:
    target: str
    published: bool
    url: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class PublishReport:
    post_id: int
    status: str
    outcomes: tuple[TargetOutcome, ...]


async def approve_and_publish(
    sessions: async_sessionmaker[AsyncSession],
    publisher_for: PublisherFor,
    clock: Clock,
    post_id: int,
    version: int,
) -> PublishReport:
    """Approve the draft at `version` and publish it now to every enabled account."""
    async with sessions() as session:
        accounts = await repo.enabled_accounts(session)
        if not accounts:
            raise NoTargets
        post = await repo.get_post(session, post_id)
        if post is None or not await repo.transition_post(
            session, post_id, [PostStatus.DRAFT], PostStatus.APPROVED, at_version=version
        ):
            await session.rollback()
            raise CannotPublish(post_id, await _status(session, post_id))
        await repo.create_publications(session, post, accounts)
        await session.commit()
    return await publish_post(sessions, publisher_for, clock, post_id, [PostStatus.APPROVED])


async def retry_failed(
    sessions: async_sessionmaker[AsyncSession],
    publisher_for: PublisherFor,
    clock: Clock,
    post_id: int,
) -> PublishReport:
    """Send the failed publications of a failed or partly published post again."""
    async with sessions() as session:
        for pub in await repo.publications_of(session, post_id):
            if pub.status == PublicationStatus.FAILED:
                await repo.transition_publication(
                    session, pub.id, [PublicationStatus.FAILED], PublicationStatus.PENDING
                )
        await session.commit()
    return await publish_post(
        sessions, publisher_for, clock, post_id, [PostStatus.FAILED, PostStatus.PARTIAL]
    )


async def publish_post(
    sessions: async_sessionmaker[AsyncSession],
    publisher_for: PublisherFor,
    clock: Clock,
    post_id: int,
    expected: Sequence[str],
) -> PublishReport:
    """Publish every pending publication of a post that is in one of the `expected` states."""
    async with sessions() as session:
        if not await repo.transition_post(session, post_id, expected, PostStatus.PUBLISHING):
            await session.rollback()
            raise CannotPublish(post_id, await _status(session, post_id))
        await session.commit()
        for pub in await repo.publications_of(session, post_id):
            if pub.status == PublicationStatus.PENDING:
                await _publish_one(session, publisher_for, clock, pub)
        pubs = await repo.publications_of(session, post_id)
        published = [p for p in pubs if p.status == PublicationStatus.PUBLISHED]
        if len(published) == len(pubs):
            status = PostStatus.PUBLISHED
        else:
            status = PostStatus.PARTIAL if published else PostStatus.FAILED
        await repo.transition_post(
            session,
            post_id,
            [PostStatus.PUBLISHING],
            status,
            published_at=clock.now() if published else None,
        )
        await session.commit()
        return PublishReport(post_id, status, tuple(_outcome(p) for p in pubs))


async def _publish_one(
    session: AsyncSession, publisher_for: PublisherFor, clock: Clock, pub: Publication
) -> None:
    if not await repo.claim_publication(session, pub.id):
        await session.rollback()
        return  # someone else has it
    await session.commit()
    already = tuple(pub.part_ids.split(",")) if pub.part_ids else ()
    try:
        result = await _send(publisher_for(pub.account), pub.text, already, clock)
    except PublishError as exc:
        await repo.finish_publication(
            session,
            pub.id,
            published=False,
            error=exc.reason,
            part_ids=already + tuple(exc.posted_part_ids),
        )
    else:
        await repo.finish_publication(
            session,
            pub.id,
            published=True,
            external_id=result.external_id,
            part_ids=result.part_ids,
            url=result.url,
            when=clock.now(),
        )
    await session.commit()


async def _send(
    publisher: Publisher, text: str, already: tuple[str, ...], clock: Clock
) -> PublishResult:
    """Publish, waiting out short rate limits; parts already posted are not sent again."""
    for attempt in range(1, RATE_LIMIT_TRIES + 1):
        try:
            return await publisher.publish(text, already_posted=already)
        except RateLimited as exc:
            if attempt == RATE_LIMIT_TRIES or exc.retry_after > MAX_INLINE_WAIT_S:
                raise
            already += tuple(exc.posted_part_ids)
            await clock.sleep(exc.retry_after)
    raise AssertionError("unreachable")


def _outcome(pub: Publication) -> TargetOutcome:
    target = pub.account.title or pub.account.handle
    if pub.status == PublicationStatus.PUBLISHED:
        return TargetOutcome(target, True, url=pub.url)
    return TargetOutcome(target, False, error=pub.last_error)


async def _status(session: AsyncSession, post_id: int) -> str | None:
    post = await repo.get_post(session, post_id)
    return post.status if post else None
