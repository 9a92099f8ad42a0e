"""Brands and the people in them: memberships, the current brand of each user, single-use
invites, the audit log and review votes. Like every repository, nothing here commits.

Invite codes are random URL-safe tokens (they travel in a `/start <code>` deep link, at most 64
characters); only their SHA-256 is stored, and redeeming one is a single conditional UPDATE, so
two people opening the same link at once cannot both join.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, bindparam, delete, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    FIRST_BRAND_ID,
    AuditEntry,
    Brand,
    Invite,
    Membership,
    Post,
    ReviewMessage,
    ReviewVote,
    Role,
    User,
)

#: How long an invite link works.
INVITE_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Seat:
    """A user's place in a brand: the brand and their role in it; ``several``: they belong to
    more than one brand (so what they are shown names the brand)."""

    brand: Brand
    role: Role
    several: bool = False


# --- brands ------------------------------------------------------------------------------------


async def get_brand(session: AsyncSession, brand_id: int) -> Brand | None:
    return await session.get(Brand, brand_id)


async def brand_named(session: AsyncSession, name: str) -> Brand | None:
    return await session.scalar(select(Brand).where(func.lower(Brand.name) == name.lower()))


async def create_brand(
    session: AsyncSession, name: str, owner_id: int, timezone: str | None = None
) -> Brand | None:
    """A new brand owned by ``owner_id``; None when the name is taken (any case)."""
    if await brand_named(session, name) is not None:
        return None
    brand = Brand(name=name, timezone=timezone)
    try:
        async with session.begin_nested():
            session.add(brand)
            await session.flush()
    except IntegrityError:  # taken by a concurrent /brand new
        return None
    session.add(Membership(brand_id=brand.id, user_id=owner_id, role=Role.OWNER))
    await session.flush()
    return brand


async def set_timezone(session: AsyncSession, brand_id: int, timezone: str) -> None:
    """The brand's IANA time zone (already validated)."""
    await session.execute(update(Brand).where(Brand.id == brand_id).values(timezone=timezone))


async def brand_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Brand)) or 0)


async def ensure_first_brand(session: AsyncSession, owner_ids: Iterable[int]) -> None:
    """NEXUS_OWNER_IDS are owners of the first brand, whatever else changed: an upgrade from a
    single-brand install, a new id in the setting, or an owner an owner demoted by mistake."""
    for user_id in owner_ids:
        member = await session.get(Membership, (FIRST_BRAND_ID, user_id))
        if member is None:
            session.add(Membership(brand_id=FIRST_BRAND_ID, user_id=user_id, role=Role.OWNER))
        elif member.role != Role.OWNER:
            member.role = Role.OWNER
    await session.flush()


# --- members -----------------------------------------------------------------------------------


async def role_in(session: AsyncSession, brand_id: int, user_id: int) -> Role | None:
    role = await session.scalar(
        select(Membership.role).where(
            Membership.brand_id == brand_id, Membership.user_id == user_id
        )
    )
    return Role(role) if role is not None else None


#: The user's brands with their role in each, oldest brand first, and (on every row) the user's
#: own row, for `member_and_seat`: one statement where the session middleware used to take three.
_SEATS = (
    select(Brand, Membership.role, User)
    .select_from(Membership)
    .join(Brand, Brand.id == Membership.brand_id)
    .outerjoin(User, User.id == Membership.user_id)
    .where(Membership.user_id == bindparam("user_id", type_=Integer))
    .order_by(Brand.id)
)


async def _seats_and_user(session: AsyncSession, user_id: int) -> tuple[list[Seat], User | None]:
    found = (await session.execute(_SEATS, {"user_id": user_id})).all()
    seats = [Seat(brand, Role(role), len(found) > 1) for brand, role, _ in found]
    return seats, found[0][2] if found else None


async def seats_of(session: AsyncSession, user_id: int) -> list[Seat]:
    """Every brand the user is a member of, oldest brand first."""
    return (await _seats_and_user(session, user_id))[0]


