"""Buy now, pay later at checkout (先享后付, 花呗/白条-style), as pure plans.

Purchases of a calendar month are billed on the statement day (账单日, the 1st of the next month)
and due on the repayment day (还款日, the 10th): paid in full by then they cost nothing (免息期).
Or the customer splits the purchase into 3, 6 or 12 monthly instalments (分期) with a fee per
instalment: the plan's total fee rate is the product's, spread evenly, the residue of the fen in
the last instalment. The first instalment is due on the purchase's repayment day.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, Decimal

from puhui.errors import InvalidInput
from puhui.lending.disclosure import annualized_rate, cash_flows
from puhui.lending.errors import UnknownPlan
from puhui.lending.schedule import Instalment, add_months

STATEMENT_DAY = 1
DUE_DAY = 10
# Total fee over the plan, as published by the large consumer-credit platforms for 3/6/12 periods.
INSTALMENT_FEE_RATES = {3: Decimal("0.023"), 6: Decimal("0.045"), 12: Decimal("0.075")}


def due_date(purchase: dt.date) -> dt.date:
    """The repayment day of the statement that bills this purchase."""
    return add_months(purchase.replace(day=1), 1, DUE_DAY)


def pay_later(amount: int, purchase: dt.date) -> tuple[Instalment, ...]:
    """Interest-free until the repayment day: one instalment of the whole amount."""
    _check(amount)
    return (Instalment(1, due_date(purchase), amount, 0, 0),)


def instalments(
    amount: int, periods: int, purchase: dt.date, fee_rates: dict[int, Decimal] = INSTALMENT_FEE_RATES
) -> tuple[Instalment, ...]:
    """`periods` monthly instalments: principal split evenly, a fee each period, residues last."""
    _check(amount)
    if periods not in fee_rates:
        raise UnknownPlan(f"choose {', '.join(map(str, sorted(fee_rates)))} periods")
    # rounded down: on a few fen a rounded-up fen of fee was a 26.5% annualized rate, over the 24% cap
    total_fee = int((Decimal(amount) * fee_rates[periods]).quantize(Decimal(1), rounding=ROUND_DOWN))
    principal, fee = amount // periods, total_fee // periods
    first = due_date(purchase)
    plan = []
    for n in range(1, periods + 1):
        last = n == periods
        plan.append(
            Instalment(
                n,
                add_months(first, n - 1, DUE_DAY),
                amount - principal * (periods - 1) if last else principal,
                0,
                total_fee - fee * (periods - 1) if last else fee,
            )
        )
    return tuple(plan)


def plan_rate(amount: int, plan: tuple[Instalment, ...], purchase: dt.date) -> Decimal:
    """The annualized rate of a plan by the IRR method (monthly flows × 12, each instalment in the
    month it is due), for disclosure."""
    return annualized_rate(cash_flows(amount, 0, plan, purchase))


def _check(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidInput("the amount must be a positive number of fen")
