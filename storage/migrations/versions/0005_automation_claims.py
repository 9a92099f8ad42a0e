"""Automation that recovers exactly once: events get a claim (who holds them, until when, how
many times they were claimed), and posts made by an automation action carry its unique key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("lease_until", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("origin_key", sa.String(128), nullable=True))
    op.create_index("ix_posts_origin_key", "posts", ["origin_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_posts_origin_key", table_name="posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("origin_key")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("attempts")
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
