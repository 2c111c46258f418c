"""fund distribution: non-money-market funds, NAV history, fund orders

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# (code, name, 中文, category, normal side)
CODES = [
    ("fund_purchases_pending", "Fund purchases awaiting confirmation", "在途申购款", "liability", "credit"),
    ("fund_redemptions_payable", "Fund redemption cash payable", "应付赎回款", "liability", "credit"),
    ("fund_units_redeeming", "Fund units redeemed, awaiting confirmation", "赎回冻结份额", "liability", "credit"),
]


def upgrade() -> None:
    op.create_table(
        "fund_products",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("risk", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("ledger", sa.String(length=16), nullable=False),
        sa.Column("fee_tiers", sa.Text(), nullable=False),
        sa.Column("redemption_fees", sa.Text(), nullable=False),
        sa.Column("redemption_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_fund_products"),
    )
    op.create_table(
        "fund_navs",
        sa.Column("fund_code", sa.String(length=8), nullable=False),
        sa.Column("nav_date", sa.String(length=10), nullable=False),
        sa.Column("nav", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("fund_code", "nav_date", name="pk_fund_navs"),
    )
    op.create_table(
        "fund_orders",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("fund_code", sa.String(length=8), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("fee_to_fund", sa.BigInteger(), nullable=False),
        sa.Column("nav", sa.BigInteger(), nullable=True),
        sa.Column("lots", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("trade_date", sa.String(length=10), nullable=False),
        sa.Column("confirm_date", sa.String(length=10), nullable=False),
        sa.Column("cash_date", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_fund_orders"),
    )
    op.create_index("ix_fund_orders_customer_id", "fund_orders", ["customer_id"], unique=False)
    op.create_index("ix_fund_orders_status", "fund_orders", ["status", "trade_date"], unique=False)
    op.create_table(
        "fund_lots",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("fund_code", sa.String(length=8), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("confirm_date", sa.String(length=10), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name="pk_fund_lots"),
    )
    op.create_index("ix_fund_lots_holder", "fund_lots", ["fund_code", "customer_id"], unique=False)
    op.create_table(
        "fund_eod_runs",
        sa.Column("business_date", sa.String(length=10), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("business_date", name="pk_fund_eod_runs"),
    )
    codes = sa.table("account_codes", *(sa.column(c) for c in ("code", "name", "name_zh", "category", "normal_side")))
    op.bulk_insert(codes, [dict(zip(("code", "name", "name_zh", "category", "normal_side"), row)) for row in CODES])


def downgrade() -> None:
    # The distributed funds' ledgers and accounts (fund.<code>.*) go with the products.
    op.execute("DELETE FROM transfers WHERE debit_account_id LIKE 'fund.%' OR credit_account_id LIKE 'fund.%'")
    op.execute("DELETE FROM accounts WHERE id LIKE 'fund.%'")
    op.execute("DELETE FROM ledgers WHERE code IN (SELECT ledger FROM fund_products)")
    codes = ", ".join(f"'{c[0]}'" for c in CODES)
    op.execute(f"DELETE FROM account_codes WHERE code IN ({codes})")
    op.drop_table("fund_eod_runs")
    op.drop_index("ix_fund_lots_holder", table_name="fund_lots")
    op.drop_table("fund_lots")
    op.drop_index("ix_fund_orders_status", table_name="fund_orders")
    op.drop_index("ix_fund_orders_customer_id", table_name="fund_orders")
    op.drop_table("fund_orders")
    op.drop_table("fund_navs")
    op.drop_table("fund_products")
