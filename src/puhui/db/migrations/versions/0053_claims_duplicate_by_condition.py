"""insurance: the same papers claimed twice (重复报案) are the same policy, event date, diagnosis code, amount and
documents; before, the diagnosis was not among them, so after a declined illness claim an accident on the same
day for the same amount (with no documents, or the same) could not be reported at all

Revision ID: 0053
Revises: 0052
"""

from __future__ import annotations

from alembic import op

revision = "0053"
down_revision = "0052"
branch_labels = None
depends_on = None

NAME = "uq_insurance_claims_duplicate"


def upgrade() -> None:
    with op.batch_alter_table("insurance_claims") as batch:
        batch.drop_constraint(NAME, type_="unique")
        batch.create_unique_constraint(NAME, ["policy_id", "event_date", "condition", "billed", "documents_sha256"])


def downgrade() -> None:
    with op.batch_alter_table("insurance_claims") as batch:
        batch.drop_constraint(NAME, type_="unique")
        batch.create_unique_constraint(NAME, ["policy_id", "event_date", "billed", "documents_sha256"])
