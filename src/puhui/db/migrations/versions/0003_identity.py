"""identity: customers, bank cards, verifications, tier changes, consents, PII access log,
merchants, partners, staff and credentials (API keys, staff tokens)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_credentials")),
    )
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.create_index("ix_credentials_subject_id", ["subject_id"], unique=False)

    op.create_table(
        "partners",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
    )
    op.create_table(
        "pii_access_log",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(always=False), nullable=False
        ),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("principal", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.String(length=256), nullable=False),
        sa.Column("purpose", sa.String(length=256), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_pii_access_log")),
    )
    with op.batch_alter_table("pii_access_log", schema=None) as batch_op:
        batch_op.create_index("ix_pii_access_log_subject", ["subject", "seq"], unique=False)

    op.create_table(
        "staff",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("handle", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("disabled_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("handle", name=op.f("uq_staff_handle")),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=True),
        sa.Column("name_sealed", sa.Text(), nullable=True),
        sa.Column("pseudonym", sa.String(length=64), nullable=True),
        sa.Column("id_number_sealed", sa.Text(), nullable=True),
        sa.Column("id_number_index", sa.String(length=64), nullable=True),
        sa.Column("phone_sealed", sa.Text(), nullable=True),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("address_sealed", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("wallet_account_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["wallet_account_id"], ["accounts.id"], name=op.f("fk_customers_wallet_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("id_number_index", name=op.f("uq_customers_id_number_index")),
        sa.UniqueConstraint("phone_index", name=op.f("uq_customers_phone_index")),
    )
    op.create_table(
        "merchants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("settlement_account_sealed", sa.Text(), nullable=False),
        sa.Column("settlement_holder_sealed", sa.Text(), nullable=False),
        sa.Column("settlement_bank", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("wallet_account_id", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["wallet_account_id"], ["accounts.id"], name=op.f("fk_merchants_wallet_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchants")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_merchants_credit_code")),
    )
    op.create_table(
        "bank_cards",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("card_sealed", sa.Text(), nullable=True),
        sa.Column("card_index", sa.String(length=64), nullable=True),
        sa.Column("bank", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_bank_cards_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_cards")),
        sa.UniqueConstraint("card_index", name=op.f("uq_bank_cards_card_index")),
    )
    with op.batch_alter_table("bank_cards", schema=None) as batch_op:
        batch_op.create_index("ix_bank_cards_customer_id", ["customer_id"], unique=False)

    op.create_table(
        "consents",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(always=False), nullable=False
        ),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_consents_customer_id_customers")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index("ix_consents_latest", ["customer_id", "purpose", "sensitive", "seq"], unique=False)

    op.create_table(
        "tier_changes",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(always=False), nullable=False
        ),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("from_tier", sa.Integer(), nullable=True),
        sa.Column("to_tier", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=256), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_by_role", sa.String(length=16), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_tier_changes_customer_id_customers")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_tier_changes")),
    )
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.create_index("ix_tier_changes_customer_id", ["customer_id"], unique=False)

    op.create_table(
        "verifications",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(always=False), nullable=False
        ),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_verifications_customer_id_customers")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_verifications")),
    )
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.create_index("ix_verifications_customer_id", ["customer_id"], unique=False)
        batch_op.create_index("uq_verifications_channel_reference", ["channel", "reference"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("verifications", schema=None) as batch_op:
        batch_op.drop_index("uq_verifications_channel_reference")
        batch_op.drop_index("ix_verifications_customer_id")

    op.drop_table("verifications")
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_tier_changes_customer_id")

    op.drop_table("tier_changes")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index("ix_consents_latest")

    op.drop_table("consents")
    with op.batch_alter_table("bank_cards", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_cards_customer_id")

    op.drop_table("bank_cards")
    op.drop_table("merchants")
    op.drop_table("customers")
    op.drop_table("staff")
    with op.batch_alter_table("pii_access_log", schema=None) as batch_op:
        batch_op.drop_index("ix_pii_access_log_subject")

    op.drop_table("pii_access_log")
    op.drop_table("partners")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index("ix_credentials_subject_id")

    op.drop_table("credentials")
