"""The robo-advisor (智能投顾): a target portfolio for a customer's risk level, and the orders that
bring a drifted holding back to it. Pure functions over given inputs; no storage.

- Only funds at or under the level are eligible (C3 → R1..R3).
- Expected returns are the mean historical returns and the risk model the Ledoit–Wolf shrunk
  covariance of the NAV history (PyPortfolioOpt, 252 trading days a year). The level sets the risk
  budget: the efficient-frontier portfolio with the highest expected return at that annualised
  volatility (`EfficientFrontier.efficient_risk`), within the level's min/max weight per fund. When
  the budget is below the least volatile portfolio the bounds allow, that portfolio is the answer.
- Rebalancing (再平衡) trades back to the target only once some fund's weight has drifted more than
  the threshold; sells come first and their cash (net of redemption fees) pays for the buys, whose
  front-end fee follows the distribution rule: net = amount / (1 + rate), fee = amount − net.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from puhui.wealth.errors import NoEligibleFunds
from puhui.wealth.suitability.service import CustomerLevel, ProductRisk

if TYPE_CHECKING:  # pandas is imported lazily
    import pandas as pd

TRADING_DAYS = 252
RISK_FREE_RATE = 0.015  # annual, for the Sharpe ratio the advice reports

WEIGHT_PLACES = 6  # a target weight as shown and as invested


@dataclass(frozen=True)
class LevelPolicy:
    """The risk budget of one level: annualised volatility, and bounds on each fund's weight."""

    target_volatility: float
    min_weight: float = 0.0
    max_weight: float = 1.0


POLICIES: dict[CustomerLevel, LevelPolicy] = {
    CustomerLevel.C1: LevelPolicy(0.03, 0.0, 1.0),
    CustomerLevel.C2: LevelPolicy(0.06, 0.0, 0.7),
    CustomerLevel.C3: LevelPolicy(0.10, 0.0, 0.5),
    CustomerLevel.C4: LevelPolicy(0.16, 0.0, 0.4),
    CustomerLevel.C5: LevelPolicy(0.22, 0.0, 0.35),
}


@dataclass(frozen=True)
class Universe:
    """The platform's funds: NAV histories (dates × fund codes) and each fund's risk level."""

    navs: pd.DataFrame
    risks: Mapping[str, ProductRisk]


@dataclass(frozen=True)
class TargetPortfolio:
    level: CustomerLevel
    weights: dict[str, float]
    method: str  # efficient_risk | min_volatility | single_fund
    expected_return: float
    volatility: float
    sharpe: float
    bounds: tuple[float, float]
    excluded: dict[str, str] = field(default_factory=dict)  # fund → why it gets no weight

    def as_json(self) -> dict:
        return {
            "level": self.level.name,
            "method": self.method,
            "weights": {code: round(w, WEIGHT_PLACES) for code, w in self.weights.items()},
            "expected_return": round(self.expected_return, 6),
            "volatility": round(self.volatility, 6),
            "sharpe": round(self.sharpe, 4),
            "weight_bounds": list(self.bounds),
            "excluded": self.excluded,
        }


# Sources of the fund universe; the wealth funds table (distributed funds with NAV histories) is meant
# to register one here. Until a source is registered, the universe is empty.
UNIVERSE_SOURCES: list[Callable[[Connection], Universe]] = []


def empty_universe() -> Universe:
    import pandas as pd

    return Universe(pd.DataFrame(), {})


def fund_universe(connection: Connection) -> Universe:
    """The funds the advisor may use: the union of the registered sources (columns are fund codes)."""
    import pandas as pd

    parts = [source(connection) for source in UNIVERSE_SOURCES]
    parts = [p for p in parts if not p.navs.empty]
    if not parts:
        return empty_universe()
    navs = pd.concat([p.navs for p in parts], axis=1).sort_index()
    risks = {code: risk for p in parts for code, risk in p.risks.items()}
    return Universe(navs, risks)


def eligible_funds(risks: Mapping[str, ProductRisk], level: CustomerLevel) -> list[str]:
    return sorted(code for code, risk in risks.items() if int(risk) <= int(level))


def weight_bounds(policy: LevelPolicy, funds: int) -> tuple[float, float]:
    """The level's bounds, widened only when they cannot sum to 1 over this many funds."""
    return min(policy.min_weight, 1.0 / funds), max(policy.max_weight, 1.0 / funds)


def optimizer_inputs(navs: pd.DataFrame):
    """(expected returns, covariance) from a NAV history, annualised over 252 trading days."""
    from pypfopt import expected_returns, risk_models

    mu = expected_returns.mean_historical_return(navs, frequency=TRADING_DAYS)
    cov = risk_models.CovarianceShrinkage(navs, frequency=TRADING_DAYS).ledoit_wolf()
    return mu, cov


