"""What the payments API answers with: the published shape of a wallet, a payment, a payment held for
review, a QR code, a refund and a bank order (top-up 充值 / withdrawal 提现). Amounts are decimal
strings, times ISO 8601 strings; the models document and check them, the services build them."""

from __future__ import annotations

from typing import Any, Literal

from puhui.api.fields import Money, Schema, Timestamp

Currency = Literal["CNY"]


class Wallet(Schema):
    """A wallet's balances (余额): `available` is the balance less what is held for pending debits."""

    account_id: str
    currency: Currency
    balance: Money
    available: Money
    pending_in: Money


class Payment(Schema):
    """A payment made (P2P or to a merchant's QR code). The payer's `device_id` and `location` are shown
    to the payer and staff only."""

    id: str
    kind: Literal["p2p", "qr"]
    payer_id: str
    payee_id: str
    qr_code_id: str | None
    amount: Money
    fee: Money
    refunded: Money
    currency: Currency
    created_at: Timestamp
    device_id: str | None = None
    location: str | None = None


class HeldPayment(Schema):
    """A payment risk control held for a manual review (人工审核): the money is held in the payer's
    wallet until an officer approves (it is paid) or rejects it, or the hold expires."""

    review_id: str
    status: Literal["under_review", "approved", "rejected", "expired"]
    kind: str
    payer_id: str
    payee_id: str
    amount: Money
    currency: Currency
    payment_id: str | None
    decided_by: str | None
    note: str | None
    created_at: Timestamp
    hold_expires_at: Timestamp


class Review(HeldPayment):
    """A held payment as risk staff see it: with the rules that held it."""

    reasons: list[str]


class ReviewQueue(Schema):
    status: Literal["pending", "approved", "rejected", "expired"]
    reviews: list[Review]


class QrCode(Schema):
    """A merchant's QR code (收款码): static (the payer enters the amount) or dynamic (one order)."""

    id: str
    merchant_id: str
    kind: Literal["static", "dynamic"]
    amount: Money | None
    currency: Currency
    order_ref: str | None
    status: Literal["active", "paid", "cancelled", "expired"]
    expires_at: Timestamp | None
    payment_id: str | None


class Refund(Schema):
    id: str
    payment_id: str
    amount: Money
    fee_returned: Money
    currency: Currency


class BankOrder(Schema):
    """A top-up (充值) or withdrawal (提现) through the bank channel, as its customer sees it."""

    id: str
    kind: Literal["top_up", "withdrawal"]
    amount: Money
    currency: Currency
    status: Literal["pending", "succeeded", "failed"]
    failure_reason: str | None
    card_id: str
    card: str | None
    bank_reference: str | None
    created_at: Timestamp
    updated_at: Timestamp


class TopUps(Schema):
    top_ups: list[BankOrder]


class Withdrawals(Schema):
    withdrawals: list[BankOrder]


class NotifyUrlSet(Schema):
    merchant_id: str
    notify_url: str | None


class MerchantNotification(Schema):
    """A signed notification (商户通知) to the merchant and how its delivery went (`last_status` 0: no answer)."""

    id: int
    event: Literal["payment.succeeded", "refund.succeeded"]
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status: int | None
    body: dict[str, Any]
    delivered_at: Timestamp | None


class MerchantNotifications(Schema):
    notifications: list[MerchantNotification]
