"""Clearing and settlement at the end of a trading day (清算交收): each customer's daily statement (交割单),
the broker's clearing file, and the day's levies paid on.

Trades are booked as they happen (`booking`): shares and cash move between the customers' accounts at
the trade, and each order's fees when it ends, at the latest at the close. After the close the day is
cleared: every order of the day has ended, so its statement lines and the clearing file's totals are
final. Clearing also applies the distributions whose ex-date has come (`orders.apply_corporate_actions`)
and snapshots every account's assets at the day's close (日终资产, `daily_assets`), from which the
ChiNext and STAR permissions take their 20-trading-day average: read from the books as they stand when
the day is cleared on time (overnight, before the next session opens), read back as of the day's end
when it is cleared later (a catch-up after an outage, an operator's clear after the next open).
Settlement pays what the broker collected for others: the stamp duty (印花税, for the tax
authority) and the transfer fees (过户费, for the registrar) of the day go from their payable accounts
to the bank (`payments.wallets.RESERVE`), under the one rule of every end of day (`puhui.eod.runs`),
once per date.

The clearing file (清算文件) is a CSV: one line per instrument with the shares and value bought and sold,
the net shares and the net cash of the day (sells less buys), the fees; a trailer with the line count,
the totals and the sha256 of the lines before it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from puhui import clock
from puhui.db import UnitOfWork, transaction
from puhui.eod import runs as eod_runs
from puhui.events.outbox import publish
from puhui.ledger.models import Transfer
from puhui.ledger.service import get_account, get_transfers, post_chain
from puhui.money import format_minor
from puhui.payments.wallets import RESERVE
from puhui.securities import accounts, calendar, daily_assets, models
from puhui.securities import orders as brokerage
from puhui.securities.errors import NotATradingDay
from puhui.securities.robo import service as robo
from puhui.securities.tables import securities_executions as executions
from puhui.securities.tables import securities_instruments as instruments
from puhui.securities.tables import securities_orders as orders

JOB = "securities.clearing"
TOPIC = "securities"
FIELDS = ("code", "bought_shares", "bought_value", "sold_shares", "sold_value", "net_shares", "net_cash")


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One order's line on the daily statement (交割单), amounts in fen."""

    order_id: str
    code: str
    name: str
    side: str
    quantity: int
    average_price: int  # in the instrument's ticks (fen, an ETF's 厘), half-up from value / quantity
    value: int
    commission: int
    stamp_duty: int
    transfer_fee: int

    @property
    def net(self) -> int:
        """What the order did to the customer's cash: a buy pays its value and fees, a sell gets its value less fees."""
        fees = self.commission + self.stamp_duty + self.transfer_fee
        return -(self.value + fees) if self.side == "buy" else self.value - fees


def average_price(code: str, value: int, quantity: int) -> int:
    """成交均价 in the instrument's ticks: value (fen) over quantity, rounded half-up."""
    ticks_per_fen = models.price_scale_of(code) // models.STOCK_SCALE
    return (2 * value * ticks_per_fen + quantity) // (2 * quantity)


def statement(connection: Connection, customer_id: str, day: dt.date) -> list[StatementLine]:
    """The customer's orders that traded on the day, in the order they were placed."""
    query = (
        select(orders, instruments.c.name)
        .join(instruments, instruments.c.code == orders.c.code)
        .where(orders.c.customer_id == customer_id, orders.c.trade_day == day, orders.c.filled > 0)
        .order_by(orders.c.seq)
    )
    return [
        StatementLine(
            row["id"],
            row["code"],
            row["name"],
            row["side"],
            row["filled"],
            average_price(row["code"], row["value"], row["filled"]),
            row["value"],
            row["commission"],
            row["stamp_duty"],
            row["transfer_fee"],
        )
        for row in connection.execute(query).mappings()
    ]


