"""The ETFs robo-advice may hold, as the wealth advisor's universe (投资标的池): each ETF's risk level
(as data) and its daily closes on the platform's exchange, adjusted backwards for distributions
(前复权), so the advisor's optimiser (PyPortfolioOpt, `wealth.advice.advisor`) chooses the targets.

A day's close is the day's last trade; a trading day without one repeats the last close (the
exchange's rule for an untraded instrument). Until the ETFs have `MIN_HISTORY` days of closes in
common the optimiser has nothing to estimate from, and the level's model portfolio is the target.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, func, select

from puhui.securities import suitability
from puhui.securities.robo import models as robo
from puhui.securities.tables import securities_corporate_actions as actions
from puhui.securities.tables import securities_executions as executions
from puhui.wealth.advice import advisor
from puhui.wealth.suitability.service import CustomerLevel, ProductRisk

# 产品风险等级 of each ETF robo-advice may hold: the brokerage's ratings (a money-market ETF R1, treasuries
# R2, gold and the broad index funds R3, the growth board's index R4).
ETF_RISKS: dict[str, ProductRisk] = suitability.ETF_RISKS
MIN_HISTORY = 20  # trading days of closes before the optimiser is trusted


@dataclass(frozen=True)
class TargetWeights:
    """What a portfolio aims for: ETF code → weight (summing to 1), and how it was chosen."""

    weights: dict[str, Decimal]
    method: str  # efficient_risk | min_volatility | single_fund | model_portfolio
    history_days: int


def daily_closes(connection: Connection, codes: Iterable[str]) -> dict[str, dict[dt.date, int]]:
    """Each ETF's last trade per trading day, in its ticks."""
    last = (
        select(func.max(executions.c.id))
        .where(executions.c.code.in_(list(codes)), executions.c.side == "buy")
        .group_by(executions.c.code, executions.c.trade_day)
    )
    query = select(executions.c.code, executions.c.trade_day, executions.c.price).where(executions.c.id.in_(last))
    closes: dict[str, dict[dt.date, int]] = {}
    for code, day, price in connection.execute(query):
        closes.setdefault(code, {})[day] = int(price)
    return closes


def closes_on(connection: Connection, codes: Iterable[str], day: dt.date) -> dict[str, int]:
    """Each ETF's close at `day`: its last trade on or before that trading day (those never traded
    by then are left out)."""
    last = (
        select(func.max(executions.c.id))
        .where(executions.c.code.in_(list(codes)), executions.c.side == "buy", executions.c.trade_day <= day)
        .group_by(executions.c.code)
    )
    query = select(executions.c.code, executions.c.price).where(executions.c.id.in_(last))
    return {code: int(price) for code, price in connection.execute(query)}


def adjustment_factors(connection: Connection, codes: Iterable[str]) -> dict[str, list[tuple[dt.date, Decimal]]]:
    """Per ETF, each applied distribution's ex-date and its factor: the ex-date reference price over
    the close before it (closes before the ex-date are multiplied by it)."""
    query = select(actions.c.code, actions.c.ex_date, actions.c.reference_price).where(
        actions.c.code.in_(list(codes)), actions.c.status == "applied", actions.c.reference_price.is_not(None)
    )
    return {
        code: [(ex_date, Decimal(reference)) for c, ex_date, reference in connection.execute(query) if c == code]
        for code in codes
    }


def adjusted_history(
    closes: Mapping[str, Mapping[dt.date, int]], factors: Mapping[str, list[tuple[dt.date, Decimal]]]
) -> dict[str, dict[dt.date, Decimal]]:
    """Closes on every day any ETF traded (a gap repeats the last close; none before the first),
    adjusted backwards (前复权) at each ex-date by reference price / the close before it."""
    days = sorted({day for series in closes.values() for day in series})
    answer: dict[str, dict[dt.date, Decimal]] = {}
    for code, series in closes.items():
        filled: dict[dt.date, Decimal] = {}
        last: Decimal | None = None
        for day in days:
            last = Decimal(series[day]) if day in series else last
            if last is not None:
                filled[day] = last
        for ex_date, reference in factors.get(code, []):
            before = [day for day in filled if day < ex_date]
            if before and filled[before[-1]] > 0:
                factor = reference / filled[before[-1]]
                for day in before:
                    filled[day] *= factor
        answer[code] = filled
    return answer


def etf_universe(connection: Connection) -> tuple[advisor.Universe, int]:
    """The advisor's universe over the ETFs, and the number of days the ETFs have closes in common."""
    import pandas as pd

    codes = sorted(ETF_RISKS)
    history = adjusted_history(daily_closes(connection, codes), adjustment_factors(connection, codes))
    if not history:
        return advisor.empty_universe(), 0
    frame = pd.DataFrame({code: {day: float(p) for day, p in series.items()} for code, series in history.items()})
    frame = frame.sort_index()
    common = len(frame.dropna()) if set(frame.columns) == set(codes) else 0
    return advisor.Universe(frame, {code: ETF_RISKS[code] for code in frame.columns}), common


def target_weights(connection: Connection, level: str) -> TargetWeights:
    """The advisor's portfolio for `level` over the ETFs' history, or the model portfolio until every
    ETF has `MIN_HISTORY` days of closes."""
    universe, days = etf_universe(connection)
    if days < MIN_HISTORY:
        return TargetWeights(dict(robo.PORTFOLIOS[level]), "model_portfolio", days)
    chosen = advisor.target_portfolio(universe, CustomerLevel[level])
    return TargetWeights(robo.exact_weights(chosen.weights), chosen.method, days)
