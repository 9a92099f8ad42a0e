"""aiogram's FSM storage on our own `fsm_states` table: conversations survive restarts.

An owner mid-edit, typing a time or filling a form when Nexus restarts continues where they
were: the next message is still the edit. Rows are plain values (`storage.fsm`), on SQLite and
PostgreSQL alike.

Reads come from a write-through cache (the polling process is the only one that talks to the
chat, so it is the only writer); a miss reads the row. Writes made while an update is handled
are held until the update's handler returns (`DatabaseStorage.batch`, an outer middleware) and
then written in one transaction. This matters on SQLite, whose pool holds one connection: a
handler that has its session's transaction open and sets a state would otherwise wait for
itself. An update's state changes are stored before the next update of that chat is read
(aiogram's event lock covers the middleware). Writes outside an update are written at once.

Watchers (`on_state`) hear every state change of a key; `handlers.accounts` drops the
credentials held in memory when a connection form is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import fsm
from storage.fsm import FsmKey, FsmValue

#: Conversations kept in the cache; the others are read from the database when needed.
CACHED_KEYS = 4096

StateWatcher = Callable[[StorageKey, str | None], None]


def _key(key: StorageKey) -> FsmKey:
    return FsmKey(
        bot_id=key.bot_id,
        chat_id=key.chat_id,
        user_id=key.user_id,
        thread_id=key.thread_id or 0,
        business_connection_id=key.business_connection_id or "",
        destiny=key.destiny,
    )


class _Batch:
    def __init__(self) -> None:
        self.dirty: dict[FsmKey, FsmValue] = {}
        self.open = True


_batch: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar("fsm_batch", default=None)


class DatabaseStorage(BaseStorage):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._cache: OrderedDict[FsmKey, FsmValue] = OrderedDict()
        self._watchers: list[StateWatcher] = []
        self._handling = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def on_state(self, watcher: StateWatcher) -> None:
        """Call ``watcher(key, new_state)`` whenever a conversation's state changes."""
        self._watchers.append(watcher)

    # --- aiogram's interface ---------------------------------------------------------------

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        name = state.state if isinstance(state, State) else state
        current = await self._get(_key(key))
        if name != current.state:
            await self._put(_key(key), FsmValue(name, current.data))
            for watcher in self._watchers:
                watcher(key, name)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._get(_key(key))).state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        current = await self._get(_key(key))
        stored = fsm.as_json_data(data)
        if stored != current.data:
            await self._put(_key(key), FsmValue(current.state, stored))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._get(_key(key))).data)

    async def close(self) -> None:
        self._cache.clear()

    # --- cache, batch, database ------------------------------------------------------------

    async def _get(self, key: FsmKey) -> FsmValue:
        batch = _batch.get()
        if batch is not None and key in batch.dirty:
            return batch.dirty[key]
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        async with self.sessions() as session:
            value = await fsm.load(session, key)
        self._remember(key, value)
        return value

    async def _put(self, key: FsmKey, value: FsmValue) -> None:
        batch = _batch.get()
        if batch is not None and batch.open:
            batch.dirty[key] = value
            return
        await self._write({key: value})

    async def _write(self, values: Mapping[FsmKey, FsmValue]) -> None:
        async with self.sessions() as session:
            await fsm.save_all(session, values.items())
            await session.commit()
        for key, value in values.items():
            self._remember(key, value)

    def _remember(self, key: FsmKey, value: FsmValue) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > CACHED_KEYS:
            self._cache.popitem(last=False)

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Hold this update's writes until its handler is done, then write them together."""
        batch = _Batch()
        token = _batch.set(batch)
        self._handling += 1
        self._idle.clear()
        try:
            yield
        finally:
            _batch.reset(token)
            batch.open = False  # tasks started by the handler (copies of this context) write
            try:
                if batch.dirty:
                    await self._write(batch.dirty)
            finally:
                self._handling -= 1
                if not self._handling:
                    self._idle.set()

    async def idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until no update is being handled (aiogram does not
        wait for its handlers when polling stops: their state changes would be lost); whether
        it got there."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


class FsmWrites(BaseMiddleware):
    """Outer middleware on `dp.update`, outside the per-update database session: state changes
    of an update are written when its handler (and its session) is done."""

    def __init__(self, storage: DatabaseStorage) -> None:
        self.storage = storage

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self.storage.batch():
            return await handler(event, data)
