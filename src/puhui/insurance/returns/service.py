"""Return-shipping insurance operations (退货运费险), each in the caller's unit of work.

Ledger (CNY), for an order of amount A with premium P and a fixed claim C:
- checkout: the QR payment for the goods (`payments.service.pay_qr`: wallet → merchant A, its fee) and
            wallet → insurer.<id>.premium_held P, in ONE unit of work: a short wallet, a declined or held
            payment, or a refused buyer leaves nothing behind;
- return:   insurer.<id>.premium_held → buyer's wallet C, with the claim row and its event, at most once
            (a conditional update of the policy, a unique claim per policy and a unique transfer id), and only
            within the cover's term (`models.cover_of`: 15 days from the order's China date, the last
            covered day included); a return confirmed later is refused (`ReturnCoverExpired`), nothing moves.
A policy reads `expired` from the end of its term without a claim (`models.policy_status`, on read: the
stored status stays `active`), as the reserve line (`puhui.insurance.reserves.return_line`) counts it fully
earned and no longer running from that date, by the same definition of the term.
The premium is priced from the buyer's and the merchant's counts before the order (`models.order_premium`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.errors import InvalidInput, NotFound
from puhui.events.outbox import publish
from puhui.identity.customers import wallet_id
from puhui.identity.org import wallet_id as merchant_wallet_id
from puhui.insurance import errors as insurance_errors
from puhui.insurance import models as insurance_models
from puhui.insurance.returns import errors, models, queries
from puhui.insurance.returns.tables import return_shipping_claims as claims
from puhui.insurance.returns.tables import return_shipping_policies as policies
from puhui.insurance.returns.tables import return_shipping_products as products
from puhui.insurance.service import insurer_json, premium_held_account
from puhui.ledger.models import Transfer
from puhui.ledger.service import get_account, post_chain
from puhui.money import format_minor
from puhui.payments import service as payments
from puhui.payments.models import VerificationStrength
from puhui.payments.risk_hook import PaymentContext

TOPIC = "insurance"
LEDGER = "CNY"
ACTIVE, CLAIMED, EXPIRED = models.ACTIVE, models.CLAIMED, models.EXPIRED


def _hashed(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


# -- product versions ------------------------------------------------------------------------------


def _row_of(terms: models.ReturnShippingTerms) -> dict[str, Any]:
    p = terms.product
    return {
        "code": p.code,
        "version": p.version,
        "insurer_id": terms.insurer_id,
        "claim_amount": p.claim_amount,
        "target_loss_ratio": _ratio_text(p.target_loss_ratio),
        "min_premium": p.min_premium,
        "max_premium": terms.max_premium,
        "credibility_orders": p.credibility_orders,
        "prior_return_rate": _ratio_text(terms.prior_return_rate),
    }


def _ratio_text(ratio: Decimal) -> str:
    """A ratio from 0 to 1 in its shortest form, so "0.70" and "0.7" are the same terms."""
    return format(ratio.normalize(), "f")


def _terms_of(row: Any) -> models.ReturnShippingTerms:
    product = insurance_models.ReturnShippingProduct(
        code=row["code"],
        version=row["version"],
        claim_amount=row["claim_amount"],
        target_loss_ratio=Decimal(row["target_loss_ratio"]),
        min_premium=row["min_premium"],
        credibility_orders=row["credibility_orders"],
    )
    return models.ReturnShippingTerms(product, row["insurer_id"], Decimal(row["prior_return_rate"]), row["max_premium"])


def _product_row(connection: Connection, code: str, version: int) -> Any:
    query = select(products).where(products.c.code == code, products.c.version == version)
    row = connection.execute(query).mappings().first()
    if row is None:
        raise insurance_errors.InsuranceProductNotFound(f"no return-shipping product {code} version {version}")
    return row


def add_product(uow: UnitOfWork, terms: models.ReturnShippingTerms) -> dict[str, Any]:
    """Store a return-shipping product version (产品版本); the same terms again are a no-op, other terms
    under the same (code, version) are refused."""
    insurer_json(uow.connection, terms.insurer_id)  # InsurerNotFound for a partner that is not an insurer
    wanted = _row_of(terms)
    query = select(products).where(products.c.code == terms.product.code, products.c.version == terms.product.version)
    row = uow.execute(query).mappings().first()
    if row is None:
        uow.execute(products.insert().values(**wanted, created_at=clock.now_micros()))
        key = f"{terms.product.code}:{terms.product.version}"
        publish(uow, TOPIC, "insurance.return_shipping.product_added", key, {"code": terms.product.code})
    elif {k: row[k] for k in wanted} != wanted:
        raise insurance_errors.InsuranceProductExists(f"{key_of(terms)} exists with other terms")
    return product_json(uow.connection, terms.product.code, terms.product.version)


def key_of(terms: models.ReturnShippingTerms) -> str:
    return f"{terms.product.code} v{terms.product.version}"


def product_json(connection: Connection, code: str, version: int) -> dict[str, Any]:
    row = _product_row(connection, code, version)
    money = ("claim_amount", "min_premium", "max_premium")
    return {k: (format_minor(v, 2) if k in money else v) for k, v in _row_of(_terms_of(row)).items()}


# -- quotes ----------------------------------------------------------------------------------------


def _require_merchant(connection: Connection, merchant_id: str) -> None:
    account = get_account(connection, merchant_wallet_id(merchant_id))
    if account is None or account.code != "merchant_wallet":
        raise NotFound(f"merchant {merchant_id} not found")


def _price(
    connection: Connection, terms: models.ReturnShippingTerms, customer_id: str, merchant_id: str
) -> tuple[Decimal, int]:
    buyer = queries.buyer_counts(connection, customer_id)
    merchant = queries.merchant_counts(connection, merchant_id)
    return models.order_premium(terms, buyer, merchant)


def quote(
    connection: Connection, customer_id: str, code: str, version: int, merchant_id: str | None, qr_id: str | None
) -> dict[str, Any]:
    """The premium (保费) of cover for the buyer's next order from a merchant (named, or by its QR code)."""
    if qr_id is not None:
        merchant_id = payments.get_qr(connection, qr_id)["merchant_id"]
    if merchant_id is None:
        raise InvalidInput("a quote names a merchant or a QR code")
    _require_merchant(connection, merchant_id)
    terms = _terms_of(_product_row(connection, code, version))
    probability, premium = _price(connection, terms, customer_id, merchant_id)
    return {
        "product_code": code,
        "product_version": version,
        "merchant_id": merchant_id,
        "return_probability": _probability_text(probability),
        "premium": format_minor(premium, 2),
        "claim_amount": format_minor(terms.product.claim_amount, 2),
    }


