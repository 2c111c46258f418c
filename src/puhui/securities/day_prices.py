"""A past trading day's reference prices (参考价), read back from the books: each instrument's price as
the instrument's row carried it when the day ended, for valuing holdings at that close (`daily_assets`).

The row carries the book's last trade of its day (`last_price`), else the day's previous close
(`previous_close`); once the next day opens both have moved on. They are read back from what stays:
- the day's last trade: its last execution (成交) of that trade day booked by the moment;
- else the previous close: the last trade of an earlier day, unless a distribution's ex-date (除权除息日)
  came after that day and by this one, whose ex-date reference price (除权参考价) the book opened on;
- else, never traded and never ex-dated by then, the previous close the row carries now: the listing
  price while the instrument has not traded since (an instrument first traded after the day shows that
  first day's close instead; the price it was listed at is no longer kept).
Prices in the instrument's ticks (fen, an ETF's 厘), as the row keeps them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, func, select

from puhui.securities.tables import securities_corporate_actions as actions
from puhui.securities.tables import securities_executions as executions
from puhui.securities.tables import securities_instruments as instruments

APPLIED = "applied"


def _last_trades(
    connection: Connection, codes: list[str], day: dt.date, at_micros: int
) -> dict[str, tuple[dt.date, int]]:
    """Per instrument, its last trade on or before `day` booked by `at_micros`: (trade day, price)."""
    last = (
        select(func.max(executions.c.id))
        .where(
            executions.c.code.in_(codes),
            executions.c.side == "buy",  # a trade is booked once per side; the buyer's row stands for it
            executions.c.trade_day <= day,
            executions.c.at <= at_micros,
        )
        .group_by(executions.c.code)
    )
    query = select(executions.c.code, executions.c.trade_day, executions.c.price).where(executions.c.id.in_(last))
    return {code: (trade_day, int(price)) for code, trade_day, price in connection.execute(query)}


def _ex_dates(connection: Connection, codes: list[str], day: dt.date, at_micros: int) -> dict[str, tuple[dt.date, int]]:
    """Per instrument, its last distribution applied by `at_micros` with an ex-date on or before `day`:
    (ex-date, reference price)."""
    query = (
        select(actions.c.code, actions.c.ex_date, actions.c.reference_price)
        .where(
            actions.c.code.in_(codes),
            actions.c.status == APPLIED,
            actions.c.reference_price.is_not(None),
            actions.c.ex_date <= day,
            actions.c.applied_at <= at_micros,
        )
        .order_by(actions.c.ex_date)
    )
    return {code: (ex_date, int(reference)) for code, ex_date, reference in connection.execute(query)}


def _carried_now(connection: Connection, codes: list[str]) -> dict[str, int]:
    query = select(instruments.c.code, instruments.c.previous_close).where(instruments.c.code.in_(codes))
    return {code: int(close) for code, close in connection.execute(query)}


def at_close(connection: Connection, codes: Iterable[str], day: dt.date, at_micros: int) -> dict[str, int]:
    """Each instrument's reference price at `day`'s close as the books stood at `at_micros` (the moment
    the day ended): the day's last trade, else its previous close."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    trades = _last_trades(connection, wanted, day, at_micros)
    ex_dates = _ex_dates(connection, wanted, day, at_micros)
    carried = _carried_now(connection, wanted)
    prices = {}
    for code in wanted:
        trade, ex = trades.get(code), ex_dates.get(code)
        if trade is not None and (trade[0] == day or ex is None or ex[0] <= trade[0]):
            prices[code] = trade[1]
        elif ex is not None:
            prices[code] = ex[1]
        else:
            prices[code] = carried[code]
    return prices
