"""What other packages may read of wealth management (its tables are its own): order flows of the
money-market fund (余额宝-style) and the funds over a time range, and fast redemptions by trade date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, func, select

from puhui.wealth.funds.tables import fund_orders
from puhui.wealth.mmf.tables import mmf_orders


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