async def member_and_seat(session: AsyncSession, user_id: int) -> tuple[User | None, Seat | None]:
    """The user's row (None for someone who belongs to no brand, or before their first message)
    and the brand their commands act in: the one they switched to while still a member of it,
    else their first brand (None: they belong to no brand). One statement: every update reads
    it. The row stays in the session as long as the caller holds it, so reading it again by id
    (`repositories.upsert_user`) costs nothing."""
    seats, user = await _seats_and_user(session, user_id)
    if user is not None and user.current_brand_id is not None:
        for seat in seats:
            if seat.brand.id == user.current_brand_id:
                return user, seat
    return user, seats[0] if seats else None


async def current_seat(session: AsyncSession, user_id: int) -> Seat | None:
    """The brand the user's commands act in (`member_and_seat`)."""
    return (await member_and_seat(session, user_id))[1]


async def switch_brand(session: AsyncSession, user_id: int, brand_id: int) -> Seat | None:
    """Make ``brand_id`` the user's current brand; None (and no change) if not a member."""
    role = await role_in(session, brand_id, user_id)
    brand = await get_brand(session, brand_id)
    if role is None or brand is None:
        return None
    await session.execute(update(User).where(User.id == user_id).values(current_brand_id=brand_id))
    return Seat(brand, role)


async def members(session: AsyncSession, brand_id: int) -> Sequence[Membership]:
    """The brand's members, owners first, then by when they joined."""
    rank = {role: n for n, role in enumerate(Role)}
    rows = (
        await session.scalars(
            select(Membership)
            .where(Membership.brand_id == brand_id)
            .order_by(Membership.created_at, Membership.user_id)
        )
    ).all()
    return sorted(rows, key=lambda m: rank.get(Role(m.role), len(rank)))


async def member_ids(
    session: AsyncSession, brand_id: int, roles: Iterable[Role] | None = None
) -> list[int]:
    """Ids of the brand's members (with one of ``roles``, when given), ascending."""
    query = select(Membership.user_id).where(Membership.brand_id == brand_id)
    if roles is not None:
        query = query.where(Membership.role.in_([str(r) for r in roles]))
    return list((await session.scalars(query.order_by(Membership.user_id))).all())


async def _owner_count(session: AsyncSession, brand_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.brand_id == brand_id, Membership.role == Role.OWNER)
        )
        or 0
    )


async def set_role(session: AsyncSession, brand_id: int, user_id: int, role: Role) -> bool:
    """Change a member's role; False (no change) if they are not a member, or if it would
    leave the brand without an owner."""
    member = await session.get(Membership, (brand_id, user_id), with_for_update=True)
    if member is None:
        return False
    if member.role == Role.OWNER and role != Role.OWNER:
        if await _owner_count(session, brand_id) <= 1:
            return False
    member.role = role
    await session.flush()
    return True


async def remove_member(session: AsyncSession, brand_id: int, user_id: int) -> bool:
    """Remove a member; False (no change) for a non-member or the brand's last owner."""
    member = await session.get(Membership, (brand_id, user_id), with_for_update=True)
    if member is None:
        return False
    if member.role == Role.OWNER and await _owner_count(session, brand_id) <= 1:
        return False
    await session.delete(member)
    await session.flush()
    return True


# --- invites -----------------------------------------------------------------------------------


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def create_invite(
    session: AsyncSession, brand_id: int, role: Role, created_by: int, now: datetime
) -> str:
    """A new single-use invite; returns the code (only its hash is stored)."""
    code = secrets.token_urlsafe(16)
    session.add(
        Invite(
            code_hash=_digest(code),
            brand_id=brand_id,
            role=role,
            created_by=created_by,
            created_at=now,
            expires_at=now + INVITE_TTL,
        )
    )
    await session.flush()
    return code


