"""The life of a post: the one module that decides every change of status of posts and
publications, each in its own transaction of conditional updates.

```
post
  draft ──schedule / approve──▶ scheduled ──every target done──▶ published | partial | failed
   │  ▲                            │                                               │
   │  └──────────cancel────────────┘ (nothing of it sent or being sent)            │
   │  └──────────edit (it failed on every target)──────────────────────────────────┤
   └──reject──▶ rejected ──restore──▶ draft       failed | partial ──retry──▶ scheduled

publication (one per target)
  pending ──claim──▶ publishing ──sent──▶ published ──take down──▶ deleted
   │ ▲ ▲                │  │  └──gave up──▶ failed ──retry──▶ pending
   │ │ └───retry later──┘  │                      └──drop──▶ dropped
   │ │ └───quota used up: moved to a slot after it resets (no attempt spent)
   │ │                     └──may have gone out (an unclear error, or its claim died: no
   │ │                        heartbeat for a lease)──▶ unknown ──"it is there"──▶ published
   │ └──────────────────────────────────────────────owner: "send again"──┘ ──"drop"──▶ dropped
   ├──fell due while Nexus was down──▶ held ──publish now / reschedule──▶ pending
   └──cancel while another target is sent or being sent──▶ cancelled
      (cancel with nothing under way: the publications go, the post is a draft again)
```
``dropped``, ``cancelled``, ``failed``, ``published`` and ``deleted`` are final for the
dispatcher: a scheduled post settles once all its publications are final.

Every transition is one conditional UPDATE (``WHERE id = :id AND status IN (:expected)``) whose
row count is checked; a lost race changes nothing and is answered: owner decisions return a
`Verdict` saying what they found (the post's status, which targets are being sent or await an
answer), so a handler can tell the owner; the dispatcher learns ``False`` and logs it instead of
reporting an outcome it did not record. Only this module assigns statuses; the repositories hold
the low-level conditional update.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from publishers.registry import account_label
from storage import learning, teams
from storage import repositories as repo
from storage.models import (
    Brand,
    DecisionKind,
    Post,
    PostStatus,
    Publication,
    PublicationStatus,
    ReviewFallback,
    utcnow,
)

#: Publication states the owner may still move in time (nothing has been sent for them).
_NOT_STARTED = (PublicationStatus.PENDING, PublicationStatus.HELD)


class NoTargets(Exception):
    """No enabled account to publish to, or every target is switched off for this post."""


def target_name(pub: Publication) -> str:
    """The target as every view names it: platform and account ("X @owner")."""
    return account_label(pub.account)


@dataclass(frozen=True)
class Progress:
    """Where a post's targets stand, so that every view can tell the truth about it."""

    #: Targets being sent right now.
    sending: tuple[str, ...] = ()
    #: (publication id, target) of the targets whose outcome the owner is asked about.
    asking: tuple[tuple[int, str], ...] = ()
    #: How many targets are still waiting for their time (pending or held).
    waiting: int = 0

    @property
    def busy(self) -> bool:
        """Something of the post is under way or in question: it can't simply move or go."""
        return bool(self.sending or self.asking)


@dataclass(frozen=True)
class Verdict:
    """What an owner's decision did, or, when it lost a race, what it found instead."""

    done: bool
    #: The post's status after the decision (None: the post is gone).
    found: str | None
    progress: Progress = field(default_factory=Progress)
    #: Targets the decision moved (e.g. the ones a partial cancel took out).
    moved: tuple[str, ...] = ()


def progress_of(pubs: Iterable[Publication]) -> Progress:
    pubs = list(pubs)
    return Progress(
        sending=tuple(target_name(p) for p in pubs if p.status == PublicationStatus.PUBLISHING),
        asking=tuple((p.id, target_name(p)) for p in pubs if p.status == PublicationStatus.UNKNOWN),
        waiting=sum(p.status in _NOT_STARTED for p in pubs),
    )


