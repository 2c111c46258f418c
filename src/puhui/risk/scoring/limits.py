"""Risk grade (风险等级) and credit limit (授信额度) from a credit score and monthly income. Pure.

The rule:
- Grade by score (350–950): A ≥ 750, B ≥ 680, C ≥ 620, D ≥ 560, E below 560.
- Limit = monthly income × the grade's multiple (A 4, B 3, C 2, D 1, E 0), never more than a third
  of annual income (four months' income) and never more than 200,000 yuan, the ceiling the 2020
  interim measures on commercial banks' internet loans (商业银行互联网贷款管理暂行办法) set on an
  unsecured personal internet loan. Rounded down to whole yuan; grade E gets no credit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from puhui.errors import InvalidInput

GRADES: tuple[tuple[str, int, int], ...] = (("A", 750, 4), ("B", 680, 3), ("C", 620, 2), ("D", 560, 1), ("E", 350, 0))
LIMIT_CAP = Decimal(200000)
ANNUAL_DIVISOR = 3  # at most a third of annual income
SCORE_RANGE = (350, 950)


@dataclass(frozen=True)
class CreditLine:
    grade: str
    limit: Decimal  # whole yuan

    def as_json(self) -> dict[str, str]:
        return {"grade": self.grade, "limit": str(self.limit)}


def grade_of(score: float) -> str:
    if not SCORE_RANGE[0] <= score <= SCORE_RANGE[1]:
        raise InvalidInput(f"a credit score is between {SCORE_RANGE[0]} and {SCORE_RANGE[1]}, not {score}")
    return next(grade for grade, floor, _ in GRADES if score >= floor)


def credit_line(score: float, monthly_income: Decimal) -> CreditLine:
    """The grade and the limit for `score` and `monthly_income` (Decimal yuan, ≥ 0)."""
    if not isinstance(monthly_income, Decimal) or not monthly_income.is_finite() or monthly_income < 0:
        raise InvalidInput(f"monthly income must be a non-negative Decimal, not {monthly_income!r}")
    grade = grade_of(score)
    multiple = next(m for g, _, m in GRADES if g == grade)
    limit = min(monthly_income * multiple, monthly_income * 12 / ANNUAL_DIVISOR, LIMIT_CAP)
    return CreditLine(grade, limit.quantize(Decimal(1), rounding=ROUND_FLOOR))
