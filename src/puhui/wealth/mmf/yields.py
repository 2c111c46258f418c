"""Money-market fund figures (pure): income per 10,000 units and the 7-day annualized yield.

Source: 《货币市场基金信息披露特别规定》(CSRC, 证监基金字〔2005〕41号), appendix, for funds that
carry income forward as units every day (按日结转份额):

    日每万份基金净收益 (R)  = 当日基金净收益 / 当日基金份额总额 × 10000
    七日年化收益率          = { [ Π_{i=1..7} (1 + R_i / 10000) ] ^ (365/7) − 1 } × 100%

where R_i is the income per 10,000 units of each of the last 7 natural days (the day itself and the
six before it). R is published to 4 decimal places (元), the 7-day yield to 3 decimal places (%);
both are rounded half-up here.

A holder's daily income (每日收益) is units × R / 10000, rounded DOWN to the unit precision (0.01
unit = 1 fen at NAV 1.00); the fund's distributed income is the same formula applied to the
holders' total units, so the residue = distributed − Σ holders' income is ≥ 0 and smaller than one
minor unit per holder. It is tracked on the fund's residue account, never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

PER_10K_SCALE = 4  # R is stored as integer 1/10000 yuan per 10,000 units
YIELD_QUANTUM = Decimal("0.001")
TEN_THOUSAND = 10_000


def income_per_10k(net_income_minor: int, total_units_minor: int) -> Decimal:
    """R = net income / total units × 10000, to 4 decimals (units and income in the same minor unit)."""
    if total_units_minor <= 0:
        raise ValueError("total units must be positive")
    r = Decimal(net_income_minor) * TEN_THOUSAND / Decimal(total_units_minor)
    return r.quantize(Decimal(1).scaleb(-PER_10K_SCALE), rounding=ROUND_HALF_UP)


def seven_day_annualized(last_seven: Sequence[Decimal]) -> Decimal:
    """七日年化收益率 in percent (e.g. Decimal("1.845") for 1.845%), compounded, from 7 daily R."""
    if len(last_seven) != 7:
        raise ValueError("the 7-day yield needs exactly 7 natural days of income per 10,000 units")
    with localcontext() as context:
        context.prec = 40
        product = Decimal(1)
        for r in last_seven:
            product *= 1 + Decimal(r) / TEN_THOUSAND
        annual = product ** (Decimal(365) / Decimal(7)) - 1
        return (annual * 100).quantize(YIELD_QUANTUM, rounding=ROUND_HALF_UP)


def r_units(r: Decimal) -> int:
    """R as an integer count of 1/10000 yuan."""
    scaled = Decimal(r).scaleb(PER_10K_SCALE)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"income per 10,000 units {r} has more than {PER_10K_SCALE} decimals")
    return int(scaled)


def holder_income(units_minor: int, r_e4: int) -> int:
    """One holder's income in minor units: floor(units × R / 10000), R given as 1/10000 yuan.

    (units_minor / 100) units × (r_e4 / 10^4) yuan / 10^4 = units_minor × r_e4 / 10^10 yuan
    = units_minor × r_e4 / 10^8 fen; integer division rounds down.
    """
    return units_minor * r_e4 // 10**8


@dataclass(frozen=True)
class Distribution:
    incomes: list[int]
    distributed: int  # the fund's income for the day on the holders' total units
    residue: int

    @property
    def paid(self) -> int:
        return sum(self.incomes)


def distribute(holdings: Sequence[int], r_e4: int) -> Distribution:
    """Each holder's rounded-down income, the fund's distributed income and the residue."""
    if r_e4 < 0 or any(h < 0 for h in holdings):
        raise ValueError("holdings and income per 10,000 units must not be negative")
    incomes = [holder_income(h, r_e4) for h in holdings]
    distributed = holder_income(sum(holdings), r_e4)
    return Distribution(incomes, distributed, distributed - sum(incomes))
