"""The fund manager's daily figures (基金管理人每日披露): an interface and a simulated manager.

The platform asks the manager for each natural day's income per 10,000 units (万份收益); the
7-day annualized yield is computed from those by `yields.seven_day_annualized`. The simulated
manager draws each day's annualized gross return from a seeded normal distribution around a
mean (money-market instruments: ~1.2-2.5% a year), deterministic per (seed, fund, date).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Protocol


class FundManager(Protocol):
    def income_per_10k(self, fund_code: str, day: dt.date) -> Decimal:
        """万份收益 of `day` in yuan, 4 decimals."""
        ...


@dataclass(frozen=True)
class SimulatedManager:
    seed: int = 2026
    annual_mean: float = 0.018
    annual_sd: float = 0.003

    def annual_return(self, fund_code: str, day: dt.date) -> Decimal:
        draw = random.Random(f"{self.seed}:{fund_code}:{day.isoformat()}").gauss(self.annual_mean, self.annual_sd)
        return Decimal(str(round(max(draw, 0.0), 8)))

    def income_per_10k(self, fund_code: str, day: dt.date) -> Decimal:
        """10000 × ((1 + a)^(1/365) − 1), a the day's annualized return, cut to 4 decimals."""
        with localcontext() as context:
            context.prec = 30
            daily = (1 + self.annual_return(fund_code, day)) ** (Decimal(1) / 365) - 1
            return (daily * 10_000).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)


@dataclass(frozen=True)
class FixedManager:
    """Figures given in advance (a file the manager sent, or a test): {(fund, date): R}."""

    figures: dict[tuple[str, dt.date], Decimal]

    def income_per_10k(self, fund_code: str, day: dt.date) -> Decimal:
        try:
            return self.figures[(fund_code, day)]
        except KeyError:
            from puhui.wealth.errors import InvalidFigures

            raise InvalidFigures(f"no income per 10,000 units for {fund_code} on {day}") from None
