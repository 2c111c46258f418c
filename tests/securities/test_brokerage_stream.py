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
from puhui.securities import gateway, instruments, models, orders
from puhui.securities.book import OrderType
from puhui.securities.calendar import trading_days_between
from puhui.securities.tables import securities_executions, securities_instruments, securities_orders
from tests.identity.helpers import LI, PASSWORD, WANG, ZHANG, id_number, make_staff
from tests.securities.test_brokerage_http import assert_audit_clean, call, client, deposit, investor  # noqa: F401

CASH = 100_000_00
SHARES = 2_000
CODES = ("600000", "000001")
MARKET_KINDS = {  # market orders each one's exchange takes: best five then limit on SSE, fill or kill on SZSE
    "600000": (OrderType.best5_ioc, OrderType.counterparty_best, OrderType.best5_limit),
    "000001": (OrderType.best5_ioc, OrderType.counterparty_best, OrderType.fok),
}
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
        return orders.OrderRequest(code, side, quantity, None, rng.choice(MARKET_KINDS[code]))
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


MIRROR = "600036"  # listed like 600000 (SSE main board, the same previous close): the same stream trades it
PEOPLE = [
    {
        "name": name,
        "id_number": id_number("110101", "19900101", f"{n:03d}"),
        "phone": f"1370000000{n}",
        "password": PASSWORD,
        "consents": ["payments"],
    }
    for n, name in enumerate(("赵一", "钱二", "孙三"), start=1)
]


def mirrored_action(rng: random.Random) -> tuple[str, int, models.Side, int, OrderType, int | None]:
    kind = OrderType.limit
    if rng.random() < 0.2:
        kind = rng.choice((OrderType.best5_ioc, OrderType.counterparty_best, OrderType.best5_limit, OrderType.own_best))
    side = rng.choice((models.Side.buy, models.Side.sell))
    price = None if kind is not OrderType.limit else 1_050 + rng.randint(-3, 3)  # queues at a price: time priority
    action = "cancel" if rng.random() < 0.25 else "order"
    return action, rng.randrange(3), side, rng.choice((100, 200, 300, 500)), kind, price


def outcome(engine, prefix: str) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    columns = ("status", "filled", "cancelled", "value", "commission", "stamp_duty", "transfer_fee", "rest_price")
    with reading(engine) as connection:
        rows = connection.execute(select(securities_orders).where(securities_orders.c.client_id.like(f"{prefix}%")))
        return {r.client_id[1:]: tuple(getattr(r, c) for c in columns) for r in rows}


def test_a_book_rebuilt_at_every_call_trades_as_the_cached_one(client, engine, clock):  # noqa: F811
    """The same random stream on two like instruments: one's book cached, the other's rebuilt from the
    persisted orders before every call, through auctions, continuous trading, lunch, the close and a
    weekend. Every order ends the same: the rebuild is the book."""
    cached = traders(client, engine)  # the first account lists the default shares
    operator = make_staff(client, "operator")
    twin = {"code": MIRROR, "exchange": "SSE", "board": "main", "name": "招商银行", "listed_on": "2002-04-09"}
    assert (
        call(client, "/v1/securities/instruments", operator, "twin", {**twin, "previous_close": "10.50"}).status_code
        == 201
    )
    rebuilt = []
    for person in PEOPLE:
        customer_id, _ = investor(client, engine, person, CASH)
        deposit(engine, customer_id, MIRROR, SHARES)
        rebuilt.append(customer_id)
    rng = random.Random(7)
    step, started = 0, gateway.rebuilds
    for day in (FRIDAY, FRIDAY + dt.timedelta(days=3)):
        moment = dt.datetime.combine(day, dt.time(9, 14), clock_module.CHINA)
        while moment < dt.datetime.combine(day, dt.time(15, 2), clock_module.CHINA):
            moment += dt.timedelta(minutes=rng.choice((1, 2, 5, 13)))
            clock.set(moment)
            step += 1
            action, who, side, quantity, kind, price = mirrored_action(rng)
            opened = sorted(o["client_id"][1:] for o in open_orders(engine) if o["client_id"].startswith("a"))
            pick = rng.choice(opened) if opened else None
            for prefix, code, people in (("a", "600000", cached), ("b", MIRROR, rebuilt)):
                if prefix == "b":
                    gateway._cache.pop(MIRROR, None)
                if action == "order":
                    request = orders.OrderRequest(code, side, quantity, price, kind)
                    place(engine, people[who], f"{prefix}{step}", request)
                elif pick is not None:
                    owner = {"a": cached, "b": rebuilt}[prefix][_owner(engine, f"a{pick}", cached)]
                    cancel_by_client(engine, owner, f"{prefix}{pick}")
        transaction(engine, orders.advance)
    a, b = outcome(engine, "a"), outcome(engine, "b")
    assert len(a) > 50 and {v[0] for v in a.values()} >= {"filled", "cancelled", "expired"}
    assert a == b
    assert gateway.rebuilds - started >= len(b)  # every accepted order of the twin came through a rebuild
    assert_audit_clean(engine)


def _owner(engine, client_id: str, people: list[str]) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        query = select(securities_orders.c.customer_id).where(securities_orders.c.client_id == client_id)
        return people.index(connection.execute(query).scalar_one())


def cancel_by_client(engine, customer_id: str, client_id: str) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        query = select(securities_orders.c.id).where(
            securities_orders.c.customer_id == customer_id, securities_orders.c.client_id == client_id
        )
        order_id = connection.execute(query).scalar_one()
    try:
        transaction(engine, lambda uow: orders.cancel(uow, customer_id, order_id))
    except PuhuiError:
        pass
