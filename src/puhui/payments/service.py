"""Payment operations, each running in the caller's unit of work: P2P transfers, QR codes, QR
payments, cancellation and refunds. Every payment writes its ledger transfers (a linked chain),
its business row and its outbox event together; a refusal raises and nothing moves.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, literal, select

from puhui import clock
from puhui.db import UnitOfWork, transaction
from puhui.db.prepared import Prepared, Read, Rows, run, run_all, take_guess
from puhui.errors import Forbidden, InvalidInput, NotFound
from puhui.events.outbox import publish
from puhui.identity.kyc import tier_of, tier_read
from puhui.identity.models import WalletTier
from puhui.identity.org import judged_terms, merchant_terms, terms_read
from puhui.identity.queries import merchant_name_and_code
from puhui.identity.service import customer_wallet_id, merchant_wallet_id
from puhui.ledger import queries as ledger_queries
from puhui.ledger.errors import InsufficientFunds, LedgerRefused
from puhui.ledger.models import Transfer
from puhui.ledger.service import get_account, post_chain
from puhui.ledger.service import reads_ahead as ledger_reads_ahead
from puhui.money import format_minor
from puhui.payments import challenges, grouping, limits, notifications, purposes, reviews, risk_hook, wallets
from puhui.payments.errors import (
    MerchantBalanceInsufficient,
    OrderRefInUse,
    PayeeClosed,
    PaymentConflict,
    QrExpired,
    QrNotPayable,
)
from puhui.payments.models import PaymentTotals, QrKind, VerificationStrength, merchant_fee, refund_split
from puhui.payments.tables import payment_reviews, payments, qr_codes, refunds

FEE_INCOME = "platform.fee_income.CNY"
_CREDIT_LATE = frozenset({FEE_INCOME})
TOPIC = "payments"
MAX_QR_TTL_SECONDS = 86_400


# The hot path's statements, built once: building one costs more than running it.
_QR = select(qr_codes).where(qr_codes.c.id == bindparam("id"))
_QR_READ = {False: Prepared(_QR), True: Prepared(_QR.with_for_update())}  # by `uow.postgres`
_TAKE_QR = Prepared(
    qr_codes.update()
    .where(and_(qr_codes.c.id == bindparam("qr"), qr_codes.c.status == "active"))
    .values(status="paid", payment_id=bindparam("payment"))
)
_PAYMENT = select(payments).where(payments.c.id == bindparam("id"))
_MADE_OR_HELD = Prepared(
    select(payments.c.id, literal(True))
    .where(payments.c.id == bindparam("id"))
    .union_all(select(payment_reviews.c.id, literal(False)).where(payment_reviews.c.id == bindparam("id")))
)  # not by keys (`ByKeys`): the tables start empty, and PostgreSQL's cached plan of `= ANY` then scans them whole
_INSERT_PAYMENT = Prepared(payments.insert())


def _lock(uow: UnitOfWork, query):
    return uow.execute(query.with_for_update() if uow.postgres else query).mappings().first()


def _id(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _apply(uow: UnitOfWork, batch: list[Transfer]) -> None:
    """The payment's transfers as one chain: all or nothing (`InsufficientFunds` when the payer is short).
    The fee income, which every QR payment credits, is credited once per group-commit batch, and the
    ledger's rows go with the job's last writes: nothing after this reads them."""
    post_chain(uow, batch, credit_late=_CREDIT_LATE, write_late=True)


CLOSED_PAYEE = "credit_account_already_closed"
"""The ledger's refusal of a payment's first transfer (or its hold) whose payee's wallet is closed."""


def _payee_closed(payee_id: str) -> PayeeClosed:
    return PayeeClosed(f"the payee's account is closed: {payee_id} can no longer be paid", payee_id=payee_id)


def _paying(payee_id: str, move: Callable[[], Any]) -> Any:
    """`move()` (the payment's chain, or its hold) with a closed payee's wallet refused as `PayeeClosed` rather
    than the ledger's own words: no read on the way, the ledger's refusal is caught (nothing was written)."""
    try:
        return move()
    except LedgerRefused as refused:
        if refused.extra.get("result") == CLOSED_PAYEE:
            raise _payee_closed(payee_id) from None
        raise


def payment_json(row) -> dict:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "payer_id": row["payer_id"],
        "payee_id": row["payee_id"],
        "qr_code_id": row["qr_code_id"],
        "amount": format_minor(row["amount"], 2),
        "fee": format_minor(row["fee"], 2),
        "refunded": format_minor(row["refunded"], 2),
        "currency": "CNY",
        "created_at": row["created_at"],
        "device_id": row.get("device_id"),
        "location": row.get("location"),
        **({"purpose": row["purpose"]} if row.get("purpose") else {}),
    }


def payment_view(row) -> dict:
    """A payment as its payer, staff and the payment events see it (events keep `payment_json`'s
    microseconds for p2p)."""
    return {**payment_json(row), "created_at": clock.iso(row["created_at"])}