class InviteRefused(Exception):
    """Why an invite could not be used: ``reason`` is "unknown", "used" or "expired"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def redeem_invite(
    session: AsyncSession, code: str, user_id: int, now: datetime
) -> tuple[Invite, Role]:
    """Use an invite: the user joins its brand in its role (a member keeps the stronger of
    the two roles). Returns the invite and the role the user now has; raises `InviteRefused`."""
    invite = await session.scalar(select(Invite).where(Invite.code_hash == _digest(code)))
    if invite is None:
        raise InviteRefused("unknown")
    if invite.used_by is not None:
        raise InviteRefused("used")
    if invite.expires_at <= now:
        raise InviteRefused("expired")
    taken: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(Invite)
        .where(Invite.id == invite.id, Invite.used_by.is_(None))
        .values(used_by=user_id, used_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise InviteRefused("used")
    invited = Role(invite.role)
    member = await session.get(Membership, (invite.brand_id, user_id))
    if member is None:
        session.add(
            Membership(
                brand_id=invite.brand_id, user_id=user_id, role=invited, added_by=invite.created_by
            )
        )
        role = invited
    else:
        ranked = list(Role)  # OWNER first
        role = min(Role(member.role), invited, key=ranked.index)
        member.role = role
    await session.flush()
    return invite, role


# --- audit log ---------------------------------------------------------------------------------


async def record(
    session: AsyncSession,
    brand_id: int,
    actor_id: int | None,
    action: str,
    subject: str = "",
    detail: str = "",
    at: datetime | None = None,
) -> None:
    """Add one entry to the brand's audit log, in the caller's transaction (so a decision and
    its entry are stored together or not at all)."""
    entry = AuditEntry(
        brand_id=brand_id, actor_id=actor_id, action=action, subject=subject, detail=detail[:500]
    )
    if at is not None:
        entry.at = at
    session.add(entry)
    await session.flush()


async def audit_page(
    session: AsyncSession, brand_id: int, limit: int, offset: int = 0
) -> Sequence[AuditEntry]:
    """The brand's entries, newest first."""
    return (
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.brand_id == brand_id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()


async def audit_count(session: AsyncSession, brand_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.brand_id == brand_id)
        )
        or 0
    )


async def activity_since(session: AsyncSession, brand_id: int, since: datetime) -> dict[str, int]:
    """How many entries of each action the brand logged since ``since`` (the digest's line)."""
    rows = await session.execute(
        select(AuditEntry.action, func.count())
        .where(AuditEntry.brand_id == brand_id, AuditEntry.at >= since)
        .group_by(AuditEntry.action)
    )
    return {action: int(count) for action, count in rows}


# --- reviews -----------------------------------------------------------------------------------


async def cast_vote(
    session: AsyncSession,
    post_id: int,
    version: int,
    reviewer_id: int,
    decision: str,
    reason: str | None = None,
) -> bool:
    """Record a reviewer's answer to this version of the draft; False if they already
    answered it (a double tap, or a second device)."""
    try:
        async with session.begin_nested():
            session.add(
                ReviewVote(
                    post_id=post_id,
                    version=version,
                    reviewer_id=reviewer_id,
                    decision=decision,
                    reason=reason,
                )
            )
            await session.flush()
    except IntegrityError:
        return False
    return True


async def votes(session: AsyncSession, post_id: int, version: int) -> Sequence[ReviewVote]:
    """The answers to this version of the draft, in the order they came."""
    return (
        await session.scalars(
            select(ReviewVote)
            .where(ReviewVote.post_id == post_id, ReviewVote.version == version)
            .order_by(ReviewVote.at, ReviewVote.id)
        )
    ).all()


async def add_review_message(
    session: AsyncSession, post_id: int, chat_id: int, message_id: int
) -> None:
    session.add(ReviewMessage(post_id=post_id, chat_id=chat_id, message_id=message_id))
    await session.flush()


async def review_messages(session: AsyncSession, post_id: int) -> Sequence[ReviewMessage]:
    return (
        await session.scalars(select(ReviewMessage).where(ReviewMessage.post_id == post_id))
    ).all()


