"""A session scoped to a brand (as every chat update's is) sees, counts and changes only that
brand's rows, on the real SQLite and PostgreSQL: another brand's post, account, publication or
slot is simply not there, whatever id is asked for; new rows land in the scoped brand; a session
no update scoped (a job's) still sees every brand."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage import scope, teams
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import FIRST_BRAND_ID, Account, Post, PostStatus, Publication, Slot, User

Sessions = async_sessionmaker[AsyncSession]
OWNER, OTHER = 1001, 3003


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(database_url)
    await upgrade(engine)
    factory = make_session_factory(engine)
    yield factory
    await engine.dispose()


async def two_brands(sessions: Sessions) -> tuple[int, int, int, int]:
    """Brand 1 and "Beta", each with a channel, a draft and a publication; their ids."""
    async with sessions() as session:
        session.add_all([User(id=OWNER), User(id=OTHER)])
        await teams.ensure_first_brand(session, [OWNER])
        beta = await teams.create_brand(session, "Beta", OTHER)
        assert beta is not None
        ids = []
        for brand_id, handle in ((FIRST_BRAND_ID, "@main"), (beta.id, "@beta")):
            account = Account(platform="telegram", handle=handle, brand_id=brand_id)
            post = Post(author_id=OWNER, brief=handle, text=handle, offline=True, brand_id=brand_id)
            session.add_all([account, post])
            await session.flush()
            session.add(Publication(post_id=post.id, account_id=account.id, text=handle))
            session.add(Slot(account_id=account.id, weekday=0, minute=600))
            ids.append(post.id)
        await session.commit()
        return FIRST_BRAND_ID, beta.id, ids[0], ids[1]


async def test_a_scoped_session_sees_only_its_brand(sessions: Sessions) -> None:
    _main, beta, main_post, beta_post = await two_brands(sessions)
    async with sessions() as session:
        scope.enter(session, beta)
        assert await repo.get_post(session, main_post) is None  # a forged id: not there
        assert (await repo.get_post(session, beta_post)) is not None
        assert [a.handle for a in await repo.enabled_accounts(session)] == ["@beta"]
        assert await repo.count_posts(session, [PostStatus.DRAFT]) == 1
        pubs = (await session.scalars(select(Publication))).all()
        assert [p.post_id for p in pubs] == [beta_post]
        assert list((await repo.slots_by_account(session)).values()) == [[(0, 600)]]
        rows = await session.scalar(
            select(func.count()).select_from(Publication).join(Post, Publication.post_id == Post.id)
        )
        assert rows == 1
    async with sessions() as session:  # a job's session: every brand
        assert await repo.count_posts(session, [PostStatus.DRAFT]) == 2
        assert len(await repo.enabled_accounts(session)) == 2


async def test_a_scoped_session_cannot_change_another_brands_rows(sessions: Sessions) -> None:
    _main, beta, main_post, _beta_post = await two_brands(sessions)
    async with sessions() as session:
        scope.enter(session, beta)
        changed = await session.execute(
            update(Post).where(Post.id == main_post).values(text="overwritten")
        )
        assert changed.rowcount == 0  # type: ignore[attr-defined]
        await repo.replace_slots(session, [a.id for a in await repo.all_accounts(session)], [])
        await session.commit()
    async with sessions() as session:
        post = await repo.get_post(session, main_post)
        assert post is not None and post.text == "@main"
        assert sum(len(s) for s in (await repo.slots_by_account(session)).values()) == 1


async def test_new_rows_and_the_voice_belong_to_the_scoped_brand(sessions: Sessions) -> None:
    _main, beta, _, _ = await two_brands(sessions)
    async with sessions() as session:
        scope.enter(session, beta)
        post = await repo.create_draft(
            session, author_id=OTHER, brief="beta news", text="beta news", offline=True
        )
        await repo.save_voice(session, tone="playful")
        await session.commit()
        assert post.brand_id == beta
    async with sessions() as session:
        voice = await repo.get_voice(session)  # unscoped: the first brand's, still empty
        assert voice is None or voice.tone == ""
        scope.enter(session, beta)
        beta_voice = await repo.get_voice(session)
        assert beta_voice is not None and beta_voice.tone == "playful"


async def test_an_account_belongs_to_one_brand(sessions: Sessions) -> None:
    main, beta, _, _ = await two_brands(sessions)
    async with sessions() as session:
        scope.enter(session, beta)
        assert await repo.account_brand(session, "telegram", "@main") == main
        assert await repo.account_brand(session, "telegram", "@beta") == beta
        assert await repo.account_brand(session, "telegram", "@nobody") is None


async def test_a_statement_bound_to_another_brand_does_not_run(sessions: Sessions) -> None:
    """The statements every brief runs filter by their brand themselves (`scope.bound_to`): in a
    session of another brand they raise instead of reading or changing anything."""
    main, beta, main_post, _beta_post = await two_brands(sessions)
    async with sessions() as session:  # a job's session: any brand's post
        post = await repo.get_post(session, main_post)
        assert post is not None
    async with sessions() as session:
        scope.enter(session, beta)
        assert [a.handle for a in await repo.enabled_accounts(session, beta)] == ["@beta"]
        with pytest.raises(scope.OtherBrand):
            await repo.enabled_accounts(session, main)
        with pytest.raises(scope.OtherBrand):
            await repo.set_preview(session, post, chat_id=OTHER, message_id=99)
        await session.rollback()
    async with sessions() as session:
        post = await repo.get_post(session, main_post)
        assert post is not None and post.preview_message_id is None
