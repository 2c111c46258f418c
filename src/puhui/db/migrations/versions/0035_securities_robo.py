"""securities: robo-advice executed as trades (智能投顾执行): subscriptions, runs and daily marks

Revision ID: 0035
Revises: 0034
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "securities_robo_subscriptions",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("level", sa.String(2), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("threshold", sa.String(12), nullable=False),
        sa.Column("start_prices", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "securities_robo_runs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("order_ids", sa.JSON(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_securities_robo_runs_customer_id", "securities_robo_runs", ["customer_id"])
    op.create_table(
        "securities_robo_marks",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("prices", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "day"),
    )


def downgrade() -> None:
    op.drop_index("ix_securities_robo_runs_customer_id", table_name="securities_robo_runs")
    for table in ("securities_robo_marks", "securities_robo_runs", "securities_robo_subscriptions"):
        op.drop_table(table)
