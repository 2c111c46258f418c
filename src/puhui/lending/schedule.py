"""Repayment schedules (还款计划) in integer fen.

Monthly interest is the balance times annual_rate / 12, half-up to the fen. Equal instalments
(等额本息) use the annuity formula, rounded half-up to the fen, with each period's interest on the
scheduled balance of the annuity (the bank formula; it stays within a fen of the interest on the
booked balance, and agrees with numpy_financial.ipmt); equal principal (等额本金) splits the
principal rounded down. Either way the rounding residue goes to the last instalment, so the
principal always sums to the loan exactly. Interest-first (先息后本) pays interest monthly and the
principal at the end; a bullet loan (到期一次还本付息) pays simple interest and principal in one
instalment at maturity. Interest-free months (免息期) charge no interest; an equal-instalment
schedule stays level across them. Due dates are the start plus k months, the day clamped to the
month's end (a loan of 31 January is due 28/29 February, then 31 March).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from puhui.lending.errors import ProductInvalid
from puhui.lending.products import MAX_TERM, RepaymentMethod

DAY_COUNT = 360  # daily accrual (日计息) = balance * annual_rate / 360
MONTHS = 12


@dataclass(frozen=True)
class Instalment:
    """One period (期) of a schedule: principal (本金), interest (利息) and fee (手续费) in fen."""

    number: int
    due_date: dt.date
    principal: int
    interest: int
    fee: int

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.fee


def fen(amount: Decimal) -> int:
    """Half-up to the fen (amounts already in fen)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def add_months(start: dt.date, months: int, day: int | None = None) -> dt.date:
    """`start` plus `months`, on `day` (default start's day) clamped to the month's last day."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day or start.day, last))


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole calendar months from `start` to `end` (the month index of a due date)."""
    return (end.year - start.year) * 12 + end.month - start.month


def monthly_rate(annual_rate: Decimal) -> Decimal:
    return Decimal(annual_rate) / MONTHS


def month_interest(balance: Decimal | int, annual_rate: Decimal) -> int:
    """balance × annual_rate / 12, half-up to the fen (multiplied first: exact for a fen balance)."""
    return fen(balance * annual_rate / MONTHS)


def accrued_interest(balance: int, annual_rate: Decimal, days: int) -> int:
    """Daily accrual (日计息) over `days`: balance × annual_rate × days / 360, half-up to the fen."""
    return fen(balance * Decimal(annual_rate) * days / DAY_COUNT)


def annuity(principal: int, rate: Decimal, term: int, free: int = 0) -> int:
    """The level instalment (月供) in fen at monthly `rate`, the first `free` periods interest-free."""
    return fen(_exact_payment(principal, rate, term, free))


def check_inputs(principal: int, annual_rate: Decimal, term: int, method: object, free: int, fee: int) -> None:
    if isinstance(principal, bool) or not isinstance(principal, int) or principal <= 0:
        raise ProductInvalid("principal must be a positive number of fen", field="principal")
    if isinstance(term, bool) or not isinstance(term, int) or not 1 <= term <= MAX_TERM:
        raise ProductInvalid(f"term must be from 1 to {MAX_TERM} months", field="term")
    if (
        not isinstance(annual_rate, (Decimal, int))
        or isinstance(annual_rate, bool)
        or not Decimal(annual_rate).is_finite()
        or annual_rate < 0
    ):
        raise ProductInvalid("annual_rate must be a non-negative Decimal", field="annual_rate")
    if not isinstance(method, RepaymentMethod):
        try:
            RepaymentMethod(str(method))
        except ValueError:
            raise ProductInvalid(f"unknown repayment method {method!r}", field="method") from None
    if not 0 <= free <= term:
        raise ProductInvalid("interest_free_months must be from 0 to the term", field="interest_free_months")
    if fee < 0:
        raise ProductInvalid("instalment_fee must not be negative", field="instalment_fee")


def build_schedule(
    principal: int,
    annual_rate: Decimal,
    term: int,
    method: RepaymentMethod,
    start: dt.date,
    *,
    instalment_fee: int = 0,
    interest_free_months: int = 0,
) -> tuple[Instalment, ...]:
    """The schedule of a loan of `principal` fen disbursed on `start`, over `term` months.

    `instalment_fee` (分期手续费) is charged on every instalment (the one instalment of a bullet loan).
    """
    check_inputs(principal, annual_rate, term, method, interest_free_months, instalment_fee)
    return _build(
        principal,
        Decimal(annual_rate),
        term,
        RepaymentMethod(method),
        start,
        1,
        instalment_fee,
        interest_free_months,
        start.day,
    )


