"""payments: step-up challenges (核身) of payments parked until their payer passes them; risk decisions
may be `challenge`

Revision ID: 0037
Revises: 0035
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_challenges",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("payer_id", sa.String(64), nullable=False),
        sa.Column("payee_id", sa.String(64), nullable=False),
        sa.Column("qr_code_id", sa.String(64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee_rate_bp", sa.Integer(), nullable=False),
        sa.Column("hold_transfer_id", sa.String(64), nullable=False),
        sa.Column("limit_marks", sa.String(256), nullable=True),
        sa.Column("device_id", sa.String(64), nullable=True),
        sa.Column("location", sa.String(32), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("method", sa.String(12), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("payment_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_payment_challenges"),
    )
    op.create_index("ix_payment_challenges_payer_status", "payment_challenges", ["payer_id", "status"])
    with op.batch_alter_table("risk_decisions") as batch:
        batch.alter_column("outcome", type_=sa.String(10), existing_type=sa.String(8), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_decisions") as batch:
        batch.alter_column("outcome", type_=sa.String(8), existing_type=sa.String(10), existing_nullable=False)
    op.drop_index("ix_payment_challenges_payer_status", table_name="payment_challenges")
    op.drop_table("payment_challenges")
