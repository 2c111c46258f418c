"""insurance: insurance reserves and accounting — the insurer's sub-ledger account codes (UPR, earned
premium, claims paid, case and IBNR reserves), daily reserve figures and insurers' ratios

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

CODES = (
    ("insurer_premium_receivable", "Insurer's premiums receivable from the platform", "应收保费", "asset", "debit"),
    ("insurer_upr", "Insurer's unearned premium reserve", "未到期责任准备金", "liability", "credit"),
    ("insurer_earned_premium", "Insurer's earned premium", "已赚保费", "income", "credit"),
    ("insurer_claims_paid", "Insurer's claims paid", "赔付支出", "expense", "debit"),
    ("insurer_case_reserve", "Insurer's reserve for reported claims", "未决赔款准备金", "liability", "credit"),
    (
        "insurer_ibnr_reserve",
        "Insurer's reserve for claims incurred but not reported",
        "IBNR准备金",
        "liability",
        "credit",
    ),
    ("insurer_reserve_expense", "Insurer's provision for claim reserves", "提取未决赔款准备金", "expense", "debit"),
)


def upgrade() -> None:
    codes = sa.table("account_codes", *(sa.column(c) for c in ("code", "name", "name_zh", "category", "normal_side")))
    op.bulk_insert(
        codes,
        [dict(zip(("code", "name", "name_zh", "category", "normal_side"), row, strict=True)) for row in CODES],
    )
    op.create_table(
        "insurance_reserve_runs",
        sa.Column("insurer_id", sa.String(64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("policies", sa.Integer(), nullable=False),
        sa.Column("written", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("earned", sa.BigInteger(), nullable=False),
        sa.Column("upr", sa.BigInteger(), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("case_reserve", sa.BigInteger(), nullable=False),
        sa.Column("ibnr", sa.BigInteger(), nullable=False),
        sa.Column("ibnr_bf", sa.BigInteger(), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("insurer_id", "business_date", name="pk_insurance_reserve_runs"),
    )
    op.create_table(
        "insurer_reserve_terms",
        sa.Column("insurer_id", sa.String(64), nullable=False),
        sa.Column("expected_loss_ratio", sa.String(12), nullable=False),
        sa.Column("commission_ratio", sa.String(12), nullable=False),
        sa.Column("expense_ratio", sa.String(12), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("insurer_id", name="pk_insurer_reserve_terms"),
    )


def downgrade() -> None:
    op.drop_table("insurer_reserve_terms")
    op.drop_table("insurance_reserve_runs")
    codes = [row[0] for row in CODES]
    op.execute(
        sa.text("DELETE FROM account_codes WHERE code IN :codes").bindparams(
            sa.bindparam("codes", codes, expanding=True)
        )
    )
