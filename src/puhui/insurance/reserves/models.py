"""Reserve arithmetic (准备金, no I/O): a policy's earned premium with its cancellation, paid-claims
development triangles (赔款进展三角形), chain-ladder (链梯法) and Bornhuetter-Ferguson (BF法)
ultimates, the loss and combined ratios (赔付率, 综合成本率) and claims ageing (未决赔案账龄).

Money is integer fen; development factors are Decimals. A triangle's rows are accident months
(事故月), oldest first; its columns development months 0, 1, …; a cell is the cumulative paid by the
end of that development month, None where the month has not yet come.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from puhui.insurance.models import Cover, earned_through

ONE = Decimal(1)
AGEING_BUCKETS = (("0-30", 30), ("31-90", 90), ("91-180", 180), (">180", None))


def policy_earned_through(cover: Cover, day: dt.date, cancelled_on: dt.date | None, refund: int | None) -> int:
    """Premium earned (已赚保费) by the end of `day` by a policy that may have been cancelled (退保) on
    `cancelled_on` with `refund`: from its cancellation on, what the insurer keeps (premium − refund);
    a cooling-off refund of everything reverses what had been earned."""
    if cancelled_on is not None and day >= cancelled_on:
        return cover.premium - (refund or 0)
    return earned_through(cover, day)


def month_of(day: dt.date) -> int:
    """A month as a number (year × 12 + month − 1), so months subtract."""
    return day.year * 12 + day.month - 1


def month_start(month: int) -> dt.date:
    return dt.date(month // 12, month % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Payment:
    """One claim payment (赔款支付): its accident date, the date paid and the fen paid."""

    accident_date: dt.date
    paid_date: dt.date
    amount: int


@dataclass(frozen=True, slots=True)
class Triangle:
    """Cumulative paid by accident month × development month, as of the valuation date."""

    first_month: int  # month_of the first accident month
    rows: tuple[tuple[int | None, ...], ...]

    @property
    def ages(self) -> int:
        return len(self.rows)

    def origin(self, row: int) -> dt.date:
        return month_start(self.first_month + row)

    def latest(self, row: int) -> tuple[int, int]:
        """(development month, cumulative paid) on the row's last known diagonal cell."""
        cells = self.rows[row]
        age = max(k for k, cell in enumerate(cells) if cell is not None)
        return age, cells[age] or 0


def paid_triangle(payments: Iterable[Payment], valuation: dt.date, first: dt.date | None = None) -> Triangle:
    """The paid development triangle at `valuation`: payments after it are left out. Rows run from the
    first accident month (or `first`) to the valuation month."""
    known = [p for p in payments if p.paid_date <= valuation and p.accident_date <= valuation]
    last = month_of(valuation)
    start = min([month_of(p.accident_date) for p in known] + ([month_of(first)] if first else []), default=last)
    size = last - start + 1
    increments = [[0] * size for _ in range(size)]
    for p in known:
        origin = month_of(p.accident_date) - start
        increments[origin][max(month_of(p.paid_date) - month_of(p.accident_date), 0)] += p.amount
    rows = []
    for origin, cells in enumerate(increments):
        running, row = 0, []
        for age in range(size):
            running += cells[age]
            row.append(running if origin + age < size else None)
        rows.append(tuple(row))
    return Triangle(start, tuple(rows))


def development_factors(triangle: Triangle) -> tuple[Decimal, ...]:
    """Volume-weighted age-to-age factors (进展因子): f_k = Σ C[i][k+1] ÷ Σ C[i][k] over the accident
    months that know both; 1 where nothing was paid at age k."""
    factors = []
    for age in range(triangle.ages - 1):
        pairs = [(r[age], r[age + 1]) for r in triangle.rows if r[age] is not None and r[age + 1] is not None]
        before = sum(a or 0 for a, _ in pairs)
        after = sum(b or 0 for _, b in pairs)
        factors.append(Decimal(after) / Decimal(before) if before else ONE)
    return tuple(factors)


