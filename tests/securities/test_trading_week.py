"""A simulated week of trading (one seeded stream, Monday to Friday, on SQLite and PostgreSQL): each
day's orders, cancels, auctions and close, then the day cleared the next morning with its levies paid
on; every day nothing stays frozen, shares are conserved, cash is conserved up to the fees the broker
took and the levies it paid on, and the ledger audit passes at the end of the week."""

from __future__ import annotations

import datetime as dt
import random

from puhui import clock as clock_module
from puhui.db import reading, transaction
from puhui.ledger.queries import available
from puhui.money import format_minor
from puhui.securities import accounts as brokerage
from puhui.securities import clearing, instruments, orders
from tests.securities.test_brokerage_http import assert_audit_clean, client  # noqa: F401 - the fixture
from tests.securities.test_brokerage_stream import (
    CASH,
    CODES,
    SHARES,
    cancel_one,
    open_orders,
    place,
    random_request,
    traders,
)

MONDAY = dt.date(2026, 12, 7)


def test_a_week_of_trading_clears_every_day_and_keeps_the_books(client, engine, clock):  # noqa: F811
    customers = traders(client, engine)
    rng = random.Random(11)
    levies_paid = 0
    days = [MONDAY + dt.timedelta(days=n) for n in range(5)]
    for n, day in enumerate(days):
        moment = dt.datetime.combine(day, dt.time(9, 14), clock_module.CHINA)
        end = dt.datetime.combine(day, dt.time(15, 2), clock_module.CHINA)
        while moment < end:
            moment += dt.timedelta(minutes=rng.choice((2, 5, 11)))
            clock.set(moment)
            if rng.random() < 0.2:
                cancel_one(engine, rng, open_orders(engine))
            else:
                place(engine, rng.choice(customers), f"w{n}.{moment:%H%M}", random_request(rng))
        transaction(engine, orders.advance)  # the close: what is left expires
        assert open_orders(engine) == []
        clock.set(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(8, 0), clock_module.CHINA))
        cleared = clearing.clear(engine, day)
        with reading(engine) as connection:
            _, stamp, transfer = clearing.levies(connection, day)
            assert (cleared["stamp_duty_paid"], cleared["transfer_fee_paid"]) == (
                format_minor(stamp, 2),
                format_minor(transfer, 2),
            )
            levies_paid += stamp + transfer
            assert available(connection, brokerage.STAMP_DUTY_PAYABLE) in (None, 0)
            assert available(connection, brokerage.TRANSFER_FEE_PAYABLE) in (None, 0)
            money = sum(brokerage.cash(connection, c) + brokerage.frozen_cash(connection, c) for c in customers)
            assert all(brokerage.frozen_cash(connection, c) == 0 for c in customers)
            commission = available(connection, brokerage.COMMISSION_INCOME) or 0
            assert money + commission + levies_paid == CASH * len(customers)  # cash conserved up to fees paid
            for code in CODES:
                held = sum(brokerage_holding(connection, code, c) for c in customers)
                assert held == SHARES * len(customers)  # shares conserved
    assert levies_paid > 0
    again = clearing.clear(engine, days[-1])
    assert again == {**cleared, "already_done": True}  # a day cleared again moves nothing, and says so
    assert_audit_clean(engine)


def brokerage_holding(connection, code: str, customer: str) -> int:  # type: ignore[no-untyped-def]
    return (available(connection, instruments.holder_account(code, customer)) or 0) + (
        available(connection, instruments.frozen_shares_account(code, customer)) or 0
    )