def target_portfolio(
    universe: Universe, level: CustomerLevel, policy: LevelPolicy | None = None, risk_free_rate: float = RISK_FREE_RATE
) -> TargetPortfolio:
    from pypfopt import EfficientFrontier

    policy = policy or POLICIES[level]
    eligible = [code for code in eligible_funds(universe.risks, level) if code in universe.navs.columns]
    excluded = {
        code: (f"{ProductRisk(risk).name} is above {level.name}" if risk > level else "no NAV history")
        for code, risk in universe.risks.items()
        if code not in eligible
    }
    if not eligible:
        raise NoEligibleFunds(f"no fund at or under {level.name} is on the platform")
    navs = universe.navs[eligible].dropna()
    bounds = weight_bounds(policy, len(eligible))
    mu, cov = optimizer_inputs(navs)
    if len(eligible) == 1:
        weights, method = {eligible[0]: 1.0}, "single_fund"
        ret, vol = float(mu.iloc[0]), float(cov.iloc[0, 0]) ** 0.5
    else:
        floor = EfficientFrontier(mu, cov, weight_bounds=bounds)
        floor.min_volatility()
        least = floor.portfolio_performance(risk_free_rate=risk_free_rate)[1]
        frontier = floor
        method = "min_volatility"
        if policy.target_volatility > least:
            frontier = EfficientFrontier(mu, cov, weight_bounds=bounds)
            frontier.efficient_risk(policy.target_volatility)
            method = "efficient_risk"
        weights = _weights(frontier, bounds)
        ret, vol, _ = frontier.portfolio_performance(risk_free_rate=risk_free_rate)
    sharpe = (ret - risk_free_rate) / vol if vol > 0 else 0.0
    return TargetPortfolio(level, weights, method, float(ret), float(vol), float(sharpe), bounds, excluded)


def _weights(frontier, bounds: tuple[float, float]) -> dict[str, float]:
    """The solver's weights, with its ~1e-10 excursions past the bounds clipped."""
    return {code: min(max(float(w), bounds[0]), bounds[1]) for code, w in zip(frontier.tickers, frontier.weights)}


# ---------------------------------------------------------------------------------------------
# Rebalancing (pure, amounts in fen)


@dataclass(frozen=True)
class FeeRates:
    purchase: Decimal = Decimal(0)  # front-end (申购费率)
    redemption: Decimal = Decimal(0)  # (赎回费率)


@dataclass(frozen=True)
class Order:
    fund_code: str
    side: str  # buy | sell
    amount: int  # fen: paid for a buy, redeemed (gross) for a sell
    fee: int  # fen

    @property
    def net(self) -> int:
        """Invested (buy) or received (sell), after the fee."""
        return self.amount - self.fee


def _fen(value: Decimal, rounding: str = ROUND_HALF_UP) -> int:
    return int(value.quantize(Decimal(1), rounding=rounding))


def purchase_fee(amount: int, rate: Decimal) -> int:
    return amount - _fen(Decimal(amount) / (1 + rate))


def redemption_fee(amount: int, rate: Decimal) -> int:
    return _fen(Decimal(amount) * rate)


def _exact(weight: float) -> Decimal:
    return Decimal(repr(float(weight)))


def drift(values: Mapping[str, int], target: Mapping[str, float]) -> Decimal:
    """The largest absolute gap between a fund's current weight and its target, computed exactly
    (a 55/45 holding against 50/50 drifts by 0.05, not 0.050000000000000044)."""
    total = sum(values.values())
    if total <= 0:
        return Decimal(0)
    codes = set(values) | set(target)
    return max(abs(Decimal(values.get(c, 0)) / total - _exact(target.get(c, 0.0))) for c in codes)


def rebalance_orders(
    values: Mapping[str, int],
    target: Mapping[str, float],
    threshold: float = 0.05,
    fees: Mapping[str, FeeRates] | None = None,
) -> list[Order]:
    """Orders back to `target` when the drift is past `threshold` (none at or under it). Sells first;
    their cash after redemption fees is spent on the buys in proportion to each fund's shortfall."""
    fees = fees or {}
    total = sum(values.values())
    if total <= 0 or drift(values, target) <= _exact(threshold):
        return []
    codes = sorted(set(values) | set(target))
    desired = {c: _fen(total * _exact(target.get(c, 0.0))) for c in codes}
    orders: list[Order] = []
    for c in codes:
        excess = values.get(c, 0) - desired[c]
        if excess > 0:
            orders.append(Order(c, "sell", excess, redemption_fee(excess, fees.get(c, FeeRates()).redemption)))
    cash = sum(o.net for o in orders)
    gaps = {c: desired[c] - values.get(c, 0) for c in codes if desired[c] > values.get(c, 0)}
    return orders + _buys(cash, gaps, fees)


def _buys(cash: int, gaps: dict[str, int], fees: Mapping[str, FeeRates]) -> list[Order]:
    """Spend exactly `cash` over the shortfalls, pro rata, the rounding remainder to the largest."""
    shortfall = sum(gaps.values())
    if cash <= 0 or shortfall <= 0:
        return []
    amounts = {c: _fen(Decimal(cash) * g / shortfall, ROUND_DOWN) for c, g in gaps.items()}
    largest = max(gaps, key=lambda c: (gaps[c], c))
    amounts[largest] += cash - sum(amounts.values())
    return [
        Order(c, "buy", a, purchase_fee(a, fees.get(c, FeeRates()).purchase))
        for c, a in sorted(amounts.items())
        if a > 0
    ]
