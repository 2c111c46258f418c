"""securities: a brokerage account can be a sandbox's liquidity provider (做市), whose quotes the market loop keeps

Revision ID: 0039
Revises: 0038
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("securities_accounts") as batch:
        batch.add_column(sa.Column("liquidity_provider", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("securities_accounts") as batch:
        batch.drop_column("liquidity_provider")
