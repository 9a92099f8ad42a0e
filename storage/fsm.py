"""Rows of `fsm_states`: where each chat conversation stands, as plain values.

The aiogram side (`bot.fsm.DatabaseStorage`) maps aiogram's storage keys onto `FsmKey`;
this module knows nothing of aiogram. Data is a JSON object. Writes are a select and an update
or insert (no dialect-specific upsert, so SQLite and PostgreSQL share the path); a key is only
written under aiogram's per-chat event lock, so two writers of one key do not meet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FsmState


class FsmKey(NamedTuple):
    bot_id: int
    chat_id: int
    user_id: int
    thread_id: int = 0
    business_connection_id: str = ""
    destiny: str = "default"


class FsmValue(NamedTuple):
    state: str | None
    data: dict[str, Any]

    @property
    def empty(self) -> bool:
        return self.state is None and not self.data


EMPTY = FsmValue(None, {})


def _where(key: FsmKey) -> Any:
    return and_(*(getattr(FsmState, name) == value for name, value in key._asdict().items()))


async def load(session: AsyncSession, key: FsmKey) -> FsmValue:
    row = await session.scalar(select(FsmState).where(_where(key)))
    if row is None:
        return EMPTY
    return FsmValue(row.state, json.loads(row.data))


async def save(session: AsyncSession, key: FsmKey, value: FsmValue) -> None:
    """Store ``value`` for ``key`` (an empty value deletes the row); the caller commits."""
    if value.empty:
        await session.execute(delete(FsmState).where(_where(key)))
        return
    data = json.dumps(value.data, ensure_ascii=False, separators=(",", ":"))
    row = await session.scalar(select(FsmState).where(_where(key)))
    if row is None:
        session.add(FsmState(**key._asdict(), state=value.state, data=data))
    else:
        row.state, row.data = value.state, data
    await session.flush()


async def save_all(session: AsyncSession, values: Iterable[tuple[FsmKey, FsmValue]]) -> None:
    for key, value in values:
        await save(session, key, value)


def as_json_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as it will read back from the database (JSON round trip), or TypeError for a
    value that cannot be stored (say so when it is set, not at the next restart)."""
    return dict(json.loads(json.dumps(dict(data))))
