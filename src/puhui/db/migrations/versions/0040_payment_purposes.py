"""payments: a P2P transfer's declared purpose (用途), one row per transfer that declares one; the
monitor's flows keep it

Revision ID: 0040
Revises: 0039
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_purposes",
        sa.Column("payment_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("payment_id", name="pk_payment_purposes"),
    )
    with op.batch_alter_table("monitor_flows") as batch:
        batch.add_column(sa.Column("purpose", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monitor_flows") as batch:
        batch.drop_column("purpose")
    op.drop_table("payment_purposes")
