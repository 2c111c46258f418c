"""securities: each brokerage account's assets at a trading day's close (日终资产), taken by clearing, for
the ChiNext/STAR permissions' 20-trading-day average (前20个交易日日均资产)

Revision ID: 0043
Revises: 0042
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "securities_daily_assets",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("trade_day", sa.Date(), nullable=False),
        sa.Column("cash", sa.BigInteger(), nullable=False),
        sa.Column("market_value", sa.BigInteger(), nullable=False),
        sa.Column("taken_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "trade_day"),
    )


def downgrade() -> None:
    op.drop_table("securities_daily_assets")