def to_ultimate(factors: Sequence[Decimal], age: int) -> Decimal:
    """The cumulative development factor (累计进展因子) from `age` to ultimate (no tail)."""
    product = ONE
    for factor in factors[age:]:
        product *= factor
    return product


def fen(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class OriginEstimate:
    """One accident month's estimate: paid to date, ultimate (最终赔款) and what remains unpaid."""

    origin: dt.date
    paid: int
    ultimate: int

    @property
    def unpaid(self) -> int:
        return self.ultimate - self.paid


def chain_ladder(triangle: Triangle) -> tuple[OriginEstimate, ...]:
    """Chain-ladder ultimates: each accident month's latest paid × its factor to ultimate."""
    factors = development_factors(triangle)
    estimates = []
    for row in range(triangle.ages):
        age, paid = triangle.latest(row)
        estimates.append(OriginEstimate(triangle.origin(row), paid, fen(paid * to_ultimate(factors, age))))
    return tuple(estimates)


def bornhuetter_ferguson(
    triangle: Triangle, earned: Sequence[int], expected_loss_ratio: Decimal
) -> tuple[OriginEstimate, ...]:
    """BF ultimates: paid to date + the part not yet developed, (1 − 1 ÷ CDF), of the a-priori
    expected loss (预期赔付率 × 已赚保费) of each accident month. `earned` is per accident month."""
    if len(earned) != triangle.ages:
        raise ValueError("one earned premium per accident month")
    factors = development_factors(triangle)
    estimates = []
    for row in range(triangle.ages):
        age, paid = triangle.latest(row)
        unreported = ONE - ONE / to_ultimate(factors, age)
        estimates.append(
            OriginEstimate(triangle.origin(row), paid, paid + fen(unreported * expected_loss_ratio * earned[row]))
        )
    return tuple(estimates)


def ibnr(estimates: Iterable[OriginEstimate], case_reserve: int) -> int:
    """IBNR (已发生未报案未决赔款准备金) from a paid method: what remains unpaid less the case
    estimates already held for reported claims, never below zero."""
    return max(sum(e.unpaid for e in estimates) - case_reserve, 0)


def ratio(numerator: int, denominator: int) -> Decimal | None:
    """numerator ÷ denominator to four places, None without a denominator."""
    if denominator <= 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Ratios:
    """赔付率 = (已付 + 未决 + IBNR) ÷ 已赚保费; 综合成本率 = 赔付率 + 佣金率 + 费用率."""

    earned: int
    incurred: int
    loss_ratio: Decimal | None
    commission_ratio: Decimal
    expense_ratio: Decimal

    @property
    def combined_ratio(self) -> Decimal | None:
        if self.loss_ratio is None:
            return None
        return self.loss_ratio + self.commission_ratio + self.expense_ratio


def ratios(
    earned: int, paid: int, case_reserve: int, ibnr_reserve: int, commission_ratio: Decimal, expense_ratio: Decimal
) -> Ratios:
    incurred = paid + case_reserve + ibnr_reserve
    return Ratios(earned, incurred, ratio(incurred, earned), commission_ratio, expense_ratio)


def ageing_bucket(reported: dt.date, day: dt.date) -> str:
    """The ageing bucket of an open claim by days since it was reported (报案)."""
    days = (day - reported).days
    for name, limit in AGEING_BUCKETS:
        if limit is None or days <= limit:
            return name
    raise AssertionError("the last bucket has no limit")


def claims_ageing(reported_and_estimates: Iterable[tuple[dt.date, int]], day: dt.date) -> dict[str, tuple[int, int]]:
    """Open claims by ageing bucket: (how many, Σ case estimate in fen), every bucket present."""
    buckets = {name: (0, 0) for name, _ in AGEING_BUCKETS}
    for reported, estimate in reported_and_estimates:
        name = ageing_bucket(reported, day)
        count, total = buckets[name]
        buckets[name] = (count + 1, total + estimate)
    return buckets
