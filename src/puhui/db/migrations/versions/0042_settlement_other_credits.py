"""payments: a settlement pays out, besides what the merchant earned by acquiring, the other money paid
into its wallet on the date (a supply-chain advance or a receivable paid at maturity): `other_credits`

Revision ID: 0042
Revises: 0041
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.add_column(sa.Column("other_credits", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.drop_column("other_credits")
