"""Leases name their holder: ``period_locks.holder`` is the process that took a lease
(``<worker name>#<incarnation>``, like ``publications.claimed_by``), so a process restarted after
a crash releases at once the token-renewal leases its killed incarnation held, instead of
leaving the account's renewals blocked until the lease runs out. Periods and the leases of
older versions have none.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("period_locks") as batch:
        batch.add_column(sa.Column("holder", sa.String(96), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("period_locks") as batch:
        batch.drop_column("holder")