def reamortize(
    outstanding: int,
    annual_rate: Decimal,
    remaining: int,
    method: RepaymentMethod,
    next_due: dt.date,
    number_from: int,
    *,
    instalment_fee: int = 0,
    interest_free_months: int = 0,
    anchor_day: int | None = None,
) -> tuple[Instalment, ...]:
    """The rest of a schedule after a partial early repayment (提前部分还款): same number of periods
    (`remaining`, the first due on `next_due`), lower instalments.

    The first period's interest is on `outstanding` for the whole period: interest accrued on the
    old balance before the prepayment is settled by the caller. `anchor_day` keeps the original
    due day (e.g. 31) when `next_due` was clamped to a shorter month.
    """
    check_inputs(outstanding, annual_rate, remaining, method, interest_free_months, instalment_fee)
    if number_from < 1:
        raise ProductInvalid("number_from must be at least 1", field="number_from")
    day = anchor_day or next_due.day
    start = add_months(next_due, -1, day)
    return _build(
        outstanding,
        Decimal(annual_rate),
        remaining,
        RepaymentMethod(method),
        start,
        number_from,
        instalment_fee,
        interest_free_months,
        day,
    )


def _build(
    principal: int,
    annual_rate: Decimal,
    term: int,
    method: RepaymentMethod,
    start: dt.date,
    number_from: int,
    fee: int,
    free: int,
    day: int,
) -> tuple[Instalment, ...]:
    dues = [add_months(start, k, day) for k in range(1, term + 1)]
    if method is RepaymentMethod.bullet:
        interest = fen(principal * annual_rate * (term - free) / MONTHS)
        return (Instalment(number_from, dues[-1], principal, interest, fee),)
    if method is RepaymentMethod.equal_instalments:
        parts = _level_parts(principal, annual_rate, term, free)
    else:
        parts = _balance_parts(principal, annual_rate, term, free, method)
    rows = tuple(
        Instalment(number_from + k, due, part, interest, fee)
        for k, (due, (part, interest)) in enumerate(zip(dues, parts))
    )
    assert sum(i.principal for i in rows) == principal
    return rows


def _level_parts(principal: int, annual_rate: Decimal, term: int, free: int) -> list[tuple[int, int]]:
    """Equal instalments (等额本息) by the bank formula: each period's interest is the scheduled
    balance times the rate (numpy_financial.ipmt, rounded), the principal is the level instalment
    less that interest, and the last instalment takes what is left, the rounding residue."""
    rate = monthly_rate(annual_rate)
    exact = _exact_payment(principal, rate, term, free)
    payment = fen(exact)
    parts, scheduled, balance = [], Decimal(principal), principal
    for k in range(term):
        period_rate = 0 if k < free else rate
        interest = 0 if k < free else month_interest(scheduled, annual_rate)
        part = balance if k == term - 1 else max(0, min(balance, payment - interest))
        parts.append((part, interest))
        balance -= part
        scheduled = scheduled * (1 + period_rate) - exact
    return parts


def _exact_payment(principal: int, rate: Decimal, term: int, free: int) -> Decimal:
    """The unrounded level instalment over `term` periods, the first `free` without interest
    (numpy_financial.pmt when free = 0)."""
    paying = term - free
    if rate == 0 or paying == 0:
        return Decimal(principal) / term
    return Decimal(principal) / (free + (1 - (1 + rate) ** -paying) / rate)


def _balance_parts(
    principal: int, annual_rate: Decimal, term: int, free: int, method: RepaymentMethod
) -> list[tuple[int, int]]:
    """Equal principal (等额本金, rounded down, residue last) or interest-first (先息后本): the
    interest is on the outstanding balance."""
    share = int((Decimal(principal) / term).to_integral_value(rounding=ROUND_DOWN))
    if method is RepaymentMethod.interest_first:
        share = 0
    parts, balance = [], principal
    for k in range(term):
        interest = 0 if k < free else month_interest(balance, annual_rate)
        part = balance if k == term - 1 else share
        parts.append((part, interest))
        balance -= part
    return parts
