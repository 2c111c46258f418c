"""insurance: a remittance keeps what it was taken from (`held`, `later_premiums`), recorded as it is made,
so its answer and the list of remittances read them instead of replaying the held money's history

Revision ID: 0045
Revises: 0044
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("insurer_remittances") as batch:
        batch.add_column(sa.Column("held", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("later_premiums", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("insurer_remittances") as batch:
        batch.drop_column("later_premiums")
        batch.drop_column("held")