def merchant_name(connection, merchant_id: str) -> str | None:
    """A merchant's trading name (商户名称) to show its payer instead of its id, read through identity's
    public query; None when `merchant_id` is no merchant (a P2P payee is a customer, whose name is theirs)."""
    found = merchant_name_and_code(connection, merchant_id)
    return found[0] if found is not None else None


def get_payment(connection, payment_id: str) -> dict:
    row = connection.execute(select(payments).where(payments.c.id == payment_id)).mappings().first()
    if row is None:
        raise NotFound(f"payment {payment_id} not found")
    return dict(row)


def _existing(uow: UnitOfWork, payment_id: str, payer: str, payee: str, amount: int | None) -> dict | None:
    """The payment already made under this id, or its review while none is made (one statement
    when there is neither: the usual case)."""
    found = {is_payment for _, is_payment in run(uow.connection, _MADE_OR_HELD, {"id": payment_id}).all()}
    if not found:
        return None
    if True in found:
        row = uow.execute(_PAYMENT, {"id": payment_id}).mappings().one()
    else:
        row = reviews.find(uow.connection, payment_id)
    if row["payer_id"] != payer or row["payee_id"] != payee or (amount is not None and row["amount"] != amount):
        raise PaymentConflict(f"payment {payment_id} exists with different details")
    return dict(row)


def _check_payer(
    uow: UnitOfWork,
    payment_id: str,
    payer_id: str,
    kind: str,
    payee_id: str,
    amount: int,
    context: risk_hook.PaymentContext,
    also: list[limits.Counted] | None = None,
    counted_early: CountedEarly | None = None,
) -> tuple[str | None, risk_hook.Decision]:
    """The risk decision, then the wallet class limit and `also` counted together: (limit marks,
    decision). A decline raises (and is recorded after the rollback); approve and review go on.
    `counted_early`: the limits counted earlier with another statement (`_take_qr`); they are judged
    here, in the same order, as if counted now."""
    tier = counted_early.tier if counted_early is not None else tier_of(uow.connection, payer_id)
    request = risk_hook.PaymentRequest(
        kind, payer_id, payee_id, amount, tier, context.device_id, context.location, clock.now_micros(), context.signals
    )
    decision = risk_hook.decide(request)
    fraud = risk_hook.check_for(uow.connection.engine)
    if fraud is not None and decision.outcome != risk_hook.Outcome.decline:
        assessment = fraud.assess(request, uow.connection)
        decision = risk_hook.worst(decision, assessment.decision)
        if decision.outcome == risk_hook.Outcome.decline:
            assert tier is not None  # `decide` declines a payer without one
            _refuse_unpayable(uow, payer_id, tier, amount, also, counted_early)
            engine = uow.connection.engine
            uow.after_rollback.append(
                lambda: transaction(engine, lambda after: fraud.record(after, request, assessment, payment_id))
            )
        else:
            fraud.record(uow, request, assessment, payment_id)
    if decision.outcome == risk_hook.Outcome.decline:
        risk_hook.enforce(decision, payment_id)
    assert tier is not None
    if counted_early is not None:
        return limits.settled(counted_early.counted, amount, counted_early.returned, uow.connection, payer_id), decision
    return limits.consume_all(uow, payer_id, _counted(tier, also), amount), decision


def _refuse_unpayable(
    uow: UnitOfWork,
    payer_id: str,
    tier: WalletTier,
    amount: int,
    also: list[limits.Counted] | None,
    counted_early: CountedEarly | None,
) -> None:
    """Before a fraud decline is told and recorded: a payment that could not have been made anyway is
    refused for that, as it would be without the fraud check (its limits, then the payer's balance), and
    no decline is recorded against the payer. Only on the way to a decline: never on the success path.
    The limits are counted in the payment's unit of work, which the decline rolls back."""
    if counted_early is not None:
        limits.settled(counted_early.counted, amount, counted_early.returned, uow.connection, payer_id)
    else:
        limits.consume_all(uow, payer_id, _counted(tier, also), amount)
    wallet = customer_wallet_id(payer_id)
    available = ledger_queries.available(uow.connection, wallet)
    if available is not None and available < amount:
        raise InsufficientFunds(f"account {wallet} cannot cover {format_minor(amount, 2)}")


def _counted(tier: WalletTier, also: list[limits.Counted] | None) -> list[limits.Counted]:
    return [limits.tier_counted(tier), *(also or ())]


@dataclass(frozen=True)
class CountedEarly:
    """A payer's limits counted ahead of the payment's checks: the tier, the limits (their periods as of
    the count) and what the counting statements returned."""

    tier: WalletTier
    counted: list[limits.Counted]
    returned: list[Rows]


