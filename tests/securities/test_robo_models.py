"""Robo order sizing, drift and rebalancing, by hand and under Hypothesis."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.securities import models
from puhui.securities.robo import models as robo
from puhui.securities.robo.errors import AmountBelowMinimum

SCHEDULE = models.FeeSchedule()  # 0.025% commission, at least 5 CNY
PRICES = {"510300": 3_900, "510500": 5_800, "159915": 2_100, "511010": 140_000, "518880": 6_500, "511880": 101_000}
C3 = robo.PORTFOLIOS["C3"]


def test_every_model_portfolio_sums_to_one_and_holds_only_listed_etfs():
    for level, targets in robo.PORTFOLIOS.items():
        assert sum(targets.values()) == 1, level
        assert all(models.is_etf(code) for code in targets)


def test_a_buy_takes_whole_lots_whose_value_and_fees_fit_the_budget():
    # 510300 at 3.900: a lot is 390.00 CNY; 1,000 CNY buys 2 lots (780.00 + 5.00 minimum commission)
    assert robo.lots_within(SCHEDULE, "510300", 3_900, 100_000) == 2
    # 785.00 exactly buys 2 lots, 784.99 only one
    assert robo.lots_within(SCHEDULE, "510300", 3_900, 78_500) == 2
    assert robo.lots_within(SCHEDULE, "510300", 3_900, 78_499) == 1


def test_the_first_purchase_sizes_each_etf_and_leaves_the_rest_as_cash():
    orders = robo.size_buys(SCHEDULE, 10_000_000, C3, PRICES)  # 100,000 CNY
    by_code = {o.code: o.quantity for o in orders}
    # 511010 gets 40,000 CNY at 140.000: a lot is 14,000 CNY, two lots + 7.00 commission fit, three do not
    # 510300 30,000 CNY at 3.900 → 76 lots (29,640 + 7.41); 510500 15,000 at 5.800 → 25 lots (14,500 + 5.00)
    # 518880 15,000 at 6.500 → 23 lots (14,950 + 5.00)
    assert by_code == {"511010": 200, "510300": 7_600, "510500": 2_500, "518880": 2_300}
    spent = sum(robo.buy_cost(SCHEDULE, o.code, o.price, o.quantity) for o in orders)
    assert spent == 28_000_00 + 7_00 + 29_640_00 + 7_41 + 14_500_00 + 5_00 + 14_950_00 + 5_00
    assert all(o.quantity % 100 == 0 and o.side is models.Side.buy for o in orders)


def test_an_amount_that_misses_a_lot_of_some_etf_is_refused():
    least = robo.minimum_amount(SCHEDULE, C3, PRICES)
    # 511010's lot with its 5 CNY commission is 14,005 CNY and weighs 40%: 35,012.50 CNY → 3,501,250 fen
    assert least == 3_501_250
    robo.size_buys(SCHEDULE, least, C3, PRICES)
    with pytest.raises(AmountBelowMinimum):
        robo.size_buys(SCHEDULE, least - 1, C3, PRICES)


def test_drift_within_the_threshold_asks_for_nothing_and_beyond_it_sells_before_buying():
    units = {"511010": 200, "510300": 7_600, "510500": 2_500, "518880": 2_300}
    cash = 10_000_000 - 8_711_441  # what the first purchase left
    assert robo.rebalance_orders(SCHEDULE, units, PRICES, cash, C3) == []
    # 沪深300ETF up 35.9%: the whole is 28,000 + 40,280 + 14,500 + 14,950 + 12,885.59 = 110,615.59 CNY and
    # 510300's weight 40,280 / 110,615.59 = 36.4%; its goal 30% = 33,184.67 CNY is 62 lots of 530 CNY
    risen = {**PRICES, "510300": 5_300}
    drifts = robo.drift(units, risen, cash, C3)
    assert drifts["510300"] > robo.DRIFT_THRESHOLD
    orders = robo.rebalance_orders(SCHEDULE, units, risen, cash, C3)
    sides = [o.side for o in orders]
    assert sides == sorted(sides, key=lambda s: s is models.Side.buy)  # sells first
    assert orders[0] == robo.RoboOrder("510300", models.Side.sell, 1_400, 5_300)


def test_an_etf_left_out_of_the_portfolio_is_sold_whole():
    units = {"511010": 200, "510300": 7_650}
    targets = {"511010": Decimal(1)}
    orders = robo.rebalance_orders(SCHEDULE, units, PRICES, 0, targets)
    assert orders[0] == robo.RoboOrder("510300", models.Side.sell, 7_650, 3_900)


prices_strategy = st.fixed_dictionaries({code: st.integers(p // 2, p * 2) for code, p in PRICES.items()})


@settings(max_examples=150, deadline=None)
@given(
    level=st.sampled_from(robo.LEVELS),
    prices=prices_strategy,
    held=st.dictionaries(st.sampled_from(sorted(PRICES)), st.integers(0, 5_000).map(lambda n: n * 100), max_size=6),
    cash=st.integers(0, 50_000_000),
)
def test_after_a_rebalance_every_weight_is_within_a_lot_of_its_target(level, prices, held, cash):
    targets = robo.PORTFOLIOS[level]
    whole = robo.total_value(held, prices, cash)
    if whole < 100 * max(robo.lot_value(c, p) for c, p in prices.items()):
        return  # too small to hold every ETF near its weight
    orders = robo.rebalance_orders(SCHEDULE, held, prices, cash, targets)
    units, fees = dict(held), 0
    for o in orders:
        value = models.trade_value(o.code, o.price, o.quantity)
        fee = models.trade_fees(SCHEDULE, o.side, value, etf=True).total
        fees += fee
        sign = 1 if o.side is models.Side.buy else -1
        units[o.code] = units.get(o.code, 0) + sign * o.quantity
        cash -= sign * value + fee
        assert cash >= 0 and units[o.code] >= 0
    if not orders:
        assert not robo.needs_rebalance(robo.drift(held, prices, cash, targets))
        return
    after = robo.weights({code: units.get(code, 0) for code in set(units) | set(targets)}, prices, cash)
    whole_after = robo.total_value(units, prices, cash)
    for code, weight in after.items():
        slack = Decimal(robo.lot_value(code, prices[code]) + fees + 5_00) / whole_after
        assert abs(weight - targets.get(code, Decimal(0))) <= slack
        assert abs(weight - targets.get(code, Decimal(0))) <= robo.DRIFT_THRESHOLD
