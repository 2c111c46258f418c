"""insurance: each line of business a reserve run booked keeps the figures it booked
(`insurance_reserve_run_lines`), so a report of that date reads them back instead of working the return-shipping
line out again

Runs recorded before this migration get no line rows: their reports read as before (the medical line from the
run's row, the return-shipping line worked out from its append-only covers and claims).

Revision ID: 0051
Revises: 0050
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "insurance_reserve_run_lines",
        sa.Column("insurer_id", sa.String(64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("line", sa.String(32), nullable=False),
        sa.Column("policies", sa.Integer(), nullable=False),
        sa.Column("written", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("earned", sa.BigInteger(), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("case_reserve", sa.BigInteger(), nullable=False),
        sa.Column("ibnr", sa.BigInteger(), nullable=False),
        sa.Column("ibnr_bf", sa.BigInteger(), nullable=False),
        sa.Column("ibnr_method", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("insurer_id", "business_date", "line", name="pk_insurance_reserve_run_lines"),
    )


def downgrade() -> None:
    op.drop_table("insurance_reserve_run_lines")
