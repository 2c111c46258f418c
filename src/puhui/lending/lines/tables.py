"""Credit-line tables, on the platform's one `metadata`.

A line (授信额度) holds a limit, never a balance of money: what is available is the limit less the
outstanding principal of the loans drawn on it, read from the ledger. Amounts in fen, times UTC
microseconds, business dates integer day numbers (`date.toordinal()`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from puhui.db.tables import ID_LENGTH, metadata

# A revolving credit line (循环授信), one per customer.
credit_lines = Table(
    "credit_lines",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("credit_limit", BigInteger, nullable=False),
    Column("grade", String(4), nullable=True),
    Column("score", String(16), nullable=True),
    Column("annual_income", BigInteger, nullable=True),
    Column("reasons", Text, nullable=False),  # JSON list of reason codes
    Column("status", String(8), nullable=False),  # active | frozen
    Column("expires_day", Integer, nullable=False),
    Column("opened_by", String(ID_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ux_credit_lines_customer_id", "customer_id", unique=True),
)

# A draw (用信) on a line: the loan it created, and for a checkout the QR payment it paid.
credit_line_draws = Table(
    "credit_line_draws",
    metadata,
    Column("loan_id", String(ID_LENGTH), primary_key=True),
    Column("line_id", String(ID_LENGTH), nullable=False),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("plan", String(12), nullable=False),  # pay_later | instalments
    Column("periods", Integer, nullable=False),
    Column("annualized_rate", String(16), nullable=False),
    Column("request_key", String(160), nullable=True),  # customer + client id: a replay finds its draw
    Column("payment_id", String(ID_LENGTH), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_credit_line_draws_line_id", "line_id"),
    Index("ux_credit_line_draws_request_key", "request_key", unique=True),
)

LINE_TABLES = (credit_lines, credit_line_draws)
