"""Payments tables, on the platform's one `metadata`. Money lives in the ledger; these rows hold
references to transfers and the counters that limits need. Times are UTC microseconds."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from puhui.db.tables import ID_LENGTH, metadata

# Spending against a limit: one row per (payer, bucket, period); `used` in fen.
spending = Table(
    "spending",
    metadata,
    Column("subject_id", String(ID_LENGTH), nullable=False),
    Column("bucket", String(32), nullable=False),
    Column("period", String(16), nullable=False),
    Column("used", BigInteger, nullable=False),
    PrimaryKeyConstraint("subject_id", "bucket", "period", name="pk_spending"),
)

qr_codes = Table(
    "qr_codes",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("merchant_id", String(ID_LENGTH), nullable=False),
    Column("kind", String(8), nullable=False),  # static | dynamic
    Column("amount", BigInteger, nullable=True),  # dynamic only
    Column("order_ref", String(64), nullable=True),
    Column("status", String(12), nullable=False),  # active | paid | cancelled
    Column("expires_at", BigInteger, nullable=True),
    Column("payment_id", String(ID_LENGTH), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    # A dynamic code's `order_ref` while it holds its order (商户订单号): open or paid. NULL once cancelled or
    # found expired unpaid (`service.create_qr`), for a static code, and for a code without an order_ref; the
    # unique index keeps one holder per merchant and order (NULLs are distinct).
    Column("open_order_ref", String(64), nullable=True),
    Index("ix_qr_codes_merchant_id", "merchant_id"),
    Index("uq_qr_codes_open_order_ref", "merchant_id", "open_order_ref", unique=True),
)

payments = Table(
    "payments",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("kind", String(8), nullable=False),  # p2p | qr
    Column("payer_id", String(ID_LENGTH), nullable=False),
    Column("payee_id", String(ID_LENGTH), nullable=False),
    Column("qr_code_id", String(ID_LENGTH), nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("fee_rate_bp", Integer, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("fee_refunded", BigInteger, nullable=False),
    Column("transfer_id", String(ID_LENGTH), nullable=False),
    Column("fee_transfer_id", String(ID_LENGTH), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("device_id", String(64), nullable=True),  # the payer's device, as the client reports it
    Column("location", String(32), nullable=True),  # the payer's location (city or region code)
    # Where the payment was counted against limits ("bucket@period;…"), so a refund gives it back.
    Column("limit_marks", String(256), nullable=True),
    Index("ix_payments_payer_id", "payer_id"),
    Index("ix_payments_payee_id", "payee_id"),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("payment_id", String(ID_LENGTH), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("fee_returned", BigInteger, nullable=False),
    Column("transfer_id", String(ID_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_refunds_payment_id", "payment_id"),
)

PAYMENT_TABLES = (spending, qr_codes, payments, refunds)

# Orders sent to the bank channel (top-ups and withdrawals); each holds a pending ledger transfer.
# The card is referenced by the customer's bound card id, never stored in clear here.
bank_orders = Table(
    "bank_orders",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),  # the bank order id (idempotency key)
    Column("kind", String(12), nullable=False),  # debit_card (top-up) | credit_card (withdrawal)
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("card_id", String(ID_LENGTH), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("hold_transfer_id", String(ID_LENGTH), nullable=False),
    Column("status", String(8), nullable=False),  # pending | posted | voided
    Column("failure_reason", String(32), nullable=True),
    Column("bank_reference", String(64), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("resolved_at", BigInteger, nullable=True),
    Index("ix_bank_orders_status", "status"),
    Index("ix_bank_orders_customer_id", "customer_id"),
)

PAYMENT_TABLES = (spending, qr_codes, payments, refunds, bank_orders)

# A payment risk control sent to manual review (人工审核): the money is held by a pending
# (two-phase) ledger transfer from the payer's wallet until a risk officer approves or rejects it.
payment_reviews = Table(
    "payment_reviews",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("kind", String(12), nullable=False),  # p2p | qr_static | qr_dynamic
    Column("payer_id", String(ID_LENGTH), nullable=False),
    Column("payee_id", String(ID_LENGTH), nullable=False),
    Column("qr_code_id", String(ID_LENGTH), nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("fee_rate_bp", Integer, nullable=False),
    Column("hold_transfer_id", String(ID_LENGTH), nullable=False),
    Column("limit_marks", String(256), nullable=True),
    Column("device_id", String(64), nullable=True),
    Column("location", String(32), nullable=True),
    Column("reasons", Text, nullable=False),  # JSON list of reason codes
    Column("status", String(10), nullable=False),  # pending | approved | rejected | expired
    Column("decided_by", String(ID_LENGTH), nullable=True),
    Column("note", Text, nullable=True),
    Column("payment_id", String(ID_LENGTH), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("decided_at", BigInteger, nullable=True),
    PrimaryKeyConstraint("id", name="pk_payment_reviews"),
    Index("ix_payment_reviews_status", "status"),
)

# The daily proof that customer reserve funds (备付金) cover every wallet (one row per date).
reserve_checks = Table(
    "reserve_checks",
    metadata,
    Column("business_date", String(10), nullable=False),
    Column("ledger", String(8), nullable=False),
    Column("obligations", BigInteger, nullable=False),
    Column("reserve", BigInteger, nullable=False),
    Column("covered", Boolean, nullable=False),
    Column("checked_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("business_date", "ledger", name="pk_reserve_checks"),
)

# Signed notifications to merchants, one per payment event (id = the event's outbox position).
merchant_notifications = Table(
    "merchant_notifications",
    metadata,
    Column("id", BigInteger, nullable=False),
    Column("merchant_id", String(ID_LENGTH), nullable=False),
    Column("event", String(32), nullable=False),
    Column("url", String(512), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(10), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("delivered_at", BigInteger, nullable=True),
    PrimaryKeyConstraint("id", name="pk_merchant_notifications"),
    Index("ix_merchant_notifications_due", "status", "next_attempt_at"),
    Index("ix_merchant_notifications_merchant_id", "merchant_id"),
)

# A P2P transfer's declared purpose (用途), by payment id: written with the payment (or its hold), so a
# held transfer paid later keeps it; transfers without one have no row.
payment_purposes = Table(
    "payment_purposes",
    metadata,
    Column("payment_id", String(ID_LENGTH), nullable=False),
    Column("purpose", String(16), nullable=False),
    PrimaryKeyConstraint("payment_id", name="pk_payment_purposes"),
)
