"""What Nexus learns from: the owner's decisions on drafts and the preferences distilled from
them. Every query on ``draft_decisions`` and ``learned_preferences`` lives here, scoped by brand:
a brand learns from its own posts' decisions alone (a decision belongs to its post's brand) and
its drafts follow its own preferences. Like the other repositories, nothing here commits: a
decision is written in the transaction of the change it records.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Integer,
    Select,
    String,
    bindparam,
    func,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from storage import scope
from storage.models import (
    FIRST_BRAND_ID,
    DecisionKind,
    DraftDecision,
    LearnedPreference,
    Post,
    PostStatus,
    Publication,
    PublicationStatus,
    utcnow,
)

# --- decisions ---------------------------------------------------------------------------------


async def decisions_of(session: AsyncSession, post_id: int) -> Sequence[DraftDecision]:
    stmt = select(DraftDecision).where(DraftDecision.post_id == post_id).order_by(DraftDecision.id)
    return (await session.scalars(stmt)).all()


def drafted_text(decisions: Sequence[DraftDecision], post: Post) -> tuple[str, bool]:
    """The text the drafter last wrote for ``post`` and whether Claude wrote it, read from the
    decisions so far: a regeneration's result, else what the first edit (or approval) started
    from, else the post's text as it stands (nothing changed it yet)."""
    text: str | None = None
    ai = not post.offline
    for decision in decisions:
        if decision.kind == DecisionKind.REGENERATED and decision.after is not None:
            text, ai = decision.after, decision.ai_drafted
        elif text is None and decision.before is not None:
            text, ai = decision.before, decision.ai_drafted
    return (post.text if text is None else text), ai


async def record_decision(
    session: AsyncSession,
    post: Post,
    kind: DecisionKind,
    *,
    after: str | None = None,
    instruction: str | None = None,
    ai_drafted: bool | None = None,
    at: datetime | None = None,
) -> DraftDecision:
    """Record a decision on ``post`` as it stood before the change. ``before`` is the post's
    text, except for an approval, whose ``before`` is what the drafter wrote (so an approval
    compares the owner's final text with the AI's); ``ai_drafted`` defaults to whether the
    drafter of that text was Claude."""
    ai_text, ai = drafted_text(await decisions_of(session, post.id), post)
    before = ai_text if kind == DecisionKind.APPROVED else post.text
    if kind == DecisionKind.APPROVED:
        after = post.text
    decision = DraftDecision(
        post_id=post.id,
        kind=kind,
        before=before,
        after=after,
        instruction=instruction,
        ai_drafted=ai if ai_drafted is None else ai_drafted,
        at=at or utcnow(),
    )
    session.add(decision)
    await session.flush()
    return decision


async def set_reject_reason(session: AsyncSession, post_id: int, reason: str) -> bool:
    """Attach the owner's reason to the post's latest rejection; False if it has none (or the
    post was restored since: the rejection no longer stands)."""
    latest = await session.scalar(
        select(DraftDecision)
        .where(DraftDecision.post_id == post_id)
        .order_by(DraftDecision.id.desc())
        .limit(1)
    )
    if latest is None or latest.kind != DecisionKind.REJECTED:
        return False
    status = await session.scalar(select(Post.status).where(Post.id == post_id))
    if status != PostStatus.REJECTED:
        return False
    latest.reason = reason
    return True


def _of_brand(brand_id: int) -> Any:
    """The condition "this decision is about a post of ``brand_id``"."""
    return DraftDecision.post_id.in_(select(Post.id).where(Post.brand_id == brand_id))


async def recent_decisions(session: AsyncSession, limit: int, brand_id: int) -> list[DraftDecision]:
    """The brand's latest ``limit`` decisions, oldest first."""
    stmt = (
        select(DraftDecision)
        .where(_of_brand(brand_id))
        .order_by(DraftDecision.id.desc())
        .limit(limit)
    )
    return list(reversed((await session.scalars(stmt)).all()))


async def unlearned(session: AsyncSession) -> dict[int, tuple[int, datetime | None]]:
    """Per brand with any: how many decisions no distillation has read yet, and when the oldest
    of them was made."""
    rows = await session.execute(
        select(Post.brand_id, func.count(), func.min(DraftDecision.at))
        .join(Post, Post.id == DraftDecision.post_id)
        .where(DraftDecision.learned_at.is_(None))
        .group_by(Post.brand_id)
        .order_by(Post.brand_id)
    )
    return {brand_id: (int(count or 0), oldest) for brand_id, count, oldest in rows}


