"""risk features: customer profiles

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_profiles",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("as_of", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_risk_profiles"),
    )


def downgrade() -> None:
    op.drop_table("risk_profiles")
