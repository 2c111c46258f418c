"""Robo-advice tables (智能投顾): who subscribed to which model portfolio with what amount, each run that
placed orders (the first purchase, every rebalance: idempotent by its key), and the portfolio's value
marked at each day's close with the ETFs' closes, from which the report computes returns.
Amounts in fen, prices in the ETF's ticks (厘), timestamps in UTC microseconds."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Date, Integer, String, Table

from puhui.db.tables import ID_LENGTH, metadata

securities_robo_subscriptions = Table(
    "securities_robo_subscriptions",
    metadata,
    Column("customer_id", String(ID_LENGTH), primary_key=True),
    Column("level", String(2), nullable=False),  # the model portfolio's level, C1..C5
    Column("amount", BigInteger, nullable=False),
    Column("threshold", String(12), nullable=False),  # drift threshold, a fraction
    Column("start_prices", JSON, nullable=False),  # ETF code → reference price at subscription
    Column("start_targets", JSON, nullable=True),  # ETF code → weight (a decimal string) at subscription
    Column("targets", JSON, nullable=True),  # the advisor's last targets, in force now
    Column("method", String(16), nullable=True),  # how the targets were chosen (TargetWeights.method)
    Column("created_at", BigInteger, nullable=False),
)

securities_robo_runs = Table(
    "securities_robo_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("customer_id", String(ID_LENGTH), nullable=False, index=True),
    Column("kind", String(12), nullable=False),  # subscribe | rebalance
    Column("order_ids", JSON, nullable=False),
    Column("orders", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

securities_robo_marks = Table(
    "securities_robo_marks",
    metadata,
    Column("customer_id", String(ID_LENGTH), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("value", BigInteger, nullable=False),  # cash + frozen cash + ETFs at the close, fen
    Column("prices", JSON, nullable=False),  # ETF code → close
    Column("targets", JSON, nullable=True),  # the targets in force that day (the benchmark's weights)
)
