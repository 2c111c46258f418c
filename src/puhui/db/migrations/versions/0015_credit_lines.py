"""credit lines and buy-now-pay-later plans

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_lines",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("credit_limit", sa.BigInteger(), nullable=False),
        sa.Column("grade", sa.String(length=4), nullable=True),
        sa.Column("score", sa.String(length=16), nullable=True),
        sa.Column("annual_income", sa.BigInteger(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("expires_day", sa.Integer(), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_credit_lines"),
    )
    op.create_index("ux_credit_lines_customer_id", "credit_lines", ["customer_id"], unique=True)
    op.create_table(
        "credit_line_draws",
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("line_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("plan", sa.String(length=12), nullable=False),
        sa.Column("periods", sa.Integer(), nullable=False),
        sa.Column("annualized_rate", sa.String(length=16), nullable=False),
        sa.Column("request_key", sa.String(length=160), nullable=True),
        sa.Column("payment_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("loan_id", name="pk_credit_line_draws"),
    )
    op.create_index("ix_credit_line_draws_line_id", "credit_line_draws", ["line_id"], unique=False)
    op.create_index("ux_credit_line_draws_request_key", "credit_line_draws", ["request_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_credit_line_draws_request_key", table_name="credit_line_draws")
    op.drop_index("ix_credit_line_draws_line_id", table_name="credit_line_draws")
    op.drop_table("credit_line_draws")
    op.drop_index("ux_credit_lines_customer_id", table_name="credit_lines")
    op.drop_table("credit_lines")
