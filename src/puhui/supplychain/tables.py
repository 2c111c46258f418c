"""Supply-chain finance tables, on the platform's one `metadata`. Money lives in the ledger; these
rows hold terms, status and references to transfers. Amounts in fen, times in UTC microseconds."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from puhui.db.tables import ID_LENGTH, metadata

# A merchant registered as a core enterprise (核心企业) with a financing limit (授信额度);
# `used` = face of its open receivables (confirmed, financed or overdue), kept with the limit so
# one conditional UPDATE decides a confirmation atomically.
sc_core_enterprises = Table(
    "sc_core_enterprises",
    metadata,
    Column("merchant_id", String(ID_LENGTH), nullable=False),
    Column("credit_limit", BigInteger, nullable=False),
    Column("used", BigInteger, nullable=False),
    Column("discount_rate", String(16), nullable=False),
    Column("registered_by", String(ID_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("merchant_id", name="pk_sc_core_enterprises"),
)

# A payable confirmed by a core enterprise (应付账款确认) = a receivable its supplier holds.
sc_receivables = Table(
    "sc_receivables",
    metadata,
    Column("id", String(ID_LENGTH), nullable=False),
    Column("core_id", String(ID_LENGTH), nullable=False),
    Column("supplier_id", String(ID_LENGTH), nullable=False),
    Column("invoice_ref", String(64), nullable=False),
    Column("face", BigInteger, nullable=False),
    Column("maturity_date", String(10), nullable=False),
    Column("status", String(10), nullable=False),  # confirmed | financed | overdue | paid
    Column("confirmed_at", BigInteger, nullable=False),
    Column("financed_on", String(10), nullable=True),
    Column("discount_rate", String(16), nullable=True),
    Column("discount_days", Integer, nullable=True),
    Column("discount", BigInteger, nullable=True),
    Column("financed_at", BigInteger, nullable=True),
    Column("overdue_since", String(10), nullable=True),
    Column("paid_to", String(10), nullable=True),  # supplier | platform
    Column("paid_at", BigInteger, nullable=True),
    PrimaryKeyConstraint("id", name="pk_sc_receivables"),
    UniqueConstraint("core_id", "invoice_ref", name="uq_sc_receivables_invoice"),
    Index("ix_sc_receivables_supplier_id", "supplier_id"),
    Index("ix_sc_receivables_due", "status", "maturity_date"),
)

SUPPLYCHAIN_TABLES = (sc_core_enterprises, sc_receivables)
