"""insurance: medical underwriting, renewal and claims

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("insurance_policies") as batch:
        batch.add_column(sa.Column("exclusions", sa.Text(), nullable=True))
        batch.add_column(sa.Column("renewed_from", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_insurance_policies_renewed_from", ["renewed_from"])
    with op.batch_alter_table("insurance_sales") as batch:
        batch.add_column(sa.Column("underwriting", sa.Text(), nullable=True))
    op.create_table(
        "insurance_claims",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("insurer_id", sa.String(64), nullable=False),
        sa.Column("product_code", sa.String(48), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("condition", sa.String(32), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("reported_date", sa.Date(), nullable=False),
        sa.Column("billed", sa.BigInteger(), nullable=False),
        sa.Column("social_insurance_paid", sa.BigInteger(), nullable=False),
        sa.Column("documents_sha256", sa.String(64), nullable=False),
        sa.Column("benefit", sa.BigInteger(), nullable=False),
        sa.Column("deductible_applied", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("fraud_score", sa.String(24), nullable=True),
        sa.Column("transfer_id", sa.String(64), nullable=True),
        sa.Column("paid_date", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.Column("paid_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_insurance_claims"),
        sa.UniqueConstraint("customer_id", "client_id", name="uq_insurance_claims_customer_client"),
        sa.UniqueConstraint(
            "policy_id", "event_date", "billed", "documents_sha256", name="uq_insurance_claims_duplicate"
        ),
    )
    op.create_index("ix_insurance_claims_status", "insurance_claims", ["status", "created_at"])
    op.create_table(
        "insurance_claim_documents",
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("claim_id", "seq", name="pk_insurance_claim_documents"),
    )


def downgrade() -> None:
    op.drop_table("insurance_claim_documents")
    op.drop_index("ix_insurance_claims_status", table_name="insurance_claims")
    op.drop_table("insurance_claims")
    with op.batch_alter_table("insurance_sales") as batch:
        batch.drop_column("underwriting")
    with op.batch_alter_table("insurance_policies") as batch:
        batch.drop_constraint("uq_insurance_policies_renewed_from", type_="unique")
        batch.drop_column("renewed_from")
        batch.drop_column("exclusions")
