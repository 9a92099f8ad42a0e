"""A rule's name is unique within its brand, not across brands: two brands may each have a
"release" rule (a rules file shared between brands imports into each). Webhook names stay unique
across brands: they are the webhook's URL.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: Names SQLite's unnamed constraints get while a batch copies the table.
CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_name() -> str:
    """The name of the unnamed UNIQUE (name) of 0003: PostgreSQL's own, or the convention's."""
    return "rules_name_key" if op.get_bind().dialect.name == "postgresql" else "uq_rules_name"


def upgrade() -> None:
    with op.batch_alter_table("rules", naming_convention=CONVENTION) as batch:
        batch.drop_constraint(_old_name(), type_="unique")
        batch.create_unique_constraint("uq_rules_brand_name", ["brand_id", "name"])


def downgrade() -> None:
    with op.batch_alter_table("rules", naming_convention=CONVENTION) as batch:
        batch.drop_constraint("uq_rules_brand_name", type_="unique")
        batch.create_unique_constraint(_old_name(), ["name"])
