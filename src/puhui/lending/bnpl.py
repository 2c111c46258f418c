"""Buy now, pay later at checkout (先享后付, 花呗/白条-style), as pure plans.

Purchases of a calendar month are billed on the statement day (账单日, the 1st of the next month)
and due on the repayment day (还款日, the 10th): paid in full by then they cost nothing (免息期).
Or the customer splits the purchase into monthly instalments (分期) with a fee each period. The
plans and their fees are the credit line's products' (`catalog.LINE_PRODUCTS`, `instalment_plans`:
the periods and the fee rate of each period), never written down here: the plan's total fee is the
amount times the fee rate times the periods, rounded down to the fen, spread evenly, the residue of
the fen in the last instalment. The first instalment is due on the purchase's repayment day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

from puhui.errors import InvalidInput
from puhui.lending.disclosure import annualized_rate, cash_flows
from puhui.lending.errors import UnknownPlan
from puhui.lending.products import InstalmentPlan
from puhui.lending.schedule import Instalment, add_months

STATEMENT_DAY = 1
DUE_DAY = 10
LISTING_DATE = dt.date(2000, 1, 15)
"""Any purchase date: a plan's flows are monthly (each instalment in the month it is due), so its rate is
the same whichever day it is bought."""

__all__ = [
    "Instalment",
    "InstalmentPlan",
    "UnknownPlan",
    "due_date",
    "instalments",
    "listed_rate",
    "pay_later",
    "plan_rate",
]


def due_date(purchase: dt.date) -> dt.date:
    """The repayment day of the statement that bills this purchase."""
    return add_months(purchase.replace(day=1), 1, DUE_DAY)


def pay_later(amount: int, purchase: dt.date) -> tuple[Instalment, ...]:
    """Interest-free until the repayment day: one instalment of the whole amount (the plan of one period
    without a fee)."""
    return instalments(amount, InstalmentPlan(1, Decimal(0)), purchase)


def instalments(amount: int, plan: InstalmentPlan, purchase: dt.date) -> tuple[Instalment, ...]:
    """`plan.periods` monthly instalments: principal split evenly, the plan's fee spread evenly, residues last."""
    _check(amount)
    periods = plan.periods
    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
        raise UnknownPlan(f"a plan has at least one period, not {periods!r}", field="periods")
    # rounded down: on a few fen a rounded-up fen of fee was a 26.5% annualized rate, over the 24% cap
    total_fee = int((Decimal(amount) * plan.fee_rate * periods).quantize(Decimal(1), rounding=ROUND_DOWN))
    principal, fee = amount // periods, total_fee // periods
    first = due_date(purchase)
    schedule = []
    for n in range(1, periods + 1):
        last = n == periods
        schedule.append(
            Instalment(
                n,
                add_months(first, n - 1, DUE_DAY),
                amount - principal * (periods - 1) if last else principal,
                0,
                total_fee - fee * (periods - 1) if last else fee,
            )
        )
    return tuple(schedule)


def plan_rate(amount: int, schedule: Sequence[Instalment], purchase: dt.date) -> Decimal:
    """The annualized rate of a plan by the IRR method (monthly flows × 12, each instalment in the
    month it is due), for disclosure; 0 (not -0) for a plan without a fee."""
    rate = annualized_rate(cash_flows(amount, 0, schedule, purchase))
    return rate.copy_abs() if rate.is_zero() else rate


def listed_rate(plan: InstalmentPlan) -> Decimal:
    """The annualized rate a product's listing states for a plan (年化利率): the rate `GET /v1/lending/plans`
    quotes, computed the same way (`instalments`, `plan_rate`), on an amount the periods and the fee rate
    divide into whole fen (`periods` × 10,000.00, any such amount gives the same rate). On any other amount
    the quote is at most this: the fen rounding (the fee rounded down, residues in the last instalment) only
    ever lowers it."""
    amount = plan.periods * 1_000_000  # fen: a whole fen of principal and of fee (six places) each period
    return plan_rate(amount, instalments(amount, plan, LISTING_DATE), LISTING_DATE)


def _check(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidInput("the amount must be a positive number of fen")
