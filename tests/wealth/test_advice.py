"""The robo-advisor without storage: its weights agree with PyPortfolioOpt run directly on the same
NAV history, respect the suitability level and the weight bounds; rebalancing trades only past the
drift threshold, and its orders spend exactly the cash the sells raise."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypfopt import EfficientFrontier, expected_returns, risk_models

from puhui.wealth.advice.advisor import (
    POLICIES,
    FeeRates,
    LevelPolicy,
    Order,
    Universe,
    drift,
    rebalance_orders,
    target_portfolio,
)
from puhui.wealth.errors import NoEligibleFunds
from puhui.wealth.suitability.service import CustomerLevel, ProductRisk

# code: (annual drift, annual volatility, risk level)
FUNDS = {
    "MMF01": (0.020, 0.004, 1),
    "BOND1": (0.040, 0.030, 2),
    "BOND2": (0.035, 0.025, 2),
    "MIX01": (0.070, 0.100, 3),
    "MIX02": (0.060, 0.080, 3),
    "EQ001": (0.100, 0.200, 4),
    "EQ002": (0.090, 0.180, 4),
    "TECH1": (0.140, 0.300, 5),
}


def synthetic_universe(seed: int = 20260105, days: int = 500) -> Universe:
    """Geometric random walks, one per fund, seeded."""
    rng = np.random.default_rng(seed)
    navs = {
        code: np.exp(np.cumsum(rng.normal(mu / 252 - sigma**2 / 504, sigma / np.sqrt(252), days)))
        for code, (mu, sigma, _) in FUNDS.items()
    }
    index = pd.bdate_range("2024-01-01", periods=days)
    return Universe(pd.DataFrame(navs, index=index), {code: ProductRisk(r) for code, (_, _, r) in FUNDS.items()})


UNIVERSE = synthetic_universe()


def direct(universe: Universe, level: CustomerLevel, policy: LevelPolicy) -> tuple[dict, str]:
    """PyPortfolioOpt on the eligible funds, called directly."""
    eligible = sorted(c for c, r in universe.risks.items() if r <= level)
    prices = universe.navs[eligible]
    mu = expected_returns.mean_historical_return(prices)
    cov = risk_models.CovarianceShrinkage(prices).ledoit_wolf()
    bounds = (min(policy.min_weight, 1 / len(eligible)), max(policy.max_weight, 1 / len(eligible)))
    least = EfficientFrontier(mu, cov, weight_bounds=bounds)
    least.min_volatility()
    if policy.target_volatility <= least.portfolio_performance()[1]:
        return dict(least.clean_weights(rounding=None)), "min_volatility"
    frontier = EfficientFrontier(mu, cov, weight_bounds=bounds)
    return dict(frontier.efficient_risk(policy.target_volatility)), "efficient_risk"


@pytest.mark.parametrize(
    "level", [CustomerLevel.C2, CustomerLevel.C3, CustomerLevel.C4, CustomerLevel.C5], ids=lambda c: c.name
)
def test_weights_agree_with_pypfopt_and_respect_the_level(level):
    policy = POLICIES[level]
    portfolio = target_portfolio(UNIVERSE, level)
    expected, method = direct(UNIVERSE, level, policy)
    assert portfolio.method == method == "efficient_risk"
    assert set(portfolio.weights) == set(expected)
    for code, weight in expected.items():
        assert portfolio.weights[code] == pytest.approx(weight, abs=1e-6), code
    assert all(UNIVERSE.risks[code] <= level for code in portfolio.weights)  # nothing above the level
    assert set(portfolio.excluded) == {c for c, r in UNIVERSE.risks.items() if r > level}
    low, high = portfolio.bounds
    assert (low, high) == (policy.min_weight, policy.max_weight)
    assert all(low - 1e-9 <= w <= high + 1e-9 for w in portfolio.weights.values())
    assert sum(portfolio.weights.values()) == pytest.approx(1, abs=1e-6)
    assert portfolio.volatility <= policy.target_volatility + 1e-6


def test_higher_levels_take_more_risk():
    vols = [target_portfolio(UNIVERSE, level).volatility for level in CustomerLevel]
    assert vols == sorted(vols)


def test_budget_below_the_least_volatile_portfolio_gives_that_portfolio():
    policy = LevelPolicy(target_volatility=0.001, min_weight=0.05, max_weight=0.6)
    portfolio = target_portfolio(UNIVERSE, CustomerLevel.C3, policy)
    expected, method = direct(UNIVERSE, CustomerLevel.C3, policy)
    assert portfolio.method == method == "min_volatility"
    assert all(portfolio.weights[c] == pytest.approx(w, abs=1e-6) for c, w in expected.items())
    assert all(0.05 - 1e-9 <= w <= 0.6 + 1e-9 for w in portfolio.weights.values())  # the minimum holds too


def test_one_eligible_fund_takes_everything_and_none_is_refused():
    assert target_portfolio(UNIVERSE, CustomerLevel.C1).weights == {"MMF01": 1.0}
    unpriced = Universe(UNIVERSE.navs[["BOND1"]], {"BOND1": ProductRisk.R2, "BOND2": ProductRisk.R2})
    assert target_portfolio(unpriced, CustomerLevel.C2).excluded == {"BOND2": "no NAV history"}
    only_risky = Universe(UNIVERSE.navs[["TECH1"]], {"TECH1": ProductRisk.R5})
    with pytest.raises(NoEligibleFunds) as refused:
        target_portfolio(only_risky, CustomerLevel.C4)
    assert refused.value.code == "no_eligible_funds"


# -- rebalancing ------------------------------------------------------------------------------


def test_rebalancing_starts_only_past_the_threshold():
    target = {"A": 0.5, "B": 0.5}
    assert drift({"A": 5500, "B": 4500}, target) == Decimal("0.05")
    assert rebalance_orders({"A": 5500, "B": 4500}, target, threshold=0.05) == []  # at the threshold: no trade
    assert rebalance_orders({"A": 5501, "B": 4499}, target, threshold=0.05) == [
        Order("A", "sell", 501, 0),
        Order("B", "buy", 501, 0),
    ]


def test_rebalancing_orders_carry_the_fees():
    fees = {"A": FeeRates(redemption=Decimal("0.005")), "B": FeeRates(purchase=Decimal("0.015"))}
    orders = rebalance_orders({"A": 5501, "B": 4499}, {"A": 0.5, "B": 0.5}, threshold=0.05, fees=fees)
    # sell 501 of A: fee 501 × 0.5% = 2.505 → 3 (half up), cash 498;
    # buy B for 498: net 498 / 1.015 = 490.64 → 491, fee 7
    assert orders == [Order("A", "sell", 501, 3), Order("B", "buy", 498, 7)]
    assert orders[1].net == 491


def test_a_fund_no_longer_in_the_target_is_sold_entirely():
    orders = rebalance_orders({"OLD": 3000, "A": 7000}, {"A": 1.0}, threshold=0.05)
    assert orders == [Order("OLD", "sell", 3000, 0), Order("A", "buy", 3000, 0)]


rates = st.decimals(min_value=0, max_value=Decimal("0.015"), places=4)


@given(
    values=st.lists(st.integers(0, 10**9), min_size=2, max_size=5),
    raw=st.lists(st.integers(1, 100), min_size=5, max_size=5),
    purchase=rates,
    redemption=rates,
    threshold=st.sampled_from([0.01, 0.03, 0.05, 0.1]),
)
def test_rebalancing_spends_exactly_what_the_sells_raise(values, raw, purchase, redemption, threshold):
    codes = [f"F{i}" for i in range(len(values))]
    held = dict(zip(codes, values))
    weights = raw[: len(codes)]
    target = {c: w / sum(weights) for c, w in zip(codes, weights)}
    fees = {c: FeeRates(purchase, redemption) for c in codes}
    orders = rebalance_orders(held, target, threshold, fees)
    if sum(values) == 0 or drift(held, target) <= Decimal(repr(threshold)):
        assert orders == []
        return
    sells = [o for o in orders if o.side == "sell"]
    buys = [o for o in orders if o.side == "buy"]
    assert sum(o.amount for o in buys) == sum(o.net for o in sells)
    assert not {o.fund_code for o in sells} & {o.fund_code for o in buys}
    assert all(o.amount > 0 and 0 <= o.fee <= o.amount for o in orders)
    if purchase == redemption == 0:  # without fees the holding lands on the target, to the fen
        after = dict(held)
        for o in orders:
            after[o.fund_code] += o.amount if o.side == "buy" else -o.amount
        for c in codes:
            assert abs(after[c] - sum(values) * target[c]) <= len(codes)
