"""Queries and atomic state transitions. Repositories never commit: transactions belong to the
service layer that calls them.

Every status change is one conditional UPDATE (`WHERE id = :id AND status IN (:expected)`) checked
by its row count. That single rule makes double taps, retries and several workers safe: exactly one
caller wins each transition, the others learn they lost and change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Account,
    BrandVoice,
    PeriodLock,
    Post,
    PostStatus,
    Publication,
    PublicationStatus,
    Slot,
    User,
    utcnow,
)

VOICE_ROW_ID = 1


async def _conditional_update(
    session: AsyncSession,
    model: Any,
    row_id: int,
    expected: Iterable[str],
    values: dict[str, Any],
    *extra_conditions: Any,
) -> bool:
    stmt = (
        update(model)
        .where(model.id == row_id, model.status.in_([str(s) for s in expected]), *extra_conditions)
        .values(**values, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    result: CursorResult[Any] = await session.execute(stmt)  # type: ignore[assignment]
    return result.rowcount == 1


# --- users -------------------------------------------------------------------------------------


async def upsert_user(session: AsyncSession, user_id: int, language: str) -> tuple[User, bool]:
    """The user row, created on first contact; the language follows the Telegram client.
    Also says whether anything changed (so an unchanged user costs no commit)."""
    user = await session.get(User, user_id)
    if user is None:
        user = User(id=user_id, language=language)
        session.add(user)
        await session.flush()
        return user, True
    if user.language != language:
        user.language = language
        return user, True
    return user, False


# --- brand voice -------------------------------------------------------------------------------


async def get_voice(session: AsyncSession) -> BrandVoice | None:
    return await session.get(BrandVoice, VOICE_ROW_ID)


async def save_voice(session: AsyncSession, **fields: str) -> BrandVoice:
    voice = await get_voice(session)
    if voice is None:
        voice = BrandVoice(id=VOICE_ROW_ID)
        session.add(voice)
    for name, value in fields.items():
        setattr(voice, name, value)
    await session.flush()
    return voice


# --- accounts ----------------------------------------------------------------------------------


async def ensure_account(
    session: AsyncSession, platform: str, handle: str, title: str = ""
) -> Account:
    """The account for (platform, handle), created if missing."""
    account = await session.scalar(
        select(Account).where(Account.platform == platform, Account.handle == handle)
    )
    if account is None:
        account = Account(platform=platform, handle=handle, title=title or handle)
        session.add(account)
        await session.flush()
    return account


async def save_account(
    session: AsyncSession, platform: str, handle: str, title: str, credentials: str | None
) -> Account:
    """Connect an account (or reconnect it with new credentials), enabled."""
    account = await ensure_account(session, platform, handle, title)
    account.title, account.credentials, account.enabled = title, credentials, True
    await session.flush()
    return account


async def disconnect_account(session: AsyncSession, account_id: int) -> Account | None:
    """Forget an account's credentials and stop posting to it; its history stays."""
    account = await session.get(Account, account_id)
    if account is not None:
        account.credentials, account.enabled = None, False
    return account


async def enabled_accounts(session: AsyncSession) -> Sequence[Account]:
    return (
        await session.scalars(select(Account).where(Account.enabled).order_by(Account.id))
    ).all()


async def all_accounts(session: AsyncSession) -> Sequence[Account]:
    return (await session.scalars(select(Account).order_by(Account.id))).all()


# --- posts -------------------------------------------------------------------------------------


async def create_draft(
    session: AsyncSession,
    *,
    author_id: int,
    brief: str,
    text: str,
    offline: bool,
    origin: str | None = None,
) -> Post:
    post = Post(author_id=author_id, brief=brief, text=text, offline=offline, origin=origin)
    session.add(post)
    await session.flush()
    return post


async def get_post(session: AsyncSession, post_id: int) -> Post | None:
    return await session.get(Post, post_id, populate_existing=True)