def _probability_text(probability: Decimal) -> str:
    return str(probability.quantize(Decimal("0.000001")))


# -- checkout with cover ---------------------------------------------------------------------------


def _policy_by_client(connection: Connection, customer_id: str, client_id: str) -> Any:
    query = select(policies).where(policies.c.customer_id == customer_id, policies.c.client_id == client_id)
    return connection.execute(query).mappings().first()


def _order_amount(connection: Connection, qr_id: str, amount: int | None) -> tuple[str, int]:
    """The merchant and the goods' amount: a dynamic code's own amount, a static code's the buyer's."""
    qr = payments.get_qr(connection, qr_id)
    if qr["kind"] == "dynamic":
        if amount is not None and amount != qr["amount"]:
            raise InvalidInput("the amount of a dynamic QR code is fixed")
        amount = qr["amount"]
    elif amount is None or amount <= 0:
        raise InvalidInput("paying a static QR code needs an amount greater than zero")
    assert amount is not None
    return qr["merchant_id"], amount


def _abuse_signals(connection: Connection, customer_id: str, merchant_id: str) -> tuple[str, ...]:
    """The cover is refused to a serial returner (核保); the signals about the buyer and the merchant go
    with the payment to the fraud rules (`product_signal`), which hold a checkout at a colluding merchant."""
    signals = queries.return_abuse_signals(connection, customer_id=customer_id, merchant_id=merchant_id)
    if signals.buyer is not None and signals.buyer.serial_returner:
        raise errors.ReturnCoverRefused(
            f"{signals.buyer.returns} returns of {signals.buyer.orders} covered orders in {signals.window_days} days"
        )
    return ("merchant_collusion",) if signals.merchant is not None and signals.merchant.collusion else ()