def statement_json(connection: Connection, customer_id: str, day: dt.date) -> dict[str, Any]:
    accounts.require(connection, customer_id)
    lines = statement(connection, customer_id, day)
    money = ("value", "commission", "stamp_duty", "transfer_fee")
    return {
        "customer_id": customer_id,
        "trade_day": day.isoformat(),
        "lines": [
            {
                "order_id": line.order_id,
                "code": line.code,
                "name": line.name,
                "side": line.side,
                "quantity": line.quantity,
                "average_price": models.format_price(line.code, line.average_price),
                **{k: format_minor(getattr(line, k), 2) for k in money},
                "net": format_minor(line.net, 2),
            }
            for line in lines
        ],
        "net": format_minor(sum(line.net for line in lines), 2),
    }


def _totals(connection: Connection, day: dt.date) -> dict[str, list[int]]:
    """Per instrument: bought shares, bought value, sold shares, sold value."""
    query = (
        select(
            executions.c.code,
            executions.c.side,
            func.sum(executions.c.quantity),
            func.sum(executions.c.quantity * executions.c.price),
        )
        .where(executions.c.trade_day == day)
        .group_by(executions.c.code, executions.c.side)
    )
    found: dict[str, list[int]] = {}
    for code, side, shares, value in connection.execute(query):
        row = found.setdefault(code, [0, 0, 0, 0])
        at = 0 if side == "buy" else 2
        row[at], row[at + 1] = int(shares), models.trade_value(code, int(value), 1)  # an ETF's 厘 to the fen
    return found


def levies(connection: Connection, day: dt.date) -> tuple[int, int, int]:
    """The day's commission, stamp duty and transfer fees over every order of the day."""
    query = select(
        func.coalesce(func.sum(orders.c.commission), 0),
        func.coalesce(func.sum(orders.c.stamp_duty), 0),
        func.coalesce(func.sum(orders.c.transfer_fee), 0),
    ).where(orders.c.trade_day == day)
    commission, stamp, transfer = connection.execute(query).one()
    return int(commission), int(stamp), int(transfer)


def clearing_file(connection: Connection, day: dt.date) -> str:
    """The broker's clearing file for the day (清算文件, CSV)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    sums = [0, 0, 0, 0]
    for code, (bought, bought_value, sold, sold_value) in sorted(_totals(connection, day).items()):
        writer.writerow(
            [
                code,
                bought,
                format_minor(bought_value, 2),
                sold,
                format_minor(sold_value, 2),
                bought - sold,
                format_minor(sold_value - bought_value, 2),
            ]
        )
        sums = [a + b for a, b in zip(sums, (bought, bought_value, sold, sold_value), strict=True)]
    body = out.getvalue()
    commission, stamp, transfer = levies(connection, day)
    lines = body.count("\n") - 1
    amounts = (format_minor(sums[1], 2), format_minor(sums[3], 2))
    fees = (format_minor(commission, 2), format_minor(stamp, 2), format_minor(transfer, 2))
    digest = hashlib.sha256(body.encode()).hexdigest()
    writer.writerow(["TRAILER", lines, sums[0], amounts[0], sums[2], amounts[1], *fees, digest])
    return out.getvalue()


def settle_day(uow: UnitOfWork, day: dt.date) -> dict[str, Any]:
    """Pay the day's stamp duty and transfer fees on from their payable accounts, once the books still on the day
    are closed (`orders.close_day`: every order of the day ended, its fees booked), once per date (a
    transfer already made is not made again); mark every robo-advice portfolio at the day's closes, and
    snapshot every account's assets at the close (`daily_assets.take`: live while the books still stand
    there, read back as of the day's end once they have moved on; once per account and day)."""
    if calendar.is_trading_day(day):
        robo.mark_all(uow, day)
        daily_assets.take(uow, day)  # as the books stood: what a late clearing reads back as of the day's end
        brokerage.close_day(uow, day)  # a book nothing moved since: the close's expiries, and their fees, booked
    _, stamp, transfer = levies(uow.connection, day)
    moves = []
    for account, amount, what in (
        (accounts.STAMP_DUTY_PAYABLE, stamp, "stamp_duty"),
        (accounts.TRANSFER_FEE_PAYABLE, transfer, "transfer_fee"),
    ):
        if amount and get_account(uow.connection, account) is not None:
            move_id = f"sec.clearing.{day.isoformat()}.{what}"
            moves.append(Transfer(move_id, account, RESERVE, amount, accounts.LEDGER, what))
    done = get_transfers(uow.connection, [m.id for m in moves])
    post_chain(uow, [m for m in moves if m.id not in done], what="the day's levies exceed what was collected")
    answer = {
        "business_date": day.isoformat(),
        "stamp_duty_paid": format_minor(stamp, 2),
        "transfer_fee_paid": format_minor(transfer, 2),
    }
    if len(done) < len(moves):
        publish(uow, TOPIC, "securities.day_cleared", day.isoformat(), answer)
    return answer


