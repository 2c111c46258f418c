"""monitor: the kind of a flow's counterparty (a person, a merchant, the bank, a lender)

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("monitor_flows") as batch:
        batch.add_column(sa.Column("counterparty_kind", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monitor_flows") as batch:
        batch.drop_column("counterparty_kind")
