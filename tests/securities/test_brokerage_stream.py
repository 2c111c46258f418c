"""Random order streams through the brokerage and the exchange simulator, on SQLite and PostgreSQL:
seeded streams over two trading days (auctions, continuous trading, lunch, the close, the weekend) and
threads trading at once. After each: no order open means nothing frozen, cash and frozen cash match
the open orders, shares per instrument are conserved, cash is conserved up to the fees the broker took,
every fill is inside its day's band, and the ledger audit passes."""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest
from sqlalchemy import select

from puhui import clock as clock_module
from puhui.db import reading, transaction
from puhui.errors import PuhuiError
from puhui.ledger.queries import available
from puhui.securities import accounts as brokerage
from puhui.securities import instruments, models, orders
from puhui.securities.book import OrderType
from puhui.securities.calendar import trading_days_between
from puhui.securities.tables import securities_executions, securities_instruments, securities_orders
from tests.identity.helpers import LI, WANG, ZHANG
from tests.securities.test_brokerage_http import assert_audit_clean, client, deposit, investor  # noqa: F401

CASH = 100_000_00
SHARES = 2_000
CODES = ("600000", "000001")
FRIDAY = dt.date(2026, 12, 4)


def traders(client, engine) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    for person in (ZHANG, LI, WANG):
        customer_id, _ = investor(client, engine, person, CASH)
        for code in CODES:
            deposit(engine, customer_id, code, SHARES)
        ids.append(customer_id)
    return ids


def place(engine, customer_id: str, client_id: str, request: orders.OrderRequest) -> dict | None:  # type: ignore[no-untyped-def]
    try:
        return transaction(engine, lambda uow: orders.place(uow, customer_id, request, client_id))
    except PuhuiError:
        return None


def random_request(rng: random.Random) -> orders.OrderRequest:
    code = rng.choice(CODES)
    close = 1_050 if code == "600000" else 1_150
    side = rng.choice((models.Side.buy, models.Side.sell))
    quantity = rng.choice((100, 200, 300, 500))
    if rng.random() < 0.2:
        kind = rng.choice((OrderType.best5_ioc, OrderType.counterparty_best, OrderType.best5_limit))
        return orders.OrderRequest(code, side, quantity, None, kind)
    return orders.OrderRequest(code, side, quantity, close + rng.randint(-40, 40))


def cancel_one(engine, rng: random.Random, open_orders: list[dict]) -> None:  # type: ignore[no-untyped-def]
    if not open_orders:
        return
    chosen = rng.choice(open_orders)
    try:
        transaction(engine, lambda uow: orders.cancel(uow, chosen["customer_id"], chosen["id"]))
    except PuhuiError:
        pass


def open_orders(engine) -> list[dict]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        query = select(securities_orders).where(securities_orders.c.status == "open")
        return [dict(r) for r in connection.execute(query).mappings()]


def check_invariants(engine, customers: list[str], moved_in: int) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        rows = [dict(r) for r in connection.execute(select(securities_orders)).mappings()]
        for customer in customers:
            frozen = available(connection, brokerage.frozen_cash_account(customer))
            assert frozen == sum(
                r["frozen_cash"] for r in rows if r["customer_id"] == customer and r["status"] == "open"
            )
            for code in CODES:
                frozen_shares = available(connection, instruments.frozen_shares_account(code, customer)) or 0
                assert frozen_shares == sum(
                    r["frozen_shares"]
                    for r in rows
                    if r["customer_id"] == customer and r["code"] == code and r["status"] == "open"
                )
        for code in CODES:
            total = sum(
                (available(connection, instruments.holder_account(code, c)) or 0)
                + (available(connection, instruments.frozen_shares_account(code, c)) or 0)
                for c in customers
            )
            assert total == SHARES * len(customers)  # shares conserved
        money = sum(brokerage.cash(connection, c) + brokerage.frozen_cash(connection, c) for c in customers)
        fees = sum(
            available(connection, account) or 0
            for account in (brokerage.COMMISSION_INCOME, brokerage.STAMP_DUTY_PAYABLE, brokerage.TRANSFER_FEE_PAYABLE)
        )
        assert money + fees == moved_in  # cash conserved up to the fees
        assert fees == sum(r["commission"] + r["stamp_duty"] + r["transfer_fee"] for r in rows)


def check_fills_in_band(engine, closes: dict[tuple[str, dt.date], int]) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        fills = [dict(r) for r in connection.execute(select(securities_executions)).mappings()]
        listed = {
            r["code"]: instruments.model_of(dict(r))
            for r in connection.execute(select(securities_instruments)).mappings()
        }
    for fill in fills:
        instrument = listed[fill["code"]]
        number = trading_days_between(instrument.listed_on, fill["trade_day"])
        band = models.price_band(instrument, closes[(fill["code"], fill["trade_day"])], fill["trade_day"], number)
        assert band.contains(fill["price"]), fill
    return len(fills)


def previous_closes(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return {r["code"]: r["previous_close"] for r in connection.execute(select(securities_instruments)).mappings()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_stream_over_two_trading_days(client, engine, clock, seed):  # noqa: F811
    customers = traders(client, engine)
    moved_in = CASH * len(customers)
    rng = random.Random(seed)
    closes: dict[tuple[str, dt.date], int] = {}
    days = (FRIDAY, FRIDAY + dt.timedelta(days=3))  # Friday, then Monday
    step = 0
    for day in days:
        moment = dt.datetime.combine(day, dt.time(9, 14), clock_module.CHINA)
        end = dt.datetime.combine(day, dt.time(15, 2), clock_module.CHINA)
        while moment < end:
            moment += dt.timedelta(minutes=rng.choice((1, 2, 5, 13)))
            clock.set(moment)
            step += 1
            if rng.random() < 0.25:
                cancel_one(engine, rng, open_orders(engine))
            else:
                place(engine, rng.choice(customers), f"o{step}", random_request(rng))
            for code, close in previous_closes(engine).items():
                closes.setdefault((code, day), close)
            check_invariants(engine, customers, moved_in)
        transaction(engine, orders.advance)  # the close: what is left expires
        assert open_orders(engine) == []
    for customer in customers:
        with reading(engine) as connection:
            assert brokerage.frozen_cash(connection, customer) == 0
    check_invariants(engine, customers, moved_in)
    assert check_fills_in_band(engine, closes) > 20
    statuses = {r["status"] for r in open_orders(engine)} | _ended(engine)
    assert statuses >= {"filled", "cancelled", "expired"}
    assert_audit_clean(engine)


def _ended(engine) -> set[str]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return {r[0] for r in connection.execute(select(securities_orders.c.status).distinct())}


def test_threads_trading_at_once(client, engine, clock):  # noqa: F811
    customers = traders(client, engine)
    errors: list[BaseException] = []

    def trade(index: int, customer: str) -> None:
        rng = random.Random(index)
        try:
            for n in range(12):
                place(engine, customer, f"t{index}.{n}", random_request(rng))
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            errors.append(error)

    threads = [threading.Thread(target=trade, args=(i, customers[i % 3])) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check_invariants(engine, customers, CASH * len(customers))
    with reading(engine) as connection:
        placed = connection.execute(select(securities_orders)).all()
    assert len(placed) > 40
    assert_audit_clean(engine)
