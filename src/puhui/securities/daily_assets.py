"""Each brokerage account's assets at a trading day's close (日终资产), and their average over the 20
trading days before an application (前20个交易日日均资产): what the ChiNext and STAR permissions need
(`securities.permissions`).

- Assets (`assets`): the account's cash, free and frozen under open orders, and its shares, held and
  frozen under sell orders, each instrument at its reference price (the day's last trade, else the
  previous close: the only prices the books carry).
- The snapshot (`take`): clearing (`clearing.settle_day`) takes one for every account opened by the
  close, on each trading day it clears. Clearing is a T+1 job: the server's leader clears each trading day
  overnight, after midnight and before the next trading day's opening auction (09:15 China time,
  `clearing.clear_overnight`), and an operator's `puhui securities clear` in the same hours does the same;
  the books then still stand at the day's close, and the snapshot reads them as they are (`assets`). A day
  cleared later (a catch-up after an outage, or an operator's clear once the next session has opened) is
  read back as of the day's end (日终, `end_of`: the last microsecond of its China date, so the closing
  auction's fills and the orders expired at the close, booked after 15:00, count, and nothing of a later
  date does) (`assets_as_of`): the cash and shares from the ledger's balances at that moment
  (`ledger.queries.available_as_of`, summed from its transfers), each instrument at the reference price
  its row carried then (`day_prices.at_close`). Both give the same figure for the same day, unless the
  books moved between midnight and an on-time clearing. One row per account and day: clearing the day
  again writes none twice and changes none already taken.
- The average (`average`): the snapshots of the 20 XSHG trading days before the application date, summed
  and divided by 20. A day without one counts as zero assets (the account not yet open, nothing in it,
  or the day not cleared yet): a new account reaches a threshold only after 20 trading days, which is
  what the rule means for a new investor, and a day not yet cleared can delay a permission, never bring
  it early.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.ledger import queries as ledger_queries
from puhui.securities import accounts, calendar, day_prices, instruments, models, orders
from puhui.securities.tables import securities_accounts as accounts_table
from puhui.securities.tables import securities_daily_assets as snapshots
from puhui.securities.tables import securities_positions as positions

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


def end_of(day: dt.date) -> int:
    """The day's end (日终) in stored microseconds: the last one of its China date, the moment a late
    snapshot reads the books as of (inclusive)."""
    return clock.day_bounds(day)[1] - 1


def _held_codes(connection: Connection, customer_id: str | None = None) -> list[str]:
    """The instruments the account (or any account) has held at some time (a position's row stays once made)."""
    query = select(positions.c.code).distinct().order_by(positions.c.code)
    if customer_id is not None:
        query = query.where(positions.c.customer_id == customer_id)
    return [row[0] for row in connection.execute(query)]


def assets_as_of(
    connection: Connection, customer_id: str, day: dt.date, prices: Mapping[str, int] | None = None
) -> tuple[int, int]:
    """The account's assets at `day`'s close read back after the books moved on, in fen: its cash (free and
    frozen) and its shares (held and frozen) as the ledger stood at the day's end (`end_of`), each
    instrument at the reference price its row carried then (`day_prices.at_close`; `prices` when the
    caller read them already)."""
    at = end_of(day)
    shares = {
        code: (instruments.holder_account(code, customer_id), instruments.frozen_shares_account(code, customer_id))
        for code in _held_codes(connection, customer_id)
    }
    cash_ids = (accounts.cash_account(customer_id), accounts.frozen_cash_account(customer_id))
    balances = ledger_queries.available_as_of(connection, [*cash_ids, *(i for p in shares.values() for i in p)], at)
    totals = {code: balances[held] + balances[frozen] for code, (held, frozen) in shares.items()}
    held = [code for code, total in totals.items() if total]
    if prices is None:
        prices = day_prices.at_close(connection, held, day, at)
    value = sum(models.trade_value(code, prices[code], totals[code]) for code in held)
    return sum(balances[i] for i in cash_ids), value


def _record(uow: UnitOfWork, customer_id: str, day: dt.date, assets: tuple[int, int]) -> None:
    cash, value = assets
    row = {"customer_id": customer_id, "trade_day": day, "cash": cash, "market_value": value}
    uow.execute(snapshots.insert().values(**row, taken_at=clock.now_micros()))


def _taken(connection: Connection, day: dt.date, customer_id: str | None = None) -> set[str]:
    query = select(snapshots.c.customer_id).where(snapshots.c.trade_day == day)
    if customer_id is not None:
        query = query.where(snapshots.c.customer_id == customer_id)
    return {row[0] for row in connection.execute(query)}


def _missing(uow: UnitOfWork, day: dt.date) -> list[str]:
    """The accounts opened by `day`'s close without a snapshot of the day."""
    closed = clock.to_micros(calendar.closes_at(day).replace(tzinfo=clock.CHINA))
    query = select(accounts_table.c.customer_id).where(accounts_table.c.created_at < closed)
    opened = [row[0] for row in uow.execute(query.order_by(accounts_table.c.customer_id))]
    taken = _taken(uow.connection, day)
    return [customer_id for customer_id in opened if customer_id not in taken]


def take(uow: UnitOfWork, day: dt.date) -> int:
    """Snapshot every account opened by `day`'s close that has none for the day, when `day` is a trading
    day whose close has come: live while the books still stand at the close (`at_close`), read back as of
    the day's end once the next session has opened (`assets_as_of`). Answers how many were taken."""
    now = clock.now().astimezone(clock.CHINA).replace(tzinfo=None)
    if not calendar.is_trading_day(day) or now < calendar.closes_at(day):
        return 0
    missing = _missing(uow, day)
    if at_close(day):
        for customer_id in missing:
            _record(uow, customer_id, day, assets(uow.connection, customer_id))
        return len(missing)
    prices = day_prices.at_close(uow.connection, _held_codes(uow.connection), day, end_of(day)) if missing else {}
    for customer_id in missing:
        _record(uow, customer_id, day, assets_as_of(uow.connection, customer_id, day, prices))
    return len(missing)


def backfill(uow: UnitOfWork, customer_id: str, before: dt.date) -> int:
    """For a seeded world only (the demo), never the platform's own flows: record the account's assets now
    as its close on each of the 20 trading days before `before` that has no snapshot, so the world shows
    an investor whose assets have been with the platform that long. Answers how many were recorded."""
    accounts.require(uow.connection, customer_id)
    days = [d for d in calendar.trading_days_before(before, WINDOW) if not _taken(uow.connection, d, customer_id)]
    now = assets(uow.connection, customer_id)
    for day in days:
        _record(uow, customer_id, day, now)
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
