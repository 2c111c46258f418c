"""The step-up challenges (核身) of payments parked until their payer proves it is them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from puhui.db.tables import ID_LENGTH, metadata

# One row per challenged payment; the id is the payment id, so a replayed payment finds its challenge.
payment_challenges = Table(
    "payment_challenges",
    metadata,
    Column("id", String(ID_LENGTH), nullable=False),
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
    Column("reasons", Text, nullable=False),  # JSON list: risk control's, never shown to the payer
    Column("method", String(12), nullable=False),  # sms | password
    Column("code_hash", String(64), nullable=True),  # SHA-256 of the challenge id and the SMS code
    Column("attempts", Integer, nullable=False),
    Column("status", String(10), nullable=False),  # pending | passed | failed | expired
    Column("payment_id", String(ID_LENGTH), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("decided_at", BigInteger, nullable=True),
    PrimaryKeyConstraint("id", name="pk_payment_challenges"),
    Index("ix_payment_challenges_payer_status", "payer_id", "status"),
)
