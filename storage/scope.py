"""A session's brand: what a chat update's session reads, changes and creates stays in the brand
the member acts in.

The session middleware scopes each update's session to the member's current brand
(`enter`). From then on, SQLAlchemy's global-criteria hook (the documented multi-tenancy recipe,
`with_loader_criteria`) filters every ORM SELECT, UPDATE and DELETE: a brand-owned table by its
``brand_id``, and a table whose rows belong to such a row by its owner (a post's variants,
images, publications, decisions and review votes; an account's slots and follower counts; a
source's events; a rule's runs). Every brand-owned row the session inserts without a brand is
given the session's. So a handler cannot see, list, count or change another brand's rows,
whatever the ids in a (forged) button say: another brand's row is simply "not there".
Relationship loads of a row already in scope are left alone (they are its brand's by
construction).

A statement built once for speed (the ones every brief runs) may filter by its brand itself,
through a bound parameter, and say so (`bound_to`): the session's brand is then checked against
that parameter, and a statement run for another brand raises `OtherBrand` instead of running;
no criteria are added to it (keying eighteen criteria anew on every run cost a third of such a
statement).

Sessions that no update scoped (the scheduler's, automation's, start-up's) see every brand; the
jobs that run per brand say which brand they work for themselves.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.orm.util import LoaderCriteriaOption

from storage.models import (
    Account,
    AccountSnapshot,
    AiUsage,
    Campaign,
    DraftDecision,
    DraftJob,
    Event,
    LearnedPreference,
    Post,
    PostMedia,
    PostVariant,
    Publication,
    ReviewMessage,
    ReviewVote,
    Rule,
    RuleRun,
    Slot,
    Source,
)

#: Tables whose rows belong to one brand (a ``brand_id`` column, NOT NULL).
BRAND_OWNED: tuple[type[Any], ...] = (
    Account,
    Campaign,
    Post,
    Source,
    Rule,
    DraftJob,
    LearnedPreference,
)

#: Tables whose rows belong to a post, and to an account.
BY_POST: tuple[type[Any], ...] = (
    PostVariant,
    PostMedia,
    Publication,
    DraftDecision,
    ReviewVote,
    ReviewMessage,
)
BY_ACCOUNT: tuple[type[Any], ...] = (Slot, AccountSnapshot)

#: Rows stamped with the session's brand when created without one (never filtered: ``brand_id``
#: is nullable there, install-wide work has none).
STAMPED: tuple[type[Any], ...] = (*BRAND_OWNED, AiUsage)

_KEY = "brand_id"
_SHOWN = "brand_shown"
_EVERY_BRAND = "every_brand"

_BOUND = "brand_bound"


class OtherBrand(Exception):
    """A statement bound to one brand (`bound_to`) ran in a session scoped to another."""


def bound_to(parameter: str) -> dict[str, str]:
    """Execution options of a statement that filters every brand-owned table it reads or
    changes by the brand in its bound ``parameter``: see the module's docstring."""
    return {_BOUND: parameter}


#: Execution options of a query that must look past the session's brand: only to tell whether a
#: name that is unique across brands is taken (a webhook's URL, an account), never to show a row.
EVERY_BRAND = {_EVERY_BRAND: True}


def enter(session: AsyncSession | Session, brand_id: int, shown: str | None = None) -> None:
    """Scope ``session`` to ``brand_id`` (again, after a /brand switch); ``shown`` is the brand's
    name when the member has more than one brand, so what they see says which one it is."""
    session.info[_KEY] = brand_id
    session.info[_SHOWN] = shown


def shown_name(session: AsyncSession | Session) -> str | None:
    """The brand name the preview, card and reports of this session carry (None: the member
    has one brand, nothing to tell apart)."""
    value = session.info.get(_SHOWN)
    return str(value) if value is not None else None


def brand_of(session: AsyncSession | Session) -> int | None:
    """The brand ``session`` is scoped to; None for an unscoped (job's) session."""
    value = session.info.get(_KEY)
    return int(value) if value is not None else None


@functools.lru_cache(maxsize=1024)
def _criteria(brand_id: int) -> tuple[LoaderCriteriaOption, ...]:
    """The brand's filter on every brand-owned table, and on the tables whose rows belong to a
    post, an account, a source or a rule of the brand; built once per brand (building them is
    most of what scoping a query costs)."""
    return tuple(_build(brand_id))


def _build(brand_id: int) -> Iterator[LoaderCriteriaOption]:

    def option(model: type[Any], where: Callable[[Any], Any]) -> LoaderCriteriaOption:
        return with_loader_criteria(
            model, where, include_aliases=True, track_closure_variables=True
        )

    posts = select(Post.id).where(Post.brand_id == brand_id)
    accounts = select(Account.id).where(Account.brand_id == brand_id)
    for model in BRAND_OWNED:
        yield option(model, lambda cls: cls.brand_id == brand_id)
    for model in BY_POST:
        yield option(model, lambda cls: cls.post_id.in_(posts))
    for model in BY_ACCOUNT:
        yield option(model, lambda cls: cls.account_id.in_(accounts))
    yield option(
        Event, lambda cls: cls.source_id.in_(select(Source.id).where(Source.brand_id == brand_id))
    )
    yield option(
        RuleRun, lambda cls: cls.rule_id.in_(select(Rule.id).where(Rule.brand_id == brand_id))
    )


@event.listens_for(Session, "do_orm_execute")
def _only_the_brand(state: ORMExecuteState) -> None:
    brand_id = state.session.info.get(_KEY)
    if brand_id is None or state.is_column_load or state.is_relationship_load:
        return
    if state.execution_options.get(_EVERY_BRAND):
        return
    bound = state.execution_options.get(_BOUND)
    if bound is not None:
        given = state.parameters.get(bound) if isinstance(state.parameters, dict) else None
        if given != brand_id:
            raise OtherBrand(f"a statement of brand {given} in a session of brand {brand_id}")
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = _scoped(state.statement, brand_id)


#: statement → brand → the statement with the brand's criteria (`_scoped`).
_SCOPED: weakref.WeakKeyDictionary[Any, dict[int, Any]] = weakref.WeakKeyDictionary()


def _scoped(statement: Any, brand_id: int) -> Any:
    """``statement`` with the brand's criteria, made once per statement object and brand.

    A statement built once at import (with bound parameters) then stays one object per brand,
    and SQLAlchemy keeps its cache key on it: generating the key walks the whole statement with
    its eighteen criteria, most of what a scoped query costs. Statements built per call are
    scoped per call as before, and their entries go with them (weak keys)."""
    per_brand = _SCOPED.get(statement)
    if per_brand is None:
        per_brand = _SCOPED[statement] = {}
    scoped = per_brand.get(brand_id)
    if scoped is None:
        scoped = per_brand[brand_id] = statement.options(*_criteria(brand_id))
    return scoped


@event.listens_for(Session, "before_flush")
def _stamp_new_rows(session: Session, _context: Any, _instances: Any) -> None:
    brand_id = session.info.get(_KEY)
    if brand_id is None:
        return
    for row in session.new:
        if isinstance(row, STAMPED) and row.brand_id is None:
            row.brand_id = brand_id


async def post_brand(session: AsyncSession, post_id: int) -> int | None:
    """The brand of post ``post_id``, whichever brand ``session`` is in (None: no such post): a
    button that names a post of another of the member's brands (a review card in their own
    chat) is answered in that post's brand, once their role there allows it."""
    query = select(Post.brand_id).where(Post.id == post_id).execution_options(**EVERY_BRAND)
    return await session.scalar(query)
