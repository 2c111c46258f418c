"""Robo-advice as trades (智能投顾), pure: model portfolios of ETFs per risk level, order sizing in
whole lots (整手), drift (偏离度) and the rebalancing orders (再平衡) that sell before they buy.

Values are integer fen, prices integer ticks of the ETF (厘), weights `Decimal` fractions of the
portfolio's whole value (ETFs at their price plus the cash left over). A buy is sized so that its value
and its fees fit the cash meant for it: lots = the largest n with value(n lots) + fees ≤ budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from puhui.money import format_minor
from puhui.securities import models
from puhui.securities.robo.errors import AmountBelowMinimum

LOT = models.LOT
DRIFT_THRESHOLD = Decimal("0.05")  # 5 percentage points absolute, any one ETF

# Model portfolios (模型组合) per customer level, ETF code → weight; each sums to 1.
PORTFOLIOS: dict[str, dict[str, Decimal]] = {
    "C1": {"511880": Decimal("0.50"), "511010": Decimal("0.50")},
    "C2": {"511880": Decimal("0.20"), "511010": Decimal("0.50"), "510300": Decimal("0.20"), "518880": Decimal("0.10")},
    "C3": {"511010": Decimal("0.40"), "510300": Decimal("0.30"), "510500": Decimal("0.15"), "518880": Decimal("0.15")},
    "C4": {
        "511010": Decimal("0.20"),
        "510300": Decimal("0.35"),
        "510500": Decimal("0.20"),
        "159915": Decimal("0.15"),
        "518880": Decimal("0.10"),
    },
    "C5": {"510300": Decimal("0.40"), "510500": Decimal("0.25"), "159915": Decimal("0.25"), "518880": Decimal("0.10")},
}
LEVELS = tuple(PORTFOLIOS)


SMALLEST_WEIGHT = Decimal("0.01")  # an optimiser's weight under 1% is left out: too small to buy a lot of
PLACES = Decimal("0.0001")


def exact_weights(weights: Mapping[str, float]) -> dict[str, Decimal]:
    """An optimiser's float weights as decimal fractions to four places that sum to exactly 1: those
    under `SMALLEST_WEIGHT` dropped, the rest scaled up, the rounding's remainder on the largest."""
    kept = {code: Decimal(repr(w)) for code, w in weights.items() if Decimal(repr(w)) >= SMALLEST_WEIGHT}
    if not kept:
        raise ValueError("no weight of at least 1%")
    whole = sum(kept.values())
    answer = {code: (w / whole).quantize(PLACES) for code, w in kept.items()}
    largest = max(sorted(answer), key=lambda code: answer[code])
    answer[largest] += 1 - sum(answer.values())
    return answer


@dataclass(frozen=True, slots=True)
class RoboOrder:
    code: str
    side: models.Side
    quantity: int
    price: int  # the limit, in the ETF's ticks


def lot_value(code: str, price: int) -> int:
    return models.trade_value(code, price, LOT)


def buy_cost(schedule: models.FeeSchedule, code: str, price: int, quantity: int) -> int:
    """What a buy of `quantity` at `price` takes from cash: its value and its fees."""
    value = models.trade_value(code, price, quantity)
    return value + models.trade_fees(schedule, models.Side.buy, value, etf=True).total if quantity else 0


def lots_within(schedule: models.FeeSchedule, code: str, price: int, budget: int) -> int:
    """The most whole lots whose value and fees fit `budget` fen."""
    lots = max(0, budget // lot_value(code, price))
    while lots and buy_cost(schedule, code, price, lots * LOT) > budget:
        lots -= 1
    return lots


def minimum_amount(schedule: models.FeeSchedule, targets: Mapping[str, Decimal], prices: Mapping[str, int]) -> int:
    """The least amount that buys one lot of every ETF of the portfolio (with fees) at its weight."""
    return max(
        -(-buy_cost(schedule, code, prices[code], LOT) * 10**6 // int(weight * 10**6))
        for code, weight in targets.items()
        if weight > 0
    )


def size_buys(
    schedule: models.FeeSchedule, amount: int, targets: Mapping[str, Decimal], prices: Mapping[str, int]
) -> list[RoboOrder]:
    """First purchase (建仓): each ETF's share of `amount` in whole lots; refused below the minimum."""
    least = minimum_amount(schedule, targets, prices)
    if amount < least:
        raise AmountBelowMinimum(f"{format_minor(least, 2)} CNY buys one lot of each ETF, not less")
    answer = []
    for code in sorted(targets):
        budget = int((Decimal(amount) * targets[code]).to_integral_value(ROUND_DOWN))
        lots = lots_within(schedule, code, prices[code], budget)
        if lots:
            answer.append(RoboOrder(code, models.Side.buy, lots * LOT, prices[code]))
    return answer


def total_value(units: Mapping[str, int], prices: Mapping[str, int], cash: int) -> int:
    return cash + sum(models.trade_value(code, prices[code], q) for code, q in units.items())


def weights(units: Mapping[str, int], prices: Mapping[str, int], cash: int) -> dict[str, Decimal]:
    whole = total_value(units, prices, cash)
    if whole <= 0:
        return dict.fromkeys(units, Decimal(0))
    return {code: Decimal(models.trade_value(code, prices[code], q)) / whole for code, q in units.items()}


def drift(
    units: Mapping[str, int], prices: Mapping[str, int], cash: int, targets: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """Each ETF's weight less its target (偏离度), in fractions of the whole value."""
    held = weights({code: units.get(code, 0) for code in set(targets) | set(units)}, prices, cash)
    return {code: held.get(code, Decimal(0)) - targets.get(code, Decimal(0)) for code in held}


def needs_rebalance(drifts: Mapping[str, Decimal], threshold: Decimal = DRIFT_THRESHOLD) -> bool:
    return any(abs(d) > threshold for d in drifts.values())


def rebalance_orders(
    schedule: models.FeeSchedule,
    units: Mapping[str, int],
    prices: Mapping[str, int],
    cash: int,
    targets: Mapping[str, Decimal],
    threshold: Decimal = DRIFT_THRESHOLD,
) -> list[RoboOrder]:
    """Back to the targets in whole lots once some weight has drifted beyond the threshold: sells first
    (an ETF out of the portfolio is sold whole), then buys paid from the cash the sells leave."""
    if not needs_rebalance(drift(units, prices, cash, targets), threshold):
        return []
    whole = total_value(units, prices, cash)
    sells, buys = [], []
    for code in sorted(set(units) | set(targets)):
        held, price = units.get(code, 0), prices[code]
        goal = int((Decimal(whole) * targets.get(code, Decimal(0))).to_integral_value(ROUND_DOWN))
        want = (goal // lot_value(code, price)) * LOT
        if want < held:
            quantity = held if code not in targets else held - want
            sells.append(RoboOrder(code, models.Side.sell, quantity, price))
        elif want > held:
            buys.append((code, goal - models.trade_value(code, price, held)))
    for order in sells:
        value = models.trade_value(order.code, order.price, order.quantity)
        cash += value - models.trade_fees(schedule, models.Side.sell, value, etf=True).total
    answer = list(sells)
    for code, budget in buys:
        lots = lots_within(schedule, code, prices[code], min(budget, cash))
        if lots:
            cash -= buy_cost(schedule, code, prices[code], lots * LOT)
            answer.append(RoboOrder(code, models.Side.buy, lots * LOT, prices[code]))
    return answer
