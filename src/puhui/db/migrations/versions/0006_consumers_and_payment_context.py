"""consumers and payment context: event consumer offsets; payments' device and location

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_offsets",
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", name="pk_event_offsets"),
    )
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("device_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("location", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("location")
        batch.drop_column("device_id")
    op.drop_table("event_offsets")
