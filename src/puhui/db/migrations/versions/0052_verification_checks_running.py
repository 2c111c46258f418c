"""identity: a customer's check held while its provider is asked (`verification_checks_running`, 核验进行中), one a
channel: a second check of the channel meanwhile (the same request sent twice at once among them) is refused
before it asks, and today's limit of failed checks counts the checks still running

Revision ID: 0052
Revises: 0051
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0052"
down_revision = "0051"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verification_checks_running",
        sa.Column("customer_id", sa.String(64), sa.ForeignKey("customers.id"), primary_key=True),
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("started_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("verification_checks_running")
