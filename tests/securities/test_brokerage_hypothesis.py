"""Hypothesis at the brokerage level, on SQLite and PostgreSQL: random streams of orders and cancels from
three accounts through the real service path (`orders.place` / `orders.cancel`, each in its own unit of
work on the database), over one or two trading days with clearing (清算交收) between them. After every
action: nothing negative, frozen cash and shares exactly those of the open orders, shares per instrument
conserved, cash conserved up to the fees; after each day no order open and nothing frozen; every fill
inside its day's band; the audit passes. The seeded streams of `test_brokerage_stream` stay as the
long runs; these are small and shrinkable."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from puhui import clock as clock_module
from puhui.db import reading, transaction
from puhui.errors import PuhuiError
from puhui.ledger.queries import available
from puhui.securities import accounts as brokerage
from puhui.securities import calendar, clearing, models, orders
from puhui.securities.book import OrderType
from puhui.securities.tables import securities_orders
from tests.securities.test_brokerage_http import assert_audit_clean, client  # noqa: F401
from tests.securities.test_brokerage_stream import (
    CASH,
    CODES,
    SHARES,
    check_fills_in_band,
    open_orders,
    place,
    previous_closes,
    traders,
)

CLOSES = {"600000": 1_050, "000001": 1_150}
KINDS = (OrderType.limit,) * 4 + (OrderType.best5_ioc, OrderType.counterparty_best, OrderType.best5_limit)

order_action = st.tuples(
    st.just("order"),
    st.integers(0, 2),  # which account
    st.sampled_from(CODES),
    st.sampled_from(models.Side),
    st.sampled_from((100, 200, 300, 500)),
    st.integers(-60, 60),  # fen from the first day's previous close: some outside the band
    st.sampled_from(KINDS),
)
cancel_action = st.tuples(st.just("cancel"), st.integers(0, 1_000))
wait_action = st.tuples(st.just("wait"), st.sampled_from((1, 5, 30, 90)))  # minutes
next_day = st.tuples(st.just("next_day"))
STARTS = (dt.time(9, 15), dt.time(10, 0), dt.time(14, 50))  # the opening auction, continuous, near the close
CROSSING = [  # a sell and a buy that meet: every run has at least one fill to check
    ("order", 0, "600000", models.Side.sell, 200, 0, OrderType.limit),
    ("order", 1, "600000", models.Side.buy, 100, 10, OrderType.limit),
]
streams = st.lists(st.one_of(order_action, order_action, cancel_action, wait_action, next_day), max_size=40)


def check(engine, customers: list[str]) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        rows = [dict(r) for r in connection.execute(select(securities_orders)).mappings()]
        still = [r for r in rows if r["status"] == "open"]
        money = 0
        for customer in customers:
            cash, frozen = brokerage.cash(connection, customer), brokerage.frozen_cash(connection, customer)
            assert cash >= 0 and frozen >= 0
            assert frozen == sum(r["frozen_cash"] for r in still if r["customer_id"] == customer)
            money += cash + frozen
        for code in CODES:
            held = [available(connection, f"sec.{code}.{c}") or 0 for c in customers]
            frozen_shares = [available(connection, f"sec.{code}.{c}.frozen") or 0 for c in customers]
            assert min(held + frozen_shares) >= 0
            for customer, shares in zip(customers, frozen_shares, strict=True):
                open_here = (r for r in still if r["customer_id"] == customer and r["code"] == code)
                assert shares == sum(r["frozen_shares"] for r in open_here)
            assert sum(held) + sum(frozen_shares) == SHARES * len(customers)  # shares conserved
        fees = sum(r["commission"] + r["stamp_duty"] + r["transfer_fee"] for r in rows)
        assert money + fees == CASH * len(customers)  # cash conserved up to the fees
        taken = available(connection, brokerage.COMMISSION_INCOME) or 0
        for payable in (brokerage.STAMP_DUTY_PAYABLE, brokerage.TRANSFER_FEE_PAYABLE):
            taken += available(connection, payable) or 0
        levies = connection.execute(
            select(func.coalesce(func.sum(securities_orders.c.stamp_duty + securities_orders.c.transfer_fee), 0)).where(
                securities_orders.c.trade_day.in_(cleared)
            )
        ).scalar_one()
        assert taken + int(levies) == fees  # the fees held or, for a cleared day, paid on to the bank


cleared: list[dt.date] = []


def close_and_clear(engine, clock, day: dt.date) -> dt.date:  # type: ignore[no-untyped-def]
    """The day's close (what is left expires), then the next trading day's morning: the day cleared."""
    clock.set(dt.datetime.combine(day, dt.time(15, 1), clock_module.CHINA))
    transaction(engine, orders.advance)
    assert open_orders(engine) == []
    following = calendar.next_trading_day(day)
    clock.set(dt.datetime.combine(following, dt.time(9, 14), clock_module.CHINA))
    clearing.clear(engine, day)
    cleared.append(day)
    return following


def test_random_streams_keep_the_brokerage_whole(client, engine, clock):  # noqa: F811
    cleared.clear()
    customers = traders(client, engine)
    state = {"day": dt.date(2026, 12, 4), "n": 0}
    closes: dict[tuple[str, dt.date], int] = {}

    def open_day(start: dt.time) -> None:
        while dt.datetime.combine(state["day"], start, clock_module.CHINA) <= clock_module.now():
            state["day"] = calendar.next_trading_day(state["day"])  # a failed example left its day behind
        clock.set(dt.datetime.combine(state["day"], start, clock_module.CHINA))
        transaction(engine, orders.advance)  # every book rolled to the day before its band is read
        for code, close in previous_closes(engine).items():
            closes[(code, state["day"])] = close

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.sampled_from(STARTS), streams)
    @example(dt.time(10, 0), CROSSING)
    def run(start: dt.time, stream: list[tuple]) -> None:
        open_day(start)
        moment = clock_module.now().astimezone(clock_module.CHINA)
        days = 1
        for action in stream:
            state["n"] += 1
            if action[0] == "order":
                _, who, code, side, quantity, offset, kind = action
                price = None if kind is not OrderType.limit else CLOSES[code] + offset
                request = orders.OrderRequest(code, side, quantity, price, kind)
                place(engine, customers[who], f"h{state['n']}", request)
            elif action[0] == "cancel" and (still := open_orders(engine)):
                chosen = still[action[1] % len(still)]
                try:
                    transaction(engine, lambda uow: orders.cancel(uow, chosen["customer_id"], chosen["id"]))
                except PuhuiError as error:  # a refusal (no cancels in this phase) changes nothing
                    assert error.code == "order_not_cancellable", error
            elif action[0] == "wait":
                moment = min(moment + dt.timedelta(minutes=action[1]), moment.replace(hour=15, minute=0))
                clock.set(moment)
            elif action[0] == "next_day" and days < 2:
                state["day"] = close_and_clear(engine, clock, state["day"])
                open_day(start)
                moment, days = clock_module.now().astimezone(clock_module.CHINA), days + 1
            check(engine, customers)
        state["day"] = close_and_clear(engine, clock, state["day"])
        with reading(engine) as connection:
            assert all(brokerage.frozen_cash(connection, c) == 0 for c in customers)
        check(engine, customers)

    run()
    assert check_fills_in_band(engine, closes) > 0  # the streams traded (the explicit example at least), in band
    assert len(cleared) >= 25  # every example ended with its day (or two) cleared
    assert_audit_clean(engine)