def _terms(uow: UnitOfWork, merchant_id: str, default_fee_bp: int) -> int:
    """The merchant's fee rate (商户费率), read once per transaction: the payments of one group-commit
    batch share it, and a change committed later is read by the next transaction. A suspended
    merchant raises every time."""
    seen = grouping.terms_seen(uow.shared, merchant_id)
    if seen is not None:  # the batch read them as it began
        return judged_terms(merchant_id, *seen, default_fee_bp)
    key = _terms_key(merchant_id, default_fee_bp)
    if key not in uow.shared:
        uow.shared[key] = merchant_terms(uow.connection, merchant_id, default_fee_bp)
    return uow.shared[key]


def _terms_ahead(uow: UnitOfWork, merchant_id: str, default_fee_bp: int) -> list[Read]:
    """The read `_terms` will make, to go ahead with an earlier statement; none when the batch has it (its
    own `_terms`, or as it began: `grouping.terms_seen`)."""
    if _terms_key(merchant_id, default_fee_bp) in uow.shared or grouping.terms_seen(uow.shared, merchant_id):
        return []
    return [terms_read(merchant_id)]


def _terms_key(merchant_id: str, default_fee_bp: int) -> tuple[str, str, int]:
    return ("merchant_terms", merchant_id, default_fee_bp)


def is_review(row: dict) -> bool:
    """True for the answer of a payment held for review (not a payment)."""
    return "hold_transfer_id" in row


def approve_review(uow: UnitOfWork, review_id: str, officer: str, note: str) -> dict:
    """Approve a held payment (人工审核通过): post the hold and write the payment. Returns the review:
    `approved`, or `expired` when the hold ran out first. Replaying an approval returns the same review."""
    row, posted = reviews.post_hold(uow, review_id)
    if not posted:
        return row
    payment = complete_held_payment(uow, row, review_id + ".post")
    return reviews.close_approved(uow, row, officer, note, payment["id"])


def complete_held_payment(uow: UnitOfWork, review: dict, transfer_id: str) -> dict:
    """The payment of an approved review (its hold just posted): the fee, the row and the event."""
    payment_id, merchant_id = review["id"], review["payee_id"]
    qr = review["kind"] != "p2p"
    fee = merchant_fee(review["amount"], review["fee_rate_bp"]) if qr else 0
    if fee:
        _apply(
            uow, [Transfer(payment_id + ".f", merchant_wallet_id(merchant_id), FEE_INCOME, fee, "CNY", "merchant_fee")]
        )
    row = {
        "id": payment_id,
        "kind": "qr" if qr else "p2p",
        "payer_id": review["payer_id"],
        "payee_id": merchant_id,
        "qr_code_id": review["qr_code_id"],
        "amount": review["amount"],
        "fee": fee,
        "fee_rate_bp": review["fee_rate_bp"] if qr else 0,
        "refunded": 0,
        "fee_refunded": 0,
        "transfer_id": transfer_id,
        "fee_transfer_id": payment_id + ".f" if fee else None,
        "created_at": clock.now_micros(),
        "device_id": review["device_id"],
        "location": review["location"],
        "limit_marks": review["limit_marks"],
    }
    run(uow.connection, _INSERT_PAYMENT, row)
    if qr:
        publish(uow, TOPIC, "payment.succeeded", merchant_id, payment_event(row))
    else:
        publish(uow, TOPIC, "p2p.completed", payment_id, payment_json(purposes.with_purpose(uow.connection, row)))
    return row


def _under_review(decision: risk_hook.Decision) -> bool:
    return decision.outcome in (risk_hook.Outcome.review, risk_hook.Outcome.challenge)


def _hold(uow: UnitOfWork, decision: risk_hook.Decision, held: reviews.HeldPayment) -> dict:
    """Park the payment: for its payer's step-up challenge (核身) or a risk officer's review (人工审核)."""
    if decision.outcome == risk_hook.Outcome.challenge:
        return _paying(held.payee_id, lambda: challenges.park(uow, held, decision.factor))
    return _paying(held.payee_id, lambda: reviews.hold(uow, held))


NO_CONTEXT = risk_hook.PaymentContext()


# -- P2P -----------------------------------------------------------------------------------------


