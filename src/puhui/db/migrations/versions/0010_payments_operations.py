"""payments operations: per-merchant fee rates, payment reviews, reserve-check records, login throttling,
AML retention of closed customers' identity

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The platform's own bank account (自有资金): lending and financing move its cash into the reserve
    # before crediting a wallet, so wallets stay covered by the reserve.
    codes = sa.table("account_codes", *(sa.column(c) for c in ("code", "name", "name_zh", "category", "normal_side")))
    accounts = sa.table(
        "accounts", *(sa.column(c) for c in ("id", "ledger", "code", "owner_id", "flags", "created_at"))
    )
    op.bulk_insert(
        codes,
        [
            {
                "code": "operating_bank",
                "name": "The platform's own bank account",
                "name_zh": "自有资金账户",
                "category": "asset",
                "normal_side": "debit",
            }
        ],
    )
    op.bulk_insert(
        accounts,
        [
            {
                "id": "platform.operating_bank.CNY",
                "ledger": "CNY",
                "code": "operating_bank",
                "owner_id": "platform",
                "flags": 2,
                "created_at": 0,
            }
        ],
    )
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("fee_rate_bp", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("notify_url", sa.String(length=512), nullable=True))
        batch.alter_column(
            "status", existing_type=sa.String(length=8), type_=sa.String(length=12), existing_nullable=False
        )
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("limit_marks", sa.String(length=256), nullable=True))
    with op.batch_alter_table("recon_exceptions") as batch:
        batch.add_column(sa.Column("assigned_to", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("assign_transfer_id", sa.String(length=64), nullable=True))
    op.create_table(
        "recon_lines",
        sa.Column("business_date", sa.String(length=10), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("bank_reference", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("business_date", "order_id", "bank_reference", name="pk_recon_lines"),
    )
    op.create_index("ix_recon_lines_order_id", "recon_lines", ["order_id"])
    op.create_table(
        "payment_reviews",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("payer_id", sa.String(length=64), nullable=False),
        sa.Column("payee_id", sa.String(length=64), nullable=False),
        sa.Column("qr_code_id", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee_rate_bp", sa.Integer(), nullable=False),
        sa.Column("hold_transfer_id", sa.String(length=64), nullable=False),
        sa.Column("limit_marks", sa.String(length=256), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("location", sa.String(length=32), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("payment_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_payment_reviews"),
    )
    op.create_index("ix_payment_reviews_status", "payment_reviews", ["status"])
    op.create_table(
        "reserve_checks",
        sa.Column("business_date", sa.String(length=10), nullable=False),
        sa.Column("ledger", sa.String(length=8), nullable=False),
        sa.Column("obligations", sa.BigInteger(), nullable=False),
        sa.Column("reserve", sa.BigInteger(), nullable=False),
        sa.Column("covered", sa.Boolean(), nullable=False),
        sa.Column("checked_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("business_date", "ledger", name="pk_reserve_checks"),
    )
    op.create_table(
        "login_throttle",
        sa.Column("subject_index", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("locked_until", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("subject_index", name="pk_login_throttle"),
    )
    op.create_table(
        "merchant_notifications",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=512), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("delivered_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_merchant_notifications"),
    )
    op.create_index("ix_merchant_notifications_due", "merchant_notifications", ["status", "next_attempt_at"])
    op.create_index("ix_merchant_notifications_merchant_id", "merchant_notifications", ["merchant_id"])
    op.create_table(
        "aml_retention",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("name_sealed", sa.Text(), nullable=True),
        sa.Column("id_number_sealed", sa.Text(), nullable=True),
        sa.Column("phone_sealed", sa.Text(), nullable=True),
        sa.Column("address_sealed", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.BigInteger(), nullable=False),
        sa.Column("retain_until", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_aml_retention"),
    )
    op.create_index("ix_aml_retention_retain_until", "aml_retention", ["retain_until"])
    op.create_table(
        "aml_retention_cards",
        sa.Column("card_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("card_sealed", sa.Text(), nullable=True),
        sa.Column("retain_until", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("card_id", name="pk_aml_retention_cards"),
    )
    op.create_index("ix_aml_retention_cards_retain_until", "aml_retention_cards", ["retain_until"])


def downgrade() -> None:
    op.drop_index("ix_merchant_notifications_merchant_id", table_name="merchant_notifications")
    op.drop_index("ix_merchant_notifications_due", table_name="merchant_notifications")
    op.drop_table("merchant_notifications")
    op.drop_index("ix_aml_retention_cards_retain_until", table_name="aml_retention_cards")
    op.drop_table("aml_retention_cards")
    op.drop_index("ix_aml_retention_retain_until", table_name="aml_retention")
    op.drop_table("aml_retention")
    op.drop_table("login_throttle")
    op.drop_table("reserve_checks")
    op.drop_index("ix_payment_reviews_status", table_name="payment_reviews")
    op.drop_table("payment_reviews")
    op.drop_index("ix_recon_lines_order_id", table_name="recon_lines")
    op.drop_table("recon_lines")
    with op.batch_alter_table("recon_exceptions") as batch:
        batch.drop_column("assign_transfer_id")
        batch.drop_column("assigned_to")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("limit_marks")
    op.execute("DELETE FROM accounts WHERE id = 'platform.operating_bank.CNY'")
    op.execute("DELETE FROM account_codes WHERE code = 'operating_bank'")
    with op.batch_alter_table("merchants") as batch:
        batch.alter_column(
            "status", existing_type=sa.String(length=12), type_=sa.String(length=8), existing_nullable=False
        )
        batch.drop_column("notify_url")
        batch.drop_column("fee_rate_bp")
