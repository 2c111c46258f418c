"""Brokerage accounts (证券账户) and their cash (客户交易结算资金), on the ledger (CNY):
- `sec.cash.<customer>` (securities_cash): what the customer may trade with (可用资金);
- `sec.frozen.<customer>` (securities_cash_frozen): cash held for open orders (冻结资金);
- 银证转账: wallet → cash (in), cash → wallet (out); neither account can go below zero.

A sale's proceeds reach the cash account when the sell order ends, usable at once to buy (可用), but the
exchange settles them with the broker only on the next trading day (T+1 交收, `clearing`), so they are
withdrawable (可取) from then: a transfer out takes at most the cash less the part of it that is still
unsettled proceeds (`unsettled_cash`), else 409 `cash_not_withdrawable`. A buy draws first on the money
usable but not withdrawable, the day's proceeds, as A-share brokers count 可取: withdrawable after a buy is
the lesser of what was withdrawable before it and the cash left, and a buy the day's proceeds cover leaves
it as it was.
The broker's own accounts take the fees: commission income (佣金收入), stamp duty payable (应交印花税)
and transfer fee payable (应付过户费).
An account opens only for a customer with a current risk assessment (风险测评, `securities.suitability`)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.events.outbox import publish
from puhui.identity.customers import wallet_id
from puhui.ledger import queries as ledger_queries
from puhui.ledger.errors import InsufficientFunds, Shortfall
from puhui.ledger.models import AccountFlags, Transfer
from puhui.ledger.service import create_account, get_transfers, post_chain
from puhui.money import format_minor
from puhui.securities import calendar, gateway, instruments, models, suitability
from puhui.securities.refusals import AccountNotOpen, CashNotWithdrawable, InsufficientCash
from puhui.securities.tables import securities_accounts as accounts_table
from puhui.securities.tables import securities_orders as orders_table
from puhui.securities.tables import securities_transfers as transfers_table
from puhui.wealth.suitability.service import level_of

LEDGER = "CNY"
COMMISSION_INCOME = "securities.commission_income"
STAMP_DUTY_PAYABLE = "securities.stamp_duty_payable"
TRANSFER_FEE_PAYABLE = "securities.transfer_fee_payable"
BROKER_ACCOUNTS = (
    (COMMISSION_INCOME, "securities_commission_income"),
    (STAMP_DUTY_PAYABLE, "securities_stamp_duty_payable"),
    (TRANSFER_FEE_PAYABLE, "securities_transfer_fee_payable"),
)
NO_OVERDRAFT = AccountFlags.debits_must_not_exceed_credits


def cash_account(customer_id: str) -> str:
    return f"sec.cash.{customer_id}"


def frozen_cash_account(customer_id: str) -> str:
    return f"sec.frozen.{customer_id}"


def ensure_broker_accounts(uow: UnitOfWork) -> None:
    for account_id, code in BROKER_ACCOUNTS:
        create_account(uow, ledger=LEDGER, code=code, owner_id=instruments.OWNER, id=account_id)


def open_account(uow: UnitOfWork, customer_id: str) -> dict[str, Any]:
    """Open the customer's brokerage account (开户) with its cash accounts on the platform's terms: the
    platform's commission rate (`models.DEFAULT_COMMISSION_RATE`) and no ChiNext or STAR permission;
    staff change either afterwards (`securities.permissions`), never the customer. The customer must hold
    a current risk assessment (投资者适当性: the wealth questionnaire, taken and not expired), whose level
    the account records; without one the opening is refused (409 `suitability_assessment_required`,
    `securities.suitability`) and nothing is written. Opening again answers the account as it is."""
    existing = find(uow.connection, customer_id)
    if existing is not None:
        return account_json(uow.connection, existing)
    level = suitability.require_assessment(uow.connection, customer_id, "opening a brokerage account (开户)")
    instruments.ensure_defaults(uow)
    ensure_broker_accounts(uow)
    for account_id, code in (
        (cash_account(customer_id), "securities_cash"),
        (frozen_cash_account(customer_id), "securities_cash_frozen"),
    ):
        create_account(uow, ledger=LEDGER, code=code, owner_id=customer_id, flags=NO_OVERDRAFT, id=account_id)
    row = {
        "customer_id": customer_id,
        "suitability_level": level.name,
        "chinext": False,
        "star": False,
        "commission_rate": str(models.DEFAULT_COMMISSION_RATE),
        "created_at": clock.now_micros(),
    }
    uow.execute(accounts_table.insert().values(**row))
    return account_json(uow.connection, row)


def find(connection: Connection, customer_id: str) -> dict[str, Any] | None:
    query = select(accounts_table).where(accounts_table.c.customer_id == customer_id)
    row = connection.execute(query).mappings().first()
    return dict(row) if row is not None else None


def require(connection: Connection, customer_id: str) -> dict[str, Any]:
    row = find(connection, customer_id)
    if row is None:
        raise AccountNotOpen(f"customer {customer_id} has no brokerage account")
    return row


def fee_schedule(account: dict[str, Any]) -> models.FeeSchedule:
    return models.FeeSchedule(commission_rate=Decimal(account["commission_rate"]))


def cash(connection: Connection, customer_id: str) -> int:
    return ledger_queries.available(connection, cash_account(customer_id)) or 0


def frozen_cash(connection: Connection, customer_id: str) -> int:
    return ledger_queries.available(connection, frozen_cash_account(customer_id)) or 0


def _settling_day(day: dt.date) -> dt.date:
    """The trading day whose sales are still unsettled on `day`: `day` itself when it trades, else the
    trading day before it (a Saturday still waits for Friday's, which settle on Monday)."""
    return day if calendar.is_trading_day(day) else calendar.trading_days_before(day, 1)[0]


@dataclass(frozen=True)
class CashMove:
    """An order's movement of the brokerage cash on the day not yet settled: its freeze when it is placed (冻结,
    out of the cash), or its release when it ends (`released`, back into the cash: what the freeze did not
    spend, and a sale's `proceeds`, value less fees, which are unsettled until T+1). Fen."""

    order_id: str
    amount: int
    released: bool = False
    proceeds: int = 0


def unsettled_cash(moves: Iterable[CashMove]) -> int:
    """The part of the cash that is sale proceeds not yet settled (可用不可取), after the unsettled day's `moves`
    in ledger order. A sale's proceeds add to it when they arrive; a freeze draws on it first (a buy spends the
    money that cannot be withdrawn before the money that can); the release of what an order did not spend
    gives back to it what its freeze drew from it beyond what the order spent (its spending, too, counted
    from the proceeds first). Cash moved in or out, and dividends, are settled money and leave it alone."""
    unsettled = 0
    drawn: dict[str, tuple[int, int]] = {}  # an open order: (frozen, of which drawn from the proceeds)
    for move in moves:
        if not move.released:
            take = min(move.amount, unsettled)
            unsettled -= take
            frozen, took = drawn.get(move.order_id, (0, 0))
            drawn[move.order_id] = (frozen + move.amount, took + take)
            continue
        frozen, took = drawn.pop(move.order_id, (0, 0))
        spent = max(frozen - (move.amount - move.proceeds), 0)
        unsettled += max(took - spent, 0) + move.proceeds
    return unsettled


def withdrawable_of(cash: int, moves: Iterable[CashMove]) -> int:
    """可取资金: the cash less its unsettled proceeds (`unsettled_cash`), at least 0. So a buy leaves the lesser of
    what was withdrawable before it and the cash left; one paid wholly from the day's proceeds, no change."""
    return max(cash - unsettled_cash(moves), 0)


def cash_moves(connection: Connection, customer_id: str, day: dt.date) -> list[CashMove]:
    """The freezes and releases of the customer's orders of the trading day not yet settled on `day`
    (`_settling_day`), in ledger order, read from the orders and their ledger transfers (`<order>.freeze`,
    `<order>.release`, in the ledger's sequence): an ended sale's release carries its proceeds, its value less
    its fees (at least 0)."""
    query = select(
        orders_table.c.id,
        orders_table.c.side,
        orders_table.c.status,
        orders_table.c.value,
        orders_table.c.commission,
        orders_table.c.stamp_duty,
        orders_table.c.transfer_fee,
    ).where(orders_table.c.customer_id == customer_id, orders_table.c.trade_day >= _settling_day(day))
    rows = connection.execute(query).all()
    moved = get_transfers(connection, [f"{r.id}.{part}" for r in rows for part in ("freeze", "release")])
    ordered: list[tuple[int, int, CashMove]] = []
    for r in rows:
        sold = r.side == models.Side.sell.value and r.status != "open"
        proceeds = max(r.value - r.commission - r.stamp_duty - r.transfer_fee, 0) if sold else 0
        if (freeze := moved.get(f"{r.id}.freeze")) is not None:
            ordered.append((freeze.seq or 0, freeze.timestamp, CashMove(r.id, freeze.amount)))
        if (release := moved.get(f"{r.id}.release")) is not None:
            move = CashMove(r.id, release.amount, released=True, proceeds=min(proceeds, release.amount))
            ordered.append((release.seq or 0, release.timestamp, move))
    return [move for _, _, move in sorted(ordered, key=lambda m: (m[0], m[1]))]


def unsettled_proceeds(connection: Connection, customer_id: str, day: dt.date) -> int:
    """The part of the customer's cash on `day` that is sale proceeds not yet settled and not spent by a buy."""
    return unsettled_cash(cash_moves(connection, customer_id, day))


def withdrawable(connection: Connection, customer_id: str) -> int:
    """可取资金: the cash less its unsettled sale proceeds a buy has not drawn on (`withdrawable_of`)."""
    today = gateway.exchange_moment().date()
    return withdrawable_of(cash(connection, customer_id), cash_moves(connection, customer_id, today))


def account_json(connection: Connection, row: dict[str, Any]) -> dict[str, Any]:
    customer_id = row["customer_id"]
    return {
        "customer_id": customer_id,
        "suitability_level": current.name if (current := level_of(connection, customer_id)) is not None else None,
        "chinext_permitted": bool(row["chinext"]),
        "star_permitted": bool(row["star"]),
        "commission_rate": row["commission_rate"],
        "cash": format_minor(cash(connection, customer_id), 2),
        "withdrawable_cash": format_minor(withdrawable(connection, customer_id), 2),
        "frozen_cash": format_minor(frozen_cash(connection, customer_id), 2),
        "cash_account_id": cash_account(customer_id),
    }


def _transfer_id(customer_id: str, client_id: str) -> str:
    return "secx_" + hashlib.sha256(f"{customer_id}\x1f{client_id}".encode()).hexdigest()[:24]


def transfer(uow: UnitOfWork, customer_id: str, direction: str, amount: int, client_id: str) -> dict[str, Any]:
    """银证转账: `in` moves money from the wallet to the brokerage cash, `out` back, at most the withdrawable
    cash (`_check_withdrawable`); the same client_id again answers the first transfer."""
    require(uow.connection, customer_id)
    transfer_id = _transfer_id(customer_id, client_id)
    found = uow.execute(select(transfers_table).where(transfers_table.c.id == transfer_id)).mappings().first()
    if found is not None:
        return transfer_json(dict(found))
    wallet, brokerage = wallet_id(customer_id), cash_account(customer_id)
    if direction == "out":
        _check_withdrawable(uow, customer_id, amount)
    debit, credit = (wallet, brokerage) if direction == "in" else (brokerage, wallet)
    what = "the wallet" if direction == "in" else "the brokerage cash"
    short: Shortfall = InsufficientCash if direction == "out" else InsufficientFunds
    move = Transfer(transfer_id, debit, credit, amount, LEDGER, f"securities_transfer_{direction}")
    post_chain(uow, [move], short=short, what=f"{what} does not hold {format_minor(amount, 2)}")
    row = {
        "id": transfer_id,
        "customer_id": customer_id,
        "client_id": client_id,
        "direction": direction,
        "amount": amount,
        "created_at": clock.now_micros(),
    }
    uow.execute(transfers_table.insert().values(**row))
    moved = {"customer_id": customer_id, "direction": direction, "amount": format_minor(amount, 2)}
    publish(uow, "securities", "securities.cash_transferred", transfer_id, moved)
    return transfer_json(row)


def _check_withdrawable(uow: UnitOfWork, customer_id: str, amount: int) -> None:
    """A transfer out within the withdrawable cash (可取), read under the cash account's row lock (PostgreSQL;
    SQLite has one writer) so that two transfers out, or a buy's freeze, cannot both spend the same settled
    cash. More than the cash itself is the ledger's `insufficient_cash`, as before; more than the withdrawable
    part of it is `cash_not_withdrawable`."""
    ledger_queries.lock_account(uow, cash_account(customer_id))
    held = cash(uow.connection, customer_id)
    if amount > held:
        return  # the ledger refuses it: insufficient_cash
    today = gateway.exchange_moment().date()
    unsettled = unsettled_proceeds(uow.connection, customer_id, today)
    allowed = max(held - unsettled, 0)
    if amount > allowed:
        raise CashNotWithdrawable(
            f"{format_minor(allowed, 2)} of the brokerage cash is withdrawable today, not {format_minor(amount, 2)}: "
            f"{format_minor(unsettled, 2)} is sale proceeds, usable to buy at once and withdrawable from "
            f"{calendar.next_trading_day(_settling_day(today)).isoformat()} (T+1)",
            field="amount",
        )


def transfer_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "direction": row["direction"],
        "amount": format_minor(row["amount"], 2),
        "created_at": clock.iso(row["created_at"]),
    }
