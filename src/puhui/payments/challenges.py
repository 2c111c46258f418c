"""Step-up challenges (核身): a payment risk control wants its payer to prove it is them.

Like a review hold the payment is parked: the money is held by a pending ledger transfer and the
limits are counted, nothing moves. Unlike a review it is the payer's to settle: they answer with the
factor asked for (`sms`: the six-digit code sent to their phone, stored only as a hash; `password`:
their log-in password, checked by identity) before it expires. Passing posts the hold and writes the
payment, once; `MAX_ATTEMPTS` wrong answers or the expiry void the hold, give the limits back and
decline the payment. The challenge id is the payment id.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Callable

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork, transaction
from puhui.errors import Conflict, InvalidInput, NotFound
from puhui.events.outbox import publish
from puhui.identity.service import customer_wallet_id
from puhui.ledger.models import Transfer, TransferFlags, TransferResult
from puhui.ledger.service import create_transfers, post_chain
from puhui.money import format_minor
from puhui.payments import limits
from puhui.payments.challenge_tables import payment_challenges
from puhui.payments.reviews import HeldPayment, held_columns
from puhui.payments.tables import qr_codes

CHALLENGE_SECONDS = 300
MAX_ATTEMPTS = 3
HOLD_SECONDS = CHALLENGE_SECONDS + 3600  # the ledger voids a hold nobody closed an hour after the expiry
TOPIC = "payments"


class Method(enum.StrEnum):
    sms = "sms"
    password = "password"


class ChallengeNotFound(NotFound):
    code = "challenge_not_found"
    title = "No such payment challenge"


class ChallengeNotPending(Conflict):
    code = "challenge_not_pending"
    title = "The challenge was already failed or expired; the payment was declined"


class ChallengeOpen(Conflict):
    code = "challenge_open"
    title = "The payment waits for its challenge to be answered"


class ChallengeFailed(InvalidInput):
    code = "challenge_failed"
    title = "The answer to the challenge is wrong"


class ChallengeExpired(InvalidInput):
    code = "challenge_expired"
    title = "The challenge expired; the payment was declined and moved no money"


# The sandbox's SMS outbox (短信): what would be texted to each customer, newest last, in this process.
SMS_OUTBOX: dict[str, list[str]] = {}


def _send_sms(customer_id: str, code: str) -> None:
    SMS_OUTBOX.setdefault(customer_id, []).append(code)


send_sms: Callable[[str, str], None] = _send_sms


def _digest(challenge_id: str, code: str) -> str:
    return hashlib.sha256(f"{challenge_id}:{code}".encode()).hexdigest()


def park(uow: UnitOfWork, held: HeldPayment, factor: str | None = None) -> dict:
    """Hold the money and open the challenge for `factor` (sms unless risk control asked for another),
    in the payment's unit of work; an SMS code is texted once it commits."""
    method = Method(factor or Method.sms)
    if _find(uow.connection, held.review_id) is not None:
        raise ChallengeOpen(f"payment {held.review_id} waits for its challenge")
    hold_id = held.review_id + ".challenge"
    post_chain(
        uow,
        [
            Transfer(
                hold_id,
                customer_wallet_id(held.payer_id),
                held.payee_account,
                held.amount,
                "CNY",
                "payment_challenge_hold",
                TransferFlags.pending,
                timeout_seconds=HOLD_SECONDS,
            )
        ],
        what=f"the wallet cannot cover {format_minor(held.amount, 2)}",
    )
    code = f"{secrets.randbelow(1_000_000):06d}" if method == Method.sms else None
    now = clock.now_micros()
    row = {
        **held_columns(held, hold_id),
        "method": method.value,
        "code_hash": _digest(held.review_id, code) if code else None,
        "attempts": 0,
        "status": "pending",
        "payment_id": None,
        "created_at": now,
        "expires_at": now + CHALLENGE_SECONDS * 1_000_000,
        "decided_at": None,
    }
    uow.execute(payment_challenges.insert().values(**row))
    publish(uow, TOPIC, "payment.challenge_opened", held.payer_id, challenge_json(row))
    if code is not None:
        uow.after_commit.append(lambda: send_sms(held.payer_id, code))
    return row


def is_challenge(row: dict) -> bool:
    """True for the answer of a payment parked for a challenge (not a payment, not a review)."""
    return "code_hash" in row


def challenge_json(row: dict) -> dict:
    """A challenge as its payer sees it: never the rules that raised it, nor the code."""
    return {
        "challenge_id": row["id"],
        "status": "challenged" if row["status"] == "pending" else row["status"],
        "method": row["method"],
        "kind": row["kind"],
        "payer_id": row["payer_id"],
        "payee_id": row["payee_id"],
        "amount": format_minor(row["amount"], 2),
        "currency": "CNY",
        "attempts_left": max(0, MAX_ATTEMPTS - row["attempts"]),
        "payment_id": row["payment_id"],
        "created_at": clock.from_micros(row["created_at"]).isoformat(),
        "expires_at": clock.from_micros(row["expires_at"]).isoformat(),
    }


def _find(connection: Connection, challenge_id: str) -> dict | None:
    query = select(payment_challenges).where(payment_challenges.c.id == challenge_id)
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def find_for(connection: Connection, challenge_id: str, payer_id: str) -> dict:
    """The payer's own challenge; another's is as absent as a missing one."""
    row = _find(connection, challenge_id)
    if row is None or row["payer_id"] != payer_id:
        raise ChallengeNotFound(f"payment challenge {challenge_id} not found")
    return row


