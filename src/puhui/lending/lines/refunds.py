"""A refund of a purchase paid on credit goes back to its loan (退款退回花呗).

A pay-later checkout disburses a loan into the customer's wallet and pays the merchant from it
(`lines.checkout`). When the merchant refunds that payment, the money comes back to the wallet; the
loan would stay owed, its fees and penalties running, although the goods went back. So, in the refund's
own unit of work, the refunded amount repays the loan under its own terms: all of it when it covers the
payoff (what is due, the principal ahead and no instalment fee not yet due), else what is due first and
the rest as principal ahead of schedule. What the loan no longer needs stays in the wallet; a loan
already paid off or written off takes nothing."""

from __future__ import annotations

from sqlalchemy import select

from puhui.db import UnitOfWork
from puhui.lending import repayments
from puhui.lending.lines.tables import credit_line_draws
from puhui.lending.service import loan_row
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
        repayments.repay(uow, loan_id, customer, refunded, kind="early_partial")
    else:
        repayments.repay(uow, loan_id, customer, refunded, kind="scheduled")


def follow_refunds() -> None:
    """Register `refund_to_loan` with payments (once)."""
    if refund_to_loan not in payments.REFUND_FOLLOWERS:
        payments.REFUND_FOLLOWERS.append(refund_to_loan)


follow_refunds()  # wherever lending's credit lines are loaded (the app, the CLI), their refunds follow