async def progress(session: AsyncSession, post_id: int) -> Progress:
    return progress_of(await repo.publications_of(session, post_id))


async def _verdict(
    session: AsyncSession, post_id: int, done: bool, moved: Sequence[str] = ()
) -> Verdict:
    """Commit (or roll back a lost decision) and say where the post stands now."""
    if done:
        await session.commit()
    else:
        await session.rollback()
    post = await repo.get_post(session, post_id)
    if post is None:
        return Verdict(done, None)
    return Verdict(done, post.status, await progress(session, post_id), tuple(moved))


# --- the owner's decisions -----------------------------------------------------------------------


async def schedule_post(
    session: AsyncSession,
    post: Post,
    when: datetime,
    *,
    immediate: bool = False,
    targets: Sequence[int | str] = (),
    decided_at: datetime | None = None,
    commit: bool = True,
    expected: str = PostStatus.DRAFT,
) -> bool:
    """draft → scheduled at `when`, with one pending publication per enabled account (only those
    named in `targets` by account id or platform, when given: a rule's autopublish). A draft
    under review (``expected`` review) is scheduled the same way once it is approved.

    `decided_at` marks the owner's approval (not a rule's or the evergreen recycler's): it is
    recorded as a decision in the same transaction, for learning. With ``commit=False`` the
    change joins the caller's transaction (a campaign schedules all its posts or none); a failure
    still rolls the whole transaction back."""
    # the post's brand's accounts alone: a brand never publishes to another's channel
    accounts = list(await repo.enabled_accounts(session, post.brand_id))
    if targets:
        wanted = {str(t).lower() for t in targets}
        accounts = [a for a in accounts if str(a.id) in wanted or a.platform in wanted]
    if not accounts:
        await session.rollback()  # like every failure here: nothing of the caller's stays
        raise NoTargets
    if not await repo.transition_post(
        session,
        post.id,
        [expected],
        PostStatus.SCHEDULED,
        at_version=post.version,
        scheduled_at=when,
        immediate=immediate,
        review_due_at=None,
    ):
        await session.rollback()
        return False
    if not await repo.create_publications(session, post, accounts, due=when):
        await session.rollback()  # every target is off (or none is connected)
        raise NoTargets
    if decided_at is not None:
        await learning.record_decision(session, post, DecisionKind.APPROVED, at=decided_at)
    if commit:
        await session.commit()
    return True


