"""insurance: a claim decided on review keeps the reviewer's words (`decision_note`): the reason for a
decline (拒赔理由, told to the customer in the refusal notice, 保险法 Art. 24) or the note approving it

Revision ID: 0044
Revises: 0043
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("insurance_claims") as batch:
        batch.add_column(sa.Column("decision_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("insurance_claims") as batch:
        batch.drop_column("decision_note")
