"""Brands, memberships, invites, the audit log and review votes on the real databases: the rules
a team relies on (a brand never loses its last owner, an invite works once and for 24 hours, a
reviewer's vote counts once per version)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import teams
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import FIRST_BRAND_ID, Post, Role, User
from storage.roles import Can, can, needs_review

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
OWNER, EDITOR, OTHER = 1001, 2002, 3003


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(database_url)
    await upgrade(engine)
    factory = make_session_factory(engine)
    async with factory() as session:
        session.add_all([User(id=OWNER), User(id=EDITOR), User(id=OTHER)])
        await teams.ensure_first_brand(session, [OWNER])
        await session.commit()
    yield factory
    await engine.dispose()


async def test_owners_from_settings_own_the_first_brand_and_stay_owners(sessions: Sessions) -> None:
    async with sessions() as session:
        assert await teams.role_in(session, FIRST_BRAND_ID, OWNER) is Role.OWNER
        session.add(teams.Membership(brand_id=FIRST_BRAND_ID, user_id=EDITOR, role=Role.OWNER))
        await session.flush()
        assert await teams.set_role(session, FIRST_BRAND_ID, OWNER, Role.VIEWER)
        await teams.ensure_first_brand(session, [OWNER])  # the next start
        assert await teams.role_in(session, FIRST_BRAND_ID, OWNER) is Role.OWNER


async def test_a_brand_never_loses_its_last_owner(sessions: Sessions) -> None:
    async with sessions() as session:
        assert not await teams.set_role(session, FIRST_BRAND_ID, OWNER, Role.EDITOR)
        assert not await teams.remove_member(session, FIRST_BRAND_ID, OWNER)
        assert await teams.role_in(session, FIRST_BRAND_ID, OWNER) is Role.OWNER


async def test_brand_names_are_unique_in_any_case_and_the_creator_owns_it(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        brand = await teams.create_brand(session, "Acme", EDITOR, "Europe/Berlin")
        assert brand is not None
        assert await teams.create_brand(session, "ACME", OTHER) is None
        seats = await teams.seats_of(session, EDITOR)
        assert [(s.brand.name, s.role) for s in seats] == [("Acme", Role.OWNER)]


async def test_the_current_brand_follows_switches_and_membership(sessions: Sessions) -> None:
    async with sessions() as session:
        acme = await teams.create_brand(session, "Acme", OWNER)
        assert acme is not None
        assert (await teams.current_seat(session, OWNER)).brand.id == FIRST_BRAND_ID  # type: ignore[union-attr]
        assert await teams.switch_brand(session, OWNER, acme.id) is not None
        assert (await teams.current_seat(session, OWNER)).brand.id == acme.id  # type: ignore[union-attr]
        assert await teams.switch_brand(session, OTHER, acme.id) is None  # not a member
        assert await teams.current_seat(session, OTHER) is None


async def test_an_invite_works_once_within_a_day(sessions: Sessions) -> None:
    async with sessions() as session:
        code = await teams.create_invite(session, FIRST_BRAND_ID, Role.EDITOR, OWNER, NOW)
        assert len(code) <= 64 and code.replace("-", "").replace("_", "").isalnum()
        await session.commit()
    async with sessions() as session:
        invite, role = await teams.redeem_invite(session, code, EDITOR, NOW + timedelta(hours=23))
        assert role is Role.EDITOR and invite.created_by == OWNER
        await session.commit()
    async with sessions() as session:
        with pytest.raises(teams.InviteRefused) as used:
            await teams.redeem_invite(session, code, OTHER, NOW + timedelta(hours=23))
        assert used.value.reason == "used"
        late = await teams.create_invite(session, FIRST_BRAND_ID, Role.VIEWER, OWNER, NOW)
        with pytest.raises(teams.InviteRefused) as expired:
            await teams.redeem_invite(session, late, OTHER, NOW + timedelta(hours=24))
        assert expired.value.reason == "expired"
        with pytest.raises(teams.InviteRefused) as unknown:
            await teams.redeem_invite(session, "not-a-code", OTHER, NOW)
        assert unknown.value.reason == "unknown"
        assert await teams.role_in(session, FIRST_BRAND_ID, OTHER) is None


async def test_two_people_opening_one_invite_at_once_let_one_in(sessions: Sessions) -> None:
    async with sessions() as session:
        code = await teams.create_invite(session, FIRST_BRAND_ID, Role.VIEWER, OWNER, NOW)
        await session.commit()

    async def join(user_id: int) -> bool:
        async with sessions() as session:
            try:
                await teams.redeem_invite(session, code, user_id, NOW)
                await session.commit()
                return True
            except teams.InviteRefused:
                return False
            except Exception:  # PostgreSQL serialisation / SQLite busy: also "not in"
                return False

    results = await asyncio.gather(join(EDITOR), join(OTHER))
    assert sorted(results) == [False, True]
    async with sessions() as session:
        joined = await teams.member_ids(session, FIRST_BRAND_ID, [Role.VIEWER])
        assert len(joined) == 1


async def test_an_invite_never_demotes_a_member(sessions: Sessions) -> None:
    async with sessions() as session:
        code = await teams.create_invite(session, FIRST_BRAND_ID, Role.VIEWER, OWNER, NOW)
        _invite, role = await teams.redeem_invite(session, code, OWNER, NOW)
        assert role is Role.OWNER


async def test_a_reviewer_votes_once_per_version(sessions: Sessions) -> None:
    async with sessions() as session:
        post = Post(author_id=EDITOR, brief="b", text="t")
        session.add(post)
        await session.flush()
        assert await teams.cast_vote(session, post.id, 1, OWNER, "approved")
        assert not await teams.cast_vote(session, post.id, 1, OWNER, "approved")
        assert await teams.cast_vote(session, post.id, 2, OWNER, "changes", "shorter")
        assert [v.decision for v in await teams.votes(session, post.id, 1)] == ["approved"]


async def test_the_audit_log_pages_newest_first_and_counts_activity(sessions: Sessions) -> None:
    async with sessions() as session:
        for n in range(5):
            await teams.record(
                session,
                FIRST_BRAND_ID,
                OWNER,
                "post.approve",
                f"post:{n}",
                at=NOW + timedelta(minutes=n),
            )
        await teams.record(session, FIRST_BRAND_ID, None, "post.publish", "post:4", at=NOW)
        page = await teams.audit_page(session, FIRST_BRAND_ID, limit=2)
        assert [e.subject for e in page] == ["post:4", "post:3"]
        assert await teams.audit_count(session, FIRST_BRAND_ID) == 6
        since = await teams.activity_since(session, FIRST_BRAND_ID, NOW + timedelta(minutes=1))
        assert since == {"post.approve": 4}


def test_each_role_grants_what_the_issue_says() -> None:
    assert all(can(Role.OWNER, c) for c in Can)
    assert {c for c in Can if can(Role.EDITOR, c)} == {Can.VIEW, Can.DRAFT}
    assert {c for c in Can if can(Role.REVIEWER, c)} == {Can.VIEW, Can.REVIEW}
    assert {c for c in Can if can(Role.VIEWER, c)} == {Can.VIEW}
    assert not can(None, Can.VIEW) and not can("admin", Can.VIEW)


def test_only_an_editor_needs_review_unless_the_brand_lets_editors_publish() -> None:
    strict, trusting = teams.Brand(editors_publish=False), teams.Brand(editors_publish=True)
    assert needs_review(Role.EDITOR, strict) and not needs_review(Role.EDITOR, trusting)
    assert not needs_review(Role.OWNER, strict) and not needs_review(Role.REVIEWER, strict)