async def list_posts(
    session: AsyncSession, statuses: Iterable[str], limit: int = 20, offset: int = 0
) -> Sequence[Post]:
    stmt = (
        select(Post)
        .where(Post.status.in_([str(s) for s in statuses]))
        .order_by(Post.updated_at.desc(), Post.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return (await session.scalars(stmt)).all()


async def scheduled_posts(session: AsyncSession, limit: int, offset: int = 0) -> Sequence[Post]:
    """Scheduled posts, soonest first."""
    stmt = (
        select(Post)
        .where(Post.status == PostStatus.SCHEDULED)
        .order_by(Post.scheduled_at, Post.id)
        .limit(limit)
        .offset(offset)
    )
    return (await session.scalars(stmt)).all()


async def set_user_timezone(session: AsyncSession, user_id: int, timezone: str) -> None:
    user = await session.get(User, user_id)
    if user is not None:
        user.timezone = timezone


async def count_posts(session: AsyncSession, statuses: Iterable[str]) -> int:
    stmt = select(func.count()).select_from(Post)
    stmt = stmt.where(Post.status.in_([str(s) for s in statuses]))
    return int(await session.scalar(stmt) or 0)


async def recent_published_texts(session: AsyncSession, limit: int = 3) -> list[str]:
    stmt = (
        select(Post.text)
        .where(Post.status.in_([PostStatus.PUBLISHED, PostStatus.PARTIAL]))
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def replace_draft_text(
    session: AsyncSession, post_id: int, version: int, text: str, *, offline: bool | None = None
) -> bool:
    """Set a draft's text if it is still a draft at the version the caller saw."""
    values: dict[str, Any] = {"text": text, "version": version + 1}
    if offline is not None:
        values["offline"] = offline
    return await transition_post(
        session, post_id, [PostStatus.DRAFT], PostStatus.DRAFT, at_version=version, **values
    )


async def set_preview(session: AsyncSession, post_id: int, chat_id: int, message_id: int) -> None:
    await session.execute(
        update(Post)
        .where(Post.id == post_id)
        .values(preview_chat_id=chat_id, preview_message_id=message_id)
        .execution_options(synchronize_session=False)
    )


async def transition_post(
    session: AsyncSession,
    post_id: int,
    expected: Iterable[str],
    new: str,
    *,
    at_version: int | None = None,
    **values: Any,
) -> bool:
    """Move a post from one of `expected` to `new` (only if still at `at_version`, if given);
    False if someone else moved or changed it first."""
    extra = [] if at_version is None else [Post.version == at_version]
    return await _conditional_update(
        session, Post, post_id, expected, {"status": new, **values}, *extra
    )


# --- slots -------------------------------------------------------------------------------------


async def slots_by_account(session: AsyncSession) -> dict[int, list[tuple[int, int]]]:
    rows = await session.execute(
        select(Slot.account_id, Slot.weekday, Slot.minute).order_by(Slot.weekday, Slot.minute)
    )
    result: dict[int, list[tuple[int, int]]] = {}
    for account_id, weekday, minute in rows:
        result.setdefault(account_id, []).append((weekday, minute))
    return result


async def replace_slots(
    session: AsyncSession, account_ids: Iterable[int], slots: Iterable[tuple[int, int]]
) -> None:
    """The given accounts' weekly slots become exactly `slots`."""
    ids = list(account_ids)
    await session.execute(delete(Slot).where(Slot.account_id.in_(ids)))
    session.add_all(Slot(account_id=a, weekday=w, minute=m) for a in ids for w, m in slots)
    await session.flush()


# --- once-per-period jobs --------------------------------------------------------------------


async def claim_period(session: AsyncSession, key: str) -> bool:
    """Claim a once-per-period run (e.g. "digest:2026-11-22"); only the first caller wins,
    whichever process or restart it comes from."""
    try:
        async with session.begin_nested():
            session.add(PeriodLock(key=key))
    except IntegrityError:
        return False
    return True


# --- publications ------------------------------------------------------------------------------


async def create_publications(
    session: AsyncSession, post: Post, accounts: Iterable[Account], *, due: datetime
) -> list[Publication]:
    """One pending publication per account, due at `due`."""
    pubs = [
        Publication(post_id=post.id, account_id=a.id, text=post.text, next_attempt_at=due)
        for a in accounts
    ]
    session.add_all(pubs)
    await session.flush()
    return pubs


async def publications_of(session: AsyncSession, post_id: int) -> Sequence[Publication]:
    stmt = (
        select(Publication)
        .where(Publication.post_id == post_id)
        .order_by(Publication.id)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).all()


async def transition_publication(
    session: AsyncSession, pub_id: int, expected: Iterable[str], new: str, **values: Any
) -> bool:
    """Move a publication from one of `expected` to `new`; False if someone else did first."""
    return await _conditional_update(
        session, Publication, pub_id, expected, {"status": new, **values}
    )


async def finish_publication(
    session: AsyncSession,
    pub_id: int,
    *,
    published: bool,
    external_id: str | None = None,
    part_ids: Sequence[str] = (),
    url: str | None = None,
    error: str | None = None,
    when: datetime | None = None,
) -> bool:
    """publishing → published or failed, with the outcome."""
    values: dict[str, Any] = {"last_error": error, "part_ids": ",".join(part_ids) or None}
    if published:
        new = PublicationStatus.PUBLISHED
        values |= {"external_id": external_id, "url": url, "published_at": when or utcnow()}
    else:
        new = PublicationStatus.FAILED
    return await transition_publication(
        session, pub_id, [PublicationStatus.PUBLISHING], new, **values
    )
