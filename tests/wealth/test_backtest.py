"""The backtest: metrics against hand-computed values on a tiny series, rebalancing only past the
drift threshold, fees charged, and the charts written as PNG files."""

from __future__ import annotations

import math
from decimal import Decimal

import pandas as pd
import pytest

from puhui.wealth.advice.advisor import FeeRates, target_portfolio
from puhui.wealth.advice.backtest import metrics, run_backtest, write_charts
from puhui.wealth.suitability.service import CustomerLevel
from tests.wealth.test_advice import synthetic_universe

DAYS = pd.bdate_range("2026-01-05", periods=4)


def test_metrics_by_hand():
    values = pd.Series([100.0, 110.0, 99.0, 121.0], index=DAYS)
    # returns: 110/100 − 1 = 0.1, 99/110 − 1 = −0.1, 121/99 − 1 = 2/9
    # mean = (0.1 − 0.1 + 2/9) / 3 = 2/27
    # sample variance = ((0.1 − 2/27)² + (−0.1 − 2/27)² + (2/9 − 2/27)²) / 2
    #                 = ((7/270)² + (47/270)² + (40/270)²) / 2 = (49 + 2209 + 1600) / 72900 / 2 = 3858 / 145800
    # with 3 periods a year: volatility = √(3858 / 145800) · √3; return (121/100)^(3/3) − 1 = 0.21
    # drawdown: the peak 110 falls to 99, 1 − 99/110 = 0.1; Sharpe (rf 1%) = (2/27 · 3 − 0.01) / volatility
    m = metrics(values, risk_free_rate=0.01, periods_per_year=3)
    volatility = math.sqrt(3858 / 145800) * math.sqrt(3)
    assert m.total_return == pytest.approx(0.21, abs=1e-12)
    assert m.annual_return == pytest.approx(0.21, abs=1e-12)
    assert m.annual_volatility == pytest.approx(volatility, abs=1e-12)
    assert volatility == pytest.approx(0.281749, abs=1e-6)
    assert m.max_drawdown == pytest.approx(0.1, abs=1e-12)
    assert m.sharpe == pytest.approx((6 / 27 - 0.01) / volatility, abs=1e-12)


def test_annualised_return_compounds_over_trading_days():
    values = pd.Series([100.0, 101.0, 102.01], index=DAYS[:3])  # +1% twice over 2 of 252 days
    m = metrics(values)
    assert m.annual_return == pytest.approx(1.01**252 - 1, rel=1e-9)
    assert m.annual_volatility == 0.0 and m.sharpe is None
    assert m.max_drawdown == 0.0


def navs(b_prices: list[float]) -> pd.DataFrame:
    """Fund A flat at 1.00, fund B along the given prices."""
    return pd.DataFrame({"A": [1.0] * len(b_prices), "B": b_prices}, index=DAYS[: len(b_prices)])


def test_no_rebalance_at_or_under_the_threshold():
    # 50/50 of 10,000.00: B up 20% → weights 1/2.2 and 1.2/2.2, drift 0.0455 ≤ 0.05: hold
    result = run_backtest(navs([1.0, 1.1, 1.2]), {"A": 0.5, "B": 0.5}, initial=1_000_000, check_every=2)
    assert result.rebalances == [] and result.fees == 0
    assert list(result.values) == pytest.approx([1_000_000, 1_050_000, 1_100_000])


def test_rebalance_past_the_threshold_with_fees():
    fees = {"B": FeeRates(redemption=Decimal("0.005")), "A": FeeRates(purchase=Decimal("0.01"))}
    result = run_backtest(
        navs([1.0, 1.1, 1.25]), {"A": 0.5, "B": 0.5}, initial=1_000_000, check_every=2, threshold=0.05, fees=fees
    )
    # day 0: 500,000 fen into each; A's front-end fee: net 500,000 / 1.01 = 495,049.50 → 495,050, fee 4,950
    # day 2: A 495,050, B 500,000 × 1.25 = 625,000, total 1,120,050; A's weight 0.442, drift 0.058 > 0.05
    # target 560,025 each: sell 64,975 of B, fee 324.875 → 325, cash 64,650; buy A for 64,650:
    # net 64,650 / 1.01 = 64,009.90 → 64,010, fee 640. Value 1,120,050 − 325 − 640 = 1,119,085
    assert result.rebalances == [DAYS[2]]
    assert result.fees == 4_950 + 325 + 640
    assert list(result.values) == pytest.approx([995_050, 1_045_050, 1_119_085], abs=1e-6)
    assert result.weights.iloc[-1]["B"] == pytest.approx(560_025 / 1_119_085, abs=1e-9)


def test_without_rebalancing_the_backtest_is_buy_and_hold():
    universe = synthetic_universe(seed=3, days=60)
    target = {"BOND1": 0.25, "MIX01": 0.25, "EQ001": 0.5}
    result = run_backtest(universe.navs, target, initial=1_000_000, threshold=1.0)
    prices = universe.navs[list(target)]
    held = sum(1_000_000 * w * prices[c] / prices[c].iloc[0] for c, w in target.items())
    assert result.rebalances == []
    assert list(result.values) == pytest.approx(list(held), abs=1e-6)


def test_backtest_of_a_target_portfolio_and_its_charts(tmp_path):
    universe = synthetic_universe(seed=11, days=260)
    portfolio = target_portfolio(universe, CustomerLevel.C4)
    fees = {code: FeeRates(Decimal("0.0015"), Decimal("0.005")) for code in portfolio.weights}
    result = run_backtest(universe.navs, portfolio.weights, fees=fees, threshold=0.03)
    assert len(result.values) == 260 and result.values.iloc[0] < 100_000_000  # the first purchase paid fees
    assert result.metrics == metrics(result.values)
    assert 0 <= result.metrics.max_drawdown < 1
    paths = write_charts(result, tmp_path)
    assert [p.name for p in paths] == ["backtest_value.png", "backtest_weights.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
