"""securities: corporate actions (权益分派) announced and applied, each holder's entitlement, and the
registrar's dividend account

Revision ID: 0034
Revises: 0033
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

CODES = [
    ("securities_dividends_payable", "Cash dividends received for holders", "应付股利(代派)", "liability", "credit"),
]


def upgrade() -> None:
    codes = sa.table("account_codes", *(sa.column(c) for c in ("code", "name", "name_zh", "category", "normal_side")))
    op.bulk_insert(
        codes, [dict(zip(("code", "name", "name_zh", "category", "normal_side"), c, strict=True)) for c in CODES]
    )
    op.create_table(
        "securities_corporate_actions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(6), nullable=False),
        sa.Column("record_date", sa.Date(), nullable=False),
        sa.Column("ex_date", sa.Date(), nullable=False),
        sa.Column("cash_per_10", sa.BigInteger(), nullable=False),
        sa.Column("bonus_per_10", sa.String(12), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reference_price", sa.BigInteger(), nullable=True),
        sa.Column("applied_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_securities_corporate_actions"),
        sa.UniqueConstraint("code", "ex_date", name="uq_securities_corporate_actions_code_ex_date"),
    )
    op.create_table(
        "securities_entitlements",
        sa.Column("action_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("cash", sa.BigInteger(), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("action_id", "customer_id", name="pk_securities_entitlements"),
    )


def downgrade() -> None:
    op.drop_table("securities_entitlements")
    op.drop_table("securities_corporate_actions")
    names = ", ".join(f"'{c[0]}'" for c in CODES)
    op.execute(f"DELETE FROM account_codes WHERE code IN ({names})")