def pay_p2p(
    uow: UnitOfWork,
    payer_id: str,
    payee_id: str,
    amount: int,
    client_id: str,
    context: risk_hook.PaymentContext = NO_CONTEXT,
    purpose: str | None = None,
) -> tuple[dict, bool]:
    """Move `amount` from the payer's wallet to the payee's; idempotent by (payer, client id). A declared
    `purpose` (用途, `Purpose`) is stored with it, carried by its event and shown on its bill."""
    declared = purposes.checked(purpose)
    if amount <= 0:
        raise InvalidInput("amount must be greater than zero")
    if payer_id == payee_id:
        raise InvalidInput("payer and payee must be different")
    payment_id = _id("p2p_", payer_id, client_id)
    found = _existing(uow, payment_id, payer_id, payee_id, amount)
    if found is not None:
        return purposes.with_purpose(uow.connection, found), False
    payee = get_account(uow.connection, customer_wallet_id(payee_id))
    if payee is None or payee.code != "customer_wallet":
        raise NotFound(f"customer {payee_id} has no wallet")
    if payee.closed:  # a closed customer (注销): refused before risk control, the limits and the ledger
        raise _payee_closed(payee_id)
    marks, decision = _check_payer(uow, payment_id, payer_id, "p2p", payee_id, amount, context)
    purposes.record(uow, payment_id, declared)
    if _under_review(decision):
        return _hold(
            uow,
            decision,
            reviews.HeldPayment(
                payment_id, "p2p", payer_id, payee_id, payee.id, amount, 0, None, marks, context, decision.reasons
            ),
        ), True
    transfer_id = payment_id + ".t"
    _apply(uow, [Transfer(transfer_id, customer_wallet_id(payer_id), payee.id, amount, "CNY", "p2p_transfer")])
    row = {
        "id": payment_id,
        "kind": "p2p",
        "payer_id": payer_id,
        "payee_id": payee_id,
        "qr_code_id": None,
        "amount": amount,
        "fee": 0,
        "fee_rate_bp": 0,
        "refunded": 0,
        "fee_refunded": 0,
        "transfer_id": transfer_id,
        "fee_transfer_id": None,
        "created_at": clock.now_micros(),
        "device_id": context.device_id,
        "location": context.location,
        "limit_marks": marks,
    }
    run(uow.connection, _INSERT_PAYMENT, row)
    row["purpose"] = declared.value if declared else None
    publish(uow, TOPIC, "p2p.completed", payment_id, payment_json(row))
    return row, True


# -- QR codes ------------------------------------------------------------------------------------


def qr_json(row) -> dict:
    expired = row["expires_at"] is not None and clock.now_micros() >= row["expires_at"]
    status = "expired" if row["status"] == "active" and expired else row["status"]
    return {
        "id": row["id"],
        "merchant_id": row["merchant_id"],
        "kind": row["kind"],
        "amount": format_minor(row["amount"], 2) if row["amount"] is not None else None,
        "currency": "CNY",
        "order_ref": row["order_ref"],
        "status": status,
        "expires_at": clock.from_micros(row["expires_at"]).isoformat() if row["expires_at"] else None,
        "payment_id": row["payment_id"],
    }


def create_qr(
    uow: UnitOfWork, merchant_id: str, kind: QrKind, amount: int | None, ttl_seconds: int, order_ref: str | None
) -> dict:
    """A static code (one per merchant: the existing one is returned) or a dynamic one for an amount. A
    dynamic code's `order_ref` (商户订单号) names one order: while another code of the merchant holds it (open,
    or paid) the new one is refused (`OrderRefInUse`, naming it); once that one was cancelled or expired
    unpaid, a new code may take the order. Two creations racing meet at the unique index
    (`uq_qr_codes_open_order_ref`): the loser's unit of work runs again and is refused."""
    if get_account(uow.connection, merchant_wallet_id(merchant_id)) is None:
        raise NotFound(f"merchant {merchant_id} not found")
    now = clock.now_micros()
    if kind == QrKind.static:
        if amount is not None:
            raise InvalidInput("a static QR code has no amount; the payer enters it")
        existing = (
            uow.execute(select(qr_codes).where(qr_codes.c.merchant_id == merchant_id, qr_codes.c.kind == "static"))
            .mappings()
            .first()
        )
        if existing is not None:  # one static code per merchant
            return dict(existing)
        expires_at = None
    else:
        if amount is None or amount <= 0:
            raise InvalidInput("a dynamic QR code needs an amount greater than zero")
        if not 0 < ttl_seconds <= MAX_QR_TTL_SECONDS:
            raise InvalidInput(f"expires_in_seconds must be between 1 and {MAX_QR_TTL_SECONDS}")
        expires_at = now + ttl_seconds * 1_000_000
        if order_ref is not None:
            _take_order_ref(uow, merchant_id, order_ref, now)
    row = {
        "id": "qr_" + uuid.uuid4().hex,
        "merchant_id": merchant_id,
        "kind": kind.value,
        "amount": amount,
        "order_ref": order_ref,
        "status": "active",
        "expires_at": expires_at,
        "payment_id": None,
        "created_at": now,
        "open_order_ref": order_ref if kind == QrKind.dynamic else None,
    }
    uow.execute(qr_codes.insert().values(**row))
    return row


