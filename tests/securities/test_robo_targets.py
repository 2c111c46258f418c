"""Robo-advice targets come from the wealth advisor's optimiser over the ETFs' closes on the exchange:
until every ETF has 20 trading days of closes the level's model portfolio stands in; after, the
subscription's targets are PyPortfolioOpt's portfolio over exactly those closes (computed here from the
price path the test printed), bought in whole lots, kept for the benchmark, and a rebalance asks the
advisor again. Closes before an ex-date are adjusted backwards (前复权); weights are exact decimals."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from puhui.db import reading, transaction
from puhui.securities import calendar, orders
from puhui.securities.models import Side
from puhui.securities.robo import models as robo
from puhui.securities.robo import service, universe
from puhui.wealth.advice import advisor
from puhui.wealth.suitability.service import CustomerLevel
from tests.identity.helpers import LI, WANG, ZHANG
from tests.securities.test_brokerage_http import assert_audit_clean, at, client, deposit, investor  # noqa: F401
from tests.securities.test_robo_execution import assess

START = {"511880": 101_000, "511010": 140_000, "518880": 6_500, "510300": 3_900, "510500": 5_800, "159915": 2_100}
DRIFT = {"511880": 0.00008, "511010": 0.0002, "518880": 0.0006, "510300": 0.0009, "510500": 0.0011, "159915": 0.0013}
VOLATILITY = {"511880": 0.0002, "511010": 0.002, "518880": 0.009, "510300": 0.012, "510500": 0.015, "159915": 0.02}


def price_path(days: int) -> list[dict[str, int]]:
    """Each ETF's close per day: a seeded walk, within the day's ±10% band, in the ETF's ticks (厘)."""
    rng, prices, path = random.Random(7), dict(START), []
    for _ in range(days):
        prices = {c: max(1, round(p * (1 + DRIFT[c] + VOLATILITY[c] * rng.gauss(0, 1)))) for c, p in prices.items()}
        path.append(prices)
    return path


def trade_at(engine, makers: list[str], prices: dict[str, int], tag: str, turn: int = 0) -> None:  # type: ignore[no-untyped-def]
    """The two providers trade 100 units of each ETF at its price (the day's last trade, its close),
    taking turns to buy so neither runs out of cash."""
    buyer, seller = makers[turn % 2], makers[1 - turn % 2]
    for code, price in prices.items():
        for who, side in ((seller, Side.sell), (buyer, Side.buy)):
            request = orders.OrderRequest(code, side, 100, price)
            transaction(engine, lambda uow, w=who, r=request: orders.place(uow, w, r, f"{tag}.{code}.{r.side.value}"))


