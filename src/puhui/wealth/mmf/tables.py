"""Money-market fund tables, on the platform's one `metadata`. Units and money live in the ledger;
these rows hold the funds, the manager's daily figures, the orders and the end-of-day runs."""

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

from puhui.db.tables import metadata

mmf_funds = Table(
    "mmf_funds",
    metadata,
    Column("code", String(8), nullable=False),
    Column("name", String(64), nullable=False),
    Column("ledger", String(16), nullable=False),  # FUND:<code>, units at scale 2 (NAV 1.00)
    Column("status", String(8), nullable=False),  # open | closed
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("code", name="pk_mmf_funds"),
)

# The manager's figures for one natural day and what the end of day did with them.
mmf_daily = Table(
    "mmf_daily",
    metadata,
    Column("fund_code", String(8), nullable=False),
    Column("business_date", String(10), nullable=False),  # YYYY-MM-DD
    Column("income_per_10k", BigInteger, nullable=False),  # 万份收益 in 1/10000 yuan
    Column("seven_day_yield", String(16), nullable=True),  # 七日年化 in percent, e.g. "1.845"
    Column("holders", Integer, nullable=True),
    Column("units", BigInteger, nullable=True),  # holders' units before the income
    Column("distributed", BigInteger, nullable=True),  # the fund's income on those units
    Column("residue", BigInteger, nullable=True),  # distributed − Σ holders' rounded-down income
    Column("distributed_at", BigInteger, nullable=True),
    Column("recorded_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("fund_code", "business_date", name="pk_mmf_daily"),
)

mmf_orders = Table(
    "mmf_orders",
    metadata,
    Column("id", String(64), nullable=False),
    Column("fund_code", String(8), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("kind", String(12), nullable=False),  # subscribe | redeem | fast_redeem
    Column("amount", BigInteger, nullable=False),  # fen = units in 0.01 at NAV 1.00
    Column("status", String(10), nullable=False),  # pending | confirmed | settled
    Column("trade_date", String(10), nullable=False),  # T
    Column("due_date", String(10), nullable=False),  # units confirmed / cash paid on this date
    Column("payment_id", String(64), nullable=True),  # pay-from-fund: the merchant payment
    Column("created_at", BigInteger, nullable=False),
    Column("completed_at", BigInteger, nullable=True),
    PrimaryKeyConstraint("id", name="pk_mmf_orders"),
    Index("ix_mmf_orders_customer_id", "customer_id"),
    Index("ix_mmf_orders_status", "status", "due_date"),
)

mmf_eod_runs = Table(
    "mmf_eod_runs",
    metadata,
    Column("fund_code", String(8), nullable=False),
    Column("business_date", String(10), nullable=False),
    Column("summary", Text, nullable=False),
    Column("finished_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("fund_code", "business_date", name="pk_mmf_eod_runs"),
)
