"""Claims name their worker: ``publications.claimed_by`` holds the id of the process that claimed
a publication (a stable name plus a random incarnation), so a restarted process recognises its
own dead claims at once; ``claimed_at`` is the claim's last heartbeat.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("publications") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(96), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("publications") as batch:
        batch.drop_column("claimed_by")
