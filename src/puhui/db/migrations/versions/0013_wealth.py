"""wealth: money-market funds, units ledgers, the manager's daily figures, orders, end-of-day runs

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# (code, name, 中文, category, normal side)
CODES = [
    ("fund_units_held", "Fund units held by a customer", "客户持有基金份额", "liability", "credit"),
    ("fund_units_issued", "Fund units issued (outstanding)", "基金已发行份额", "asset", "debit"),
    ("fund_income_residue", "Rounding residue of distributed fund income", "收益分配尾差", "liability", "credit"),
    ("fund_portfolio", "Fund portfolio returns (money-market instruments)", "基金投资组合收益", "asset", "debit"),
]
# The platform's money-market fund, seeded so a fresh platform can take orders.
FUND = {"code": "PH0001", "name": "普惠宝货币市场基金", "ledger": "FUND:PH0001", "status": "open", "created_at": 0}
FUND_ACCOUNTS = [  # (id, ledger, code)
    ("mmf.PH0001.issued", "FUND:PH0001", "fund_units_issued"),
    ("mmf.PH0001.residue", "FUND:PH0001", "fund_income_residue"),
    ("mmf.PH0001.assets", "CNY", "fund_assets"),
    ("mmf.PH0001.portfolio", "CNY", "fund_portfolio"),
]


def upgrade() -> None:
    op.create_table(
        "mmf_funds",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("ledger", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_mmf_funds"),
    )
    op.create_table(
        "mmf_daily",
        sa.Column("fund_code", sa.String(length=8), nullable=False),
        sa.Column("business_date", sa.String(length=10), nullable=False),
        sa.Column("income_per_10k", sa.BigInteger(), nullable=False),
        sa.Column("seven_day_yield", sa.String(length=16), nullable=True),
        sa.Column("holders", sa.Integer(), nullable=True),
        sa.Column("units", sa.BigInteger(), nullable=True),
        sa.Column("distributed", sa.BigInteger(), nullable=True),
        sa.Column("residue", sa.BigInteger(), nullable=True),
        sa.Column("distributed_at", sa.BigInteger(), nullable=True),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("fund_code", "business_date", name="pk_mmf_daily"),
    )
    op.create_table(
        "mmf_orders",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("fund_code", sa.String(length=8), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("trade_date", sa.String(length=10), nullable=False),
        sa.Column("due_date", sa.String(length=10), nullable=False),
        sa.Column("payment_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_mmf_orders"),
    )
    op.create_index("ix_mmf_orders_customer_id", "mmf_orders", ["customer_id"], unique=False)
    op.create_index("ix_mmf_orders_status", "mmf_orders", ["status", "due_date"], unique=False)
    op.create_table(
        "mmf_eod_runs",
        sa.Column("fund_code", sa.String(length=8), nullable=False),
        sa.Column("business_date", sa.String(length=10), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("fund_code", "business_date", name="pk_mmf_eod_runs"),
    )
    codes = sa.table("account_codes", *(sa.column(c) for c in ("code", "name", "name_zh", "category", "normal_side")))
    op.bulk_insert(codes, [dict(zip(("code", "name", "name_zh", "category", "normal_side"), row)) for row in CODES])
    ledgers = sa.table("ledgers", *(sa.column(c) for c in ("code", "name", "kind", "scale")))
    op.bulk_insert(ledgers, [{"code": FUND["ledger"], "name": f"{FUND['name']} units", "kind": "asset", "scale": 2}])
    funds = sa.table("mmf_funds", *(sa.column(c) for c in FUND))
    op.bulk_insert(funds, [FUND])
    accounts = sa.table(
        "accounts", *(sa.column(c) for c in ("id", "ledger", "code", "owner_id", "flags", "created_at"))
    )
    op.bulk_insert(
        accounts,
        [
            {"id": i, "ledger": ledger, "code": code, "owner_id": "fund.PH0001", "flags": 0, "created_at": 0}
            for i, ledger, code in FUND_ACCOUNTS
        ],
    )


def downgrade() -> None:
    op.execute(
        "DELETE FROM transfers WHERE ledger LIKE 'FUND:%' OR debit_account_id LIKE 'mmf.%'"
        " OR credit_account_id LIKE 'mmf.%'"
    )
    op.execute("DELETE FROM accounts WHERE ledger LIKE 'FUND:%' OR id LIKE 'mmf.%'")
    op.execute("DELETE FROM ledgers WHERE code LIKE 'FUND:%'")
    codes = ", ".join(f"'{c[0]}'" for c in CODES)
    op.execute(f"DELETE FROM account_codes WHERE code IN ({codes})")
    op.drop_table("mmf_eod_runs")
    op.drop_index("ix_mmf_orders_status", table_name="mmf_orders")
    op.drop_index("ix_mmf_orders_customer_id", table_name="mmf_orders")
    op.drop_table("mmf_orders")
    op.drop_table("mmf_daily")
    op.drop_table("mmf_funds")