def _take_order_ref(uow: UnitOfWork, merchant_id: str, order_ref: str, now: int) -> None:
    """Free the merchant's order reference for a new dynamic code, or raise `OrderRefInUse`: the code holding
    it is let go when it expired unpaid (still `active` past `expires_at`), else it keeps it."""
    holder = _lock(
        uow,
        select(qr_codes.c.id, qr_codes.c.status, qr_codes.c.expires_at).where(
            qr_codes.c.merchant_id == merchant_id, qr_codes.c.open_order_ref == order_ref
        ),
    )
    if holder is None:
        return
    if holder["status"] == "active" and holder["expires_at"] is not None and now >= holder["expires_at"]:
        uow.execute(qr_codes.update().where(qr_codes.c.id == holder["id"]).values(open_order_ref=None))
        return
    raise OrderRefInUse(
        f"order {order_ref} already has QR code {holder['id']} ({holder['status']}): cancel it, or let it expire "
        "unpaid, before making another for the same order",
        qr_code_id=holder["id"],
        qr_code_status=holder["status"],
        order_ref=order_ref,
    )


def get_qr(connection, qr_id: str) -> dict:
    row = connection.execute(select(qr_codes).where(qr_codes.c.id == qr_id)).mappings().first()
    if row is None:
        raise NotFound(f"QR code {qr_id} not found")
    return dict(row)


def cancel_qr(uow: UnitOfWork, merchant_id: str, qr_id: str) -> dict:
    row = _lock(uow, select(qr_codes).where(qr_codes.c.id == qr_id))
    if row is None or row["merchant_id"] != merchant_id:
        raise NotFound(f"QR code {qr_id} not found")
    if row["kind"] != "dynamic":
        raise InvalidInput("only a dynamic QR code can be cancelled")
    if row["status"] == "cancelled":
        return dict(row)
    if row["status"] != "active":
        raise QrNotPayable(f"QR code {qr_id} is {row['status']}")
    uow.execute(qr_codes.update().where(qr_codes.c.id == qr_id).values(status="cancelled", open_order_ref=None))
    return {**row, "status": "cancelled", "open_order_ref": None}


def payment_event(row: dict) -> dict:
    """The `payment.succeeded` event: the payment with the payer's context, for risk control and
    monitoring. Merchants get it signed and without that context (`notifications.collect`)."""
    return {"event": "payment.succeeded", "payment": payment_view(row)}


def notification(row: dict, key: str) -> dict:
    """The payment notification to the merchant, signed with HMAC-SHA256 over its canonical JSON."""
    return notifications.merchant_notice(payment_event(row), key)


def verify_notification(event: dict, key: str) -> bool:
    return notifications.verify(event, key)


def pay_qr_reads(payer_id: str, qr_id: str, client_id: str, shared: dict[Any, Any]) -> list[Read]:
    """The reads `pay_qr` makes first, on PostgreSQL (`puhui.db.group_commit.Job.reads`): an earlier
    payment under the same id, and the code and the payer's tier where its batch did not read them as it
    began (`shared`, `grouping.code_seen` and `tier_seen`)."""
    payment_id = _id("qrp_", payer_id, client_id)
    reads: list[Read] = [(_MADE_OR_HELD, {"id": payment_id})]
    if grouping.code_seen(shared, qr_id) is None:
        reads.append((_QR_READ[True], {"id": qr_id}))
    if grouping.tier_seen(shared, payer_id) is None:
        reads.append(tier_read(payer_id))
    return reads


def pay_qr_guess(
    uow: UnitOfWork,
    payer_id: str,
    qr_id: str,
    amount: int | None,
    strength: VerificationStrength,
    client_id: str,
    default_fee_bp: int,
) -> list[Read]:
    """What `pay_qr` will send when it takes a dynamic code (`_take_qr`), guessed from the code and the
    payer's wallet class as the batch began (`grouping.seen`): for the job to send with its first reads
    (`puhui.db.group_commit.Job.guess`), a round trip fewer. Nothing for a code that was not open then."""
    found = grouping.seen(uow.shared, qr_id, payer_id)
    if found is None:
        return []
    code, tier = found
    if code.kind != QrKind.dynamic.value or code.status != "active" or code.amount is None:
        return []
    if (amount is not None and amount != code.amount) or (code.expires_at or 0) <= clock.now_micros():
        return []
    payment_id = _id("qrp_", payer_id, client_id)
    counted = _counted(tier, limits.qr_counted(QrKind.dynamic, strength)) if tier is not None else []
    ahead, statements = _taking(
        uow, qr_id, payment_id, code.merchant_id, default_fee_bp, payer_id, code.amount, counted
    )
    return [*ahead, *statements]


