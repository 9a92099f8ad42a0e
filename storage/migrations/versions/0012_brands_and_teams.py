"""Teams and brands: brands, memberships with roles, invites, the audit log and reviews; every
brand-owned row gets a ``brand_id``, and what a single-brand install holds moves into brand 1.

Brand 1 takes the time zone and digest time of the first user who set them (they were per user
before). Its owners (NEXUS_OWNER_IDS) and its channel (NEXUS_CHANNEL) are settings, not data:
start-up makes them members and an account of brand 1 (``storage.teams.ensure_first_brand``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: Tables whose rows belong to a brand (all moved into brand 1).
BRAND_OWNED = (
    "accounts",
    "campaigns",
    "posts",
    "sources",
    "rules",
    "draft_jobs",
    "learned_preferences",
)


def upgrade() -> None:
    op.create_table(
        "brands",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("digest_at", sa.String(5), nullable=True),
        sa.Column("review_chat_id", sa.BigInteger(), nullable=True, unique=True),
        sa.Column("approvals_required", sa.Integer(), nullable=False, server_default="1"),
        sa.Column(
            "review_timeout_minutes", sa.Integer(), nullable=False, server_default=str(24 * 60)
        ),
        sa.Column("review_fallback", sa.String(16), nullable=False, server_default="remind"),
        sa.Column("editors_publish", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    brands = sa.table(
        "brands",
        sa.column("name", sa.String()),
        sa.column("timezone", sa.String()),
        sa.column("digest_at", sa.String()),
        sa.column("created_at", UTCDateTime()),
    )
    users = sa.table(
        "users",
        sa.column("id", sa.BigInteger()),
        sa.column("timezone", sa.String()),
        sa.column("digest_at", sa.String()),
    )

    def first_set(column: sa.ColumnClause[str]) -> sa.ScalarSelect[str]:
        """The value of the lowest-id user who set ``column``."""
        query = sa.select(column).where(column.is_not(None)).order_by(users.c.id).limit(1)
        return query.scalar_subquery()

    op.execute(
        brands.insert().from_select(
            ["name", "timezone", "digest_at", "created_at"],  # the first id: 1 (FIRST_BRAND_ID)
            sa.select(
                sa.literal("Main"),
                first_set(users.c.timezone),
                first_set(users.c.digest_at),
                sa.func.current_timestamp(),
            ),
        )
    )
    op.create_table(
        "memberships",
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("brand_id", "user_id"),
    )
    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_by", sa.BigInteger(), nullable=True),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_invites_brand_id", "invites", ["brand_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_audit_log_brand_at", "audit_log", ["brand_id", "at"])
    op.create_table(
        "review_votes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.BigInteger(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("post_id", "version", "reviewer_id", name="uq_review_votes_reviewer"),
    )
    op.create_index("ix_review_votes_post_id", "review_votes", ["post_id"])
    op.create_table(
        "review_messages",
        sa.Column("chat_id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("chat_id", "message_id"),
    )
    op.create_index("ix_review_messages_post_id", "review_messages", ["post_id"])

    for table in BRAND_OWNED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("brand_id", sa.Integer(), nullable=False, server_default="1")
            )
            batch.create_foreign_key(f"fk_{table}_brand_id_brands", "brands", ["brand_id"], ["id"])
        with op.batch_alter_table(table) as batch:  # new rows name their brand
            batch.alter_column("brand_id", server_default=None)
        op.create_index(f"ix_{table}_brand_id", table, ["brand_id"])
    with op.batch_alter_table("ai_usage") as batch:
        batch.add_column(sa.Column("brand_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_ai_usage_brand_id_brands", "brands", ["brand_id"], ["id"])
    op.create_index("ix_ai_usage_brand_id", "ai_usage", ["brand_id"])
    op.execute("UPDATE ai_usage SET brand_id = 1")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("current_brand_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_users_current_brand_id_brands",
            "brands",
            ["current_brand_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("submitted_by", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("review_due_at", UTCDateTime(), nullable=True))
    op.create_index("ix_posts_review_due_at", "posts", ["review_due_at"])


def downgrade() -> None:
    op.drop_index("ix_posts_review_due_at", table_name="posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("review_due_at")
        batch.drop_column("submitted_by")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("fk_users_current_brand_id_brands", type_="foreignkey")
        batch.drop_column("current_brand_id")
    for table in (*BRAND_OWNED, "ai_usage"):
        op.drop_index(f"ix_{table}_brand_id", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_brand_id_brands", type_="foreignkey")
            batch.drop_column("brand_id")
    op.drop_index("ix_review_messages_post_id", table_name="review_messages")
    op.drop_table("review_messages")
    op.drop_index("ix_review_votes_post_id", table_name="review_votes")
    op.drop_table("review_votes")
    op.drop_index("ix_audit_log_brand_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_invites_brand_id", table_name="invites")
    op.drop_table("invites")
    op.drop_table("memberships")
    op.drop_table("brands")