def _lock(uow: UnitOfWork, challenge_id: str, payer_id: str) -> dict:
    query = select(payment_challenges).where(payment_challenges.c.id == challenge_id)
    row = uow.execute(query.with_for_update() if uow.postgres else query).mappings().first()
    if row is None or row["payer_id"] != payer_id:
        raise ChallengeNotFound(f"payment challenge {challenge_id} not found")
    return dict(row)


Complete = Callable[[UnitOfWork, dict, str], dict]  # writes the payment of a posted hold


def answer(
    uow: UnitOfWork, challenge_id: str, payer_id: str, code: str | None, password_ok: bool | None, complete: Complete
) -> dict:
    """Settle a challenge: the right factor posts the hold and writes the payment with `complete`
    (`payments.service.complete_held_payment`), once; a replay returns the passed challenge. A wrong
    answer or an expired challenge is refused, and the attempt (or the expiry) is recorded after the
    refusal's rollback."""
    row = _lock(uow, challenge_id, payer_id)
    if row["status"] == "passed":
        return row
    if row["status"] != "pending":
        raise ChallengeNotPending(f"challenge {challenge_id} is {row['status']}; the payment was declined")
    engine = uow.connection.engine
    if clock.now_micros() >= row["expires_at"]:
        uow.after_rollback.append(lambda: transaction(engine, lambda after: _settle_failure(after, row["id"], False)))
        raise ChallengeExpired(f"challenge {challenge_id} expired; the payment was declined and moved no money")
    if not _passes(row, code, password_ok):
        left = MAX_ATTEMPTS - row["attempts"] - 1
        uow.after_rollback.append(lambda: transaction(engine, lambda after: _settle_failure(after, row["id"], True)))
        told = f"{left} attempts left" if left > 0 else "the payment was declined and moved no money"
        raise ChallengeFailed(f"the {row['method']} answer is wrong; {told}", attempts_left=left)
    return _pass(uow, row, complete)


def _passes(row: dict, code: str | None, password_ok: bool | None) -> bool:
    if row["method"] == Method.password:
        return password_ok is True
    return code is not None and hmac.compare_digest(_digest(row["id"], code), row["code_hash"])


def _pass(uow: UnitOfWork, row: dict, complete: Complete) -> dict:
    post_id = row["id"] + ".challenge.post"
    [result] = create_transfers(
        uow, [Transfer(post_id, flags=TransferFlags.post_pending, pending_id=row["hold_transfer_id"])]
    )
    if result not in (TransferResult.ok, TransferResult.exists):
        raise Conflict(f"posting the challenge hold failed: {result.value}")
    payment = complete(uow, row, post_id)
    return _close(uow, row, "passed", payment["id"])


def _settle_failure(uow: UnitOfWork, challenge_id: str, wrong_answer: bool) -> None:
    """Count a wrong answer; the last one allowed, or the expiry, declines the payment."""
    query = select(payment_challenges).where(payment_challenges.c.id == challenge_id)
    row = dict(uow.execute(query.with_for_update() if uow.postgres else query).mappings().one())
    if row["status"] != "pending":
        return
    attempts = row["attempts"] + int(wrong_answer)
    expired = clock.now_micros() >= row["expires_at"]
    if attempts < MAX_ATTEMPTS and not expired:
        uow.execute(
            payment_challenges.update().where(payment_challenges.c.id == challenge_id).values(attempts=attempts)
        )
        return
    _decline(uow, {**row, "attempts": attempts}, "expired" if expired else "failed")


def _decline(uow: UnitOfWork, row: dict, status: str) -> dict:
    create_transfers(
        uow,
        [Transfer(row["id"] + ".challenge.void", flags=TransferFlags.void_pending, pending_id=row["hold_transfer_id"])],
    )  # or the ledger's sweeper already voided it
    limits.give_back(uow, row["payer_id"], row["limit_marks"], row["amount"])
    if row["qr_code_id"] is not None and row["kind"] == "qr_dynamic":
        uow.execute(
            qr_codes.update().where(qr_codes.c.id == row["qr_code_id"]).values(status="active", payment_id=None)
        )
    return _close(uow, row, status, None)


def _close(uow: UnitOfWork, row: dict, status: str, payment_id: str | None) -> dict:
    values = {"status": status, "attempts": row["attempts"], "payment_id": payment_id, "decided_at": clock.now_micros()}
    uow.execute(payment_challenges.update().where(payment_challenges.c.id == row["id"]).values(**values))
    closed = {**row, **values}
    publish(uow, TOPIC, f"payment.challenge_{status}", row["payer_id"], challenge_json(closed))
    return closed


def expire_due(uow: UnitOfWork, limit: int = 500) -> int:
    """Decline the challenges nobody answered in time (an abandoned payment)."""
    rows = uow.execute(
        select(payment_challenges)
        .where(payment_challenges.c.status == "pending", payment_challenges.c.expires_at <= clock.now_micros())
        .limit(limit)
    ).mappings()
    due = [dict(r) for r in rows]
    for row in due:
        _decline(uow, row, "expired")
    return len(due)
