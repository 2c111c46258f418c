"""What the payments API answers with: the published shape of a wallet, a payment, a payment held for
review, a QR code, a refund and a bank order (top-up 充值 / withdrawal 提现). Amounts are decimal
strings, times ISO 8601 strings; the models document and check them, the services build them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from puhui.api.fields import Day, Money, Schema, Timestamp

Currency = Literal["CNY"]


class RefundFunds(Schema):
    """A merchant's refund funds (退款资金): what it topped up from its settlement account
    (`POST /v1/merchants/me/top-ups`) to pay refunds its wallet cannot. A refund draws on them for what the
    wallet lacks; settlement never pays them out."""

    account_id: str
    available: Money
    pending_in: Money


class Wallet(Schema):
    """A wallet's balances (余额): `available` is the balance less what is held for pending debits. A
    merchant's wallet holds its takings until settlement pays them out; `refund_funds` (merchants only)
    is what it topped up to pay refunds."""

    account_id: str
    currency: Currency
    balance: Money
    available: Money
    pending_in: Money
    refund_funds: RefundFunds | None = None


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
    purpose: Literal["payroll", "rent", "gift", "group_buying", "family", "other"] | None = Field(
        None, description="a P2P transfer's declared purpose (用途), when its payer gave one"
    )
    payee_name: str | None = Field(
        None,
        description="the merchant's trading name (商户名称) of a QR payment, as `GET /v1/payments/{id}` answers "
        "it; absent for a P2P transfer",
    )


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


def _review_status(value: Any) -> Any:
    """A status in the API's one vocabulary: the queue filter's older `pending` is `under_review`."""
    return "under_review" if value == "pending" else value


class ReviewQueue(Schema):
    """The reviews of one status, oldest first. `status` is said as everywhere else (`under_review` for
    those still waiting, as a held payment's answer says), whether the filter asked for it by that word or
    by its older alias `pending`."""

    status: Annotated[Literal["under_review", "approved", "rejected", "expired"], BeforeValidator(_review_status)]
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
    merchant_name: str | None = Field(
        None, description="the merchant's trading name (商户名称), as `GET /v1/qr-codes/{id}` answers it"
    )


class Refund(Schema):
    id: str
    payment_id: str
    amount: Money
    fee_returned: Money
    currency: Currency


class BankOrder(Schema):
    """A top-up (充值) or withdrawal (提现) through the bank channel, as its customer sees it; a merchant's
    top-up (商户充值) is drawn on its settlement account (`card_id` `settlement_account`)."""

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


class BankNotificationApplied(Schema):
    """A verified bank notification (银行回调) applied: the order's hold is posted or voided, once; a later copy
    of the notification answers the order's standing status."""

    order_id: str
    status: Literal["posted", "voided", "reversed"]


class MerchantSettlement(Schema):
    """A merchant's T+1 settlement (结算) of a business date: what it earned, and its payout (`net`, paid by
    the bank order `order_id`). `other_credits` is the other money paid into its wallet on the date and paid
    out with it: supply-chain advances (保理融资款) and receivables paid at maturity; and the refund funds
    (退款资金) that paid refunds its wallet could not, which offset those refunds. `carried` is what of
    `net` belongs to earlier dates (a failed payout paid again, or, negative, an earlier shortfall taken back).
    `state`: `pending` at the bank, `paid`, `failed` (`failure_reason`, `retried_on`), `nothing` (nothing was
    owed), or `waiting`: nothing paid for the date because the merchant's earlier earnings were still on their
    way (an earlier payout pending at the bank) or owed and not coverable yet — `unpaid` says how much."""

    id: str
    merchant_id: str
    business_date: Day
    gross: Money
    fees: Money
    refunds: Money
    other_credits: Money
    net: Money
    carried: Money
    order_id: str | None
    state: Literal["pending", "paid", "failed", "nothing", "waiting"]
    failure_reason: str | None = Field(
        None,
        description="why the bank failed the payout, as its order says (`reserve_insufficient`, `card_frozen`, "
        "`invalid_card`, `declined`, …); null unless `state` is `failed`",
    )
    retried_on: Day | None = Field(
        None,
        description="for a failed payout: the business date whose settlement pays its amount again (what is owed "
        "and unpaid is paid with the next settlement of the merchant after the failure; before that one runs, the "
        "next date to settle); null when not failed, or while the merchant is suspended (not settled)",
    )
    unpaid: Money = Field(
        description="what of the merchant's earnings up to the end of `business_date` has not reached its bank "
        "account, as of this answer: payouts still pending at the bank (this one's and earlier ones'), failed "
        "payouts not yet paid again, and what its wallet could not cover; 0.00 once all of it is paid"
    )
    created_at: Timestamp
    resolved_at: Timestamp | None


class Settlements(Schema):
    """The settlements of one business date, by merchant."""

    business_date: Day
    settlements: list[MerchantSettlement]


class SettlementsBetween(Schema):
    """The settlements of the business dates `from` to `to`, both included: the newest date first, by merchant
    within a date. `complete` is false when more fall in the range than the `limit` asked for: the answer holds
    the newest of them; ask again with an earlier `to`, or name the merchant, for the rest."""

    first: Day = Field(alias="from")
    last: Day = Field(alias="to")
    settlements: list[MerchantSettlement]
    complete: bool


class SettlementRun(Settlements):
    """A settlement run: the date asked for, and the earlier dates of a gap settled first (`caught_up`)."""

    caught_up: list[Settlements]


class ReconciliationException(Schema):
    """A mismatch between the bank's statement and the platform's bank orders (对账差错), and how it was
    resolved; amounts are the platform's and the bank's for the order, null where one side has none.
    `assigned_to` is the customer whose wallet money booked into suspense was handed to."""

    id: str
    business_date: Day
    kind: Literal["missing_at_bank", "missing_at_platform", "amount_differs", "duplicate"]
    order_id: str | None
    bank_reference: str | None
    direction: Literal["credit", "debit"] | None
    platform_amount: Money | None
    bank_amount: Money | None
    status: Literal["open", "resolved"]
    action: Literal["post_hold", "to_suspense", "reverse", "accept"] | None
    actor: str | None
    transfer_id: str | None
    created_at: Timestamp
    resolved_at: Timestamp | None
    assigned_to: str | None
    assign_transfer_id: str | None


class ReconciliationExceptions(Schema):
    """The reconciliation exceptions of one business date."""

    business_date: Day
    exceptions: list[ReconciliationException]


class DayReconciled(Schema):
    """An earlier date of a gap, reconciled first: how many of its exceptions are open."""

    business_date: Day
    open: int


class ReconciliationRun(ReconciliationExceptions):
    """A reconciliation run (对账): the date's exceptions, how many are open, and the earlier dates of a gap."""

    open: int
    caught_up: list[DayReconciled]


class ReserveCheck(Schema):
    """The day's reserve coverage check (备付金核对): the reserve held at the custodian bank against what is
    owed to customers and merchants (`surplus` is negative when it is short)."""

    business_date: Day
    ledger: str
    reserve: Money
    owed_to_customers_and_merchants: Money
    surplus: Money
    covered: bool


class RecordedReserveCheck(Schema):
    """A recorded daily reserve check (备付金核对): `obligations` is what was owed to customers and merchants."""

    business_date: Day
    ledger: str
    covered: bool
    reserve: Money
    obligations: Money
    checked_at: Timestamp


class ReserveChecks(Schema):
    """The recorded reserve checks, newest first."""

    checks: list[RecordedReserveCheck]
