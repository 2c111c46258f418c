"""securities: a robo portfolio's targets come from the advisor (目标配置) and each mark keeps those in force

Revision ID: 0038
Revises: 0037
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("securities_robo_subscriptions") as batch:
        batch.add_column(sa.Column("start_targets", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("targets", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("method", sa.String(16), nullable=True))
    with op.batch_alter_table("securities_robo_marks") as batch:
        batch.add_column(sa.Column("targets", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("securities_robo_marks") as batch:
        batch.drop_column("targets")
    with op.batch_alter_table("securities_robo_subscriptions") as batch:
        batch.drop_column("method")
        batch.drop_column("targets")
        batch.drop_column("start_targets")
