"""Settlement and reconciliation tables, on the platform's one `metadata`. Money lives in the
ledger; these rows hold amounts as computed and references to bank orders and transfers."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from puhui.db.tables import ID_LENGTH, metadata

# One row per (merchant, business date): what the merchant earned on that date and its payout.
settlements = Table(
    "settlements",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("merchant_id", String(ID_LENGTH), nullable=False),
    Column("business_date", String(10), nullable=False),  # YYYY-MM-DD, China time
    Column("gross", BigInteger, nullable=False),
    Column("fees", BigInteger, nullable=False),
    Column("refunds", BigInteger, nullable=False),  # refunded amount net of the fee returned
    # other money paid into the wallet on the date, paid out with it (`settlement.OTHER_PAYOUTS`)
    Column("other_credits", BigInteger, nullable=False, server_default="0"),
    Column("net", BigInteger, nullable=False),  # what is paid out (capped by the available balance)
    Column("order_id", String(ID_LENGTH), nullable=True),  # the bank payout order (bank_orders.id)
    Column("state", String(8), nullable=False),  # pending | paid | failed | nothing | waiting
    Column("created_at", BigInteger, nullable=False),
    Column("resolved_at", BigInteger, nullable=True),
    UniqueConstraint("merchant_id", "business_date", name="uq_settlements_merchant_date"),
)

# One row per mismatch between the bank's statement and the platform's bank orders.
recon_exceptions = Table(
    "recon_exceptions",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),  # deterministic: reconciling twice adds nothing
    Column("business_date", String(10), nullable=False),
    Column("kind", String(24), nullable=False),  # missing_at_bank | missing_at_platform | amount_differs | duplicate
    Column("order_id", String(128), nullable=True),
    Column("bank_reference", String(64), nullable=True),
    Column("direction", String(8), nullable=True),  # credit | debit (into / out of the reserve)
    Column("platform_amount", BigInteger, nullable=True),
    Column("bank_amount", BigInteger, nullable=True),
    Column("status", String(8), nullable=False),  # open | resolved
    Column("action", String(24), nullable=True),
    Column("actor", String(ID_LENGTH), nullable=True),
    Column("transfer_id", String(ID_LENGTH), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("resolved_at", BigInteger, nullable=True),
    # suspense money later assigned to its owner (a customer wallet), by a second transfer
    Column("assigned_to", String(ID_LENGTH), nullable=True),
    Column("assign_transfer_id", String(ID_LENGTH), nullable=True),
    Index("ix_recon_exceptions_date", "business_date"),
)

# Every line of every reconciled statement: an order the bank settled just before midnight and
# the platform posted just after is matched against the earlier statement, not flagged again.
recon_lines = Table(
    "recon_lines",
    metadata,
    Column("business_date", String(10), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("bank_reference", String(64), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("amount", BigInteger, nullable=False),
    PrimaryKeyConstraint("business_date", "order_id", "bank_reference", name="pk_recon_lines"),
    Index("ix_recon_lines_order_id", "order_id"),
)

SETTLEMENT_TABLES = (settlements, recon_exceptions, recon_lines)
