"""Payments held for manual review (人工审核).

When risk control answers `review`, the payment is not made and not refused: the money is held by
a pending (two-phase) ledger transfer from the payer's wallet to the payee, the limits are counted
as for a payment, and a review row waits for a risk officer. Approving posts the hold and writes
the payment (with its fee and notification); rejecting voids it and gives the limits back. A hold
nobody decides expires with its timeout (the ledger's sweeper voids it) and the review with it.
The review id is the payment id, so a replayed request finds the review, and later the payment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.errors import Conflict
from puhui.events.outbox import publish
from puhui.identity.service import customer_wallet_id, merchant_wallet_id
from puhui.ledger.models import Transfer, TransferFlags, TransferResult
from puhui.ledger.service import create_transfers, post_chain
from puhui.money import format_minor
from puhui.payments import limits
from puhui.payments.errors import ReviewNotFound, ReviewNotPending
from puhui.payments.risk_hook import PaymentContext
from puhui.payments.tables import payment_reviews, qr_codes

HOLD_TIMEOUT_SECONDS = 72 * 3600
TOPIC = "payments"

UNDER_REVIEW = "under_review"
"""What the API calls a review still waiting for an officer, in every answer (a held payment's, a review's,
the queue's) and as the queue's filter. Its row keeps `pending` (`STORED`)."""
STATUSES = (UNDER_REVIEW, "approved", "rejected", "expired")
"""A review's statuses as the API speaks them."""
ALIASES = {"pending": UNDER_REVIEW}
"""Older words the queue's filter still accepts for a status (`pending` was the filter's word once)."""
STORED = {UNDER_REVIEW: "pending"}
"""A status as its row keeps it, where that differs from the API's word."""


def api_status(status: str) -> str:
    """A status, as stored or as an older alias, in the API's words (`pending` → `under_review`)."""
    return ALIASES.get(status, status)


def stored_status(status: str) -> str:
    """A status in the API's words (or an alias) as its row keeps it (`under_review` → `pending`)."""
    wanted = api_status(status)
    return STORED.get(wanted, wanted)


@dataclass(frozen=True)
class HeldPayment:
    """What a held payment needs to become a payment later."""

    review_id: str
    kind: str  # p2p | qr_static | qr_dynamic
    payer_id: str
    payee_id: str
    payee_account: str
    amount: int
    fee_rate_bp: int
    qr_code_id: str | None
    limit_marks: str | None
    context: PaymentContext
    reasons: tuple[str, ...]


def held_columns(held: HeldPayment, hold_id: str) -> dict:
    """What a parked payment's row keeps of it (a review's or a challenge's): who, how much, its hold."""
    return {
        "id": held.review_id,
        "kind": held.kind,
        "payer_id": held.payer_id,
        "payee_id": held.payee_id,
        "qr_code_id": held.qr_code_id,
        "amount": held.amount,
        "fee_rate_bp": held.fee_rate_bp,
        "hold_transfer_id": hold_id,
        "limit_marks": held.limit_marks,
        "device_id": held.context.device_id,
        "location": held.context.location,
        "reasons": json.dumps(list(held.reasons)),
    }


def hold(uow: UnitOfWork, held: HeldPayment) -> dict:
    """Hold the money (pending transfer) and open the review, in the payment's unit of work."""

    hold_id = held.review_id + ".hold"
    post_chain(
        uow,
        [
            Transfer(
                hold_id,
                customer_wallet_id(held.payer_id),
                held.payee_account,
                held.amount,
                "CNY",
                "payment_review_hold",
                TransferFlags.pending,
                timeout_seconds=HOLD_TIMEOUT_SECONDS,
            )
        ],
        what=f"the wallet cannot cover {format_minor(held.amount, 2)}",
    )
    row = {
        **held_columns(held, hold_id),
        "status": "pending",
        "decided_by": None,
        "note": None,
        "payment_id": None,
        "created_at": clock.now_micros(),
        "decided_at": None,
    }
    uow.execute(payment_reviews.insert().values(**row))
    publish(uow, TOPIC, "payment.review_opened", held.payer_id, review_json(row))
    return row


def review_json(row) -> dict:
    expires = row["created_at"] + HOLD_TIMEOUT_SECONDS * 1_000_000
    return {
        "review_id": row["id"],
        "status": api_status(row["status"]),
        "kind": row["kind"],
        "payer_id": row["payer_id"],
        "payee_id": row["payee_id"],
        "amount": format_minor(row["amount"], 2),
        "currency": "CNY",
        "reasons": json.loads(row["reasons"]),
        "payment_id": row["payment_id"],
        "decided_by": row["decided_by"],
        "note": row["note"],
        "created_at": clock.from_micros(row["created_at"]).isoformat(),
        "hold_expires_at": clock.from_micros(expires).isoformat(),
    }


def review_for_payer(row) -> dict:
    """A held payment as its payer sees it: without the rules that held it (those are risk control's)."""
    return {k: v for k, v in review_json(row).items() if k != "reasons"}


def queue(connection: Connection, status: str, limit: int) -> list[dict]:
    """The reviews in `status` (the API's word, `under_review`, or its alias `pending`), oldest first (the
    officers' queue is first in, first out)."""
    rows = connection.execute(
        select(payment_reviews)
        .where(payment_reviews.c.status == stored_status(status))
        .order_by(payment_reviews.c.created_at, payment_reviews.c.id)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def find(connection: Connection, review_id: str) -> dict | None:
    row = connection.execute(select(payment_reviews).where(payment_reviews.c.id == review_id)).mappings().first()
    return dict(row) if row else None


def pending(connection: Connection, limit: int = 100) -> list[dict]:
    """The review queue, oldest first."""
    rows = connection.execute(
        select(payment_reviews)
        .where(payment_reviews.c.status == "pending")
        .order_by(payment_reviews.c.created_at, payment_reviews.c.id)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]


def _lock(uow: UnitOfWork, review_id: str) -> dict:
    query = select(payment_reviews).where(payment_reviews.c.id == review_id)
    row = uow.execute(query.with_for_update() if uow.postgres else query).mappings().first()
    if row is None:
        raise ReviewNotFound(f"payment review {review_id} not found")
    return dict(row)


def post_hold(uow: UnitOfWork, review_id: str) -> tuple[dict, bool]:
    """The first half of an approval: lock the review and post its hold. (the review, True) when the
    money moved and the payment is to be written (`payments.service.approve_review`); (the review as
    it stands, False) when it was already decided or the hold ran out first (that is recorded)."""
    row = _lock(uow, review_id)
    if not _open(row, "approved") or _expired(uow, row):
        return find(uow.connection, review_id) or row, False
    [result] = create_transfers(
        uow, [Transfer(review_id + ".post", flags=TransferFlags.post_pending, pending_id=row["hold_transfer_id"])]
    )
    if result == TransferResult.pending_transfer_expired:
        _release(uow, row)
        return _close(uow, row, "expired", None, None), False
    if result not in (TransferResult.ok, TransferResult.exists):
        raise Conflict(f"posting the hold failed: {result.value}")
    return row, True


def close_approved(uow: UnitOfWork, row: dict, officer: str, note: str, payment_id: str) -> dict:
    return _close(uow, row, "approved", officer, note, payment_id=payment_id)


def reject(uow: UnitOfWork, review_id: str, officer: str, note: str) -> dict:
    """Void the hold: the money stays with the payer, the limits come back, a QR code reopens."""
    row = _lock(uow, review_id)
    if not _open(row, "rejected") or _expired(uow, row):
        return find(uow.connection, review_id) or row
    [result] = create_transfers(
        uow, [Transfer(review_id + ".void", flags=TransferFlags.void_pending, pending_id=row["hold_transfer_id"])]
    )
    if result not in (TransferResult.ok, TransferResult.exists, TransferResult.pending_transfer_expired):
        raise Conflict(f"voiding the hold failed: {result.value}")
    _release(uow, row)
    return _close(uow, row, "rejected", officer, note)


def expire_due(uow: UnitOfWork, limit: int = 500) -> int:
    """Close the reviews whose hold has run out (the ledger voids the holds themselves)."""
    cutoff = clock.now_micros() - HOLD_TIMEOUT_SECONDS * 1_000_000
    rows = uow.execute(
        select(payment_reviews)
        .where(payment_reviews.c.status == "pending", payment_reviews.c.created_at <= cutoff)
        .limit(limit)
    ).mappings()
    due = [dict(r) for r in rows]
    for row in due:
        _expired(uow, row)
    return len(due)


def _open(row: dict, decision: str) -> bool:
    """True if the review still waits; the same decision again is a replay, another one a conflict."""
    if row["status"] == "pending":
        return True
    if row["status"] == decision or row["status"] == "expired":
        return False
    raise ReviewNotPending(f"review {row['id']} is already {row['status']}")


def _expired(uow: UnitOfWork, row: dict) -> bool:
    if row["status"] != "pending" or clock.now_micros() < row["created_at"] + HOLD_TIMEOUT_SECONDS * 1_000_000:
        return False
    create_transfers(
        uow, [Transfer(row["id"] + ".void", flags=TransferFlags.void_pending, pending_id=row["hold_transfer_id"])]
    )  # or the sweeper already expired it
    _release(uow, row)
    _close(uow, row, "expired", None, None)
    return True


def _release(uow: UnitOfWork, row: dict) -> None:
    limits.give_back(uow, row["payer_id"], row["limit_marks"], row["amount"])
    if row["qr_code_id"] is not None and row["kind"] == "qr_dynamic":
        uow.execute(
            qr_codes.update().where(qr_codes.c.id == row["qr_code_id"]).values(status="active", payment_id=None)
        )


def _close(
    uow: UnitOfWork, row: dict, status: str, officer: str | None, note: str | None, payment_id: str | None = None
) -> dict:
    values = {
        "status": status,
        "decided_by": officer,
        "note": note,
        "decided_at": clock.now_micros(),
        "payment_id": payment_id,
    }
    uow.execute(payment_reviews.update().where(payment_reviews.c.id == row["id"]).values(**values))
    closed = {**row, **values}
    publish(uow, TOPIC, f"payment.review_{status}", row["payer_id"], review_json(closed))
    return closed


def payee_account(kind: str, payee_id: str) -> str:
    return customer_wallet_id(payee_id) if kind == "p2p" else merchant_wallet_id(payee_id)
