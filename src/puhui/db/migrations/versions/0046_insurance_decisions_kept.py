"""insurance: a cancelled policy keeps what its cancellation decided (the refund's reason, the day, the
cooling-off period's last day, the claims it rested on), and a remittance names the insurer's own funding
inside `held` (`insurer_funding`), both recorded as they are made; NULL for rows made before

Revision ID: 0046
Revises: 0045
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("insurance_policies") as batch:
        batch.add_column(sa.Column("refund_reason", sa.String(16), nullable=True))
        batch.add_column(sa.Column("cancelled_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("cooling_off_last_day", sa.Date(), nullable=True))
        batch.add_column(sa.Column("refund_claims_paid", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("refund_claims_owed", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("insurer_remittances") as batch:
        batch.add_column(sa.Column("insurer_funding", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("insurer_remittances") as batch:
        batch.drop_column("insurer_funding")
    with op.batch_alter_table("insurance_policies") as batch:
        batch.drop_column("refund_claims_owed")
        batch.drop_column("refund_claims_paid")
        batch.drop_column("cooling_off_last_day")
        batch.drop_column("cancelled_on")
        batch.drop_column("refund_reason")