def pay_qr(
    uow: UnitOfWork,
    payer_id: str,
    qr_id: str,
    amount: int | None,
    strength: VerificationStrength,
    client_id: str,
    default_fee_bp: int,
    context: risk_hook.PaymentContext = NO_CONTEXT,
) -> tuple[dict, bool]:
    """Pay a QR code: risk hook, tier and QR limits, the linked transfers, the row and the event."""
    qr = _code(uow, qr_id)
    if qr is None:
        raise NotFound(f"QR code {qr_id} not found")
    kind = QrKind(qr["kind"])
    if kind == QrKind.dynamic:
        if amount is not None and amount != qr["amount"]:
            raise InvalidInput("the amount of a dynamic QR code is fixed")
        amount = qr["amount"]
    elif amount is None or amount <= 0:
        raise InvalidInput("paying a static QR code needs an amount greater than zero")
    assert amount is not None
    merchant_id = qr["merchant_id"]
    payment_id = _id("qrp_", payer_id, client_id)
    found = _existing(uow, payment_id, payer_id, merchant_id, amount)
    if found is not None:
        if found["qr_code_id"] != qr_id:
            raise PaymentConflict(f"payment {payment_id} was for another QR code")
        return found, False
    qr_limit = limits.qr_counted(kind, strength)
    counted_early = None
    if kind == QrKind.dynamic:
        if qr["status"] != "active":
            raise QrNotPayable(f"QR code {qr_id} is {qr['status']}")
        if clock.now_micros() >= qr["expires_at"]:
            raise QrExpired(f"QR code {qr_id} expired")
        counted_early = _take_qr(uow, qr_id, payment_id, merchant_id, default_fee_bp, payer_id, amount, qr_limit)
    fee_rate_bp = _terms(uow, merchant_id, default_fee_bp)
    marks, decision = _check_payer(
        uow,
        payment_id,
        payer_id,
        f"qr_{kind.value}",
        merchant_id,
        amount,
        context,
        also=qr_limit,
        counted_early=counted_early,
    )
    if _under_review(decision):
        return _hold(
            uow,
            decision,
            reviews.HeldPayment(
                payment_id,
                f"qr_{kind.value}",
                payer_id,
                merchant_id,
                merchant_wallet_id(merchant_id),
                amount,
                fee_rate_bp,
                qr_id,
                marks,
                context,
                decision.reasons,
            ),
        ), True
    fee = merchant_fee(amount, fee_rate_bp)
    merchant_wallet = merchant_wallet_id(merchant_id)
    batch = [Transfer(payment_id + ".t", customer_wallet_id(payer_id), merchant_wallet, amount, "CNY", "qr_payment")]
    if fee:
        batch.append(Transfer(payment_id + ".f", merchant_wallet, FEE_INCOME, fee, "CNY", "merchant_fee"))
    _paying(merchant_id, lambda: _apply(uow, batch))
    row = {
        "id": payment_id,
        "kind": "qr",
        "payer_id": payer_id,
        "payee_id": merchant_id,
        "qr_code_id": qr_id,
        "amount": amount,
        "fee": fee,
        "fee_rate_bp": fee_rate_bp,
        "refunded": 0,
        "fee_refunded": 0,
        "transfer_id": payment_id + ".t",
        "fee_transfer_id": payment_id + ".f" if fee else None,
        "created_at": clock.now_micros(),
        "device_id": context.device_id,
        "location": context.location,
        "limit_marks": marks,
    }
    uow.write(_INSERT_PAYMENT, row)
    publish(uow, TOPIC, "payment.succeeded", merchant_id, payment_event(row))
    return row, True


def _code(uow: UnitOfWork, qr_id: str) -> Mapping[str, Any] | None:
    """The code as its batch began where it read it (`grouping.code_seen`), else as read now."""
    seen = grouping.code_seen(uow.shared, qr_id)
    if seen is None:
        return run(uow.connection, _QR_READ[uow.postgres], {"id": qr_id}).mapping()
    return {
        "id": qr_id,
        "merchant_id": seen.merchant_id,
        "kind": seen.kind,
        "amount": seen.amount,
        "status": seen.status,
        "expires_at": seen.expires_at,
    }


def _take_qr(
    uow: UnitOfWork,
    qr_id: str,
    payment_id: str,
    merchant_id: str,
    default_fee_bp: int,
    payer_id: str,
    amount: int,
    qr_limit: list[limits.Counted],
) -> CountedEarly | None:
    """Mark the dynamic code paid, or raise QrNotPayable. The payer's limits are counted in the same
    round trip (PostgreSQL), and the merchant's terms read ahead: a refusal of any of them (the fraud
    check, a limit) later rolls the job back to its savepoint, the code and the counts with it. Returns
    the tier and the counts for `_check_payer`, or None when the payer has no tier to count by."""
    tier = grouping.tier_seen(uow.shared, payer_id) or tier_of(uow.connection, payer_id)
    counted = _counted(tier, qr_limit) if tier is not None else []  # once: the periods its statements count in
    ahead, statements = _taking(uow, qr_id, payment_id, merchant_id, default_fee_bp, payer_id, amount, counted)
    returned = take_guess(uow.connection, statements)  # sent ahead when the job guessed it (`pay_qr_guess`)
    done, *counts = returned if returned is not None else run_all(uow.connection, statements, ahead=ahead)
    if done.rowcount != 1:
        raise QrNotPayable(f"QR code {qr_id} is no longer open")
    return CountedEarly(tier, counted, counts) if tier is not None else None


