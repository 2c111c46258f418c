"""insurance: insurer remittance, commission and partner files

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    codes = sa.table("account_codes", *(sa.column(c) for c in ("code", "name", "name_zh", "category", "normal_side")))
    op.bulk_insert(
        codes,
        [
            {
                "code": "insurance_commission_income",
                "name": "Insurance agency commission income",
                "name_zh": "保险代理佣金收入",
                "category": "income",
                "normal_side": "credit",
            }
        ],
    )
    op.create_table(
        "insurer_settlement_terms",
        sa.Column("insurer_id", sa.String(64), nullable=False),
        sa.Column("commission_rate", sa.String(16), nullable=False),
        sa.Column("schedule_kind", sa.String(8), nullable=False),
        sa.Column("schedule_value", sa.Integer(), nullable=False),
        sa.Column("bank_name", sa.String(64), nullable=False),
        sa.Column("bank_account", sa.String(32), nullable=False),
        sa.Column("claims_float", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("insurer_id", name="pk_insurer_settlement_terms"),
    )
    op.create_table(
        "insurer_remittances",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("insurer_id", sa.String(64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("through", sa.Date(), nullable=False),
        sa.Column("premiums", sa.BigInteger(), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.Column("commission_rate", sa.String(16), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.Column("carried", sa.BigInteger(), nullable=False),
        sa.Column("remitted", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_insurer_remittances"),
        sa.UniqueConstraint("insurer_id", "through", name="uq_insurer_remittances_insurer_through"),
        sa.UniqueConstraint("insurer_id", "period_start", name="uq_insurer_remittances_insurer_period_start"),
    )


def downgrade() -> None:
    op.drop_table("insurer_remittances")
    op.drop_table("insurer_settlement_terms")
    op.execute("DELETE FROM account_codes WHERE code = 'insurance_commission_income'")
