"""Backtest (回测) of a target portfolio over a NAV history, rebalanced when it drifts.

The portfolio buys the target on the first day (front-end fees paid), then every `check_every`
trading days looks at the drift and, past the threshold, trades with `advisor.rebalance_orders`
(the same orders a customer would get, fees included). Units are tracked as floats: this is an
analysis, not the ledger. Metrics over the daily value series V_0..V_n, with r_t = V_t / V_{t-1} − 1:

- total return           V_n / V_0 − 1
- annualised return      (V_n / V_0) ** (252 / n) − 1
- annualised volatility  stdev(r, ddof=1) · √252
- max drawdown           max_t (1 − V_t / max_{s≤t} V_s)
- Sharpe                 (mean(r) · 252 − risk-free rate) / annualised volatility
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from puhui.wealth.advice.advisor import (
    TRADING_DAYS,
    FeeRates,
    Order,
    purchase_fee,
    rebalance_orders,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Metrics:
    total_return: float
    annual_return: float
    annual_volatility: float
    max_drawdown: float
    sharpe: float | None

    def as_json(self) -> dict:
        return {k: (None if v is None else round(v, 6)) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class BacktestResult:
    values: pd.Series  # portfolio value in fen, one per trading day
    weights: pd.DataFrame  # each fund's weight at the close of each day
    rebalances: list  # the dates on which orders were placed
    fees: int  # fen, all fees paid (initial purchase included)
    metrics: Metrics


def metrics(values: pd.Series, risk_free_rate: float = 0.0, periods_per_year: int = TRADING_DAYS) -> Metrics:
    series = values.astype(float)
    returns = series.pct_change().dropna()
    n = len(returns)
    growth = series.iloc[-1] / series.iloc[0]
    volatility = float(returns.std(ddof=1)) * math.sqrt(periods_per_year) if n > 1 else 0.0
    drawdown = float((1 - series / series.cummax()).max())
    sharpe = (float(returns.mean()) * periods_per_year - risk_free_rate) / volatility if volatility > 0 else None
    return Metrics(
        float(growth - 1), float(growth ** (periods_per_year / n) - 1) if n else 0.0, volatility, drawdown, sharpe
    )


def _weight(w: float) -> Decimal:
    """An optimizer weight as the Decimal it prints as (never the float's binary expansion)."""
    return Decimal(str(w))


def _nav(value: object) -> Decimal:
    return Decimal(str(value))


def _initial_units(
    navs: pd.DataFrame, target: Mapping[str, float], initial: int, fees: Mapping[str, FeeRates]
) -> tuple[dict[str, Decimal], int, int]:
    """Units bought on day one (Decimal), fees paid and cash left over (fen)."""
    units: dict[str, Decimal] = {}
    paid = spent = 0
    for code in navs.columns:
        amount = int(Decimal(initial) * _weight(target.get(code, 0.0)))
        fee = purchase_fee(amount, fees.get(code, FeeRates()).purchase)
        units[code] = Decimal(amount - fee) / _nav(navs[code].iloc[0])
        paid, spent = paid + fee, spent + amount
    return units, paid, initial - spent


def _apply(orders: list[Order], units: dict[str, Decimal], navs: Mapping[str, Decimal]) -> int:
    """Trade at the day's NAVs; returns the change in cash in fen (sells in, buys out)."""
    cash = 0
    for order in orders:
        if order.side == "sell":
            units[order.fund_code] -= Decimal(order.amount) / navs[order.fund_code]
            cash += order.net
        else:
            units[order.fund_code] += Decimal(order.net) / navs[order.fund_code]
            cash -= order.amount
    return cash


def run_backtest(
    navs: pd.DataFrame,
    target: Mapping[str, float],
    initial: int = 100_000_000,
    threshold: float = 0.05,
    check_every: int = 21,
    fees: Mapping[str, FeeRates] | None = None,
    risk_free_rate: float = 0.0,
) -> BacktestResult:
    """Backtest `target` (weights over `navs` columns) from `initial` fen. Holdings and cash are
    exact (Decimal units, integer fen); only the statistics of the value series are floats."""
    import pandas as pd

    fees = fees or {}
    navs = navs[[c for c in navs.columns if c in target]].dropna()
    units, paid, cash = _initial_units(navs, target, initial, fees)
    values, weights, rebalances = [], [], []
    for day, (when, row) in enumerate(navs.iterrows()):
        today = {c: _nav(row[c]) for c in navs.columns}
        holding = {c: units[c] * today[c] for c in navs.columns}
        if day and day % check_every == 0:
            orders = rebalance_orders(
                {c: int(v.to_integral_value()) for c, v in holding.items()}, target, threshold, fees
            )
            if orders:
                cash += _apply(orders, units, today)
                paid += sum(o.fee for o in orders)
                rebalances.append(when)
                holding = {c: units[c] * today[c] for c in navs.columns}
        total = sum(holding.values()) + cash
        values.append(total)
        weights.append({c: float(v / total) for c, v in holding.items()})
    value_series = pd.Series([float(v) for v in values], index=navs.index, name="value")
    return BacktestResult(
        value_series, pd.DataFrame(weights, index=navs.index), rebalances, paid, metrics(value_series, risk_free_rate)
    )


def write_charts(result: BacktestResult, directory: Path | str, stem: str = "backtest") -> list[Path]:
    """PNG charts: the value curve with its drawdown, and the weights over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    values = result.values / 100  # CNY
    value_path, weights_path = directory / f"{stem}_value.png", directory / f"{stem}_weights.png"
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, height_ratios=(3, 1))
    top.plot(values.index, values.values, label="portfolio value (CNY)")
    for when in result.rebalances:
        top.axvline(when, color="grey", alpha=0.3, linewidth=0.8)
    m = result.metrics
    top.set_title(
        f"return {m.total_return:.2%} · vol {m.annual_volatility:.2%} · "
        f"max drawdown {m.max_drawdown:.2%} · Sharpe {m.sharpe if m.sharpe is None else round(m.sharpe, 2)}"
    )
    top.legend(loc="upper left")
    bottom.fill_between(values.index, -(1 - values / values.cummax()).values, 0, color="tab:red", alpha=0.5)
    bottom.set_ylabel("drawdown")
    figure.tight_layout()
    figure.savefig(value_path, dpi=100)
    plt.close(figure)
    figure, axis = plt.subplots(figsize=(9, 4))
    held = result.weights.loc[:, result.weights.max() > 1e-6]  # funds the target gives no weight stay off
    axis.stackplot(held.index, held.T.values, labels=list(held.columns))
    axis.set_ylabel("weight")
    axis.legend(loc="upper left", fontsize="small")
    figure.tight_layout()
    figure.savefig(weights_path, dpi=100)
    plt.close(figure)
    return [value_path, weights_path]
