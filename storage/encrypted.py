"""Every value stored encrypted with the vault, found by the ``ENCRYPTED`` marker on its column.

The registry is derived from the models, so a new encrypted column is rotated by `nexus
rotate-key` and verified by `nexus check` as soon as it carries ``info=ENCRYPTED``; a test holds
every secret-looking column to carrying it. Both walks run in the caller's transaction:
`rotate_all` changes nothing the caller does not commit, which is what makes a rotation atomic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.crypto import CryptoError, Vault
from storage.models import Base


@dataclass(frozen=True)
class EncryptedColumn:
    model: type[Base]
    attribute: str

    @property
    def table(self) -> str:
        return str(self.model.__table__.name)  # type: ignore[attr-defined]

    @property
    def label(self) -> str:
        return f"{self.table}.{self.attribute}"

    def column(self) -> InstrumentedAttribute[Any]:
        column: InstrumentedAttribute[Any] = getattr(self.model, self.attribute)
        return column


def encrypted_columns() -> list[EncryptedColumn]:
    """Every mapped column marked ``info=ENCRYPTED``, in a stable order."""
    found = [
        EncryptedColumn(mapper.class_, prop.key)
        for mapper in Base.registry.mappers
        for prop in mapper.column_attrs
        if any(column.info.get("encrypted") for column in prop.columns)
    ]
    return sorted(found, key=lambda c: c.label)


async def _stored(session: AsyncSession, target: EncryptedColumn) -> list[tuple[Any, str]]:
    primary_key = target.model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
    column = target.column()
    rows = await session.execute(
        select(primary_key, column).where(column.is_not(None)).order_by(primary_key)
    )
    return [(row_id, value) for row_id, value in rows if value]


async def unreadable_values(session: AsyncSession, vault: Vault) -> list[str]:
    """Where a stored value does not decrypt with `vault`, as "table #id column" lines."""
    problems = []
    for target in encrypted_columns():
        for row_id, value in await _stored(session, target):
            try:
                vault.decrypt(value)
            except CryptoError:
                problems.append(f"{target.table} #{row_id} {target.attribute}")
    return problems


async def count_values(session: AsyncSession) -> int:
    return sum([len(await _stored(session, target)) for target in encrypted_columns()])


async def rotate_all(session: AsyncSession, old: Vault, new: Vault) -> dict[str, int]:
    """Re-encrypt every stored value from `old` to `new` in the session's transaction (not
    committed). Raises CryptoError naming the first value `old` cannot open; the caller rolls
    back and nothing has changed. Returns how many values each column held."""
    counts: dict[str, int] = {}
    for target in encrypted_columns():
        primary_key = target.model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
        stored = await _stored(session, target)
        for row_id, value in stored:
            try:
                data = old.decrypt(value)
            except CryptoError as exc:
                raise CryptoError(f"{target.table} #{row_id} {target.attribute}: {exc}") from None
            await session.execute(
                update(target.model)
                .where(primary_key == row_id)
                .values({target.attribute: new.encrypt(data)})
                .execution_options(synchronize_session=False)
            )
        counts[target.label] = len(stored)
    return counts
