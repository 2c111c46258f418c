"""A refund of a purchase paid on credit goes back to its loan (退款退回花呗).

A pay-later checkout disburses a loan into the customer's wallet and pays the merchant from it
(`lines.checkout`). When the merchant refunds that payment, the money comes back to the wallet; the
loan would stay owed, its fees and penalties running, although the goods went back. So, in the refund's
own unit of work, the refunded amount repays the loan under its own terms: all of it when it covers the
payoff (what is due, the principal ahead and no instalment fee not yet due), else what is due first and
the rest as principal ahead of schedule. What the loan no longer needs stays in the wallet; a loan
already paid off or written off takes nothing.

The instalment fee (分期手续费) follows the principal, as on the large platforms' instalment plans: when
a refund prepays principal, the fees of the instalments not yet due fall in proportion to the principal
left ahead (their total rounded down to the fen, as the plan's fee is, spread evenly with the residue
in the last one). Fees of instalments already due were charged and stay. Those fees are not yet in the
ledger (an instalment fee is recognized when it falls due), so only the schedule changes."""

from __future__ import annotations

from sqlalchemy import select

from puhui.db import UnitOfWork
from puhui.lending import repayments
from puhui.lending.lines.tables import credit_line_draws
from puhui.lending.service import instalments, loan_row, today
from puhui.lending.tables import loan_instalments
from puhui.payments import service as payments


def refund_to_loan(uow: UnitOfWork, payment: dict, refunded: int) -> None:
    """`payments.REFUND_FOLLOWERS`' entry: repay the loan that paid for `payment`, up to `refunded` fen."""
    drawn = uow.execute(select(credit_line_draws.c.loan_id).where(credit_line_draws.c.payment_id == payment["id"]))
    loan_id = drawn.scalar()
    if loan_id is None:
        return
    loan = loan_row(uow.connection, loan_id, lock=True)
    if loan["status"] != "active":
        return
    due, payoff = repayments.due_and_payoff(uow.connection, loan_id)
    customer = loan["customer_id"]
    if refunded >= payoff:
        repayments.repay(uow, loan_id, customer, payoff, kind="early_full")
    elif refunded > due:
        before = _ahead(uow, loan_id)
        repayments.repay(uow, loan_id, customer, refunded, kind="early_partial")
        _fees_follow_principal(uow, loan_id, before)
    else:
        repayments.repay(uow, loan_id, customer, refunded, kind="scheduled")


def _ahead(uow: UnitOfWork, loan_id: str) -> list[dict]:
    """The loan's instalments not yet due, in order."""
    return [r for r in instalments(uow.connection, loan_id) if r["due_day"] > today()]


def _fees_follow_principal(uow: UnitOfWork, loan_id: str, before: list[dict]) -> None:
    """Scale the fees of the instalments not yet due to the principal left ahead after a refund."""
    owed_before = sum(r["principal"] - r["principal_paid"] for r in before)
    fees_before = sum(r["fee"] - r["fee_recognized"] for r in before)
    after = _ahead(uow, loan_id)
    if not after or owed_before <= 0 or fees_before <= 0:
        return
    owed_after = sum(r["principal"] - r["principal_paid"] for r in after)
    total = fees_before * owed_after // owed_before  # rounded down, as the plan's fee is (`bnpl.instalments`)
    each = total // len(after)
    for n, r in enumerate(after):
        fee = r["fee_recognized"] + (total - each * (len(after) - 1) if n == len(after) - 1 else each)
        if fee != r["fee"]:
            uow.execute(
                loan_instalments.update()
                .where(loan_instalments.c.loan_id == loan_id, loan_instalments.c.number == r["number"])
                .values(fee=fee)
            )


def follow_refunds() -> None:
    """Register `refund_to_loan` with payments (once)."""
    if refund_to_loan not in payments.REFUND_FOLLOWERS:
        payments.REFUND_FOLLOWERS.append(refund_to_loan)


follow_refunds()  # wherever lending's credit lines are loaded (the app, the CLI), their refunds follow
