"""Market data as read from the brokerage's books (行情): the five-level quote (五档行情) of an instrument,
its trades (逐笔成交) and bars (K线) of a day, and the trades after a cursor for the live stream.

Everything is read from what is persisted (open orders, executions, the outbox), so every worker answers
the same, whichever holds the exchange in its cache. A trade of the day is the buyer's execution row (each
trade is booked once per side); the live stream follows the `securities.trade` events of the outbox,
whose positions order what has committed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from puhui import clock
from puhui.events.outbox import read_events
from puhui.money import format_minor
from puhui.securities import calendar, instruments, models
from puhui.securities.marketdata import Bar, Tick, bars
from puhui.securities.refusals import InstrumentNotFound
from puhui.securities.tables import securities_executions as executions
from puhui.securities.tables import securities_orders as orders

LEVELS = 5
TOPIC = "securities"


def _depth(connection: Connection, code: str, side: str) -> list[tuple[int, int]]:
    left = orders.c.quantity - orders.c.filled - orders.c.cancelled
    best = orders.c.rest_price.desc() if side == "buy" else orders.c.rest_price.asc()
    query = (
        select(orders.c.rest_price, func.sum(left))
        .where(
            orders.c.code == code, orders.c.side == side, orders.c.status == "open", orders.c.rest_price.is_not(None)
        )
        .group_by(orders.c.rest_price)
        .order_by(best)
        .limit(LEVELS)
    )
    return [(int(price), int(shares)) for price, shares in connection.execute(query)]


def _listed(connection: Connection, code: str) -> dict[str, Any]:
    row = instruments.find(connection, code)
    if row is None:
        raise InstrumentNotFound(f"no instrument {code} is listed")
    return row


def quote(connection: Connection, code: str) -> dict[str, Any]:
    """The instrument's quote now: last price, previous close, the day's band and five levels a side."""
    row = _listed(connection, code)
    model = instruments.model_of(row)
    today = clock.business_date()
    band = models.price_band(model, row["previous_close"], today, calendar.trading_days_between(model.listed_on, today))

    def levels(side: str) -> list[dict[str, Any]]:
        return [{"price": models.format_price(code, p), "shares": q} for p, q in _depth(connection, code, side)]

    return {
        "code": code,
        "name": row["name"],
        "phase": calendar.phase_at(clock.now().astimezone(clock.CHINA).replace(tzinfo=None)).value,
        "last_price": None if row["last_price"] is None else models.format_price(code, row["last_price"]),
        "previous_close": models.format_price(code, row["previous_close"]),
        "limit_up": None if band.high is None else models.format_price(code, band.high),
        "limit_down": None if band.low is None else models.format_price(code, band.low),
        "bids": levels("buy"),
        "asks": levels("sell"),
    }


def _tick(row: Any) -> Tick:
    moment = clock.from_micros(row["at"]).astimezone(clock.CHINA).replace(tzinfo=None)
    return Tick(moment, int(row["price"]), int(row["quantity"]))


def ticks(connection: Connection, code: str, day: dt.date) -> list[Tick]:
    """The instrument's trades of a trading day, in order."""
    _listed(connection, code)
    query = (
        select(executions.c.at, executions.c.price, executions.c.quantity)
        .where(executions.c.code == code, executions.c.trade_day == day, executions.c.side == "buy")
        .order_by(executions.c.id)
    )
    return [_tick(r) for r in connection.execute(query).mappings()]


def bar_json(code: str, bar: Bar) -> dict[str, Any]:
    """A bar with its prices in the instrument's places (an ETF's 厘: three) and its turnover in fen."""
    return {
        "start": bar.start.isoformat(),
        **{k: models.format_price(code, getattr(bar, k)) for k in ("open", "high", "low", "close")},
        "volume": bar.volume,
        "turnover": format_minor(models.trade_value(code, bar.turnover, 1), 2),
    }


def bars_json(connection: Connection, code: str, day: dt.date, minutes: int) -> dict[str, Any]:
    """The day's bars of `minutes` minutes (China time, each stamped with its start)."""
    return {
        "code": code,
        "trade_day": day.isoformat(),
        "minutes": minutes,
        "bars": [bar_json(code, b) for b in bars(ticks(connection, code, day), minutes)],
    }


def trades_after(
    engine: Engine, cursor: int, codes: tuple[str, ...], limit: int = 500
) -> tuple[list[dict[str, Any]], int]:
    """The market's trades committed after `cursor` (an outbox position), oldest first, for the given codes
    (all if none), and the position read up to: the outbox orders what commits, so no trade is skipped."""
    events = read_events(engine, after=cursor, limit=limit, topic=TOPIC)
    trades = [
        {
            "position": e.position,
            "code": e.payload["code"],
            "price": e.payload["price"],
            "shares": e.payload["quantity"],
            "at": clock.iso(e.created_at),
        }
        for e in events
        if e.type == "securities.trade" and (not codes or e.payload["code"] in codes)
    ]
    return trades, events[-1].position if events else cursor
