"""Lending tables, on the platform's one `metadata`. Money lives in the ledger (per-loan accounts);
these rows hold the contract, the schedule and what each repayment paid. Amounts are fen, times
UTC microseconds, business dates integer day numbers (`date.toordinal()`) so end-of-day SQL can do
date arithmetic the same way on SQLite and PostgreSQL. Rates in SQL are millionths (`*_e6`)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from puhui.db.tables import ID_LENGTH, metadata

# A product (贷款产品) as data: the JSON of `puhui.lending.products.Product`.
lending_products = Table(
    "lending_products",
    metadata,
    Column("code", String(48), primary_key=True),
    Column("data", Text, nullable=False),
    Column("status", String(8), nullable=False),  # active | retired
    Column("created_at", BigInteger, nullable=False),
)

# An application (借款申请) and its risk decision (授信决策).
loan_applications = Table(
    "loan_applications",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("product_code", String(48), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("term", Integer, nullable=False),
    Column("annual_income", BigInteger, nullable=True),
    Column("decision", String(8), nullable=False),  # approved | declined
    Column("grade", String(4), nullable=True),
    Column("credit_limit", BigInteger, nullable=True),
    Column("reasons", Text, nullable=False),  # JSON list of reason codes
    Column("created_at", BigInteger, nullable=False),
    Index("ix_loan_applications_customer_id", "customer_id"),
)

# An offer with its price disclosure (综合年化利率, IRR method, next to the nominal rate).
loan_offers = Table(
    "loan_offers",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("application_id", String(ID_LENGTH), nullable=False),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("nominal_rate", String(16), nullable=False),
    Column("annualized_rate", String(16), nullable=False),
    Column("total_interest", BigInteger, nullable=False),
    Column("total_fees", BigInteger, nullable=False),
    Column("schedule", Text, nullable=False),  # JSON: the disclosed schedule
    Column("status", String(10), nullable=False),  # open | accepted | superseded (`service.OfferStatus`)
    Column("loan_id", String(ID_LENGTH), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_loan_offers_application_id", "application_id"),
)

# A loan contract (借款合同), active from disbursement.
loans = Table(
    "loans",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("product_code", String(48), nullable=False),
    Column("offer_id", String(ID_LENGTH), nullable=True),
    Column("principal", BigInteger, nullable=False),
    Column("annual_rate", String(16), nullable=False),
    Column("penalty_rate_e6", BigInteger, nullable=False),
    Column("method", String(20), nullable=False),
    Column("term", Integer, nullable=False),
    Column("grace_days", Integer, nullable=False),
    Column("start_day", Integer, nullable=False),
    Column("status", String(12), nullable=False),  # active | paid_off | written_off
    Column("days_past_due", Integer, nullable=False),
    Column("bucket", String(8), nullable=False),  # current | M1 | M2 | M3 | M3+
    Column("loan_class", String(16), nullable=False),  # normal | special_mention | ... | loss
    Column("penalty_accrued", BigInteger, nullable=False),
    Column("written_off", BigInteger, nullable=False),  # total written off (本金+利息+费用+罚息)
    Column("recovered", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_loans_customer_id", "customer_id"),
    Index("ix_loans_status", "status"),
)

# The schedule (还款计划): one row per instalment, with what was paid of each component.
loan_instalments = Table(
    "loan_instalments",
    metadata,
    Column("loan_id", String(ID_LENGTH), nullable=False),
    Column("number", Integer, nullable=False),
    Column("period_start_day", Integer, nullable=False),
    Column("due_day", Integer, nullable=False),
    Column("principal", BigInteger, nullable=False),
    Column("interest", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("principal_paid", BigInteger, nullable=False),
    Column("interest_paid", BigInteger, nullable=False),
    Column("fee_paid", BigInteger, nullable=False),
    Column("interest_accrued", BigInteger, nullable=False),
    Column("fee_recognized", BigInteger, nullable=False),
    PrimaryKeyConstraint("loan_id", "number", name="pk_loan_instalments"),
    Index("ix_loan_instalments_due_day", "due_day"),
)

loan_repayments = Table(
    "loan_repayments",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("loan_id", String(ID_LENGTH), nullable=False),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("kind", String(16), nullable=False),  # scheduled | early_full | early_partial | recovery
    Column("business_day", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("penalty", BigInteger, nullable=False),
    Column("fees", BigInteger, nullable=False),
    Column("interest", BigInteger, nullable=False),
    Column("principal", BigInteger, nullable=False),
    Column("early_fee", BigInteger, nullable=False),
    Column("recovery", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_loan_repayments_loan_id", "loan_id"),
)

# The provision (贷款损失准备) held for each loan and the class it was set for.
loan_provisions = Table(
    "loan_provisions",
    metadata,
    Column("loan_id", String(ID_LENGTH), primary_key=True),
    Column("loan_class", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("business_day", Integer, nullable=False),
)

# One row per end-of-day run (日终批处理): a date runs once.
lending_eod_runs = Table(
    "lending_eod_runs",
    metadata,
    Column("business_day", Integer, primary_key=True),
    Column("status", String(8), nullable=False),  # done
    Column("loans", Integer, nullable=False),
    Column("transfers", Integer, nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger, nullable=False),
)

LENDING_TABLES = (
    lending_products,
    loan_applications,
    loan_offers,
    loans,
    loan_instalments,
    loan_repayments,
    loan_provisions,
    lending_eod_runs,
)
