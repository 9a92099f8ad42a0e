"""Campaigns from /plan: posts planned together (``campaigns``), each post's campaign and planned
slot, and an index to find the post a reply to a preview steers.

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("planned_at", UTCDateTime(), nullable=True))
        batch.create_foreign_key(
            "fk_posts_campaign_id_campaigns",
            "campaigns",
            ["campaign_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index("ix_posts_campaign_id", "posts", ["campaign_id"])
    op.create_index("ix_posts_preview", "posts", ["preview_chat_id", "preview_message_id"])


def downgrade() -> None:
    op.drop_index("ix_posts_preview", table_name="posts")
    op.drop_index("ix_posts_campaign_id", table_name="posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_constraint("fk_posts_campaign_id_campaigns", type_="foreignkey")
        batch.drop_column("planned_at")
        batch.drop_column("campaign_id")
    op.drop_table("campaigns")
