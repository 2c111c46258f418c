"""Fund-distribution tables (基金代销), on the platform's one `metadata`. Units and money live in the
ledger; these rows hold the products, their NAV history, the orders, the lots and the end-of-day runs."""

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

fund_products = Table(
    "fund_products",
    metadata,
    Column("code", String(8), nullable=False),
    Column("name", String(64), nullable=False),
    Column("risk", Integer, nullable=False),  # 产品风险等级 R1..R5 as 1..5
    Column("status", String(8), nullable=False),  # open | closed
    Column("ledger", String(16), nullable=False),  # FUND:<code>, units at scale 2
    Column("fee_tiers", Text, nullable=False),  # JSON: front-end fee tiers (前端申购费)
    Column("redemption_fees", Text, nullable=False),  # JSON: fee by holding period (赎回费)
    Column("redemption_days", Integer, nullable=False),  # N of T+N for redemption cash
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("code", name="pk_fund_products"),
)

# 基金净值: one NAV per fund and trading day, in 1/10000 yuan.
fund_navs = Table(
    "fund_navs",
    metadata,
    Column("fund_code", String(8), nullable=False),
    Column("nav_date", String(10), nullable=False),
    Column("nav", BigInteger, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("fund_code", "nav_date", name="pk_fund_navs"),
)

fund_orders = Table(
    "fund_orders",
    metadata,
    Column("id", String(64), nullable=False),
    Column("fund_code", String(8), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("kind", String(10), nullable=False),  # purchase | redeem
    Column("amount", BigInteger, nullable=False),  # purchase: fen paid; redeem: fen paid out once confirmed
    Column("units", BigInteger, nullable=False),  # 0.01 units: bought once confirmed / redeemed at order
    Column("fee", BigInteger, nullable=False),  # fen
    Column("fee_to_fund", BigInteger, nullable=False),  # fen of a redemption fee kept in the fund's assets
    Column("nav", BigInteger, nullable=True),  # T's NAV in 1/10000 yuan, once confirmed
    Column("lots", Text, nullable=True),  # redeem: JSON [[units, holding_days], ...] taken FIFO
    Column("status", String(10), nullable=False),  # pending | confirmed | settled
    Column("trade_date", String(10), nullable=False),  # T
    Column("confirm_date", String(10), nullable=False),  # T+1
    Column("cash_date", String(10), nullable=True),  # redeem: T+N
    Column("created_at", BigInteger, nullable=False),
    Column("completed_at", BigInteger, nullable=True),
    PrimaryKeyConstraint("id", name="pk_fund_orders"),
    Index("ix_fund_orders_customer_id", "customer_id"),
    Index("ix_fund_orders_status", "status", "trade_date"),
)

# A confirmed purchase's units, for the holding period of redemptions (first in, first out).
fund_lots = Table(
    "fund_lots",
    metadata,
    Column("order_id", String(64), nullable=False),
    Column("fund_code", String(8), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("confirm_date", String(10), nullable=False),
    Column("units", BigInteger, nullable=False),  # 0.01 units still held from this lot
    PrimaryKeyConstraint("order_id", name="pk_fund_lots"),
    Index("ix_fund_lots_holder", "fund_code", "customer_id"),
)

fund_eod_runs = Table(
    "fund_eod_runs",
    metadata,
    Column("business_date", String(10), nullable=False),
    Column("summary", Text, nullable=False),
    Column("finished_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("business_date", name="pk_fund_eod_runs"),
)