async def forget_review_messages(session: AsyncSession, post_id: int) -> None:
    await session.execute(delete(ReviewMessage).where(ReviewMessage.post_id == post_id))


# --- review groups -----------------------------------------------------------------------------


async def reviewing_in(session: AsyncSession, chat_id: int) -> Brand | None:
    """The brand whose review group ``chat_id`` is (bound with `/review here`), if any."""
    return await session.scalar(select(Brand).where(Brand.review_chat_id == chat_id))


# --- people ------------------------------------------------------------------------------------


async def people(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, User]:
    """The user rows of these ids (someone who never wrote to the bot has none)."""
    ids = set(user_ids)
    if not ids:
        return {}
    rows = await session.scalars(select(User).where(User.id.in_(ids)))
    return {user.id: user for user in rows}


async def invite_for(session: AsyncSession, code: str) -> Invite | None:
    """The invite a code names, used or not (to greet a member who opens a link they do not
    need without spending it)."""
    return await session.scalar(select(Invite).where(Invite.code_hash == _digest(code)))


async def record_post(
    session: AsyncSession, post_id: int, actor_id: int | None, action: str, detail: str = ""
) -> None:
    """`record` a decision about a post, in the post's brand (nothing for a post that is
    gone: the decision about it changes nothing either)."""
    brand_id = await session.scalar(select(Post.brand_id).where(Post.id == post_id))
    if brand_id is not None:
        await record(session, brand_id, actor_id, action, f"post:{post_id}", detail)


# --- brandjobs ---------------------------------------------------------------------------------


async def brand_to_name(session: AsyncSession, user_id: int, brand_id: int) -> Brand | None:
    """The brand a message about ``brand_id`` should name for ``user_id``: the brand when they
    belong to several (so they can tell which one it is about), else None (nothing changes for
    someone with a single brand)."""
    if len(await seats_of(session, user_id)) < 2:
        return None
    return await get_brand(session, brand_id)


async def names_of(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str]:
    """Each user's remembered name (users who never told theirs are left out)."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in rows if name}


async def review_wanted(session: AsyncSession, brand: Brand) -> bool:
    """Whether drafts that nobody approved by hand (automation's) wait for a reviewer: the
    brand has a review group, or someone in the reviewer role. A brand with neither (a single
    owner's) keeps approving its own drafts."""
    if brand.review_chat_id is not None:
        return True
    return bool(await member_ids(session, brand.id, [Role.REVIEWER]))


async def review_audience(session: AsyncSession, brand_id: int, submitter: int | None) -> list[int]:
    """Whose private chats get a draft's review card when the brand has no review group: its
    reviewers (never the submitter), or, with none, its owners."""
    for roles in ([Role.REVIEWER], [Role.OWNER]):
        found = [u for u in await member_ids(session, brand_id, roles) if u != submitter]
        if found:
            return found
    return []


async def brand_reviewing_in(session: AsyncSession, chat_id: int) -> Brand | None:
    """The brand whose review group ``chat_id`` is."""
    return await session.scalar(select(Brand).where(Brand.review_chat_id == chat_id))


async def bind_review_group(session: AsyncSession, brand_id: int, chat_id: int | None) -> bool:
    """Make ``chat_id`` the brand's review group (None unbinds); False (no change) when the
    group already reviews another brand. No commit."""
    if chat_id is not None:
        other = await brand_reviewing_in(session, chat_id)
        if other is not None and other.id != brand_id:
            return False
    await session.execute(update(Brand).where(Brand.id == brand_id).values(review_chat_id=chat_id))
    return True


async def votes_before(session: AsyncSession, post_id: int, version: int) -> bool:
    """Whether an earlier version of the draft was answered (an edit has voided those)."""
    found = await session.scalar(
        select(ReviewVote.id)
        .where(ReviewVote.post_id == post_id, ReviewVote.version < version)
        .limit(1)
    )
    return found is not None