def checkout(
    uow: UnitOfWork,
    customer_id: str,
    qr_id: str,
    code: str,
    version: int,
    amount: int | None,
    strength: VerificationStrength,
    client_id: str,
    default_fee_bp: int,
    context: PaymentContext,
) -> tuple[dict[str, Any], bool]:
    """Pay a merchant's QR code for goods and buy return-shipping cover (退货运费险) with it, in one unit of
    work: (the payment and the policy, created). The same client id again answers the first checkout."""
    found = _policy_by_client(uow.connection, customer_id, client_id)
    if found is not None:
        return _answer(uow.connection, found), False
    merchant_id, amount = _order_amount(uow.connection, qr_id, amount)
    terms = _terms_of(_product_row(uow.connection, code, version))
    signals = _abuse_signals(uow.connection, customer_id, merchant_id)
    probability, premium = _price(uow.connection, terms, customer_id, merchant_id)
    context = replace(context, signals=(*context.signals, *signals))
    row, created = payments.pay_qr(uow, customer_id, qr_id, amount, strength, client_id, default_fee_bp, context)
    if payments.is_review(row):
        raise errors.ReturnCheckoutHeld("the payment would be held for review")
    if not created:
        raise errors.ReturnCheckoutPaymentExists(f"payment {row['id']} was made without cover")
    policy = {
        "id": _hashed("rsp_", row["id"]),
        "payment_id": row["id"],
        "customer_id": customer_id,
        "client_id": client_id,
        "merchant_id": merchant_id,
        "insurer_id": terms.insurer_id,
        "product_code": code,
        "product_version": version,
        "order_amount": amount,
        "premium": premium,
        "claim_amount": terms.product.claim_amount,
        "return_probability": _probability_text(probability),
        "status": ACTIVE,
        "created_at": clock.now_micros(),
    }
    uow.execute(policies.insert().values(**policy))
    move = Transfer(
        f"rsi.{policy['id']}.premium",
        wallet_id(customer_id),
        premium_held_account(terms.insurer_id),
        premium,
        LEDGER,
        "premium",
    )
    post_chain(uow, [move], what=f"the wallet does not hold the goods and the premium {format_minor(premium, 2)}")
    publish(uow, TOPIC, "insurance.return_shipping.policy_bought", policy["id"], policy_json(policy))
    return _answer(uow.connection, policy), True


def _answer(connection: Connection, policy: Any) -> dict[str, Any]:
    payment = payments.payment_view(payments.get_payment(connection, policy["payment_id"]))
    return {"payment": payment, "policy": policy_json(policy)}


# -- the return and its claim ----------------------------------------------------------------------


def _claim_row(connection: Connection, policy_id: str) -> Any:
    return connection.execute(select(claims).where(claims.c.policy_id == policy_id)).mappings().first()