def _taking(
    uow: UnitOfWork,
    qr_id: str,
    payment_id: str,
    merchant_id: str,
    default_fee_bp: int,
    payer_id: str,
    amount: int,
    counted: list[limits.Counted],
) -> tuple[list[Read], list[Read]]:
    """`_take_qr`'s reads to send ahead (the merchant's terms, the ledger's) and its statements: the code's
    taking, then `counted` counted."""
    take = (_TAKE_QR, {"qr": qr_id, "payment": payment_id})
    counting = limits.counting(uow.postgres, payer_id, counted, amount)
    ahead = [*_terms_ahead(uow, merchant_id, default_fee_bp), *_ledger_ahead(uow, payment_id, payer_id, merchant_id)]
    return ahead, [take, *counting]


def _ledger_ahead(uow: UnitOfWork, payment_id: str, payer_id: str, merchant_id: str) -> list[Read]:
    """What `_apply` will read of the ledger for the payment and its fee (the fee income is credited late):
    read ahead with the code's taking, a round trip fewer. A fee of zero makes it read again. Only in a
    group-commit job, whose batch locked the wallets before anything else (`grouping.lock_wallets`):
    elsewhere locking them before the code and the limits would reverse the order other payments take."""
    if uow.batch_sums is None:
        return []
    wallets = (customer_wallet_id(payer_id), merchant_wallet_id(merchant_id))
    return ledger_reads_ahead(uow, (payment_id + ".t", payment_id + ".f"), wallets, _CREDIT_LATE)


# -- refunds -------------------------------------------------------------------------------------


RefundFollower = Callable[[UnitOfWork, dict, int], None]
REFUND_FOLLOWERS: list[RefundFollower] = []
"""What other packages do with a refund in its unit of work, once the money is back in the payer's wallet:
called with the payment's row and the fen refunded (lending: a pay-later purchase's refund repays its loan,
退款退回花呗). Payments sits below them and cannot call them by name."""


def refund(uow: UnitOfWork, merchant_id: str, payment_id: str, amount: int, client_id: str) -> tuple[dict, bool]:
    """Refund part or all of a QR payment from the merchant's wallet; the fee returns pro rata. What the
    wallet lacks (its takings already settled) comes from the merchant's refund funds (退款资金, its top-ups);
    when they lack it too, `MerchantBalanceInsufficient` and nothing changes."""
    if amount <= 0:
        raise InvalidInput("a refund must be greater than zero")
    row = _lock(uow, select(payments).where(payments.c.id == payment_id))
    if row is None or row["kind"] != "qr":
        raise NotFound(f"payment {payment_id} not found")
    if row["payee_id"] != merchant_id:
        raise Forbidden("a merchant refunds only its own payments")
    refund_id = _id("rf_", payment_id, client_id)
    existing = uow.execute(select(refunds).where(refunds.c.id == refund_id)).mappings().first()
    if existing is not None:
        if existing["amount"] != amount:
            raise PaymentConflict(f"refund {refund_id} exists with a different amount")
        return dict(existing), False
    totals = PaymentTotals(row["amount"], row["fee"], row["refunded"], row["fee_refunded"])
    back, fee_back = refund_split(totals, amount)  # RefundExceedsPayment above what remains
    done = uow.execute(
        payments.update()
        .where(
            and_(
                payments.c.id == payment_id,
                payments.c.refunded + back <= payments.c.amount,
                payments.c.refunded == row["refunded"],
            )
        )
        .values(refunded=payments.c.refunded + back, fee_refunded=payments.c.fee_refunded + fee_back)
    )
    if done.rowcount != 1:
        from puhui.db.uow import RetryableConflict

        raise RetryableConflict("payment changed concurrently")
    merchant_wallet = merchant_wallet_id(merchant_id)
    batch = []
    if fee_back:
        batch.append(Transfer(refund_id + ".f", FEE_INCOME, merchant_wallet, fee_back, "CNY", "merchant_fee_refund"))
    batch.append(
        Transfer(refund_id + ".t", merchant_wallet, customer_wallet_id(row["payer_id"]), back, "CNY", "qr_refund")
    )
    try:
        _apply(uow, batch)
    except InsufficientFunds:  # nothing was written: the wallet (its takings settled) falls short
        funding = _refund_funding(uow, merchant_id, refund_id, back, fee_back)
        if funding is None:
            raise
        try:
            _apply(uow, [funding, *batch])
        except InsufficientFunds:  # the refund funds changed between the read and the chain: as if short
            raise _short(uow, merchant_id, back, fee_back) from None
    limits.give_back(uow, row["payer_id"], row["limit_marks"], back)
    for follow in REFUND_FOLLOWERS:
        follow(uow, dict(row), back)
    out = {
        "id": refund_id,
        "payment_id": payment_id,
        "amount": back,
        "fee_returned": fee_back,
        "transfer_id": refund_id + ".t",
        "created_at": clock.now_micros(),
    }
    uow.execute(refunds.insert().values(**out))
    publish(
        uow,
        TOPIC,
        "refund.succeeded",
        merchant_id,
        {
            "refund_id": refund_id,
            "payment_id": payment_id,
            "amount": format_minor(back, 2),
            "fee_returned": format_minor(fee_back, 2),
        },
    )
    return out, True


