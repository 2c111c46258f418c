"""Robo-advice executed as trades (智能投顾执行), each operation in one unit of work: subscribing buys the
level's model ETF portfolio in whole lots through the brokerage's order path (gateway → exchange), as
advised orders: the portfolio was matched to the customer's level as a whole (组合适当性), so its ETFs are
not each matched again (`securities.suitability`);
rebalancing sells what drifted over and then buys what drifted under with the cash the sells left;
marking records the portfolio's value at a day's close; the report gives the time-weighted return net
of fees, the fees paid and the model portfolio's own return over the same days.

The portfolio is a sleeve of the customer's brokerage account, kept by bookkeeping: the units its
own orders bought and sold and the cash left of the amount subscribed (`sleeve`).
Buys are limits a little above the reference price (last trade, else previous close) and sells a little
below it, within the day's band, so they take the quotes there; what is left of them expires at the
close."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.securities import accounts, instruments, models, orders
from puhui.securities.refusals import InsufficientCash
from puhui.securities.robo import models as robo
from puhui.securities.robo import universe
from puhui.securities.robo.errors import AlreadySubscribed, NotSubscribed, RiskLevelMismatch
from puhui.securities.robo.tables import securities_robo_marks as marks
from puhui.securities.robo.tables import securities_robo_runs as runs
from puhui.securities.robo.tables import securities_robo_subscriptions as subscriptions
from puhui.securities.tables import securities_orders as order_rows
from puhui.wealth.suitability.service import level_of

SLIPPAGE = Decimal("0.002")  # a buy's limit above the reference price


def _run_id(customer_id: str, client_id: str) -> str:
    return hashlib.sha256(f"robo\x1f{customer_id}\x1f{client_id}".encode()).hexdigest()[:32]


def reference_prices(connection: Connection, codes: list[str]) -> dict[str, int]:
    answer = {}
    for code in codes:
        row = instruments.require(connection, code)
        answer[code] = row["last_price"] or row["previous_close"]
    return answer


def _band(connection: Connection, code: str) -> models.Band:
    row = instruments.require(connection, code)
    ratio = models.band_ratio(instruments.model_of(row), clock.business_date())
    close = Decimal(row["previous_close"])
    return models.Band(models.round_to_tick(close * (1 - ratio)), models.round_to_tick(close * (1 + ratio)))


def buy_limit(connection: Connection, code: str, reference: int) -> int:
    """A little above the reference price (SLIPPAGE), never above the day's limit-up price (涨停价)."""
    ceiling = _band(connection, code).high
    wanted = int((Decimal(reference) * (1 + SLIPPAGE)).to_integral_value(ROUND_CEILING))
    return wanted if ceiling is None else min(ceiling, wanted)


def sell_limit(connection: Connection, code: str, reference: int) -> int:
    """A little below the reference price, never under the day's limit-down price (跌停价)."""
    floor = _band(connection, code).low
    wanted = int((Decimal(reference) * (1 - SLIPPAGE)).to_integral_value(ROUND_FLOOR))
    return wanted if floor is None else max(floor, wanted)


def _find(connection: Connection, customer_id: str) -> dict[str, Any] | None:
    row = connection.execute(select(subscriptions).where(subscriptions.c.customer_id == customer_id)).mappings()
    found = row.first()
    return dict(found) if found is not None else None


def require(connection: Connection, customer_id: str) -> dict[str, Any]:
    found = _find(connection, customer_id)
    if found is None:
        raise NotSubscribed(f"customer {customer_id} has no robo-advice subscription")
    return found


def _portfolio_level(connection: Connection, customer_id: str, level: str | None) -> str:
    """The level whose model portfolio the customer may hold: `level`, or their assessed one by default;
    refused above the assessed level or without a valid questionnaire (适当性)."""
    assessed = level_of(connection, customer_id)
    if level is None:
        if assessed is None:
            raise RiskLevelMismatch("no valid risk questionnaire (风险测评): take it first, the portfolio follows it")
        level = assessed.name
    if level not in robo.PORTFOLIOS:
        raise RiskLevelMismatch(f"no model portfolio for level {level!r}")
    if assessed is None or robo.LEVELS.index(level) > robo.LEVELS.index(assessed.name):
        told = assessed.name if assessed is not None else "none (no valid questionnaire)"
        raise RiskLevelMismatch(f"the {level} portfolio is above the customer's assessed level {told}")
    return level


