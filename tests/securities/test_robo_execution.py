"""Robo-advice executed through the brokerage and the exchange simulator, on SQLite and PostgreSQL: a C5
customer subscribes, the model ETF portfolio is bought in whole lots against a liquidity provider's
offers, prices move over three trading days, the drift passes 5 points, the rebalance sells before it
buys and brings every weight back near its target, the report is net of fees, and the audit passes.
Each refusal (no account, level mismatch, amount below the minimum, short cash) changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.errors import PuhuiError
from puhui.securities import accounts as brokerage
from puhui.securities import orders
from puhui.securities.models import Side
from puhui.securities.robo import models as robo
from puhui.securities.robo import service
from puhui.securities.robo.tables import securities_robo_runs, securities_robo_subscriptions
from puhui.wealth.suitability.service import CURRENT, record_answers
from tests.identity.helpers import LI, WANG, ZHANG, register
from tests.securities.test_brokerage_http import (  # noqa: F401
    assert_audit_clean,
    at,
    client,
    deposit,
    expire_assessment,
    investor,
    snapshot,
)
from tests.wealth.test_suitability import answers_with

C5 = robo.PORTFOLIOS["C5"]
START = {"510300": 3_900, "510500": 5_800, "159915": 2_100, "518880": 6_500}


def assess(engine, customer_id: str, highest: bool) -> None:  # type: ignore[no-untyped-def]
    pick = max if highest else min

    def choice(q):  # type: ignore[no-untyped-def]
        return pick(range(len(q.choices)), key=lambda i: q.choices[i].score)

    transaction(engine, lambda uow: record_answers(uow, customer_id, CURRENT.version, answers_with(choice)))


def quote_both_sides(engine, makers: list[str], prices: dict[str, int], tag: str) -> None:  # type: ignore[no-untyped-def]
    """One provider offers 20,000 units of each ETF at the price, the other bids for 10,000 2 厘 under."""
    for code, price in prices.items():
        for maker, side, at_price, units in (
            (makers[0], Side.sell, price, 20_000),
            (makers[1], Side.buy, price - 2, 10_000),
        ):
            request = orders.OrderRequest(code, side, units, at_price)
            transaction(engine, lambda uow, m=maker, r=request: orders.place(uow, m, r, f"{tag}.{code}.{r.side.value}"))


def print_price(engine, buyer: str, seller: str, code: str, price: int, tag: str) -> None:  # type: ignore[no-untyped-def]
    """Two providers trade 100 units at the price: the last trade moves the reference price there."""
    for who, side in ((seller, Side.sell), (buyer, Side.buy)):
        request = orders.OrderRequest(code, side, 100, price)
        transaction(engine, lambda uow, w=who, r=request: orders.place(uow, w, r, f"{tag}.{code}.{side.value}"))


def close_day(engine, customers: list[str]) -> None:  # type: ignore[no-untyped-def]
    transaction(engine, orders.advance)
    for customer in customers:
        transaction(engine, lambda uow, c=customer: service.mark(uow, c))


def test_a_subscription_is_bought_marked_rebalanced_and_reported(client, engine, clock):  # noqa: F811
    robo_customer, _ = investor(client, engine, ZHANG, 200_000_00)
    assess(engine, robo_customer, highest=True)
    makers = [investor(client, engine, person, 300_000_00)[0] for person in (LI, WANG)]
    for maker in makers:
        for code in START:
            deposit(engine, maker, code, 200_000)
    quote_both_sides(engine, makers, START, "d0")
    status = transaction(engine, lambda uow: service.subscribe(uow, robo_customer, 100_000_00, "sub-1"))
    assert status["level"] == "C5"
    units = {h["code"]: h["units"] for h in status["holdings"]}
    # sized at the limits (reference + 0.2%, rounded up): 40,000 CNY of 510300 at 3.908 is 102 lots
    # (39,861.60 + 9.97); 25,000 of 510500 at 5.812 43 lots; 25,000 of 159915 at 2.105 118 lots
    # (24,839.00 + 6.21); 10,000 of 518880 at 6.513 15 lots (9,769.50 + 5.00)
    assert units == {"510300": 10_200, "510500": 4_300, "159915": 11_800, "518880": 1_500}
    assert all(q % 100 == 0 for q in units.values())
    # bought at the offers (3.900, 5.800, 2.100, 6.500): 39,780.00 + 24,940.00 + 24,780.00 + 9,750.00 and
    # commissions 9.95 + 6.24 + 6.20 + 5.00 leave 722.61 CNY of the 100,000 in the sleeve
    assert status["cash"] == 100_000_00 - (39_780_00 + 24_940_00 + 24_780_00 + 9_750_00) - (9_95 + 6_24 + 6_20 + 5_00)
    with reading(engine) as connection:
        assert brokerage.frozen_cash(connection, robo_customer) == 0
        assert brokerage.cash(connection, robo_customer) == 100_000_00 + status["cash"]  # the rest of the account
    again = transaction(engine, lambda uow: service.subscribe(uow, robo_customer, 100_000_00, "sub-1"))
    assert again["holdings"] == status["holdings"]
    close_day(engine, [robo_customer])

    # two days: 沪深300ETF up 9% a day, 创业板ETF down 9% a day
    prices = dict(START)
    for day in (1, 4):
        at(clock, 10, 0, days=day)
        prices = {**prices, "510300": prices["510300"] * 109 // 100, "159915": prices["159915"] * 91 // 100}
        for code in ("510300", "159915"):
            print_price(engine, makers[0], makers[1], code, prices[code], f"move{day}")
        if day == 1:
            assert not transaction(engine, lambda uow: service.status(uow.connection, robo_customer))["needs_rebalance"]
            close_day(engine, [robo_customer])
    drifted = transaction(engine, lambda uow: service.status(uow.connection, robo_customer))
    assert drifted["needs_rebalance"]
    assert max(abs(h["drift"]) for h in drifted["holdings"]) > Decimal("0.05")

    quote_both_sides(engine, makers, prices, "d4")
    done = transaction(engine, lambda uow: service.rebalance(uow, robo_customer, "rb-1"))
    sides = [o["side"] for o in done["run"]["orders"]]
    assert sides and sides == sorted(sides, key=lambda s: s == "buy")  # every sell before any buy
    assert {o["code"] for o in done["run"]["orders"] if o["side"] == "sell"} == {"510300"}
    assert all(o["status"] == "filled" for o in done["run"]["orders"])
    assert not done["needs_rebalance"]
    for line in done["holdings"]:
        assert abs(line["drift"]) <= Decimal("0.02") and line["units"] >= 0
    same = transaction(engine, lambda uow: service.rebalance(uow, robo_customer, "rb-1"))
    assert same["run"] == done["run"]  # idempotent by key
    quiet = transaction(engine, lambda uow: service.rebalance(uow, robo_customer, "rb-2"))
    assert quiet["run"]["orders"] == []  # within the threshold: nothing to do
    close_day(engine, [robo_customer])

    with reading(engine) as connection:
        report = service.report(connection, robo_customer)
        fees = sum(
            int(Decimal(o[k]) * 100)
            for o in orders.list_orders(connection, robo_customer, 100)
            for k in ("commission", "stamp_duty", "transfer_fee")
        )
    assert [d["day"] for d in report["days"]] == ["2026-12-03", "2026-12-04", "2026-12-07"]
    assert report["fees_paid"] == fees > 0
    # no flow after the subscription: the chained daily returns are the last value over the amount
    last = report["days"][-1]["value"]
    assert report["time_weighted_return"] == Decimal(last) / Decimal(100_000_00) - 1
    # the benchmark rebalances daily at the closes: day 1 all at the start, day 2 and 3 the two moves
    day2 = Decimal("1.0135")  # 0.40 × 4.251/3.900 + 0.25 × 1.911/2.100 + 0.35 = 0.436 + 0.2275 + 0.35
    # on day 3 510300's last trade is the robo's sale at the bid 2 厘 under 4.633
    day3 = Decimal("0.40") * 4_631 / 4_251 + Decimal("0.25") * 1_739 / 1_911 + Decimal("0.35")
    assert prices == {**START, "510300": 4_633, "159915": 1_739}
    assert abs(report["benchmark_return"] - (day2 * day3 - 1)) < Decimal("1e-20")
    assert_audit_clean(engine)


def robo_rows(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (securities_robo_subscriptions, securities_robo_runs)
        )


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("no_account", "securities_account_not_found"),
        ("no_level", "robo_risk_level_mismatch"),
        ("level_above", "robo_risk_level_mismatch"),
        ("below_minimum", "robo_amount_below_minimum"),
        ("short_cash", "insufficient_cash"),
    ],
)
def test_a_refused_subscription_changes_nothing(client, engine, clock, case, code):  # noqa: F811
    if case == "no_account":
        customer = register(client, ZHANG)["id"]
    else:
        customer, _ = investor(client, engine, ZHANG, 50_000_00)  # C5 at the opening (投资者适当性)
        clock.advance(seconds=1)  # what follows is the customer's latest questionnaire
        if case == "no_level":
            expire_assessment(engine, clock, customer)
        else:
            assess(engine, customer, highest=case != "level_above")
    amount = {"below_minimum": 1_000_00, "short_cash": 60_000_00}.get(case, 40_000_00)
    level = "C5" if case == "level_above" else None
    before, rows = snapshot(engine), robo_rows(engine)
    with pytest.raises(PuhuiError) as refused:
        transaction(engine, lambda uow: service.subscribe(uow, customer, amount, "k", level))
    assert refused.value.code == code
    assert snapshot(engine) == before and robo_rows(engine) == rows
