"""Scheduling: scheduled time, recurrence and evergreen on posts; claim leases on publications;
weekly slots; once-per-period locks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("scheduled_at", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("immediate", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("repeat_rule", sa.Text(), nullable=True))
        batch.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("occurrence", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(
            sa.Column("evergreen", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index("ix_posts_scheduled_at", ["scheduled_at"])
        batch.create_index("ix_posts_series_id", ["series_id"])
        batch.create_foreign_key("fk_posts_series_id_posts", "posts", ["series_id"], ["id"])
    # posts that were approved or mid-publishing under 0001 are scheduled now
    op.execute("UPDATE posts SET status = 'scheduled' WHERE status IN ('approved', 'publishing')")
    with op.batch_alter_table("publications") as batch:
        batch.add_column(sa.Column("claimed_at", UTCDateTime(), nullable=True))
        batch.create_index("ix_publications_next_attempt_at", ["next_attempt_at"])
    op.create_table(
        "slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "weekday", "minute", name="uq_slots_time"),
    )
    op.create_table(
        "period_locks",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("period_locks")
    op.drop_table("slots")
    with op.batch_alter_table("publications") as batch:
        batch.drop_index("ix_publications_next_attempt_at")
        batch.drop_column("claimed_at")
    with op.batch_alter_table("posts") as batch:
        batch.drop_constraint("fk_posts_series_id_posts", type_="foreignkey")
        batch.drop_index("ix_posts_series_id")
        batch.drop_index("ix_posts_scheduled_at")
        for column in ("evergreen", "occurrence", "series_id", "repeat_rule", "immediate"):
            batch.drop_column(column)
        batch.drop_column("scheduled_at")