def proposal(connection: Connection, customer_id: str, level: str | None = None) -> dict[str, Any]:
    """What a subscription would buy (投资建议): the targets for `level` (the customer's assessed level by
    default), how they were chosen, and the least amount that buys a lot of each ETF at today's prices."""
    account = accounts.require(connection, customer_id)
    level = _portfolio_level(connection, customer_id, level)
    chosen = universe.target_weights(connection, level)
    listed = [code for code in sorted(chosen.weights) if instruments.find(connection, code) is not None]
    limits = {code: buy_limit(connection, code, price) for code, price in reference_prices(connection, listed).items()}
    least = (
        robo.minimum_amount(accounts.fee_schedule(account), chosen.weights, limits)
        if listed == sorted(chosen.weights)
        else None
    )
    return {
        "level": level,
        "method": chosen.method,
        "history_days": chosen.history_days,
        "targets": [
            {
                "code": code,
                "weight": weight,
                "price": models.format_price(code, limits[code]) if code in limits else None,
            }
            for code, weight in sorted(chosen.weights.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "minimum_amount": least,
    }


def subscribe(
    uow: UnitOfWork, customer_id: str, amount: int, client_id: str, level: str | None = None
) -> dict[str, Any]:
    """Subscribe with `amount` fen to the model portfolio of `level` (the customer's own by default) and
    buy it (建仓). The same terms again answer the subscription as it is."""
    account = accounts.require(uow.connection, customer_id)
    level = _portfolio_level(uow.connection, customer_id, level)
    existing = _find(uow.connection, customer_id)
    if existing is not None:
        if (existing["level"], existing["amount"]) != (level, amount):
            raise AlreadySubscribed(f"subscribed already to {existing['level']} with other terms")
        return status(uow.connection, customer_id)
    instruments.ensure_etfs(uow)
    chosen = universe.target_weights(uow.connection, level)
    targets = chosen.weights
    references = reference_prices(uow.connection, sorted(targets))
    limits = {code: buy_limit(uow.connection, code, price) for code, price in references.items()}
    schedule = accounts.fee_schedule(account)
    planned = robo.size_buys(schedule, amount, targets, limits)  # robo_amount_below_minimum
    cash = accounts.cash(uow.connection, customer_id)
    if cash < amount:
        raise InsufficientCash(f"the brokerage cash {cash} fen does not cover {amount} fen")
    uow.execute(
        subscriptions.insert().values(
            customer_id=customer_id,
            level=level,
            amount=amount,
            threshold=str(robo.DRIFT_THRESHOLD),
            start_prices=references,
            start_targets=_stored(targets),
            targets=_stored(targets),
            method=chosen.method,
            created_at=clock.now_micros(),
        )
    )
    _execute(uow, customer_id, _run_id(customer_id, client_id), "subscribe", planned)
    return status(uow.connection, customer_id)


def _execute(uow: UnitOfWork, customer_id: str, run_id: str, kind: str, planned: list[robo.RoboOrder]) -> None:
    """Open the run and place its orders (下单) through the brokerage."""
    row = {"id": run_id, "customer_id": customer_id, "kind": kind, "order_ids": [], "orders": 0}
    uow.execute(runs.insert().values(**row, created_at=clock.now_micros()))
    _place(uow, customer_id, run_id, planned)


def _place(uow: UnitOfWork, customer_id: str, run_id: str, planned: list[robo.RoboOrder]) -> None:
    placed = []
    for order in planned:
        request = orders.OrderRequest(order.code, order.side, order.quantity, order.price)
        client_id = f"robo.{run_id}.{order.code}.{order.side.value}"
        placed.append(orders.place(uow, customer_id, request, client_id, advised=True)["id"])
    ids = [*uow.execute(select(runs.c.order_ids).where(runs.c.id == run_id)).scalar_one(), *placed]
    uow.execute(runs.update().where(runs.c.id == run_id).values(order_ids=ids, orders=len(ids)))


def _robo_orders(connection: Connection, customer_id: str) -> list[dict[str, Any]]:
    ids = [
        i
        for (placed,) in connection.execute(select(runs.c.order_ids).where(runs.c.customer_id == customer_id))
        for i in placed
    ]
    if not ids:
        return []
    return [dict(r) for r in connection.execute(select(order_rows).where(order_rows.c.id.in_(ids))).mappings()]


def sleeve(
    connection: Connection, customer_id: str, amount: int, through: dt.date | None = None
) -> tuple[dict[str, int], int, int]:
    """The robo portfolio inside the account (its 子账户 by bookkeeping): the units its orders bought
    less those they sold, and its cash: the amount, less what buys cost, plus what sells brought, fees
    counted once the order ended; only orders of trading days up to `through` when given (day orders:
    by that day's close they are done). Answers the units, the cash and the fees paid."""
    units: dict[str, int] = {}
    cash, fees = amount, 0
    for o in _robo_orders(connection, customer_id):
        if through is not None and o["trade_day"] > through:
            continue
        fee = o["commission"] + o["stamp_duty"] + o["transfer_fee"]
        sign = 1 if o["side"] == "buy" else -1
        units[o["code"]] = units.get(o["code"], 0) + sign * o["filled"]
        cash -= sign * o["value"] + fee
        fees += fee
    return units, cash, fees


def _stored(targets: dict[str, Decimal]) -> dict[str, str]:
    return {code: str(weight) for code, weight in sorted(targets.items())}


def targets_of(subscription: dict[str, Any]) -> dict[str, Decimal]:
    """The targets in force: the advisor's last (目标配置), or the level's model portfolio for a
    subscription made before targets were kept."""
    kept = subscription.get("targets")
    return {c: Decimal(w) for c, w in kept.items()} if kept else dict(robo.PORTFOLIOS[subscription["level"]])


def _retarget(uow: UnitOfWork, customer_id: str, subscription: dict[str, Any]) -> dict[str, Any]:
    """Ask the advisor again (the ETFs' history has grown since) and keep its answer as the targets."""
    chosen = universe.target_weights(uow.connection, subscription["level"])
    values = {"targets": _stored(chosen.weights), "method": chosen.method}
    uow.execute(subscriptions.update().where(subscriptions.c.customer_id == customer_id).values(**values))
    return {**subscription, **values}


def _portfolio(
    connection: Connection, customer_id: str, subscription: dict[str, Any], close_of: dt.date | None = None
) -> tuple[Any, ...]:
    """Targets, units, prices and cash: now, or at the close of `close_of` (its closes, its orders)."""
    targets = targets_of(subscription)
    held, cash, _ = sleeve(connection, customer_id, subscription["amount"], close_of)
    units = {c: q for c, q in held.items() if q} | {c: held.get(c, 0) for c in targets}
    prices = reference_prices(connection, sorted(units))
    if close_of is not None:
        prices |= universe.closes_on(connection, sorted(units), close_of)
    return targets, units, prices, cash


def rebalance(uow: UnitOfWork, customer_id: str, client_id: str) -> dict[str, Any]:
    """Rebalance (再平衡) when some weight drifted beyond the threshold: sells first, then the buys the
    free cash pays for. The same client_id again answers what that run did."""
    run_id = _run_id(customer_id, client_id)
    subscription = require(uow.connection, customer_id)
    if uow.execute(select(runs.c.id).where(runs.c.id == run_id)).first() is None:
        subscription = _retarget(uow, customer_id, subscription)
        targets, units, prices, cash = _portfolio(uow.connection, customer_id, subscription)
        account = accounts.require(uow.connection, customer_id)
        schedule = accounts.fee_schedule(account)
        planned = robo.rebalance_orders(schedule, units, prices, cash, targets, Decimal(subscription["threshold"]))
        sells = [
            robo.RoboOrder(o.code, o.side, o.quantity, sell_limit(uow.connection, o.code, o.price))
            for o in planned
            if o.side is models.Side.sell
        ]
        _execute(uow, customer_id, run_id, "rebalance", sells)
        free = min(
            accounts.cash(uow.connection, customer_id), sleeve(uow.connection, customer_id, subscription["amount"])[1]
        )
        buys = []
        for order in (o for o in planned if o.side is models.Side.buy):
            limit = buy_limit(uow.connection, order.code, order.price)
            budget = robo.buy_cost(schedule, order.code, limit, order.quantity)
            lots = robo.lots_within(schedule, order.code, limit, min(budget, free))
            if lots:
                free -= robo.buy_cost(schedule, order.code, limit, lots * robo.LOT)
                buys.append(robo.RoboOrder(order.code, order.side, lots * robo.LOT, limit))
        _place(uow, customer_id, run_id, buys)
    return {**status(uow.connection, customer_id), "run": run_json(uow.connection, run_id)}


def run_json(connection: Connection, run_id: str) -> dict[str, Any]:
    row = connection.execute(select(runs).where(runs.c.id == run_id)).mappings().one()
    placed = [orders.read_order(connection, row["customer_id"], i) for i in row["order_ids"]]
    return {"id": row["id"], "kind": row["kind"], "orders": placed, "created_at": clock.iso(row["created_at"])}


def status(connection: Connection, customer_id: str) -> dict[str, Any]:
    """The subscription, each ETF's units, value, weight, target and drift (偏离度), and the cash."""
    subscription = require(connection, customer_id)
    targets, units, prices, cash = _portfolio(connection, customer_id, subscription)
    weights = robo.weights(units, prices, cash)
    drifts = robo.drift(units, prices, cash, targets)
    threshold = Decimal(subscription["threshold"])
    lines = [
        {
            "code": code,
            "units": units[code],
            "price": models.format_price(code, prices[code]),
            "value": models.trade_value(code, prices[code], units[code]),
            "weight": weights[code],
            "target": targets.get(code, Decimal(0)),
            "drift": drifts[code],
        }
        for code in sorted(units)
    ]
    return {
        "customer_id": customer_id,
        "level": subscription["level"],
        "method": subscription["method"] or "model_portfolio",
        "amount": subscription["amount"],
        "threshold": threshold,
        "cash": cash,
        "value": robo.total_value(units, prices, cash),
        "holdings": lines,
        "needs_rebalance": robo.needs_rebalance(drifts, threshold),
    }


def mark(uow: UnitOfWork, customer_id: str, day: dt.date | None = None) -> dict[str, Any]:
    """Record the portfolio's value at today's prices (the close, when called after it), or at the
    closes of a past trading `day` (what clearing does for the day it clears); again on the same day
    replaces the day's mark."""
    subscription = require(uow.connection, customer_id)
    targets, units, prices, cash = _portfolio(uow.connection, customer_id, subscription, day)
    day = day or clock.business_date()
    where = (marks.c.customer_id == customer_id, marks.c.day == day)
    uow.execute(marks.delete().where(*where))
    value = robo.total_value(units, prices, cash)
    row = {"customer_id": customer_id, "day": day, "value": value, "prices": prices, "targets": _stored(targets)}
    uow.execute(marks.insert().values(**row))
    return row


def report(connection: Connection, customer_id: str) -> dict[str, Any]:
    """Performance (业绩报告) over the marked days: the time-weighted return net of fees (each day's
    value over the previous, chained, from the amount subscribed; the sleeve has no flows in or out
    after it), the fees paid, and the model portfolio's return rebalanced daily
    to its weights at the same closes (the benchmark, before fees)."""
    subscription = require(connection, customer_id)
    targets = targets_of({**subscription, "targets": subscription["start_targets"]})
    query = select(marks).where(marks.c.customer_id == customer_id).order_by(marks.c.day)
    rows = [dict(r) for r in connection.execute(query).mappings()]
    growth, benchmark = Decimal(1), Decimal(1)
    value, prices = Decimal(subscription["amount"]), subscription["start_prices"]
    days = []
    for row in rows:
        growth *= Decimal(row["value"]) / value
        benchmark *= sum(w * Decimal(row["prices"][c]) / Decimal(prices[c]) for c, w in targets.items())
        value, prices = Decimal(row["value"]), row["prices"]
        targets = targets_of({**subscription, "targets": row["targets"]})
        days.append({"day": row["day"].isoformat(), "value": row["value"]})
    return {
        "customer_id": customer_id,
        "level": subscription["level"],
        "days": days,
        "time_weighted_return": growth - 1,
        "benchmark_return": benchmark - 1,
        "fees_paid": sleeve(connection, customer_id, subscription["amount"])[2],
    }


def mark_all(uow: UnitOfWork, day: dt.date | None = None) -> list[str]:
    """Mark every portfolio subscribed by the end of `day` (today by default) at that day's closes:
    what clearing calls for each trading day it clears."""
    query = select(subscriptions.c.customer_id).order_by(subscriptions.c.customer_id)
    if day is not None:
        query = query.where(subscriptions.c.created_at < clock.day_bounds(day)[1])
    customers = [r[0] for r in uow.execute(query)]
    for customer_id in customers:
        mark(uow, customer_id, day)
    return customers
