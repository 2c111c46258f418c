"""supply-chain finance: core enterprises, confirmed payables, receivable financing

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# (code, name, 中文, category, normal side)
CODES = [
    ("receivables_financed", "Receivables bought from suppliers (factoring)", "保理应收账款", "asset", "debit"),
    (
        "unearned_discount",
        "Unearned discount on financed receivables (contra-asset)",
        "未实现贴现利息",
        "asset",
        "credit",
    ),
    ("discount_income", "Discount interest income", "贴现利息收入", "income", "credit"),
]
# Platform accounts on CNY: flag 1 = debits must not exceed credits (a credit-normal balance).
PLATFORM = (("unearned_discount", 1), ("discount_income", 0))


def upgrade() -> None:
    op.create_table(
        "sc_core_enterprises",
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("credit_limit", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("discount_rate", sa.String(length=16), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", name="pk_sc_core_enterprises"),
    )
    op.create_table(
        "sc_receivables",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("core_id", sa.String(length=64), nullable=False),
        sa.Column("supplier_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_ref", sa.String(length=64), nullable=False),
        sa.Column("face", sa.BigInteger(), nullable=False),
        sa.Column("maturity_date", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("confirmed_at", sa.BigInteger(), nullable=False),
        sa.Column("financed_on", sa.String(length=10), nullable=True),
        sa.Column("discount_rate", sa.String(length=16), nullable=True),
        sa.Column("discount_days", sa.Integer(), nullable=True),
        sa.Column("discount", sa.BigInteger(), nullable=True),
        sa.Column("financed_at", sa.BigInteger(), nullable=True),
        sa.Column("overdue_since", sa.String(length=10), nullable=True),
        sa.Column("paid_to", sa.String(length=10), nullable=True),
        sa.Column("paid_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sc_receivables"),
        sa.UniqueConstraint("core_id", "invoice_ref", name="uq_sc_receivables_invoice"),
    )
    op.create_index("ix_sc_receivables_supplier_id", "sc_receivables", ["supplier_id"], unique=False)
    op.create_index("ix_sc_receivables_due", "sc_receivables", ["status", "maturity_date"], unique=False)
    codes = sa.table("account_codes", *(sa.column(c) for c in ("code", "name", "name_zh", "category", "normal_side")))
    accounts = sa.table(
        "accounts", *(sa.column(c) for c in ("id", "ledger", "code", "owner_id", "flags", "created_at"))
    )
    op.bulk_insert(codes, [dict(zip(("code", "name", "name_zh", "category", "normal_side"), row)) for row in CODES])
    op.bulk_insert(
        accounts,
        [
            {
                "id": f"platform.{code}.CNY",
                "ledger": "CNY",
                "code": code,
                "owner_id": "platform",
                "flags": flags,
                "created_at": 0,
            }
            for code, flags in PLATFORM
        ],
    )


def downgrade() -> None:
    ids = ", ".join(f"'platform.{code}.CNY'" for code, _ in PLATFORM)
    op.execute(f"DELETE FROM accounts WHERE id IN ({ids})")
    names = ", ".join(f"'{row[0]}'" for row in CODES)
    op.execute(f"DELETE FROM account_codes WHERE code IN ({names})")
    op.drop_index("ix_sc_receivables_due", table_name="sc_receivables")
    op.drop_index("ix_sc_receivables_supplier_id", table_name="sc_receivables")
    op.drop_table("sc_receivables")
    op.drop_table("sc_core_enterprises")
