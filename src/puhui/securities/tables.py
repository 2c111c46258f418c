"""Brokerage tables (证券经纪), on the platform's one `metadata`.

Money and shares live in the ledger (CNY `sec.cash.<customer>` / `sec.frozen.<customer>`, and one unit
ledger `SEC:<code>` per instrument); these rows say which instruments are listed and where each
instrument's persisted order book stands (`book_version`), who holds a brokerage account on which terms,
each cash transfer (银证转账), each order and its fills (成交), each position's cost basis, and each
account's assets at a trading day's close (日终资产).
Prices and amounts in fen, quantities in shares, timestamps in UTC microseconds."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, Index, Integer, String, Table, UniqueConstraint, false

from puhui.db.tables import ID_LENGTH, metadata

# A listed share (证券) as data, and the state of its book: the gateway rebuilds a process's cached
# book whenever `book_version` differs from the one it cached.
securities_instruments = Table(
    "securities_instruments",
    metadata,
    Column("code", String(6), primary_key=True),
    Column("exchange", String(4), nullable=False),
    Column("board", String(8), nullable=False),
    Column("name", String(64), nullable=False),
    Column("listed_on", Date, nullable=False),
    Column("st", Boolean, nullable=False),
    Column("previous_close", BigInteger, nullable=False),  # 前收盘价 of the book's day
    Column("last_price", BigInteger, nullable=True),  # the book's last trade of the day
    Column("book_version", String(32), nullable=False),
    Column("book_moment", BigInteger, nullable=True),  # the moment the book was last moved to
    Column("order_seq", BigInteger, nullable=False),  # the last order's sequence number (time priority)
    Column("created_at", BigInteger, nullable=False),
)

# A brokerage account (证券账户): one per customer.
securities_accounts = Table(
    "securities_accounts",
    metadata,
    Column("customer_id", String(ID_LENGTH), primary_key=True),
    Column("suitability_level", String(4), nullable=True),  # C1..C5 from the wealth questionnaire
    Column("chinext", Boolean, nullable=False),  # 创业板权限
    Column("star", Boolean, nullable=False),  # 科创板权限
    Column("commission_rate", String(12), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # a sandbox's liquidity provider (做市), whose ladder the market loop keeps (securities.liquidity)
    Column("liquidity_provider", Boolean, nullable=False, server_default=false()),
)

# A transfer between the wallet and the brokerage cash (银证转账).
securities_transfers = Table(
    "securities_transfers",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("client_id", String(ID_LENGTH), nullable=False),
    Column("direction", String(4), nullable=False),  # in | out
    Column("amount", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("customer_id", "client_id", name="uq_securities_transfers_customer_client"),
)

# An order (委托) and where it stands; `frozen_cash` / `frozen_shares` are its part of the frozen accounts.
securities_orders = Table(
    "securities_orders",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("client_id", String(ID_LENGTH), nullable=False),
    Column("code", String(6), nullable=False),
    Column("side", String(4), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("price", BigInteger, nullable=True),  # the limit price; None for a market order
    Column("protect", BigInteger, nullable=True),
    Column("rest_price", BigInteger, nullable=True),  # where it rests in the book
    Column("quantity", BigInteger, nullable=False),
    Column("filled", BigInteger, nullable=False),
    Column("cancelled", BigInteger, nullable=False),
    Column("value", BigInteger, nullable=False),  # fen traded
    Column("frozen_cash", BigInteger, nullable=False),
    Column("frozen_shares", BigInteger, nullable=False),
    Column("commission", BigInteger, nullable=False),
    Column("stamp_duty", BigInteger, nullable=False),
    Column("transfer_fee", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),  # open | filled | cancelled | expired
    Column("seq", BigInteger, nullable=False),
    Column("trade_day", Date, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("customer_id", "client_id", name="uq_securities_orders_customer_client"),
)
Index("ix_securities_orders_open", securities_orders.c.code, securities_orders.c.status, securities_orders.c.seq)
Index("ix_securities_orders_customer", securities_orders.c.customer_id, securities_orders.c.created_at)

# A fill (成交) of one order; a trade gives one row to each side.
securities_executions = Table(
    "securities_executions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(ID_LENGTH), nullable=False),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("code", String(6), nullable=False),
    Column("side", String(4), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("trade_day", Date, nullable=False),
    Column("at", BigInteger, nullable=False),
)
Index(
    "ix_securities_executions_holder",
    securities_executions.c.customer_id,
    securities_executions.c.code,
    securities_executions.c.trade_day,
)

# A position's cost basis (持仓成本): what the shares held cost, fees included (average cost).
securities_positions = Table(
    "securities_positions",
    metadata,
    Column("customer_id", String(ID_LENGTH), primary_key=True),
    Column("code", String(6), primary_key=True),
    Column("cost", BigInteger, nullable=False),
)

# A distribution announced (权益分派实施公告) and whether the ex-date has applied it: cash in fen per 10
# shares, new shares per 10 as a decimal string, the ex-date reference price once applied.
securities_corporate_actions = Table(
    "securities_corporate_actions",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("code", String(6), nullable=False),
    Column("record_date", Date, nullable=False),
    Column("ex_date", Date, nullable=False),
    Column("cash_per_10", BigInteger, nullable=False),
    Column("bonus_per_10", String(12), nullable=False),
    Column("status", String(10), nullable=False),  # announced | applied
    Column("reference_price", BigInteger, nullable=True),
    Column("applied_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("code", "ex_date", name="uq_securities_corporate_actions_code_ex_date"),
)

# What one holder on the record date received (权益登记): shares held, cash in fen, bonus shares.
securities_entitlements = Table(
    "securities_entitlements",
    metadata,
    Column("action_id", String(ID_LENGTH), primary_key=True),
    Column("customer_id", String(ID_LENGTH), primary_key=True),
    Column("held", BigInteger, nullable=False),
    Column("cash", BigInteger, nullable=False),
    Column("shares", BigInteger, nullable=False),
)

# An account's assets at a trading day's close (日终资产), taken when clearing clears the day: its cash
# (free and frozen) and its positions at the day's prices, in fen. The ChiNext and STAR permissions average
# them over 20 trading days (前20个交易日日均资产, `securities.daily_assets`); one row per account and day.
securities_daily_assets = Table(
    "securities_daily_assets",
    metadata,
    Column("customer_id", String(ID_LENGTH), primary_key=True),
    Column("trade_day", Date, primary_key=True),
    Column("cash", BigInteger, nullable=False),
    Column("market_value", BigInteger, nullable=False),
    Column("taken_at", BigInteger, nullable=False),
)

SECURITIES_TABLES = (
    securities_instruments,
    securities_accounts,
    securities_transfers,
    securities_orders,
    securities_executions,
    securities_positions,
    securities_corporate_actions,
    securities_entitlements,
    securities_daily_assets,
)