def confirm_return(uow: UnitOfWork, merchant_id: str, policy_id: str) -> tuple[dict[str, Any], bool]:
    """The merchant who was paid confirms the goods came back (确认退货): the fixed claim goes from the
    insurer's held premiums to the buyer's wallet at once, once; again answers the claim paid (on any day,
    the term over or not).

    The term: a confirmation is covered when its China date (`puhui.clock`, one reading that is also the
    claim's time) is from the order's China date to the 15th day of cover included — up to 24:00 China time
    of order date + 14 days (`models.return_covered`). From 00:00 China time of order date + 15 days
    (`cover_end`) it is refused with `ReturnCoverExpired` (409 `return_cover_expired`) before anything is
    written: no claim, no transfer, no event, the policy still stored `active` and read `expired`."""
    query = select(policies).where(policies.c.id == policy_id)
    row = uow.execute(query.with_for_update() if uow.postgres else query).mappings().first()
    if row is None or row["merchant_id"] != merchant_id:
        raise errors.ReturnShippingPolicyNotFound(f"policy {policy_id} not found")
    if row["status"] == CLAIMED:
        return _claim_answer(uow.connection, policy_id), False
    now = clock.now_micros()
    order_day, today = clock.china_date(row["created_at"]), clock.china_date(now)
    if not models.return_covered(order_day, today):
        end = models.cover_of(order_day).end
        last = end - dt.timedelta(days=1)
        raise errors.ReturnCoverExpired(
            f"policy {policy_id} covered returns confirmed from {order_day} to 24:00 China time on {last}; "
            f"a return confirmed on {today} is not covered and no claim is paid",
            policy_id=policy_id,
            cover_end=end.isoformat(),
        )
    updated = uow.execute(
        policies.update().where(policies.c.id == policy_id, policies.c.status == ACTIVE).values(status=CLAIMED)
    )
    if updated.rowcount != 1:
        return _claim_answer(uow.connection, policy_id), False
    claim = {
        "id": _hashed("rsc_", policy_id),
        "policy_id": policy_id,
        "customer_id": row["customer_id"],
        "merchant_id": merchant_id,
        "amount": row["claim_amount"],
        "transfer_id": f"rsi.{policy_id}.claim",
        "created_at": now,
    }
    uow.execute(claims.insert().values(**claim))
    payout = Transfer(
        claim["transfer_id"],
        premium_held_account(row["insurer_id"]),
        wallet_id(row["customer_id"]),
        row["claim_amount"],
        LEDGER,
        "claim",
    )
    post_chain(uow, [payout], what=f"the insurer's held premiums cannot pay the claim on {policy_id}")
    publish(uow, TOPIC, "insurance.return_shipping.claim_paid", claim["id"], claim_json(claim))
    return _claim_answer(uow.connection, policy_id), True


def _claim_answer(connection: Connection, policy_id: str) -> dict[str, Any]:
    policy = connection.execute(select(policies).where(policies.c.id == policy_id)).mappings().one()
    return {"policy": policy_json(policy), "claim": claim_json(_claim_row(connection, policy_id))}


# -- reads -----------------------------------------------------------------------------------------


def read_policy(connection: Connection, customer_id: str, policy_id: str) -> dict[str, Any]:
    """The buyer's own policy with its claim if paid; another's is 404."""
    row = connection.execute(select(policies).where(policies.c.id == policy_id)).mappings().first()
    if row is None or row["customer_id"] != customer_id:
        raise errors.ReturnShippingPolicyNotFound(f"policy {policy_id} not found")
    claim = _claim_row(connection, policy_id)
    return {"policy": policy_json(row), "claim": None if claim is None else claim_json(claim)}


def policy_json(row: Any) -> dict[str, Any]:
    """A policy as answered: its status as of today's China date (`models.policy_status`: `expired` once its
    term ended without a claim) and the exclusive end of its term, `cover_end`."""
    order_day = clock.china_date(row["created_at"])
    return {
        "id": row["id"],
        "payment_id": row["payment_id"],
        "customer_id": row["customer_id"],
        "merchant_id": row["merchant_id"],
        "insurer_id": row["insurer_id"],
        "product_code": row["product_code"],
        "product_version": row["product_version"],
        "order_amount": format_minor(row["order_amount"], 2),
        "premium": format_minor(row["premium"], 2),
        "claim_amount": format_minor(row["claim_amount"], 2),
        "return_probability": row["return_probability"],
        "status": models.policy_status(row["status"], order_day, clock.business_date()),
        "cover_end": models.cover_of(order_day).end.isoformat(),
        "created_at": clock.iso(row["created_at"]),
    }


def claim_json(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "policy_id": row["policy_id"],
        "customer_id": row["customer_id"],
        "amount": format_minor(row["amount"], 2),
        "transfer_id": row["transfer_id"],
        "created_at": clock.iso(row["created_at"]),
    }