def _refund_funding(uow: UnitOfWork, merchant_id: str, refund_id: str, back: int, fee_back: int) -> Transfer | None:
    """What the refund takes from the merchant's refund funds (退款资金, topped up from its bank account): the
    part its wallet lacks, moved into the wallet first in the refund's chain (settlement counts it against
    the refund, `settlement.OFFSETS`). None when the wallet did not lack anything (another account fell
    short); `MerchantBalanceInsufficient` when the refund funds lack it too."""
    in_wallet, in_funds, _ = _balances(uow, merchant_id)
    short = back - fee_back - in_wallet
    if short <= 0:
        return None
    if short > in_funds:
        raise _short(uow, merchant_id, back, fee_back)
    return Transfer(
        refund_id + ".c",
        wallets.refund_funds_id(merchant_id),
        merchant_wallet_id(merchant_id),
        short,
        "CNY",
        wallets.REFUND_FUNDING,
    )


def _balances(uow: UnitOfWork, merchant_id: str) -> tuple[int, int, int]:
    """(available in the merchant's wallet, available in its refund funds, its top-ups still at the bank)."""
    funds = get_account(uow.connection, wallets.refund_funds_id(merchant_id))
    in_wallet = wallets.funds_available(uow.connection, merchant_wallet_id(merchant_id))
    in_funds = wallets.funds_available(uow.connection, wallets.refund_funds_id(merchant_id))
    return in_wallet, in_funds, 0 if funds is None else funds.credits_pending


def _short(uow: UnitOfWork, merchant_id: str, back: int, fee_back: int) -> MerchantBalanceInsufficient:
    """The refusal of a refund the merchant cannot pay: what it needs, what it has, and how to fund it. Its
    top-ups still pending at the bank count towards what it must top up (`top_up_at_least`, never below 0):
    when they cover the shortfall it is told to wait for them, not to top up again."""
    in_wallet, in_funds, pending = _balances(uow, merchant_id)
    needed, available = back - fee_back, in_wallet + in_funds
    lacking = needed - available
    to_top_up = max(0, lacking - pending)
    waiting = f" ({format_minor(pending, 2)} CNY of its top-ups are still pending at the bank)" if pending else ""
    if to_top_up == 0:
        then = (
            f"The top-ups pending at the bank cover the {format_minor(lacking, 2)} CNY it lacks: wait for them to "
            f"succeed (GET {MERCHANT_TOP_UPS}), then refund again with the same Idempotency-Key"
        )
    else:
        then = (
            f"Top up at least {format_minor(to_top_up, 2)} CNY from its settlement account with POST "
            f"{MERCHANT_TOP_UPS}{' (besides those pending)' if pending else ''}, then refund again with the same "
            "Idempotency-Key"
        )
    return MerchantBalanceInsufficient(
        f"the refund of {format_minor(back, 2)} CNY needs {format_minor(needed, 2)} CNY from the merchant "
        f"(less the fee of {format_minor(fee_back, 2)} CNY returned to it), but its available balance is "
        f"{format_minor(available, 2)} CNY: {format_minor(in_wallet, 2)} in its wallet, whose takings are settled "
        f"to its bank account, and {format_minor(in_funds, 2)} in its refund funds{waiting}. {then}",
        available=format_minor(available, 2),
        needed=format_minor(needed, 2),
        top_up_at_least=format_minor(to_top_up, 2),
        top_up_pending=format_minor(pending, 2),
        top_up=MERCHANT_TOP_UPS,
    )


MERCHANT_TOP_UPS = "/v1/merchants/me/top-ups"


def refund_json(row: dict) -> dict:
    return {
        "id": row["id"],
        "payment_id": row["payment_id"],
        "amount": format_minor(row["amount"], 2),
        "fee_returned": format_minor(row["fee_returned"], 2),
        "currency": "CNY",
    }


def wallet_json(connection, account_id: str) -> dict:
    account = get_account(connection, account_id)
    if account is None:
        raise NotFound(f"wallet {account_id} not found")
    available = account.credits_posted - account.debits_posted - account.debits_pending
    return {
        "account_id": account.id,
        "currency": "CNY",
        "balance": format_minor(account.credits_posted - account.debits_posted, 2),
        "available": format_minor(available, 2),
        "pending_in": format_minor(account.credits_pending, 2),
    }


def refund_funds_json(connection, merchant_id: str) -> dict:
    """A merchant's refund funds (退款资金, `wallets.refund_funds_id`): zero before its first top-up."""
    shown = wallets.funds_json(connection, wallets.refund_funds_id(merchant_id))
    return {name: shown[name] for name in ("account_id", "available", "pending_in")}
