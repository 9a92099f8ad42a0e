"""Queries and atomic state transitions. Repositories never commit: transactions belong to the
service layer that calls them.

Every status change is one conditional UPDATE (`WHERE id = :id AND status IN (:expected)`) checked
by its row count. That single rule makes double taps, retries and several workers safe: exactly one
caller wins each transition, the others learn they lost and change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    Integer,
    Row,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from storage import scope
from storage.models import (
    FIRST_BRAND_ID,
    Account,
    AiUsage,
    BrandVoice,
    Campaign,
    Event,
    PeriodLock,
    Post,
    PostMedia,
    PostStatus,
    PostVariant,
    Publication,
    Slot,
    User,
    utcnow,
)

T = TypeVar("T")


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


async def upsert_user(
    session: AsyncSession, user_id: int, language: str, name: str | None = None
) -> tuple[User, bool]:
    """The user row, created on first contact; the language (and the name, when given) follow
    the Telegram client. Also says whether anything changed (so an unchanged user costs no
    commit)."""
    name = name[:64] if name else None
    user = await session.get(User, user_id)
    if user is None:
        user = User(id=user_id, language=language, name=name)
        session.add(user)
        await session.flush()
        return user, True
    changed = False
    if user.language != language:
        user.language = language
        changed = True
    if name is not None and user.name != name:
        user.name = name
        changed = True
    return user, changed


# --- brand voice -------------------------------------------------------------------------------


def _brand(session: AsyncSession, brand_id: int | None = None) -> int:
    """``brand_id``, else the session's brand (unscoped: the first brand)."""
    if brand_id is not None:
        return brand_id
    scoped = scope.brand_of(session)
    return FIRST_BRAND_ID if scoped is None else scoped


#: Statements every draft runs, built once (with bound parameters) rather than per call: building
#: and keying a statement costs more than SQLite takes to run it (bench/bot_loop.py).
#: They filter by their brand themselves (`scope.bound_to`).
_BRAND = bindparam("brand_id", type_=Integer)
_VOICE = (
    select(BrandVoice)
    .where(BrandVoice.id == _BRAND)  # a brand's voice row has the brand's id
    .execution_options(**scope.bound_to("brand_id"))
)
_ENABLED_ACCOUNTS = (
    select(Account)
    .where(Account.enabled, Account.brand_id == _BRAND)
    .order_by(Account.id)
    .execution_options(**scope.bound_to("brand_id"))
)
_SET_PREVIEW = (
    update(Post)
    .where(
        Post.id == bindparam("post_id", type_=Integer),
        Post.brand_id == bindparam("post_brand", type_=Integer),  # a column's name is taken
    )
    .values(
        preview_chat_id=bindparam("chat_id", type_=BigInteger),
        preview_message_id=bindparam("message_id", type_=BigInteger),
    )
    .execution_options(synchronize_session=False, **scope.bound_to("post_brand"))
)


async def get_voice(session: AsyncSession, brand_id: int | None = None) -> BrandVoice | None:
    found = await session.scalars(_VOICE, {"brand_id": _brand(session, brand_id)})
    return found.first()


async def save_voice(session: AsyncSession, **fields: str) -> BrandVoice:
    voice = await get_voice(session)
    if voice is None:
        voice = BrandVoice(id=_brand(session))
        session.add(voice)
    for name, value in fields.items():
        setattr(voice, name, value)
    await session.flush()
    return voice


# --- accounts ----------------------------------------------------------------------------------


async def ensure_account(
    session: AsyncSession, platform: str, handle: str, title: str = ""
) -> Account:
    """The account for (platform, handle), created if missing. Two processes starting together
    may both create it: the unique constraint lets one win, the other reads the winner's row."""
    found = select(Account).where(Account.platform == platform, Account.handle == handle)
    account = await session.scalar(found)
    if account is not None:
        return account
    try:
        async with session.begin_nested():
            account = Account(platform=platform, handle=handle, title=title or handle)
            session.add(account)
    except IntegrityError:
        account = await session.scalar(found)
        assert account is not None
    return account


