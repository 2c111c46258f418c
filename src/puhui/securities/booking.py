"""Booking the exchange's execution reports (回报) on the ledger, in the order's unit of work.

For a trade of q shares at price p (value v = p × q fen) between a buy order B and a sell order S:
- CNY:      sec.frozen.<buyer> → sec.frozen.<seller>          v   (the proceeds wait for S to end)
- SEC:<code>: sec.<code>.<seller>.frozen → sec.<code>.<buyer>    q
An order's fees (交易费用) are booked once, when it ends (filled, cancelled or expired), on its whole
executed value (`models.trade_fees`): the 5 CNY minimum commission is charged once per order, as the
broker's 交割单 prints it. From the customer's frozen cash: commission → commission income, stamp duty
(sells) → stamp duty payable, transfer fee → transfer fee payable; what is left of the order's frozen
cash goes back to the cash account and its unsold frozen shares back to the holder account.
A buy freezes its price (a market buy: the band's upper limit or its protective price) × quantity plus
that value's fees, so a fill at or below it always leaves the fees; a sell freezes the shares and the
minimum commission, which with the proceeds always covers its fees (fees(v) ≤ v + 5 CNY).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.events.outbox import publish
from puhui.ledger import queries as ledger_queries
from puhui.ledger.models import Transfer
from puhui.ledger.service import post_chain
from puhui.money import format_minor
from puhui.securities import accounts, instruments, models
from puhui.securities.exchange import Execution, Report
from puhui.securities.tables import securities_executions as executions
from puhui.securities.tables import securities_orders as orders
from puhui.securities.tables import securities_positions as positions

OPEN, FILLED = "open", "filled"
TOPIC = "securities"


class Books:
    """The orders one call's reports touch, loaded once and written as they change."""

    def __init__(self, uow: UnitOfWork, code: str) -> None:
        self.uow = uow
        self.code = code
        self.loaded: dict[str, dict[str, Any]] = {}

    def order(self, order_id: str) -> dict[str, Any]:
        found = self.loaded.get(order_id)
        if found is None:
            row = self.uow.execute(select(orders).where(orders.c.id == order_id)).mappings().one()
            found = self.loaded[order_id] = dict(row)
        return found

    def save(self, order: dict[str, Any], **changes: Any) -> None:
        order.update(changes, updated_at=clock.now_micros())
        self.uow.execute(
            orders.update().where(orders.c.id == order["id"]).values(**changes, updated_at=order["updated_at"])
        )

    def book(self, reports: list[Execution], day: dt.date) -> None:
        """Book each report: trades (once, from the buy side's report), rests, cancels and expiries."""
        for r in reports:
            order = self.order(r.order_id)
            if r.report is Report.trade and order["side"] == "buy":
                assert r.price is not None and r.counter_id is not None
                self._trade(order, self.order(r.counter_id), r.price, r.quantity, day)
            elif r.report is Report.accepted and r.price is not None:
                self.save(order, rest_price=r.price)
            elif r.report in (Report.cancelled, Report.expired):
                self.save(order, cancelled=order["cancelled"] + r.quantity)
                if order["filled"] + order["cancelled"] >= order["quantity"]:
                    self.complete(order, r.report.value)

    def _trade(self, buy: dict[str, Any], sell: dict[str, Any], price: int, quantity: int, day: dt.date) -> None:
        value = models.trade_value(self.code, price, quantity)
        at = clock.now_micros()
        ids = []
        for order in (buy, sell):
            row = {
                "order_id": order["id"],
                "customer_id": order["customer_id"],
                "code": self.code,
                "side": order["side"],
                "price": price,
                "quantity": quantity,
                "trade_day": day,
                "at": at,
            }
            ids.append(self.uow.execute(executions.insert().values(**row)).inserted_primary_key[0])
        buyer, seller = buy["customer_id"], sell["customer_id"]
        moves = [
            Transfer(
                f"sec.x{ids[0]}.shares",
                instruments.frozen_shares_account(self.code, seller),
                instruments.holder_account(self.code, buyer),
                quantity,
                instruments.ledger_of(self.code),
                "securities_trade",
            )
        ]
        if buyer != seller:
            moves.append(
                Transfer(
                    f"sec.x{ids[0]}.cash",
                    accounts.frozen_cash_account(buyer),
                    accounts.frozen_cash_account(seller),
                    value,
                    accounts.LEDGER,
                    "securities_trade",
                )
            )
        self._reduce_cost(seller, quantity)
        post_chain(self.uow, moves)
        trade = {
            "code": self.code,
            "buy_order": buy["id"],
            "sell_order": sell["id"],
            "price": models.format_price(self.code, price),
        }
        publish(self.uow, TOPIC, "securities.trade", self.code, {**trade, "quantity": quantity, "day": day.isoformat()})
        add_cost(self.uow, buyer, self.code, value)
        for order, cash in ((buy, -value), (sell, value)):
            self.save(
                order,
                filled=order["filled"] + quantity,
                value=order["value"] + value,
                frozen_cash=order["frozen_cash"] + cash,
                frozen_shares=order["frozen_shares"] - (quantity if order is sell else 0),
            )
        for order in (buy, sell):
            if order["status"] == OPEN and order["filled"] >= order["quantity"]:
                self.complete(order, FILLED)

    def _reduce_cost(self, customer_id: str, quantity: int) -> None:
        """A sale takes its share of the position's cost (average cost), half-up to the fen."""
        held = shares_total(self.uow, customer_id, self.code)
        cost = cost_of(self.uow, customer_id, self.code)
        share = cost if quantity >= held else int((Decimal(cost) * quantity / held).quantize(Decimal(1), ROUND_HALF_UP))
        add_cost(self.uow, customer_id, self.code, -share)

    def complete(self, order: dict[str, Any], status: str) -> None:
        """The order has ended: its fees on its executed value, and what it still holds released."""
        customer = order["customer_id"]
        account = accounts.require(self.uow.connection, customer)
        side = models.Side(order["side"])
        fees = models.trade_fees(accounts.fee_schedule(account), side, order["value"], models.is_etf(self.code))
        frozen, pool = accounts.frozen_cash_account(customer), order["id"]
        moves = [
            Transfer(f"{pool}.{what}", frozen, to, amount, accounts.LEDGER, f"securities_{what}")
            for what, to, amount in (
                ("commission", accounts.COMMISSION_INCOME, fees.commission),
                ("stamp_duty", accounts.STAMP_DUTY_PAYABLE, fees.stamp_duty),
                ("transfer_fee", accounts.TRANSFER_FEE_PAYABLE, fees.transfer_fee),
                ("release", accounts.cash_account(customer), order["frozen_cash"] - fees.total),
            )
            if amount > 0
        ]
        if order["frozen_shares"] > 0:
            moves.append(
                Transfer(
                    f"{pool}.unfreeze",
                    instruments.frozen_shares_account(self.code, customer),
                    instruments.holder_account(self.code, customer),
                    order["frozen_shares"],
                    instruments.ledger_of(self.code),
                    "securities_unfreeze",
                )
            )
        post_chain(self.uow, moves)
        if side is models.Side.buy and order["value"]:
            add_cost(self.uow, customer, self.code, fees.total)
        ended = {
            "order_id": order["id"],
            "customer_id": customer,
            "status": status,
            "fees": format_minor(fees.total, 2),
        }
        publish(self.uow, TOPIC, "securities.order_ended", order["id"], ended)
        self.save(
            order,
            status=status,
            frozen_cash=0,
            frozen_shares=0,
            commission=fees.commission,
            stamp_duty=fees.stamp_duty,
            transfer_fee=fees.transfer_fee,
        )


def shares_total(uow: UnitOfWork, customer_id: str, code: str) -> int:
    held = ledger_queries.available(uow.connection, instruments.holder_account(code, customer_id)) or 0
    frozen = ledger_queries.available(uow.connection, instruments.frozen_shares_account(code, customer_id)) or 0
    return held + frozen


def cost_of(uow: UnitOfWork, customer_id: str, code: str) -> int:
    query = select(positions.c.cost).where(positions.c.customer_id == customer_id, positions.c.code == code)
    found = uow.execute(query).first()
    return int(found[0]) if found is not None else 0


def add_cost(uow: UnitOfWork, customer_id: str, code: str, amount: int) -> None:
    """Open the position's cost row on first use and add `amount` (negative on a sale) to it."""
    where = (positions.c.customer_id == customer_id, positions.c.code == code)
    if uow.execute(select(positions.c.cost).where(*where)).first() is None:
        uow.execute(positions.insert().values(customer_id=customer_id, code=code, cost=amount))
    else:
        uow.execute(positions.update().where(*where).values(cost=positions.c.cost + amount))
