"""joint lending: funding partners, per-loan funding shares, partner files

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lending_partners",
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", name="pk_lending_partners"),
    )
    op.create_table(
        "lending_product_funding",
        sa.Column("product_code", sa.String(length=48), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("service_fee_rate_e6", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("product_code", name="pk_lending_product_funding"),
    )
    op.create_table(
        "loan_fundings",
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("platform_share", sa.String(length=16), nullable=False),
        sa.Column("service_fee_rate_e6", sa.BigInteger(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("partner_principal", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("loan_id", name="pk_loan_fundings"),
    )
    op.create_index("ix_loan_fundings_partner_id", "loan_fundings", ["partner_id"], unique=False)
    op.create_table(
        "loan_funding_events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("business_day", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("interest", sa.BigInteger(), nullable=False),
        sa.Column("partner_principal", sa.BigInteger(), nullable=False),
        sa.Column("partner_interest", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_loan_funding_events"),
    )
    op.create_index(
        "ix_loan_funding_events_partner_day", "loan_funding_events", ["partner_id", "business_day"], unique=False
    )
    op.create_index("ix_loan_funding_events_loan_id", "loan_funding_events", ["loan_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_loan_funding_events_loan_id", table_name="loan_funding_events")
    op.drop_index("ix_loan_funding_events_partner_day", table_name="loan_funding_events")
    op.drop_table("loan_funding_events")
    op.drop_index("ix_loan_fundings_partner_id", table_name="loan_fundings")
    op.drop_table("loan_fundings")
    op.drop_table("lending_product_funding")
    op.drop_table("lending_partners")
