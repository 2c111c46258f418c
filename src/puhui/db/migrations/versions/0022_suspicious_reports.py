"""suspicious transaction reports (可疑交易报告), one per reported case, with their deadlines

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suspicious_reports",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=64), nullable=False),
        sa.Column("party_kind", sa.String(length=12), nullable=False),
        sa.Column("determined_on", sa.String(length=10), nullable=False),
        sa.Column("deadline", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_suspicious_reports"),
        sa.UniqueConstraint("case_id", name="uq_suspicious_reports_case_id"),
    )
    op.create_index("ix_suspicious_reports_status", "suspicious_reports", ["status", "deadline"])


def downgrade() -> None:
    op.drop_index("ix_suspicious_reports_status", table_name="suspicious_reports")
    op.drop_table("suspicious_reports")
