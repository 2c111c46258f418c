"""The customer's bills (账单) as the console shows them: the wallet statement's transfer codes named in
the customer's words, and the filter form's dates read leniently (a date the browser could not give is
left out). The lines themselves come from the API (`GET /v1/wallets/me/transactions`)."""

from __future__ import annotations

import datetime as dt

KINDS = {
    "top_up": "Top-up",
    "withdrawal": "Withdrawal",
    "qr_payment": "Payment to a merchant",
    "qr_refund": "Refund",
    "p2p_transfer": "Transfer",
    "mmf_subscribe": "Money-market fund subscription",
    "mmf_redeem_cash": "Money-market fund redemption",
    "payment_review_hold": "Payment held for review",
    "loan_disbursement": "Loan disbursed",
    "principal_repayment": "Loan repayment: principal",
    "interest_repayment": "Loan repayment: interest",
    "fee_repayment": "Loan repayment: fees",
    "penalty_repayment": "Loan repayment: penalty",
    "early_repayment_fee": "Early repayment fee",
    "fund_purchase": "Fund purchase",
    "fund_redeem_cash": "Fund sale",
    "premium": "Insurance premium",
    "claim": "Insurance claim paid",
    "refund": "Premium refunded",
    "securities_transfer_in": "To the securities account",
    "securities_transfer_out": "From the securities account",
}
"""Transfer codes a customer sees, named in the customer's words (other codes show as they are). Each name
is its own: the money-market fund (货币基金, `mmf_…`) and the distributed funds (`fund_…`) are told apart,
so the bills' filter never lists one name twice."""

HELD = {
    "pending": "Payment under risk review",
    "posted": "Payment (approved after review)",
    "voided": "Payment not approved: money returned",
    "expired": "Payment review expired: money returned",
}
"""A `payment_review_hold` line by its status: the statement keeps the hold's kind once it is decided
(`payments.reviews`), so the line says what became of the payment — held, made, rejected or lapsed."""


def parse_day(value: str | None) -> str | None:
    """The form's date as the API takes it, or None when it is not one."""
    try:
        return dt.date.fromisoformat(value).isoformat() if value else None
    except ValueError:
        return None


def filter_params(direction: str, kind: str, start: str, end: str, before: int | None = None) -> dict[str, object]:
    """The statement's query for the form's choices (empty ones left out)."""
    chosen = {"direction": direction, "kind": kind, "from": parse_day(start), "to": parse_day(end), "before": before}
    return {name: value for name, value in chosen.items() if value}