def check_trade_day(day: dt.date, what: str = "trade_day") -> dt.date:
    """`day` when it is an XSHG trading day: a clearing is asked for one (`not_a_trading_day` names the trading days
    around it; the dates between two trading days are cleared, with nothing to clear, as a gap of the next)."""
    if not calendar.is_trading_day(day):
        try:
            before, after = calendar.trading_days_before(day, 1)[0], calendar.next_trading_day(day)
        except OverflowError:  # the first or last days a date can be (0001-01-01): no trading day beside them
            raise NotATradingDay(f"{what} {day} is not an XSHG trading day", field=what) from None
        raise NotATradingDay(
            f"{what} {day} ({day:%A}) is not an XSHG trading day: clear {before}, the trading day before it "
            f"(the next, {after}, clears the days between with it)",
            field=what,
        )
    return day


def clear(engine: Engine, day: dt.date) -> dict[str, Any]:
    """Clear and settle `day` after its close (T+1 job: the day must be over); a date again moves nothing."""
    check_trade_day(day)
    done = eod_runs.run_days(engine, JOB, day, lambda d: transaction(engine, lambda uow: settle_day(uow, d)))
    transaction(engine, brokerage.apply_corporate_actions)
    return _answer(done)


def last_closed_day(moment: dt.datetime) -> dt.date:
    """The last trading day before `moment`'s China date: the day an overnight clearing clears."""
    day = moment.astimezone(clock.CHINA).date() - dt.timedelta(days=1)
    while not calendar.is_trading_day(day):
        day -= dt.timedelta(days=1)
    return day


def clear_overnight(engine: Engine) -> dict[str, Any] | None:
    """The overnight batch (夜间清算): once a trading day is over, clear it while the books still stand at
    its close (before the next session opens), so every account's close is snapshotted from the books as
    they stand (`daily_assets.take`); None when that day is cleared already or the window has passed (the
    next night's run catches it up, as does an operator's `puhui securities clear`, the snapshot then read
    back as of the day's end). The server's leader runs it."""
    day = last_closed_day(clock.now())
    if not daily_assets.at_close(day):
        return None
    with engine.connect() as connection:
        done = eod_runs.completed(connection, JOB, day)
    return None if done else clear(engine, day)


def clear_in(uow: UnitOfWork, day: dt.date) -> dict[str, Any]:
    """The same in the caller's unit of work (an API call, its date sent as `business_date`): every day of a gap,
    or none, commits."""
    check_trade_day(day, "business_date")
    done = eod_runs.run_in(uow, JOB, day, settle_day)
    brokerage.apply_corporate_actions(uow)
    return _answer(done)


def _answer(done: eod_runs.Run[dict[str, Any]]) -> dict[str, Any]:
    """The requested day's answer, saying whether it had been cleared before (then nothing moved again)."""
    return {**done.result, "already_done": done.plan.again}
