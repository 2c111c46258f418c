"""insurance: insurers on the ledger (保费待划转), product versions as data, medical policies and the
hash-chained record of every sale (回溯)

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    codes = sa.table("account_codes", *(sa.column(c) for c in ("code", "name", "name_zh", "category", "normal_side")))
    op.bulk_insert(
        codes,
        [
            {
                "code": "insurer_premium_held",
                "name": "Premiums collected and held for the insurer",
                "name_zh": "保费待划转",
                "category": "liability",
                "normal_side": "credit",
            }
        ],
    )
    op.create_table(
        "insurers",
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", name="pk_insurers"),
    )
    op.create_table(
        "insurance_products",
        sa.Column("code", sa.String(48), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("insurer_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code", "version", name="pk_insurance_products"),
    )
    op.create_table(
        "insurance_policies",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("product_code", sa.String(48), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("insurer_id", sa.String(64), nullable=False),
        sa.Column("insured_age", sa.Integer(), nullable=False),
        sa.Column("social_insurance", sa.Boolean(), nullable=False),
        sa.Column("premium", sa.BigInteger(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("refund", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("cancelled_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_insurance_policies"),
        sa.UniqueConstraint("customer_id", "client_id", name="uq_insurance_policies_customer_client"),
    )
    op.create_table(
        "insurance_sales",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("product_code", sa.String(48), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("disclosure_sha256", sa.String(64), nullable=False),
        sa.Column("confirmations", sa.Text(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_insurance_sales"),
        sa.UniqueConstraint("policy_id", name="uq_insurance_sales_policy_id"),
        sa.UniqueConstraint("prev_hash", name="uq_insurance_sales_prev_hash"),
    )
    op.create_index("ix_insurance_sales_product", "insurance_sales", ["product_code", "product_version"])


def downgrade() -> None:
    op.drop_index("ix_insurance_sales_product", table_name="insurance_sales")
    for table in ("insurance_sales", "insurance_policies", "insurance_products", "insurers"):
        op.drop_table(table)
    op.execute("DELETE FROM account_codes WHERE code = 'insurer_premium_held'")