async def mark_learned(session: AsyncSession, up_to_id: int, now: datetime, brand_id: int) -> None:
    await session.execute(
        update(DraftDecision)
        .where(
            DraftDecision.id <= up_to_id,
            DraftDecision.learned_at.is_(None),
            _of_brand(brand_id),
        )
        .values(learned_at=now)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Approval:
    """A draft's approval: what the drafter wrote, what went out, and who drafted it."""

    post_id: int
    drafted: str
    approved: str
    ai_drafted: bool
    at: datetime


async def approvals_between(
    session: AsyncSession, since: datetime, until: datetime, brand_id: int | None = None
) -> list[Approval]:
    """The approvals made in (since, until], one per post (its latest, should it have been
    cancelled and approved again), oldest first; only of ``brand_id``'s posts when given."""
    latest = (
        select(func.max(DraftDecision.id))
        .where(DraftDecision.kind == DecisionKind.APPROVED)
        .group_by(DraftDecision.post_id)
    )
    stmt = (
        select(DraftDecision)
        .where(
            DraftDecision.id.in_(latest),
            DraftDecision.at > since,
            DraftDecision.at <= until,
        )
        .order_by(DraftDecision.at, DraftDecision.id)
    )
    if brand_id is not None:
        stmt = stmt.where(_of_brand(brand_id))
    return [
        Approval(d.post_id, d.before or "", d.after or "", d.ai_drafted, d.at)
        for d in (await session.scalars(stmt)).all()
    ]


# --- learned preferences -----------------------------------------------------------------------


async def active_preferences(
    session: AsyncSession, brand_id: int = FIRST_BRAND_ID
) -> Sequence[LearnedPreference]:
    stmt = (
        select(LearnedPreference)
        .where(
            LearnedPreference.brand_id == brand_id,
            LearnedPreference.dropped_at.is_(None),
            LearnedPreference.replaced_at.is_(None),
        )
        .order_by(LearnedPreference.id)
    )
    return (await session.scalars(stmt)).all()


async def dropped_preferences(session: AsyncSession, limit: int, brand_id: int) -> list[str]:
    """The rules the brand's owners dropped, newest first: a distillation must not bring them
    back."""
    stmt = (
        select(LearnedPreference.text)
        .where(LearnedPreference.brand_id == brand_id, LearnedPreference.dropped_at.is_not(None))
        .order_by(LearnedPreference.dropped_at.desc(), LearnedPreference.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def replace_preferences(
    session: AsyncSession, texts: Iterable[str], *, source: str, now: datetime, brand_id: int
) -> None:
    """The distilled list becomes the brand's active one; its previous rules are marked
    replaced."""
    await session.execute(
        update(LearnedPreference)
        .where(
            LearnedPreference.brand_id == brand_id,
            LearnedPreference.dropped_at.is_(None),
            LearnedPreference.replaced_at.is_(None),
        )
        .values(replaced_at=now)
        .execution_options(synchronize_session=False)
    )
    session.add_all(
        LearnedPreference(brand_id=brand_id, text=text, source=source, created_at=now)
        for text in texts
    )
    await session.flush()


async def drop_preference(
    session: AsyncSession, preference_id: int, now: datetime, brand_id: int
) -> bool:
    """The owner's 🗑: False when the rule is already gone (dropped or replaced) or is another
    brand's."""
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(LearnedPreference)
        .where(
            LearnedPreference.id == preference_id,
            LearnedPreference.brand_id == brand_id,
            LearnedPreference.dropped_at.is_(None),
            LearnedPreference.replaced_at.is_(None),
        )
        .values(dropped_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


# --- posts that did well -----------------------------------------------------------------------

_PUBLISHED = (PostStatus.PUBLISHED, PostStatus.PARTIAL)

#: The brand the prompt's texts are read for: a parameter of the statement built once.
_BRAND = bindparam("brand_id", type_=Integer)


def _best_published(limit: int) -> Select[str, int]:
    """The texts of the brand's ``limit`` published posts with the most engagement, best first,
    each with its rank."""
    engagement = func.sum(Publication.likes + Publication.reposts + Publication.replies)
    order = (engagement.desc(), Post.id.desc())
    return (
        select(Post.text, func.row_number().over(order_by=order))
        .join(Publication, Publication.post_id == Post.id)
        .where(
            Post.status.in_(_PUBLISHED),
            Publication.status == PublicationStatus.PUBLISHED,
            Publication.metrics_at.is_not(None),
            Post.brand_id == _BRAND,
        )
        .group_by(Post.id, Post.text)
        .order_by(*order)
        .limit(limit)
    )


def _recent_published(limit: int) -> Select[str, int]:
    """The texts of the brand's ``limit`` latest published posts, newest first, each with its
    rank."""
    order = (Post.published_at.desc(), Post.id.desc())
    return (
        select(Post.text, func.row_number().over(order_by=order))
        .where(Post.status.in_(_PUBLISHED), Post.brand_id == _BRAND)
        .order_by(*order)
        .limit(limit)
    )


@dataclass(frozen=True)
class PromptTexts:
    """What a draft's prompt reads besides the brand voice and the targets."""

    #: The published posts with the most engagement (likes, reposts and replies over their
    #: targets, as last synced; only posts with synced metrics count), best last.
    best: list[str]
    #: The latest published posts, newest first.
    recent: list[str]
    #: The active learned preferences, oldest first.
    preferences: list[str]


_PROMPT_PARTS = ("best", "recent", "preferences")


@functools.cache
def _prompt_statement(limit: int) -> CompoundSelect[str, str, int]:
    """(kind, text, rank) rows of `prompt_texts`. Built once per ``limit``: building it (and
    its cache key, which SQLAlchemy then remembers on the statement) costs more than running
    it."""
    active = select(LearnedPreference.text, LearnedPreference.id).where(
        LearnedPreference.brand_id == _BRAND,
        LearnedPreference.dropped_at.is_(None),
        LearnedPreference.replaced_at.is_(None),
    )
    parts = (_best_published(limit), _recent_published(limit), active)
    return union_all(
        *(
            select(literal(kind, String), part.c[0], part.c[1])
            for kind, part in zip(_PROMPT_PARTS, (p.subquery() for p in parts), strict=True)
        )
    ).execution_options(**scope.bound_to("brand_id"))  # each part filters by the brand


async def prompt_texts(session: AsyncSession, limit: int, brand_id: int) -> PromptTexts:
    """The brand's ``limit`` best and latest published posts and its active preferences, read in
    one statement (every statement is a trip to the database and back; a brief is drafted on
    many)."""
    found: dict[str, list[tuple[int, str]]] = {kind: [] for kind in _PROMPT_PARTS}
    rows = await session.execute(_prompt_statement(limit), {"brand_id": brand_id})
    for kind, text, rank in rows.all():
        found[kind].append((rank, text))
    best, recent, preferences = ([text for _, text in sorted(found[k])] for k in _PROMPT_PARTS)
    return PromptTexts(best=best[::-1], recent=recent, preferences=preferences)