async def _move_waiting(session: AsyncSession, post_id: int, **values: Any) -> int:
    """Move only the targets that are still waiting (pending or held); how many moved."""
    result = await session.execute(
        update(Publication)
        .where(Publication.post_id == post_id, Publication.status.in_(_NOT_STARTED))
        .values(**values, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def reschedule(session: AsyncSession, post_id: int, when: datetime) -> Verdict:
    """Move a scheduled post (also one held as overdue) to `when`: only its targets that are
    still waiting move; a target being sent or in question stays where it is. Not done when
    nothing was waiting (the verdict says what is under way)."""
    if not await repo.transition_post(
        session,
        post_id,
        [PostStatus.SCHEDULED],
        PostStatus.SCHEDULED,
        scheduled_at=when,
        immediate=False,
    ):
        return await _verdict(session, post_id, False)
    moved = await _move_waiting(
        session, post_id, status=PublicationStatus.PENDING, next_attempt_at=when
    )
    return await _verdict(session, post_id, moved > 0)


async def cancel_scheduled(session: AsyncSession, post_id: int) -> Verdict:
    """Cancel a scheduled post's targets that are still waiting. With nothing else of it sent,
    being sent or in question, the post is a draft again (its publications go); otherwise the
    waiting targets are ``cancelled`` and the post settles with the rest. The cancel is one
    conditional update, so a target the dispatcher claims meanwhile is never counted as
    cancelled, and a post with a target on its way never shows as a draft."""
    result = await session.execute(
        update(Publication)
        .where(Publication.post_id == post_id, Publication.status.in_(_NOT_STARTED))
        .values(status=PublicationStatus.CANCELLED, updated_at=utcnow())
        .returning(Publication.id)
        .execution_options(synchronize_session=False)
    )
    cancelled = set(result.scalars())
    pubs = await repo.publications_of(session, post_id)
    moved = [target_name(p) for p in pubs if p.id in cancelled]
    # a retry with thread parts already out keeps its record: the post settles instead
    if any(p.id not in cancelled or p.part_ids for p in pubs):
        return await _verdict(session, post_id, bool(cancelled), moved)
    return await _verdict(
        session, post_id, await _back_to_draft(session, post_id, PostStatus.SCHEDULED), moved
    )


async def _back_to_draft(session: AsyncSession, post_id: int, expected: str) -> bool:
    """expected → draft, dropping the post's publications (a draft has none); no commit."""
    if not await repo.transition_post(
        session, post_id, [expected], PostStatus.DRAFT, scheduled_at=None
    ):
        return False
    await session.execute(delete(Publication).where(Publication.post_id == post_id))
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
    if any(p.status == PublicationStatus.PUBLISHED for p in pubs) or not await _back_to_draft(
        session, post_id, PostStatus.FAILED
    ):
        await session.rollback()
        return False
    await session.commit()
    return True


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
    verdict = await cancel_scheduled(session, post_id)
    return verdict.done and verdict.found == PostStatus.DRAFT


async def _answer(
    session: AsyncSession, publication_id: int, new: str, **values: Any
) -> Verdict | None:
    """The owner's answer about an unknown publication (None: the publication is gone)."""
    pub = await session.get(Publication, publication_id)
    if pub is None:
        return None
    post_id = pub.post_id
    done = await repo.transition_publication(
        session, publication_id, [PublicationStatus.UNKNOWN], new, **values
    )
    return await _verdict(session, post_id, done)


async def confirm_posted(
    session: AsyncSession, publication_id: int, now: datetime
) -> Verdict | None:
    """The owner saw it on the platform: an interrupted publication counts as published."""
    return await _answer(
        session, publication_id, PublicationStatus.PUBLISHED, published_at=now, last_error=None
    )


async def send_again(session: AsyncSession, publication_id: int, now: datetime) -> Verdict | None:
    """The owner says it did not go out: send it again now."""
    return await _answer(session, publication_id, PublicationStatus.PENDING, next_attempt_at=now)


async def drop_unknown(session: AsyncSession, publication_id: int) -> Verdict | None:
    """The owner gives up on an interrupted publication: nothing more is tried for it."""
    return await _answer(session, publication_id, PublicationStatus.DROPPED)


async def reject(session: AsyncSession, post_id: int) -> Verdict:
    """draft → rejected, recorded as a decision (its reason may follow)."""
    post = await repo.get_post(session, post_id)
    done = post is not None and await repo.transition_post(
        session, post_id, [PostStatus.DRAFT], PostStatus.REJECTED
    )
    if done:
        assert post is not None
        await learning.record_decision(session, post, DecisionKind.REJECTED)
    return await _verdict(session, post_id, done)


async def restore(session: AsyncSession, post_id: int) -> Verdict:
    """rejected → draft."""
    done = await repo.transition_post(session, post_id, [PostStatus.REJECTED], PostStatus.DRAFT)
    return await _verdict(session, post_id, done)


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
        await _move_waiting(session, post_id, next_attempt_at=start)
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


# --- the dispatcher's transitions (no commit: the dispatcher groups them) --------------------


async def hold_overdue(
    session: AsyncSession, now: datetime, grace: timedelta
) -> dict[int, datetime]:
    """pending → held for first attempts that fell due longer than `grace` ago (Nexus was
    down); post id → when it was due."""
    result = await session.execute(
        update(Publication)
        .where(
            Publication.status == PublicationStatus.PENDING,
            Publication.attempts == 0,
            Publication.next_attempt_at < now - grace,
        )
        .values(status=PublicationStatus.HELD, updated_at=now)
        .returning(Publication.post_id, Publication.next_attempt_at)
    )
    # next_attempt_at is set on every pending row (it is what made the row overdue)
    return {post_id: due for post_id, due in result.all() if due}


async def claim_due(session: AsyncSession, now: datetime, limit: int, worker: str) -> list[int]:
    """pending → publishing for up to `limit` due publications, claimed by `worker`. The due
    rows are locked first (on PostgreSQL, rows another worker is claiming are skipped, not
    waited for), then moved: a subquery with LIMIT inside the UPDATE may be evaluated again
    by PostgreSQL's planner and, with SKIP LOCKED, claim more rows than asked."""
    due = list(
        await session.scalars(
            select(Publication.id)
            .where(
                Publication.status == PublicationStatus.PENDING,
                Publication.next_attempt_at <= now,
            )
            .order_by(Publication.next_attempt_at, Publication.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not due:
        return []
    result = await session.execute(
        update(Publication)
        .where(Publication.id.in_(due), Publication.status == PublicationStatus.PENDING)
        .values(
            status=PublicationStatus.PUBLISHING,
            attempts=Publication.attempts + 1,
            claimed_at=now,
            claimed_by=worker,
            updated_at=now,
        )
        .returning(Publication.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())


async def renew_claims(
    session: AsyncSession, pub_ids: Iterable[int], worker: str, now: datetime
) -> int:
    """Heartbeat: `worker` still works on these claims; how many it still holds."""
    result = await session.execute(
        update(Publication)
        .where(
            Publication.id.in_(list(pub_ids)),
            Publication.status == PublicationStatus.PUBLISHING,
            Publication.claimed_by == worker,
        )
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def expire_claims(
    session: AsyncSession,
    now: datetime,
    lease: timedelta,
    *,
    dead_before: str | None = None,
    alive: str | None = None,
) -> list[int]:
    """publishing → unknown for claims that died: no heartbeat within `lease`, and (on start)
    every claim of an earlier incarnation of this worker (``claimed_by`` starting with
    `dead_before`, other than `alive`). Returns the publications to ask the owner about."""
    died = [Publication.claimed_at.is_(None), Publication.claimed_at < now - lease]
    if dead_before is not None and alive is not None:
        died.append(
            Publication.claimed_by.startswith(dead_before, autoescape=True)
            & (Publication.claimed_by != alive)
        )
    result = await session.execute(
        update(Publication)
        .where(Publication.status == PublicationStatus.PUBLISHING, or_(*died))
        .values(status=PublicationStatus.UNKNOWN, updated_at=now)
        .returning(Publication.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())


#: Where a claim's outcome may be recorded from: its own claim, or `unknown` when a stalled
#: heartbeat let the sweep take it (the owner's question then becomes moot: we know).
_CLAIMED = (PublicationStatus.PUBLISHING, PublicationStatus.UNKNOWN)


async def record_published(
    session: AsyncSession,
    pub_id: int,
    worker: str,
    *,
    external_id: str | None,
    part_ids: Sequence[str],
    url: str | None,
    when: datetime,
    metrics_due_at: datetime,
    cost_usd: float | None = None,
) -> bool:
    """publishing → published, with where it went and what the platform charged for it (the
    spend ledger); a published one is due for its first metrics sync at `metrics_due_at`."""
    return await repo.transition_publication(
        session,
        pub_id,
        _CLAIMED,
        PublicationStatus.PUBLISHED,
        Publication.claimed_by == worker,
        external_id=external_id,
        part_ids=",".join(part_ids) or None,
        url=url,
        published_at=when,
        metrics_due_at=metrics_due_at,
        cost_usd=cost_usd,
        last_error=None,
    )


async def record_failed(
    session: AsyncSession, pub_id: int, worker: str, *, error: str, part_ids: Sequence[str]
) -> bool:
    """publishing → failed for good, with the reason."""
    return await repo.transition_publication(
        session,
        pub_id,
        _CLAIMED,
        PublicationStatus.FAILED,
        Publication.claimed_by == worker,
        last_error=error,
        part_ids=",".join(part_ids) or None,
    )


async def record_retry(
    session: AsyncSession,
    pub_id: int,
    worker: str,
    *,
    at: datetime,
    error: str,
    part_ids: Sequence[str],
    attempt_spent: bool = True,
) -> bool:
    """publishing → pending, to be tried again at `at`. A target moved past a used-up quota
    (to a free slot after it resets) spent no attempt: the claim's is given back, so the
    retries stay for real failures."""
    spent: dict[str, Any] = {} if attempt_spent else {"attempts": Publication.attempts - 1}
    return await repo.transition_publication(
        session,
        pub_id,
        [PublicationStatus.PUBLISHING],
        PublicationStatus.PENDING,
        Publication.claimed_by == worker,
        next_attempt_at=at,
        last_error=error,
        part_ids=",".join(part_ids) or None,
        **spent,
    )


async def record_unsure(
    session: AsyncSession,
    pub_id: int,
    worker: str,
    *,
    error: str | None = None,
    part_ids: Sequence[str] | None = None,
) -> bool:
    """publishing → unknown: the send may have reached the platform; the owner is asked. With
    ``part_ids``, the parts of a split post confirmed before the unclear one (kept otherwise)."""
    values: dict[str, Any] = {"last_error": error}
    if part_ids is not None:
        values["part_ids"] = ",".join(part_ids) or None
    return await repo.transition_publication(
        session,
        pub_id,
        [PublicationStatus.PUBLISHING],
        PublicationStatus.UNKNOWN,
        Publication.claimed_by == worker,
        **values,
    )


async def store_parts(
    session: AsyncSession, pub_id: int, worker: str, part_ids: Sequence[str]
) -> bool:
    """Keep the confirmed parts of a split post mid-send, while this worker still holds it (a
    crash then loses at most the id of the part in flight)."""
    return await repo.transition_publication(
        session,
        pub_id,
        [PublicationStatus.PUBLISHING],
        PublicationStatus.PUBLISHING,
        Publication.claimed_by == worker,
        part_ids=",".join(part_ids) or None,
    )


def settled_status(pubs: Sequence[Publication]) -> str:
    """What a post whose every target is final became (the cancelled targets don't count)."""
    counted = [p for p in pubs if p.status != PublicationStatus.CANCELLED]
    published = [p for p in counted if p.status == PublicationStatus.PUBLISHED]
    if len(published) == len(counted):
        return PostStatus.PUBLISHED
    return PostStatus.PARTIAL if published else PostStatus.FAILED


async def settle(session: AsyncSession, post: Post, pubs: Sequence[Publication]) -> str | None:
    """scheduled → published | partial | failed; None when another dispatcher settled it."""
    status = settled_status(pubs)
    first = min(
        (
            p.published_at
            for p in pubs
            if p.status == PublicationStatus.PUBLISHED and p.published_at
        ),
        default=None,
    )
    if not await repo.transition_post(
        session, post.id, [PostStatus.SCHEDULED], status, published_at=first
    ):
        return None
    return status


# --- taking a post down (scheduler.removal) ------------------------------------------------------


async def mark_deleted(session: AsyncSession, pub_id: int) -> bool:
    """published → deleted: gone from its platform, and no more metrics syncs."""
    return await repo.transition_publication(
        session,
        pub_id,
        [PublicationStatus.PUBLISHED],
        PublicationStatus.DELETED,
        metrics_due_at=None,
        last_error=None,
    )


async def note_delete_failed(session: AsyncSession, pub_id: int, reason: str) -> bool:
    """A published target that could not be deleted stays published, with the reason."""
    return await repo.transition_publication(
        session,
        pub_id,
        [PublicationStatus.PUBLISHED],
        PublicationStatus.PUBLISHED,
        last_error=f"could not delete: {reason}",
    )


# --- review: draft ─submit→ review ─enough approvals→ scheduled ---------------------------------
#
# A draft that needs a reviewer's approval (an editor's, or automation's in a brand that reviews)
# is submitted instead of scheduled: it keeps the time it is meant to go out at (`scheduled_at`,
# None with `immediate` for "right after approval"), who submitted it, and when the brand's
# fallback applies (`review_due_at`). Reviewers answer one version of it (`storage.teams.votes`);
# an edit during review makes a new version, so approvals of the old text no longer count.

#: A reviewer's answers (`ReviewVote.decision`).
APPROVED, CHANGES, REJECTED = "approved", "changes", "rejected"


async def submit_for_review(
    session: AsyncSession,
    post: Post,
    when: datetime | None,
    *,
    by: int | None,
    due: datetime,
) -> bool:
    """draft → review, to go out at `when` (None: as soon as it is approved) once approved;
    submitted `by` a member (None: by automation); the brand's fallback applies at `due`.
    Raises `NoTargets` with nothing to publish to; False when the draft moved on meanwhile."""
    if not await repo.enabled_accounts(session, post.brand_id):
        raise NoTargets
    done = await repo.transition_post(
        session,
        post.id,
        [PostStatus.DRAFT],
        PostStatus.REVIEW,
        at_version=post.version,
        scheduled_at=when,
        immediate=when is None,
        submitted_by=by,
        review_due_at=due,
    )
    if done:
        await teams.record(session, post.brand_id, by, "review.submit", subject=f"post:{post.id}")
        await session.commit()
    else:
        await session.rollback()
    return done


@dataclass(frozen=True)
class Ballot:
    """What a reviewer's answer did, or why it did nothing."""

    #: The answer was recorded (False: already answered this version, or the draft moved on).
    counted: bool
    #: The post's status now (None: the post is gone).
    found: str | None
    #: The answer ended the review: scheduled, back to the drafts, or rejected.
    decided: bool = False
    #: The draft changed since the card the reviewer answered was shown.
    stale: bool = False


async def _schedule_reviewed(
    session: AsyncSession, post: Post, now: datetime, *, decided_at: datetime | None
) -> bool:
    """review → scheduled at the time it was meant for, or now when that has passed (or it
    was meant to go out right away); joins the caller's transaction."""
    meant = post.scheduled_at
    when = meant if meant is not None and not post.immediate and meant > now else now
    return await schedule_post(
        session,
        post,
        when,
        immediate=when == now,
        decided_at=decided_at,
        commit=False,
        expected=PostStatus.REVIEW,
    )


async def answer_review(
    session: AsyncSession,
    post_id: int,
    version: int,
    reviewer: int,
    decision: str,
    *,
    required: int,
    now: datetime,
    reason: str | None = None,
) -> Ballot:
    """A reviewer's answer to `version` of a draft under review, with what it leads to, in one
    transaction: the ``required``-th distinct approval schedules it, a request for changes sends
    it back to the drafts, a rejection rejects it (both recorded for learning). Raises
    `NoTargets` when the approved draft has nothing left to publish to (nothing is stored).

    The post's row is locked first (PostgreSQL; SQLite serializes writers anyway), so two
    reviewers approving at the same moment both see each other's vote: the last one needed
    schedules it, once."""
    await session.execute(select(Post.id).where(Post.id == post_id).with_for_update())
    post = await repo.get_post(session, post_id)
    if post is None:
        return Ballot(False, None)
    if post.status != PostStatus.REVIEW or post.version != version:
        return Ballot(False, post.status, stale=post.status == PostStatus.REVIEW)
    if not await teams.cast_vote(session, post_id, version, reviewer, decision, reason):
        await session.rollback()
        return Ballot(False, PostStatus.REVIEW)
    action = {APPROVED: "review.approve", CHANGES: "review.changes", REJECTED: "review.reject"}
    await teams.record(
        session, post.brand_id, reviewer, action[decision], f"post:{post_id}", reason or ""
    )
    if decision == APPROVED:
        answers = await teams.votes(session, post_id, version)
        if sum(v.decision == APPROVED for v in answers) < required:
            await session.commit()
            return Ballot(True, PostStatus.REVIEW)
        try:
            done = await _schedule_reviewed(session, post, now, decided_at=now)
        except NoTargets:
            await session.rollback()  # the approval is not kept either: it can be given again
            raise
    else:
        new = PostStatus.DRAFT if decision == CHANGES else PostStatus.REJECTED
        done = await repo.transition_post(
            session,
            post_id,
            [PostStatus.REVIEW],
            new,
            at_version=version,
            review_due_at=None,
            scheduled_at=None,
            immediate=False,
        )
        if done and decision == REJECTED:
            await learning.record_decision(session, post, DecisionKind.REJECTED)
    if not done:
        await session.rollback()
        fresh = await repo.get_post(session, post_id)
        return Ballot(False, fresh.status if fresh else None, stale=True)
    await session.commit()
    fresh = await repo.get_post(session, post_id)
    return Ballot(True, fresh.status if fresh else None, decided=True)


@dataclass(frozen=True)
class Lapse:
    """A draft that waited longer than its brand's review timeout, and what became of it."""

    post_id: int
    #: The brand's `ReviewFallback` that applied.
    fallback: str
    #: The post's status after it (a publish that found no target stays under review).
    status: str


async def lapse_reviews(session: AsyncSession, now: datetime) -> list[Lapse]:
    """Apply each brand's fallback to its drafts whose review is overdue, one transaction per
    draft: remind (due again one timeout later), skip (back to the drafts) or publish (scheduled
    at its time, or now). A draft edited or answered meanwhile, or whose fallback another worker
    applied first, is left alone."""
    due = list(
        await session.scalars(
            select(Post.id)
            .where(Post.status == PostStatus.REVIEW, Post.review_due_at <= now)
            .order_by(Post.review_due_at, Post.id)
        )
    )
    lapses = []
    for post_id in due:
        # locked and checked again: another worker may have applied the fallback meanwhile
        still_due = await session.scalar(
            select(Post.id)
            .where(Post.id == post_id, Post.status == PostStatus.REVIEW, Post.review_due_at <= now)
            .with_for_update()
        )
        if still_due is None:
            await session.rollback()
            continue
        post = await repo.get_post(session, post_id)
        brand = await session.get(Brand, post.brand_id) if post else None
        if post is None or brand is None or post.status != PostStatus.REVIEW:
            continue
        fallback, version, brand_id = brand.review_fallback, post.version, brand.id
        later = now + timedelta(minutes=brand.review_timeout_minutes)
        if fallback == ReviewFallback.PUBLISH:
            try:
                done = await _schedule_reviewed(session, post, now, decided_at=None)
            except NoTargets:  # nothing to publish to: the reviewers are reminded instead
                fallback, done = ReviewFallback.REMIND, False
        elif fallback == ReviewFallback.SKIP:
            done = await repo.transition_post(
                session,
                post_id,
                [PostStatus.REVIEW],
                PostStatus.DRAFT,
                at_version=version,
                review_due_at=None,
                scheduled_at=None,
                immediate=False,
            )
        else:
            done = False
        if fallback == ReviewFallback.REMIND:
            done = await repo.transition_post(
                session,
                post_id,
                [PostStatus.REVIEW],
                PostStatus.REVIEW,
                at_version=version,
                review_due_at=later,
            )
        if not done:
            await session.rollback()
            continue
        await teams.record(session, brand_id, None, "review.timeout", f"post:{post_id}", fallback)
        await session.commit()
        fresh = await repo.get_post(session, post_id)
        lapses.append(Lapse(post_id, fallback, fresh.status if fresh else PostStatus.REVIEW))
    return lapses
