"""securities: brokerage accounts, instruments, orders and the exchange simulator's persisted books

Revision ID: 0033
Revises: 0032
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

CODES = [
    ("securities_cash", "Customers' brokerage cash", "客户交易结算资金", "liability", "credit"),
    ("securities_cash_frozen", "Customers' brokerage cash frozen for open orders", "冻结资金", "liability", "credit"),
    ("securities_commission_income", "Brokerage commission income", "佣金收入", "income", "credit"),
    ("securities_stamp_duty_payable", "Stamp duty withheld on sells", "应交印花税", "liability", "credit"),
    ("securities_transfer_fee_payable", "Transfer fee withheld for the registry", "应付过户费", "liability", "credit"),
    ("securities_shares_issued", "Shares deposited with the broker", "证券登记托管", "asset", "debit"),
    ("securities_shares_held", "Shares held by a customer", "客户持有证券", "liability", "credit"),
    ("securities_shares_frozen", "Shares frozen under sell orders", "冻结证券", "liability", "credit"),
]
TABLES = (
    "securities_positions",
    "securities_executions",
    "securities_orders",
    "securities_transfers",
    "securities_accounts",
    "securities_instruments",
)


def upgrade() -> None:
    codes = sa.table("account_codes", *(sa.column(c) for c in ("code", "name", "name_zh", "category", "normal_side")))
    op.bulk_insert(
        codes, [dict(zip(("code", "name", "name_zh", "category", "normal_side"), c, strict=True)) for c in CODES]
    )
    op.create_table(
        "securities_instruments",
        sa.Column("code", sa.String(6), nullable=False),
        sa.Column("exchange", sa.String(4), nullable=False),
        sa.Column("board", sa.String(8), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.Column("st", sa.Boolean(), nullable=False),
        sa.Column("previous_close", sa.BigInteger(), nullable=False),
        sa.Column("last_price", sa.BigInteger(), nullable=True),
        sa.Column("book_version", sa.String(32), nullable=False),
        sa.Column("book_moment", sa.BigInteger(), nullable=True),
        sa.Column("order_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_securities_instruments"),
    )
    op.create_table(
        "securities_accounts",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("suitability_level", sa.String(4), nullable=True),
        sa.Column("chinext", sa.Boolean(), nullable=False),
        sa.Column("star", sa.Boolean(), nullable=False),
        sa.Column("commission_rate", sa.String(12), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_securities_accounts"),
    )
    op.create_table(
        "securities_transfers",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(4), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_securities_transfers"),
        sa.UniqueConstraint("customer_id", "client_id", name="uq_securities_transfers_customer_client"),
    )
    op.create_table(
        "securities_orders",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(6), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=True),
        sa.Column("protect", sa.BigInteger(), nullable=True),
        sa.Column("rest_price", sa.BigInteger(), nullable=True),
        *(
            sa.Column(name, sa.BigInteger(), nullable=False)
            for name in (
                "quantity",
                "filled",
                "cancelled",
                "value",
                "frozen_cash",
                "frozen_shares",
                "commission",
                "stamp_duty",
                "transfer_fee",
            )
        ),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("trade_day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_securities_orders"),
        sa.UniqueConstraint("customer_id", "client_id", name="uq_securities_orders_customer_client"),
    )
    op.create_index("ix_securities_orders_open", "securities_orders", ["code", "status", "seq"])
    op.create_index("ix_securities_orders_customer", "securities_orders", ["customer_id", "created_at"])
    op.create_table(
        "securities_executions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(6), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("trade_day", sa.Date(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_securities_executions"),
    )
    op.create_index("ix_securities_executions_holder", "securities_executions", ["customer_id", "code", "trade_day"])
    op.create_table(
        "securities_positions",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(6), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "code", name="pk_securities_positions"),
    )


def downgrade() -> None:
    op.drop_index("ix_securities_executions_holder", table_name="securities_executions")
    op.drop_index("ix_securities_orders_customer", table_name="securities_orders")
    op.drop_index("ix_securities_orders_open", table_name="securities_orders")
    for table in TABLES:
        op.drop_table(table)
    names = ", ".join(f"'{c[0]}'" for c in CODES)
    op.execute(f"DELETE FROM account_codes WHERE code IN ({names})")
