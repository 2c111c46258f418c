"""monitor: last flow per party (dormancy) and lenders' related parties (self-financing)

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_parties",
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=64), nullable=False),
        sa.Column("last_at", sa.BigInteger(), nullable=False),
        sa.Column("woke_at", sa.BigInteger(), nullable=True),
        sa.Column("dormant_for", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "party", name="pk_monitor_parties"),
    )
    op.create_table(
        "regtech_related_parties",
        sa.Column("lender", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=64), nullable=False),
        sa.Column("relation", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("lender", "party", name="pk_regtech_related_parties"),
    )


def downgrade() -> None:
    op.drop_table("regtech_related_parties")
    op.drop_table("monitor_parties")
