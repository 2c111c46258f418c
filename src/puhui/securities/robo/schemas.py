"""What the robo-advice API answers with (智能投顾): the subscription's holdings and drift, a run's orders
and the performance report."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from puhui.api.fields import Money, Schema, Timestamp
from puhui.securities.schemas import StockOrder

Weight = Field(pattern=r"^-?[0-9]+\.[0-9]{4}$", description="a fraction of the portfolio's value, four places")
Ratio = Field(pattern=r"^-?[0-9]+\.[0-9]{6}$", description="a return as a fraction, six places")


class RoboHolding(Schema):
    """One ETF of the portfolio: units, price, value, weight, target and drift (偏离度)."""

    code: str
    units: int = Field(ge=0, le=2**53 - 1)
    price: str = Field(pattern=r"^[0-9]+\.[0-9]{2,3}$")
    value: Money
    weight: str = Weight
    target: str = Weight
    drift: str = Weight


class RoboStatus(Schema):
    """A robo-advice subscription (智能投顾) and where its portfolio stands."""

    customer_id: str
    level: Literal["C1", "C2", "C3", "C4", "C5"]
    method: Literal["efficient_risk", "min_volatility", "single_fund", "model_portfolio"] = Field(
        description="how the targets were chosen: the advisor's optimiser over the ETFs' closes "
        "(efficient_risk, min_volatility, single_fund), or the level's model portfolio until every ETF "
        "has 20 trading days of closes"
    )
    amount: Money
    threshold: str = Weight
    cash: Money = Field(description="the portfolio's cash left over (剩余资金)")
    value: Money
    holdings: list[RoboHolding]
    needs_rebalance: bool


class RoboTarget(Schema):
    code: str
    weight: str = Weight
    price: str | None = Field(pattern=r"^[0-9]+\.[0-9]{2,3}$", description="today's buy limit; none before listing")


class RoboProposal(Schema):
    """What a subscription would buy (投资建议): the level's targets and the least amount that buys them."""

    level: Literal["C1", "C2", "C3", "C4", "C5"]
    method: Literal["efficient_risk", "min_volatility", "single_fund", "model_portfolio"]
    history_days: int = Field(ge=0, le=100_000, description="trading days of closes every ETF has in common")
    targets: list[RoboTarget]
    minimum_amount: Money | None = Field(description="one lot of each ETF with fees; none until the ETFs are listed")


class RoboRun(Schema):
    id: str
    kind: Literal["subscribe", "rebalance"]
    orders: list[StockOrder]
    created_at: Timestamp


class RoboRebalance(RoboStatus):
    """The portfolio after a rebalance (再平衡) and the run's orders (none when within the threshold)."""

    run: RoboRun


class RoboDay(Schema):
    day: str
    value: Money


class RoboReport(Schema):
    """Performance (业绩报告): time-weighted return net of fees, fees paid, and the benchmark's return."""

    customer_id: str
    level: Literal["C1", "C2", "C3", "C4", "C5"]
    days: list[RoboDay]
    time_weighted_return: str = Ratio
    benchmark_return: str = Ratio
    fees_paid: Money


class RoboMarked(Schema):
    customers: list[str]
