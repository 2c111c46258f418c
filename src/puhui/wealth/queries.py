"""What other packages may read of wealth management (its tables are its own): order flows of the
money-market fund (余额宝-style) and the funds over a time range, fast redemptions by trade date,
and the fund's latest seven-day annualized yield."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, func, select

from puhui.wealth.funds.tables import fund_orders
from puhui.wealth.mmf.tables import mmf_daily, mmf_orders


def mmf_flow(connection: Connection, start: int, end: int, kinds: Iterable[str]) -> tuple[int, int]:
    """(how many, Σ amount in fen) of the money-market fund's orders of these kinds placed in [start, end)."""
    count, total = connection.execute(
        select(func.count(), func.coalesce(func.sum(mmf_orders.c.amount), 0)).where(
            mmf_orders.c.created_at >= start, mmf_orders.c.created_at < end, mmf_orders.c.kind.in_(list(kinds))
        )
    ).one()
    return int(count), int(total)


def fund_flow(connection: Connection, start: int, end: int, kind: str) -> tuple[int, int]:
    """(how many, Σ amount in fen) of fund orders (purchase / redeem) placed in [start, end)."""
    count, total = connection.execute(
        select(func.count(), func.coalesce(func.sum(fund_orders.c.amount), 0)).where(
            fund_orders.c.created_at >= start, fund_orders.c.created_at < end, fund_orders.c.kind == kind
        )
    ).one()
    return int(count), int(total)


def fast_redemptions(connection: Connection, first: dt.date, last: dt.date) -> list[tuple[str, int]]:
    """(trade date, Σ fast redemptions in fen, 快速赎回) of each trade date first..last that had any."""
    rows = connection.execute(
        select(mmf_orders.c.trade_date, func.sum(mmf_orders.c.amount))
        .where(mmf_orders.c.kind == "fast_redeem", mmf_orders.c.trade_date.between(first.isoformat(), last.isoformat()))
        .group_by(mmf_orders.c.trade_date)
    ).all()
    return [(day, int(total)) for day, total in rows]


def latest_seven_day_yield(connection: Connection, on_or_before: dt.date) -> str | None:
    """The money-market fund's latest seven-day annualized yield (七日年化, percent as a decimal
    string such as "1.845") of a business date on or before `on_or_before`; None before the first."""
    return connection.execute(
        select(mmf_daily.c.seven_day_yield)
        .where(mmf_daily.c.seven_day_yield.is_not(None), mmf_daily.c.business_date <= on_or_before.isoformat())
        .order_by(mmf_daily.c.business_date.desc())
        .limit(1)
    ).scalar()