def quote(engine, makers: list[str], prices: dict[str, int], tag: str) -> None:  # type: ignore[no-untyped-def]
    """One provider offers about 120,000 CNY of each ETF at the price, the other bids about 20,000 CNY
    2 厘 under it (whole lots)."""
    for code, price in prices.items():
        for maker, side, at_price, cny in (
            (makers[0], Side.sell, price, 120_000),
            (makers[1], Side.buy, price - 2, 20_000),
        ):
            units = max(1, cny * 1000 // (price * 100)) * 100
            request = orders.OrderRequest(code, side, units, at_price)
            transaction(engine, lambda uow, m=maker, r=request: orders.place(uow, m, r, f"{tag}.{code}.{r.side.value}"))


def trading_days(first: dt.date, count: int) -> list[dt.date]:
    days, day = [], first
    while len(days) < count:
        if calendar.is_trading_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def test_targets_come_from_the_optimiser_once_the_etfs_have_twenty_days_of_closes(client, engine, clock):  # noqa: F811
    customer, _ = investor(client, engine, ZHANG, 300_000_00)
    assess(engine, customer, highest=True)
    makers = [investor(client, engine, person, 300_000_00)[0] for person in (LI, WANG)]
    for maker in makers:
        for code in START:
            deposit(engine, maker, code, 300_000)
    first = dt.date(2026, 12, 3)
    days = trading_days(first, universe.MIN_HISTORY)
    path = price_path(len(days))
    for n, (day, prices) in enumerate(zip(days, path)):
        at(clock, 10, 0, days=(day - first).days)
        trade_at(engine, makers, prices, f"h{n}", n)
        if n == len(days) - 2:
            with reading(engine) as connection:
                early = universe.target_weights(connection, "C5")
            assert (early.method, early.history_days) == ("model_portfolio", universe.MIN_HISTORY - 1)
            assert early.weights == robo.PORTFOLIOS["C5"]

    frame = pd.DataFrame([{c: float(p) for c, p in prices.items()} for prices in path], index=days)
    expected = advisor.target_portfolio(advisor.Universe(frame, universe.ETF_RISKS), CustomerLevel.C5)
    with reading(engine) as connection:
        chosen = universe.target_weights(connection, "C5")
    assert chosen.method == expected.method != "model_portfolio"
    assert chosen.history_days == universe.MIN_HISTORY
    assert chosen.weights == robo.exact_weights(expected.weights)

    quote(engine, makers, path[-1], "q")
    status = transaction(engine, lambda uow: service.subscribe(uow, customer, 200_000_00, "sub"))
    assert status["method"] == expected.method
    targets = {h["code"]: h["target"] for h in status["holdings"] if h["target"]}
    assert targets == chosen.weights
    held = {h["code"] for h in status["holdings"] if h["units"]}
    assert held and held <= set(chosen.weights)
    assert all(h["units"] % 100 == 0 for h in status["holdings"])

    # a conservative customer's portfolio holds only what their level may hold
    with reading(engine) as connection:
        careful = universe.target_weights(connection, "C2")
    assert set(careful.weights) <= {"511880", "511010"} and sum(careful.weights.values()) == 1

    # the next day's closes move the advisor's answer; a rebalance takes it as the targets in force
    at(clock, 10, 0, days=(calendar.next_trading_day(days[-1]) - first).days)
    transaction(engine, orders.advance)
    transaction(engine, lambda uow: service.mark(uow, customer))
    trade_at(engine, makers, {c: p + 3 if c != "159915" else p * 95 // 100 for c, p in path[-1].items()}, "next")
    with reading(engine) as connection:
        renewed = universe.target_weights(connection, "C5")
    quote(engine, makers, {c: p + 3 for c, p in path[-1].items()}, "q2")
    after = transaction(engine, lambda uow: service.rebalance(uow, customer, "rb"))
    assert {h["code"]: h["target"] for h in after["holdings"] if h["target"]} == renewed.weights
    with reading(engine) as connection:
        report = service.report(connection, customer)
    assert [d["day"] for d in report["days"]] == [calendar.next_trading_day(days[-1]).isoformat()]
    assert_audit_clean(engine)


def test_closes_before_an_ex_date_are_adjusted_backwards_and_a_gap_repeats_the_last_close():
    d = [dt.date(2026, 12, n) for n in (1, 2, 3, 4)]
    closes = {"510300": {d[0]: 4_000, d[1]: 4_100, d[3]: 3_950}, "511010": {d[1]: 140_000, d[2]: 140_100}}
    # an ex-date on the 4th with a reference price of 3,895 after the 3rd's close (the 2nd's, repeated) of 4,100
    factors = {"510300": [(d[3], Decimal(3_895))]}
    history = universe.adjusted_history(closes, factors)
    factor = Decimal(3_895) / Decimal(4_100)
    assert history["510300"] == {d[0]: 4_000 * factor, d[1]: 4_100 * factor, d[2]: 4_100 * factor, d[3]: 3_950}
    assert history["511010"] == {d[1]: 140_000, d[2]: 140_100, d[3]: 140_100}  # none before its first trade


@given(
    st.dictionaries(st.sampled_from(sorted(START)), st.floats(0, 1), min_size=1).filter(
        lambda w: max(w.values()) >= 0.01
    )
)
def test_an_optimisers_weights_become_four_place_decimals_summing_to_one(weights):
    exact = robo.exact_weights(weights)
    assert sum(exact.values()) == 1
    assert all(w == w.quantize(Decimal("0.0001")) for w in exact.values())
    assert set(exact) == {c for c, w in weights.items() if Decimal(repr(w)) >= robo.SMALLEST_WEIGHT}
    assert all(w > 0 for w in exact.values())


def test_clearing_a_day_marks_every_portfolio_at_that_days_closes(client, engine, clock):  # noqa: F811
    from puhui.securities import clearing
    from tests.securities.test_robo_execution import START as C5_START
    from tests.securities.test_robo_execution import print_price, quote_both_sides

    customer, _ = investor(client, engine, ZHANG, 200_000_00)
    assess(engine, customer, highest=True)
    makers = [investor(client, engine, person, 300_000_00)[0] for person in (LI, WANG)]
    for maker in makers:
        for code in C5_START:
            deposit(engine, maker, code, 200_000)
    quote_both_sides(engine, makers, C5_START, "d0")
    bought = transaction(engine, lambda uow: service.subscribe(uow, customer, 100_000_00, "sub"))
    at(clock, 10, 0, days=1)
    print_price(engine, makers[0], makers[1], "510300", 4_200, "next")  # the 4th moves before clearing runs
    transaction(engine, lambda uow: clearing.clear_in(uow, dt.date(2026, 12, 3)))
    with reading(engine) as connection:
        report = service.report(connection, customer)
    units = {h["code"]: h["units"] for h in bought["holdings"]}
    with reading(engine) as connection:
        assert service.status(connection, customer)["value"] != bought["value"]  # now: 510300 at 4.200
    value = bought["cash"] + sum(
        units[c] * C5_START[c] // 10 for c in units
    )  # the 3rd's closes: the offers taken  # ETF ticks are 厘: units × 厘 / 10 fen
    assert report["days"] == [{"day": "2026-12-03", "value": value}]
    again = dt.date(2026, 12, 3)
    transaction(engine, lambda uow: clearing.clear_in(uow, again))  # again: the same mark
    with reading(engine) as connection:
        assert service.report(connection, customer)["days"] == report["days"]
    assert_audit_clean(engine)
