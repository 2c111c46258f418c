"""Buy now, pay later at checkout (先享后付): a customer pays a merchant's QR code from their credit
line in one call and one unit of work.

The plan (interest-free until the statement's repayment day, or 3/6/12 instalments with a fee per
instalment) is disclosed by IRR and refused above the cap; a loan for the QR amount is drawn on
the customer's line and disbursed to their wallet (the platform's cash backs it through
`reserve.fund_reserve`); the QR payment is then made from the wallet with `payments.service.pay_qr`.
The merchant is paid in full at once (less its fee), the wallet ends where it started, and the
customer owes the line. Any refusal — no line, frozen, no room, QR limits, unknown plan, a payment
that would be held for review — raises, and the unit of work rolls everything back.
"""

from __future__ import annotations

import json

from puhui.db import UnitOfWork
from puhui.errors import InvalidInput
from puhui.lending import service
from puhui.lending.errors import CheckoutHeld, CheckoutReplayMismatch
from puhui.lending.lines import refunds  # noqa: F401 - a checkout's refund goes back to its loan
from puhui.lending.lines import service as lines
from puhui.lending.lines.tables import credit_line_draws
from puhui.money import format_minor
from puhui.payments import risk_hook
from puhui.payments import service as payments
from puhui.payments.models import VerificationStrength
from puhui.payments.risk_hook import PaymentContext
from puhui.payments.service import NO_CONTEXT


def checkout(
    uow: UnitOfWork,
    customer_id: str,
    qr_id: str,
    plan: str,
    periods: int | None,
    strength: VerificationStrength,
    client_id: str,
    default_fee_bp: int,
    amount: int | None = None,
    context: PaymentContext = NO_CONTEXT,
) -> tuple[dict, bool]:
    """Draw on the line and pay the QR code with the money; (result, created). A replay of the same
    client id returns the first result."""
    key = f"{customer_id}:{client_id}"
    found = lines.draw_by_key(uow.connection, key)
    if found is not None:
        return replay(uow, found), False
    qr = payments.get_qr(uow.connection, qr_id)
    if qr["kind"] == "dynamic":
        if amount is not None and amount != qr["amount"]:
            raise InvalidInput(
                f"QR code {qr_id} is for {format_minor(qr['amount'], 2)}, not {format_minor(amount, 2)}: the amount "
                "of a dynamic QR code is fixed; leave `amount` out",
                field="amount",
            )
        amount = qr["amount"]
    elif amount is None or amount <= 0:
        raise InvalidInput(f"QR code {qr_id} is static: give the `amount` to pay, above zero", field="amount")
    line_id = lines.line_of(uow.connection, customer_id)
    drawn = lines.draw(uow, line_id, customer_id, amount, plan, periods, request_key=key)
    row, created = payments.pay_qr(uow, customer_id, qr_id, amount, strength, client_id, default_fee_bp, context)
    if payments.is_review(row):
        raise held(row)
    if not created:
        raise CheckoutReplayMismatch(
            f"client payment id {client_id!r} was already used by payment {row['id']}, paid without a pay-later draw: "
            "give a new client_payment_id (or Idempotency-Key) to pay later"
        )
    uow.execute(
        credit_line_draws.update()
        .where(credit_line_draws.c.loan_id == drawn["loan"]["id"])
        .values(payment_id=row["id"])
    )
    return {"line_id": line_id, "payment": payments.payment_view(row), **drawn}, True


def held(row: dict) -> CheckoutHeld:
    """The refusal of a checkout whose payment risk control would hold (人工审核) or confirm first (核身): pay
    later is not offered for it, nothing is charged and no credit is drawn (the unit of work rolls back).
    The problem names how it would be held (`held_for`: `review` or `challenge`) and the reasons the payer
    may be told, as a declined payment does (`risk_hook.PAYER_VISIBLE_REASONS`): which fraud rule fired stays
    with risk control, or a fraudster would learn how to pass."""
    challenge = "method" in row
    told = [r for r in json.loads(row["reasons"]) if r in risk_hook.PAYER_VISIBLE_REASONS]
    then = (
        "confirm it there when asked (核身) and it goes through at once"
        if challenge
        else "the money is then held while a risk officer reviews it (人工审核), and paid or returned"
    )
    return CheckoutHeld(
        "risk control would not let this payment through at once, so it cannot be paid later: nothing was charged "
        f"and no credit was drawn. Pay it from the wallet instead: {then}.",
        held_for="challenge" if challenge else "review",
        reasons=told,
        next_step="pay_from_wallet",
    )


def replay(uow: UnitOfWork, found: dict) -> dict:
    loan_id = found["loan_id"]
    payment = payments.get_payment(uow.connection, found["payment_id"]) if found["payment_id"] else None
    schedule = service.schedule_of(uow.connection, loan_id)
    return {
        "line_id": found["line_id"],
        "payment": payments.payment_view(payment) if payment else None,
        "loan": service.get_loan(uow.connection, loan_id),
        "plan": {"annualized_rate": found["annualized_rate"], "schedule": schedule},
    }
