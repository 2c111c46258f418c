"""Each brokerage account's assets at a trading day's close (日终资产), and their average over the 20
trading days before an application (前20个交易日日均资产): what the ChiNext and STAR permissions need
(`securities.permissions`).

- Assets (`assets`): the account's cash, free and frozen under open orders, and its shares, held and
  frozen under sell orders, each instrument at its reference price (the day's last trade, else the
  previous close: the only prices the books carry).
- The snapshot (`take`): clearing (`clearing.settle_day`) takes one for every account opened by the
  close, on each trading day it clears, while the books still stand at that day's close: before the
  next trading day's opening auction (09:15 China time). Clearing is a T+1 job: the server's leader
  clears each trading day overnight, after midnight and before that auction (`clearing.clear_overnight`),
  and an operator's `puhui securities clear` in the same hours does the same. A day cleared later (a
  catch-up after an outage) gets none: the books have moved on and the day's close cannot be read back
  from them (the history of cash and shares is the ledger's transfers, which no package outside the
  ledger reads). One row per account and day: clearing
  the day again writes none twice and changes none already taken.
- The average (`average`): the snapshots of the 20 XSHG trading days before the application date, summed
  and divided by 20. A day without one counts as zero assets (the account not yet open, nothing in it,
  or the day not cleared in time): a new account reaches a threshold only after 20 trading days, which is
  what the rule means for a new investor, and a missed snapshot can delay a permission, never bring it
  early.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.securities import accounts, calendar, instruments, models, orders
from puhui.securities.tables import securities_accounts as accounts_table
from puhui.securities.tables import securities_daily_assets as snapshots

WINDOW = 20  # 前20个交易日


def assets(connection: Connection, customer_id: str) -> tuple[int, int]:
    """The account's assets now, in fen: its cash (free and frozen) and the market value of its positions
    (held and frozen) at each instrument's reference price (last trade, else previous close)."""
    cash = accounts.cash(connection, customer_id) + accounts.frozen_cash(connection, customer_id)
    value = 0
    for position in orders.list_positions(connection, customer_id):
        code = position["code"]
        row = instruments.require(connection, code)
        value += models.trade_value(code, row["last_price"] or row["previous_close"], position["total"])
    return cash, value


def at_close(day: dt.date) -> bool:
    """Whether the books still stand at `day`'s close: now is after it and before the next trading day opens."""
    now = clock.now().astimezone(clock.CHINA).replace(tzinfo=None)
    return calendar.closes_at(day) <= now < calendar.opens_at(calendar.next_trading_day(day))


def _record(uow: UnitOfWork, customer_id: str, day: dt.date) -> None:
    cash, value = assets(uow.connection, customer_id)
    row = {"customer_id": customer_id, "trade_day": day, "cash": cash, "market_value": value}
    uow.execute(snapshots.insert().values(**row, taken_at=clock.now_micros()))


def _taken(connection: Connection, day: dt.date, customer_id: str | None = None) -> set[str]:
    query = select(snapshots.c.customer_id).where(snapshots.c.trade_day == day)
    if customer_id is not None:
        query = query.where(snapshots.c.customer_id == customer_id)
    return {row[0] for row in connection.execute(query)}


def take(uow: UnitOfWork, day: dt.date) -> int:
    """Snapshot every account opened by `day`'s close that has none for the day, when `day` is a trading
    day and the books still stand at its close (`at_close`). Answers how many were taken."""
    if not calendar.is_trading_day(day) or not at_close(day):
        return 0
    closed = clock.to_micros(calendar.closes_at(day).replace(tzinfo=clock.CHINA))
    query = select(accounts_table.c.customer_id).where(accounts_table.c.created_at < closed)
    opened = [row[0] for row in uow.execute(query.order_by(accounts_table.c.customer_id))]
    taken = _taken(uow.connection, day)
    missing = [customer_id for customer_id in opened if customer_id not in taken]
    for customer_id in missing:
        _record(uow, customer_id, day)
    return len(missing)


def backfill(uow: UnitOfWork, customer_id: str, before: dt.date) -> int:
    """For a seeded world only (the demo), never the platform's own flows: record the account's assets now
    as its close on each of the 20 trading days before `before` that has no snapshot, so the world shows
    an investor whose assets have been with the platform that long. Answers how many were recorded."""
    accounts.require(uow.connection, customer_id)
    days = [d for d in calendar.trading_days_before(before, WINDOW) if not _taken(uow.connection, d, customer_id)]
    for day in days:
        _record(uow, customer_id, day)
    return len(days)


@dataclass(frozen=True, slots=True)
class Average:
    """An account's 前20个交易日日均资产: the sum of its snapshots over the window's 20 trading days (fen)."""

    first: dt.date  # the window's first and last trading days
    last: dt.date
    total: int
    days_on_record: int  # trading days of the window with a snapshot

    @property
    def fen(self) -> Decimal:
        """The average in fen, exact (a twentieth of a fen at most)."""
        return Decimal(self.total) / WINDOW

    def shown(self) -> int:
        """The average in fen as shown: rounded down, so it never shows a threshold it does not reach."""
        return int(self.fen.to_integral_value(rounding=ROUND_FLOOR))

    def reaches(self, threshold: int) -> bool:
        return self.total >= threshold * WINDOW


def average(connection: Connection, customer_id: str, application: dt.date) -> Average:
    """The account's average daily assets over the 20 trading days before `application` (a day with no
    snapshot counts as zero)."""
    days = calendar.trading_days_before(application, WINDOW)
    query = select(snapshots.c.cash, snapshots.c.market_value).where(
        snapshots.c.customer_id == customer_id, snapshots.c.trade_day.between(days[0], days[-1])
    )
    rows = connection.execute(query).all()
    return Average(days[0], days[-1], sum(int(cash) + int(value) for cash, value in rows), len(rows))
