"""Joint-lending tables (联合贷款 / 助贷), on the platform's one `metadata`.

Money lives in the ledger (`partner.<id>.funding`, `partner.<id>.payable`); these rows say who
funds which product and loan, at what share, and what each event split to the partner, so the
partner's daily file is read from them. Amounts in fen, business dates as day numbers."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from puhui.db.tables import ID_LENGTH, metadata

# A funding partner (资金方, a bank): an identity partner with its own ledger accounts.
lending_partners = Table(
    "lending_partners",
    metadata,
    Column("partner_id", String(ID_LENGTH), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)

# Which partner funds a product whose platform share is below 1, and in facilitation (助贷) the
# platform's service fee (技术服务费) as a share of every interest payment (millionths).
lending_product_funding = Table(
    "lending_product_funding",
    metadata,
    Column("product_code", String(48), primary_key=True),
    Column("partner_id", String(ID_LENGTH), nullable=False),
    Column("service_fee_rate_e6", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# The funding of one loan, fixed at disbursement (出资比例).
loan_fundings = Table(
    "loan_fundings",
    metadata,
    Column("loan_id", String(ID_LENGTH), primary_key=True),
    Column("partner_id", String(ID_LENGTH), nullable=False),
    Column("platform_share", String(16), nullable=False),
    Column("service_fee_rate_e6", BigInteger, nullable=False),
    Column("principal", BigInteger, nullable=False),
    Column("partner_principal", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_loan_fundings_partner_id", "partner_id"),
)

# Every disbursement, repayment and write-off of a funded loan with the partner's split.
loan_funding_events = Table(
    "loan_funding_events",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("loan_id", String(ID_LENGTH), nullable=False),
    Column("partner_id", String(ID_LENGTH), nullable=False),
    Column("business_day", Integer, nullable=False),
    Column("event", String(16), nullable=False),  # disbursement | repayment | write_off
    Column("principal", BigInteger, nullable=False),
    Column("interest", BigInteger, nullable=False),
    Column("partner_principal", BigInteger, nullable=False),
    Column("partner_interest", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_loan_funding_events_partner_day", "partner_id", "business_day"),
    Index("ix_loan_funding_events_loan_id", "loan_id"),
)

PARTNER_TABLES = (lending_partners, lending_product_funding, loan_fundings, loan_funding_events)
