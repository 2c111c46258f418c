"""Price disclosure (息费披露): the annualized rate (综合年化利率, IRR method) next to the nominal rate.

The annualized rate is the monthly internal rate of return of the borrower's actual cash flows —
the principal received net of the upfront fee, then every instalment with interest and fees —
times 12, as the PBoC's 2021 announcement on disclosing annualized rates requires. It is computed
in Decimal (bisection safeguarded Newton) and rounded half-up to six decimal places. A product
or offer above the platform cap (default 24%) is refused with `rate_above_cap`, and so is a product
whose penalty rate (罚息, charged a day on overdue principal) is above the same cap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from puhui.errors import InvalidInput
from puhui.lending.errors import ProductInvalid, RateAboveCap
from puhui.lending.products import Product, check_application
from puhui.lending.schedule import Instalment, build_schedule, fen, months_between

__all__ = [
    "Disclosure",
    "RateAboveCap",
    "annualized_rate",
    "cash_flows",
    "check_cap",
    "check_penalty_cap",
    "disclose",
    "irr",
]

DEFAULT_CAP = Decimal("0.24")
RATE_QUANTUM = Decimal("0.000001")
_TOLERANCE = Decimal("1e-20")


@dataclass(frozen=True)
class Disclosure:
    """What an offer and a contract show: nominal (名义利率) and annualized (年化利率) rates,
    total interest (总利息) and total fees (总费用: upfront plus per-instalment), and the schedule."""

    nominal_rate: Decimal
    annualized_rate: Decimal
    total_interest: int
    total_fees: int
    schedule: tuple[Instalment, ...]
    upfront_fee: int = 0
    amount: int = 0

    @property
    def total_repayment(self) -> int:
        return sum(i.total for i in self.schedule)


def npv(rate: Decimal, flows: Sequence[int]) -> Decimal:
    factor, total = 1 / (1 + rate), Decimal(0)
    for flow in reversed(flows):  # Horner: sum of flow_k / (1 + rate)^k
        total = total * factor + flow
    return total


def _npv_slope(rate: Decimal, flows: Sequence[int]) -> Decimal:
    return sum((-k * flow / (1 + rate) ** (k + 1) for k, flow in enumerate(flows)), Decimal(0))


def irr(flows: Sequence[int]) -> Decimal:
    """The periodic internal rate of return of conventional flows (first negative, the rest >= 0)."""
    if not flows or flows[0] >= 0 or any(f < 0 for f in flows[1:]) or not any(flows[1:]):
        raise InvalidInput("cash flows must start with the negative amount received, then repayments")
    with localcontext() as context:
        context.prec = 40
        low, high = Decimal("-0.99"), Decimal(1)
        while npv(high, flows) > 0:  # NPV falls as the rate rises: widen until it brackets
            low, high = high, high * 2
        rate = Decimal("0.01")
        for _ in range(200):
            value = npv(rate, flows)
            if abs(value) < _TOLERANCE:
                break
            low, high = (rate, high) if value > 0 else (low, rate)
            slope = _npv_slope(rate, flows)
            step = rate - value / slope if slope else None
            rate = step if step is not None and low < step < high else (low + high) / 2
            if high - low < _TOLERANCE:
                break
    return +rate


def annualized_rate(cash_flows: Sequence[int]) -> Decimal:
    """Monthly flows in fen, the first negative: IRR × 12, half-up to six decimal places."""
    return (irr(cash_flows) * 12).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)


def cash_flows(amount: int, upfront_fee: int, schedule: Sequence[Instalment], start: dt.date) -> list[int]:
    """The borrower's monthly flows: −(amount − upfront fee) at month 0, each instalment at its month."""
    months = max(months_between(start, i.due_date) for i in schedule)
    flows = [0] * (months + 1)
    flows[0] = -(amount - upfront_fee)
    for instalment in schedule:
        flows[months_between(start, instalment.due_date)] += instalment.total
    return flows


def disclose(product: Product, amount: int, term: int, start: dt.date) -> Disclosure:
    """The disclosure of `amount` fen over `term` months of `product` starting on `start`."""
    check_application(product, amount, term)
    upfront = fen(amount * product.upfront_fee_rate)
    if upfront >= amount:
        raise ProductInvalid("the upfront fee must be less than the amount lent", field="upfront_fee_rate")
    schedule = build_schedule(
        amount,
        product.annual_rate,
        term,
        product.method,
        start,
        instalment_fee=fen(amount * product.instalment_fee_rate),
        interest_free_months=min(product.interest_free_months, term),
    )
    flows = cash_flows(amount, upfront, schedule, start)
    rate = annualized_rate(flows)
    return Disclosure(
        nominal_rate=product.annual_rate,
        annualized_rate=rate,
        total_interest=sum(i.interest for i in schedule),
        total_fees=upfront + sum(i.fee for i in schedule),
        schedule=schedule,
        upfront_fee=upfront,
        amount=amount,
    )


def check_cap(disclosure: Disclosure, cap: Decimal = DEFAULT_CAP) -> None:
    """RateAboveCap (422, `rate_above_cap`) when the annualized rate is above `cap`."""
    if disclosure.annualized_rate > cap:
        raise RateAboveCap(
            f"annualized rate {disclosure.annualized_rate:%} is above the cap of {cap:%}",
            annualized_rate=str(disclosure.annualized_rate),
            cap=str(cap),
        )


def check_penalty_cap(penalty_annual_rate: Decimal, cap: Decimal = DEFAULT_CAP) -> None:
    """RateAboveCap (422, `rate_above_cap`) when a product's penalty rate (罚息, a year) is above `cap`: the
    borrower in arrears is held to the same annualized cap as the contract rate."""
    if penalty_annual_rate > cap:
        raise RateAboveCap(
            f"penalty rate {penalty_annual_rate:%} is above the cap of {cap:%}",
            penalty_annual_rate=str(penalty_annual_rate),
            cap=str(cap),
            field="penalty_annual_rate",
        )
