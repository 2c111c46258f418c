"""identity: a failed real-name check keeps why it failed (`verifications.reason`): `details_mismatch` (what the
customer typed is not their own record, no provider asked) or `not_confirmed` (the channel did not confirm the
identity); NULL for a check that passed, for one staff recorded, and for every row recorded before this migration

Revision ID: 0050
Revises: 0049
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verifications") as batch:
        batch.add_column(sa.Column("reason", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("verifications") as batch:
        batch.drop_column("reason")
