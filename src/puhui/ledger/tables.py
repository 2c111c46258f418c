"""The ledger's tables (总账): ledgers, the chart of accounts, accounts and transfers. They are the
ledger's own: other packages read balances through `puhui.ledger.queries` and move money through
`puhui.ledger.service` and `puhui.ledger.bulk`, never by these tables (an import-linter contract and
`tests/test_boundaries.py` hold them to it). Money columns are integer minor units; times are UTC
microseconds."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)

from puhui.db.tables import ID_LENGTH, Seq, metadata

ledgers = Table(
    "ledgers",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("kind", String(16), nullable=False),  # currency | asset
    Column("scale", Integer, nullable=False),
)

account_codes = Table(
    "account_codes",
    metadata,
    Column("code", String(48), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("name_zh", String(64), nullable=False),
    Column("category", String(16), nullable=False),  # asset | liability | equity | income | expense
    Column("normal_side", String(6), nullable=False),  # debit | credit
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("ledger", String(16), ForeignKey("ledgers.code"), nullable=False),
    Column("code", String(48), ForeignKey("account_codes.code"), nullable=False),
    Column("owner_id", String(ID_LENGTH), nullable=True),
    Column("flags", Integer, nullable=False, server_default="0"),
    Column("debits_pending", BigInteger, nullable=False, server_default="0"),
    Column("debits_posted", BigInteger, nullable=False, server_default="0"),
    Column("credits_pending", BigInteger, nullable=False, server_default="0"),
    Column("credits_posted", BigInteger, nullable=False, server_default="0"),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_accounts_owner_id", "owner_id"),
)

transfers = Table(
    "transfers",
    metadata,
    Column("seq", Seq, Identity(), primary_key=True),
    Column("id", String(ID_LENGTH), nullable=False),
    Column("debit_account_id", String(ID_LENGTH), nullable=False),
    Column("credit_account_id", String(ID_LENGTH), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("ledger", String(16), nullable=False),
    Column("code", String(48), nullable=False),
    Column("flags", Integer, nullable=False),
    Column("pending_id", String(ID_LENGTH), nullable=True),
    Column("timeout_seconds", Integer, nullable=False),
    Column("user_data", String(256), nullable=True),
    Column("timestamp", BigInteger, nullable=False),
    # Pending transfers only: pending -> posted | voided | expired, and when that happened.
    Column("status", String(8), nullable=True),
    Column("expires_at", BigInteger, nullable=True),
    Column("resolved_at", BigInteger, nullable=True),
    UniqueConstraint("id", name="uq_transfers_id"),
    Index("ix_transfers_debit_account", "debit_account_id", "seq"),
    Index("ix_transfers_credit_account", "credit_account_id", "seq"),
    Index(
        "ix_transfers_open_pending",
        "expires_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
)