async def save_account(
    session: AsyncSession,
    platform: str,
    handle: str,
    title: str,
    credentials: str | None,
    *,
    token_expires_at: datetime | None = None,
) -> Account:
    """Connect an account (or reconnect it with new credentials), enabled and healthy."""
    account = await ensure_account(session, platform, handle, title)
    account.title, account.credentials, account.enabled = title, credentials, True
    account.token_expires_at, account.last_error = token_expires_at, None
    await session.flush()
    return account


async def store_credentials(session: AsyncSession, account_id: int, credentials: str) -> None:
    """Keep credentials a platform renewed (a rotated refresh token must not be lost)."""
    await session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(credentials=credentials, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def set_account_health(
    session: AsyncSession, account_id: int, **values: datetime | str | None
) -> None:
    """Record what upkeep learnt of an account: ``token_expires_at``, ``last_error``,
    ``checked_at``."""
    await session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(**values, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def disconnect_account(session: AsyncSession, account_id: int) -> Account | None:
    """Forget an account's credentials and stop posting to it; its history stays."""
    account = await session.get(Account, account_id)
    if account is not None:
        account.credentials, account.enabled = None, False
    return account


async def enabled_accounts(session: AsyncSession, brand_id: int | None = None) -> Sequence[Account]:
    """The enabled accounts: of ``brand_id`` when given (a job's unscoped session sees every
    brand's, and a brand never publishes to another's channel), else of the session's brand."""
    if brand_id is not None:
        return (await session.scalars(_ENABLED_ACCOUNTS, {"brand_id": brand_id})).all()
    query = select(Account).where(Account.enabled).order_by(Account.id)
    return (await session.scalars(query)).all()


async def all_accounts(session: AsyncSession) -> Sequence[Account]:
    return (await session.scalars(select(Account).order_by(Account.id))).all()


# --- posts -------------------------------------------------------------------------------------


#: On the tables, not the mapped classes: an ORM-enabled INSERT goes through the ORM's bulk
#: machinery, whose work `_as_loaded` does here for one row.
_POSTS = cast(Table, Post.__table__)
_VARIANTS = cast(Table, PostVariant.__table__)
_INSERT_POST = insert(_POSTS).returning(*_POSTS.c)
_INSERT_VARIANTS = insert(_VARIANTS).returning(*_VARIANTS.c)


def _as_loaded(session: AsyncSession, model: type[T], row: Row[Any]) -> T:
    """The row of ``model`` as a query would have loaded it: in the session, unchanged."""
    instance = model(**row._mapping)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


async def create_draft(
    session: AsyncSession,
    *,
    author_id: int,
    brief: str,
    text: str,
    offline: bool,
    origin: str | None = None,
    origin_key: str | None = None,
    campaign_id: int | None = None,
    planned_at: datetime | None = None,
    variants: Sequence[tuple[Account, str]] | None = None,
    brand_id: int | None = None,
) -> Post:
    """A new draft of ``brand_id`` (None: the session's brand). Given its ``variants`` (target
    account, text), they are inserted with it and the post comes back whole (its variants, no
    media, no publications), as `get_post` would load it, without reading it back.

    Two INSERT … RETURNING statements, each row made an object as a query would load it: the
    unit of work's flush of the same objects costs three times as much, and every brief makes
    a draft."""
    row = (
        await session.execute(
            _INSERT_POST,
            {
                "brand_id": _brand(session, brand_id),
                "author_id": author_id,
                "brief": brief,
                "text": text,
                "offline": offline,
                "origin": origin,
                "origin_key": origin_key,
                "campaign_id": campaign_id,
                "planned_at": planned_at,
            },
        )
    ).one()
    post = _as_loaded(session, Post, row)
    if variants is None:
        return post
    accounts = {account.id: account for account, _ in variants}
    rows: Sequence[Row[Any]] = ()
    if variants:
        params = [{"post_id": post.id, "account_id": a.id, "text": text} for a, text in variants]
        rows = (await session.execute(_INSERT_VARIANTS, params)).all()
    loaded = sorted((_as_loaded(session, PostVariant, r) for r in rows), key=_by_account)
    for variant in loaded:
        set_committed_value(variant, "account", accounts[variant.account_id])
        set_committed_value(variant, "post", post)
    set_committed_value(post, "variants", loaded)
    set_committed_value(post, "media", [])
    set_committed_value(post, "publications", [])
    return post


def _by_account(variant: PostVariant) -> int:
    return variant.account_id


async def latest_draft(session: AsyncSession, author_id: int) -> Post | None:
    """The author's most recently changed draft (where a photo sent on its own goes)."""
    stmt = (
        select(Post)
        .where(Post.author_id == author_id, Post.status == PostStatus.DRAFT)
        .order_by(Post.updated_at.desc(), Post.id.desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def post_by_preview(session: AsyncSession, chat_id: int, message_id: int) -> Post | None:
    """The post whose preview (or record) is that message: what a reply to it is about."""
    stmt = select(Post).where(
        Post.preview_chat_id == chat_id, Post.preview_message_id == message_id
    )
    return (await session.scalars(stmt)).first()


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


async def count_posts(session: AsyncSession, statuses: Iterable[str]) -> int:
    stmt = select(func.count()).select_from(Post)
    stmt = stmt.where(Post.status.in_([str(s) for s in statuses]))
    return int(await session.scalar(stmt) or 0)


async def replace_draft_text(
    session: AsyncSession,
    post_id: int,
    version: int,
    text: str,
    *,
    offline: bool | None = None,
    status: str = PostStatus.DRAFT,
) -> bool:
    """Set a draft's text if it is still a draft (or under review, with ``status``) at the
    version the caller saw."""
    values: dict[str, Any] = {"text": text, "version": version + 1}
    if offline is not None:
        values["offline"] = offline
    return await transition_post(session, post_id, [status], status, at_version=version, **values)


async def set_preview(session: AsyncSession, post: Post, chat_id: int, message_id: int) -> None:
    """Make (chat_id, message_id) the post's preview message."""
    params = {"post_id": post.id, "post_brand": post.brand_id, "chat_id": chat_id}
    await session.execute(_SET_PREVIEW, {**params, "message_id": message_id})


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


# --- variants and media ------------------------------------------------------------------------


async def save_variants(session: AsyncSession, post_id: int, texts: dict[int, str]) -> None:
    """Replace a post's variants with ``texts`` (account id → text), keeping each target's
    on/off choice; the variants count as not edited by hand."""
    rows = await session.execute(
        select(PostVariant.account_id, PostVariant.enabled).where(PostVariant.post_id == post_id)
    )
    enabled = {account_id: on for account_id, on in rows}
    await session.execute(delete(PostVariant).where(PostVariant.post_id == post_id))
    session.add_all(
        PostVariant(
            post_id=post_id, account_id=account_id, text=text, enabled=enabled.get(account_id, True)
        )
        for account_id, text in texts.items()
    )
    await session.flush()


async def unedited_variants(session: AsyncSession, post_id: int) -> Sequence[PostVariant]:
    stmt = select(PostVariant).where(PostVariant.post_id == post_id, PostVariant.edited.is_(False))
    return (await session.scalars(stmt)).all()


async def update_variant(
    session: AsyncSession, post_id: int, account_id: int, **values: Any
) -> bool:
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(PostVariant)
        .where(PostVariant.post_id == post_id, PostVariant.account_id == account_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def bump_draft(session: AsyncSession, post_id: int, version: int) -> bool:
    """Mark a draft as changed (its version grows) if it is still a draft at ``version``."""
    return await transition_post(
        session,
        post_id,
        [PostStatus.DRAFT],
        PostStatus.DRAFT,
        at_version=version,
        version=version + 1,
    )


async def add_media(session: AsyncSession, post_id: int, **fields: Any) -> PostMedia:
    """Attach an image after the post's last one (positions may have gaps after a removal)."""
    last = await session.scalar(
        select(func.max(PostMedia.position)).where(PostMedia.post_id == post_id)
    )
    media = PostMedia(post_id=post_id, position=0 if last is None else last + 1, **fields)
    session.add(media)
    await session.flush()
    return media


async def remove_media(
    session: AsyncSession, post_id: int, media_ids: Iterable[int] | None = None
) -> int:
    """Detach images ``media_ids`` (all of them if None) from a post; how many went. The
    files stay: they are shared by content with other posts, published ones included."""
    stmt = delete(PostMedia).where(PostMedia.post_id == post_id)
    if media_ids is not None:
        stmt = stmt.where(PostMedia.id.in_(list(media_ids)))
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        stmt.execution_options(synchronize_session=False)
    )
    return result.rowcount


async def copy_attachments(session: AsyncSession, source_id: int, target_id: int) -> None:
    """Give a copy of a post (the next occurrence of a series) the same variants and images."""
    for variant in await session.scalars(
        select(PostVariant).where(PostVariant.post_id == source_id)
    ):
        session.add(
            PostVariant(
                post_id=target_id,
                account_id=variant.account_id,
                text=variant.text,
                enabled=variant.enabled,
                edited=variant.edited,
            )
        )
    for media in await session.scalars(select(PostMedia).where(PostMedia.post_id == source_id)):
        session.add(
            PostMedia(
                post_id=target_id,
                position=media.position,
                path=media.path,
                mime=media.mime,
                width=media.width,
                height=media.height,
                size=media.size,
                telegram_file_id=media.telegram_file_id,
            )
        )
    await session.flush()


async def media_paths(session: AsyncSession, post_ids: Iterable[int]) -> dict[int, list[str]]:
    """post id → its images' paths (relative to the data dir), in order."""
    rows = await session.execute(
        select(PostMedia.post_id, PostMedia.path)
        .where(PostMedia.post_id.in_(list(post_ids)))
        .order_by(PostMedia.post_id, PostMedia.position)
    )
    found: dict[int, list[str]] = {}
    for post_id, path in rows:
        found.setdefault(post_id, []).append(path)
    return found


# --- AI usage ----------------------------------------------------------------------------------


async def record_ai_usage(session: AsyncSession, **fields: Any) -> None:
    session.add(AiUsage(**fields))


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


async def take_lease(
    session: AsyncSession, key: str, now: datetime, ttl: timedelta, *, holder: str | None = None
) -> bool:
    """Take the lease ``key`` (e.g. "refresh:3") unless another holder took it less than ``ttl``
    ago; a holder that died is overtaken once its lease has run out. ``holder`` names the taker
    (``<worker name>#<incarnation>``: see :func:`release_leases_of_earlier`). Commit at once,
    and :func:`release_lease` with the same ``now`` when done."""
    try:
        async with session.begin_nested():
            session.add(PeriodLock(key=key, created_at=now, holder=holder))
        return True
    except IntegrityError:
        pass
    overtaken: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(PeriodLock)
        .where(PeriodLock.key == key, PeriodLock.created_at < now - ttl)
        .values(created_at=now, holder=holder)
    )
    return overtaken.rowcount == 1


async def release_leases_of_earlier(
    session: AsyncSession, key_prefix: str, name: str, current: str
) -> list[str]:
    """Release at once the leases (keys starting with ``key_prefix``) held by earlier
    incarnations of the worker ``name`` (holders ``<name>#…`` other than ``current``), and
    return their keys. Only for a process that knows those incarnations are dead: one that
    holds its name's slot (`storage.backup.RunLock`), as at start-up."""
    held_by_earlier = (
        PeriodLock.key.startswith(key_prefix, autoescape=True),
        PeriodLock.holder.startswith(f"{name}#", autoescape=True),
        PeriodLock.holder != current,
    )
    keys = list(await session.scalars(select(PeriodLock.key).where(*held_by_earlier)))
    if keys:
        await session.execute(
            delete(PeriodLock)
            .where(PeriodLock.key.in_(keys), *held_by_earlier)
            .execution_options(synchronize_session=False)
        )
    return keys


async def release_lease(session: AsyncSession, key: str, taken_at: datetime) -> None:
    """Give the lease back (unless it ran out and someone else holds it now)."""
    await session.execute(
        delete(PeriodLock).where(PeriodLock.key == key, PeriodLock.created_at == taken_at)
    )


async def forget_periods(session: AsyncSession, prefix: str, before: datetime) -> None:
    """Remove the claims of a frequent job (keys starting with `prefix`) made before `before`:
    a once-a-minute job must not fill the table."""
    await session.execute(
        delete(PeriodLock)
        .where(PeriodLock.key.startswith(prefix, autoescape=True), PeriodLock.created_at < before)
        .execution_options(synchronize_session=False)
    )


# --- publications ------------------------------------------------------------------------------


async def create_publications(
    session: AsyncSession, post: Post, accounts: Iterable[Account], *, due: datetime
) -> list[Publication]:
    """One pending publication per account, due at `due`, with the post's variant for that
    account (its main text where it has none); targets switched off for this post are left
    out."""
    variants = {
        v.account_id: v
        for v in await session.scalars(select(PostVariant).where(PostVariant.post_id == post.id))
    }
    pubs = [
        Publication(
            post_id=post.id,
            account_id=a.id,
            text=variants[a.id].text if a.id in variants else post.text,
            next_attempt_at=due,
        )
        for a in accounts
        if a.id not in variants or variants[a.id].enabled
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
    session: AsyncSession,
    pub_id: int,
    expected: Iterable[str],
    new: str,
    *conditions: Any,
    **values: Any,
) -> bool:
    """Move a publication from one of `expected` to `new` (where `conditions` also hold);
    False if someone else moved it first."""
    return await _conditional_update(
        session, Publication, pub_id, expected, {"status": new, **values}, *conditions
    )


# --- campaigns -----------------------------------------------------------------------------------


async def create_campaign(session: AsyncSession, title: str, plan: str) -> Campaign:
    campaign = Campaign(title=title, plan=plan)
    session.add(campaign)
    await session.flush()
    return campaign


async def get_campaign(session: AsyncSession, campaign_id: int) -> Campaign | None:
    return await session.get(Campaign, campaign_id, populate_existing=True)


async def transition_campaign(
    session: AsyncSession, campaign_id: int, expected: str, new: str
) -> bool:
    """``expected`` → ``new``, for exactly one caller (a double tap loses)."""
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == expected)
        .values(status=new)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def recent_campaigns(
    session: AsyncSession, statuses: Iterable[str], limit: int, brand_id: int | None = None
) -> Sequence[Campaign]:
    """The latest campaigns in one of ``statuses`` (of ``brand_id`` when given)."""
    stmt = (
        select(Campaign)
        .where(
            Campaign.status.in_(list(statuses)),
            true() if brand_id is None else Campaign.brand_id == brand_id,
        )
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def recent_events(session: AsyncSession, since: datetime, limit: int) -> Sequence[Event]:
    """Events (webhooks, feed items) received since `since`, newest first."""
    stmt = (
        select(Event)
        .where(Event.received_at >= since)
        .order_by(Event.received_at.desc(), Event.id.desc())
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


# --- brands ------------------------------------------------------------------------------------


async def account_brand(session: AsyncSession, platform: str, handle: str) -> int | None:
    """The brand an account (platform, handle) is connected to, whichever it is; None if no
    brand has it (an account belongs to one brand)."""
    return await session.scalar(
        select(Account.brand_id)
        .where(Account.platform == platform, Account.handle == handle)
        .execution_options(**scope.EVERY_BRAND)
    )
