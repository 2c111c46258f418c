"""insurance: return-shipping insurance at checkout

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "return_shipping_products",
        sa.Column("code", sa.String(48), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("insurer_id", sa.String(64), nullable=False),
        sa.Column("claim_amount", sa.BigInteger(), nullable=False),
        sa.Column("target_loss_ratio", sa.String(12), nullable=False),
        sa.Column("min_premium", sa.BigInteger(), nullable=False),
        sa.Column("max_premium", sa.BigInteger(), nullable=False),
        sa.Column("credibility_orders", sa.Integer(), nullable=False),
        sa.Column("prior_return_rate", sa.String(12), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code", "version", name="pk_return_shipping_products"),
    )
    op.create_table(
        "return_shipping_policies",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("payment_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("insurer_id", sa.String(64), nullable=False),
        sa.Column("product_code", sa.String(48), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("order_amount", sa.BigInteger(), nullable=False),
        sa.Column("premium", sa.BigInteger(), nullable=False),
        sa.Column("claim_amount", sa.BigInteger(), nullable=False),
        sa.Column("return_probability", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_return_shipping_policies"),
        sa.UniqueConstraint("payment_id", name="uq_return_shipping_policies_payment_id"),
        sa.UniqueConstraint("customer_id", "client_id", name="uq_return_shipping_policies_customer_client"),
    )
    op.create_index("ix_return_shipping_policies_merchant", "return_shipping_policies", ["merchant_id", "created_at"])
    op.create_table(
        "return_shipping_claims",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("merchant_id", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("transfer_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_return_shipping_claims"),
        sa.UniqueConstraint("policy_id", name="uq_return_shipping_claims_policy_id"),
    )
    op.create_index("ix_return_shipping_claims_customer", "return_shipping_claims", ["customer_id", "created_at"])
    op.create_index("ix_return_shipping_claims_merchant", "return_shipping_claims", ["merchant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_return_shipping_claims_merchant", table_name="return_shipping_claims")
    op.drop_index("ix_return_shipping_claims_customer", table_name="return_shipping_claims")
    op.drop_table("return_shipping_claims")
    op.drop_index("ix_return_shipping_policies_merchant", table_name="return_shipping_policies")
    op.drop_table("return_shipping_policies")
    op.drop_table("return_shipping_products")
