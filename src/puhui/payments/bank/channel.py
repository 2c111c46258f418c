"""The bank channel: what the platform depends on to move money in and out through a bank.

A bank channel is a payment gateway at the custodian bank (备付金存管银行). The platform sends it
`BankOrder`s; the gateway accepts them synchronously (`Acknowledgement`) and reports the outcome
later, asynchronously, as signed `BankNotification`s posted to the platform's callback. Like a
real gateway it may notify late, twice, or never, so every order can also be *queried*; and it
publishes a statement file of every settled movement on the platform's reserve account each
business day (see `puhui.payments.bank.statement`).

- `debit_card` order (top-up): the bank debits the customer's card and credits the reserve account.
- `credit_card` order (withdrawal, merchant settlement payout): the bank debits the reserve account
  and pays out to the card.

Notifications are signed with HMAC-SHA256 over their canonical body; signing and verification
(forged, stale and replayed notifications refused) live in `puhui.payments.bank.signing`.

How the payments service uses a channel (top-up; a payout is the mirror image):

1. In one transaction: a pending ledger transfer (the hold, no timeout shorter than the bank's
   retry horizon) and a row for the `BankOrder`, whose `order_id` is the idempotency key.
2. After commit, `submit(order)`. On `ChannelUnavailable` submit the *same* order again (now or
   from the sweeper): the bank answers with the original acknowledgement, never a second order.
3. The notification endpoint: `verify_notification(body, header, key, nonces=...)`, then in one
   transaction post the hold on `succeeded` or void it on `failed` unless already done (check
   the amount and kind against the stored order); answer 2xx, also for a duplicate.
4. A sweeper queries orders still pending after a while and finishes them the same way;
   `BankOrderNotFound` means the bank never got the order: submit it again.
5. Each morning, reconcile the platform's posted transfers with `statement(yesterday)`.

Amounts are integer fen inside, decimal strings (`"12.34"`) on the wire; times are aware UTC.
Card numbers never appear in reprs: they are masked (`6222********0017`).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from stdnum import luhn

from puhui import clock
from puhui.identity.models import BANK_ACCOUNT
from puhui.money import format_minor
from puhui.payments.errors import (
    InvalidBankOrder,
    MalformedNotification,
)

CURRENCY = "CNY"
SCALE = 2
ORDER_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
BANK_REFERENCE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
CARD_NUMBER = re.compile(r"^[0-9]{12,19}$")
ACCOUNT_NUMBER = BANK_ACCOUNT
"""A corporate settlement account (对公账户): 8-32 digits, no check digit. The rule merchant onboarding checks
(`identity.models.normalize_bank_account`), so an account accepted there is one the bank orders accept."""
CARD_TOKEN = re.compile(r"^tok_[A-Za-z0-9_\-]{4,64}$")
MAX_AMOUNT = 10**15  # fen; far above any real order, keeps arithmetic honest


# ---------------------------------------------------------------------------------------------
# Errors


# ---------------------------------------------------------------------------------------------
# Values


class OrderKind(enum.StrEnum):
    debit_card = "debit_card"  # top-up: card → reserve account
    credit_card = "credit_card"  # withdrawal / settlement payout: reserve account → card


class OrderState(enum.StrEnum):
    processing = "processing"
    succeeded = "succeeded"
    failed = "failed"


class FailureReason(enum.StrEnum):
    insufficient_funds = "insufficient_funds"  # the customer's card cannot cover a debit
    card_frozen = "card_frozen"
    invalid_card = "invalid_card"  # the bank knows no such card
    declined = "declined"  # the bank's own risk control or a transient refusal
    reserve_insufficient = "reserve_insufficient"  # the reserve account cannot cover a payout


def mask_card(card: str) -> str:
    """`6222021234567890123` → `6222***********0123`; tokens keep their prefix only."""
    if CARD_TOKEN.fullmatch(card):
        return card[:6] + "*" * (len(card) - 6)
    if len(card) <= 8:
        return "*" * len(card)
    return card[:4] + "*" * (len(card) - 8) + card[-4:]


def check_card(card: str, account: bool = False) -> str:
    """A card number (12-19 digits, Luhn) or an opaque card token (`tok_...`), or InvalidBankOrder. With
    `account`, a corporate settlement account instead (`check_account`): a merchant's settlement payout goes to
    it, and its top-up (商户充值) is drawn on it."""
    if account:
        return check_account(card)
    if not isinstance(card, str):
        raise InvalidBankOrder("the card must be a string")
    if CARD_TOKEN.fullmatch(card):
        return card
    if not CARD_NUMBER.fullmatch(card):
        raise InvalidBankOrder("the card must be 12-19 digits or a card token (tok_...)")
    if not luhn.is_valid(card):
        raise InvalidBankOrder("the card number's Luhn check digit does not match")
    return card


def check_account(number: str) -> str:
    """A corporate settlement account (对公账户, `ACCOUNT_NUMBER`) or an opaque card token, or InvalidBankOrder.
    An account is no card: its number follows its bank's own scheme, with no Luhn digit, so a 12-19-digit
    account that fails Luhn is as good as any other (checking it as a card refused real accounts)."""
    if not isinstance(number, str):
        raise InvalidBankOrder("the account must be a string")
    if CARD_TOKEN.fullmatch(number) or ACCOUNT_NUMBER.fullmatch(number):
        return number
    raise InvalidBankOrder("the corporate account must be 8-32 digits or a card token (tok_...)")


def _check_amount(amount: Any) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidBankOrder("the amount must be an integer number of fen")
    if not 0 < amount <= MAX_AMOUNT:
        raise InvalidBankOrder("the amount must be greater than zero and within range")
    return amount


def _check_aware(when: Any, name: str) -> dt.datetime:
    if not isinstance(when, dt.datetime) or when.tzinfo is None:
        raise InvalidBankOrder(f"{name} must be an aware datetime")
    return when.astimezone(clock.UTC)


@dataclass(frozen=True)
class BankOrder:
    """One instruction to the bank. `order_id` is chosen by the platform and is the idempotency key. `card` is a
    personal card (`check_card`), or with `account` a corporate account (对公账户, `check_account`): a merchant's
    settlement account, or a counterparty's of the reserve's clearing."""

    order_id: str
    kind: OrderKind
    card: str = field(repr=False)
    amount: int
    currency: str = CURRENCY
    created_at: dt.datetime = field(default_factory=clock.now)
    account: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.order_id, str) or not ORDER_ID.fullmatch(self.order_id):
            raise InvalidBankOrder("the order id must be 1-64 characters of A-Z a-z 0-9 . _ : -")
        try:
            object.__setattr__(self, "kind", OrderKind(self.kind))
        except ValueError:
            raise InvalidBankOrder(f"unknown order kind {self.kind!r}") from None
        check_card(self.card, account=self.account)
        _check_amount(self.amount)
        if self.currency != CURRENCY:
            raise InvalidBankOrder(f"the channel settles {CURRENCY} only")
        object.__setattr__(self, "created_at", _check_aware(self.created_at, "created_at"))

    @property
    def masked_card(self) -> str:
        return mask_card(self.card)

    def __repr__(self) -> str:
        return (
            f"BankOrder(order_id={self.order_id!r}, kind={self.kind.value!r}, card={self.masked_card!r}, "
            f"amount={self.amount}, currency={self.currency!r}, created_at={self.created_at.isoformat()!r})"
        )

    def differences(self, other: BankOrder) -> list[str]:
        """Fields that make `other` a different order under the same id (`created_at` is not one)."""
        return [name for name in ("kind", "card", "amount", "currency") if getattr(self, name) != getattr(other, name)]


@dataclass(frozen=True)
class Acknowledgement:
    """Synchronous acceptance: the bank has the order; the outcome comes later."""

    order_id: str
    bank_reference: str
    accepted_at: dt.datetime


@dataclass(frozen=True)
class OrderStatus:
    """The answer to a query: where an order stands at the bank right now."""

    order_id: str
    bank_reference: str
    kind: OrderKind
    amount: int
    currency: str
    state: OrderState
    failure_reason: FailureReason | None
    accepted_at: dt.datetime
    settled_at: dt.datetime | None  # when the order reached its final state

    @property
    def final(self) -> bool:
        return self.state != OrderState.processing


@dataclass(frozen=True)
class BankNotification:
    """The bank's asynchronous report of an order's final outcome."""

    order_id: str
    bank_reference: str
    kind: OrderKind
    state: OrderState  # succeeded or failed, never processing
    failure_reason: FailureReason | None
    amount: int
    currency: str
    settled_at: dt.datetime
    notified_at: dt.datetime  # when this copy was sent (each retry or duplicate is signed afresh)
    nonce: str
    signature: str = ""  # the signature header it arrived with (empty until signed or verified)

    def __post_init__(self) -> None:
        if self.state == OrderState.processing:
            raise MalformedNotification("a notification reports a final state")
        if (self.state == OrderState.failed) != (self.failure_reason is not None):
            raise MalformedNotification("a failure reason goes with, and only with, a failed notification")

    def body(self) -> bytes:
        """The canonical serialization: what is signed and sent."""
        document = {
            "amount": format_minor(self.amount, SCALE),
            "bank_reference": self.bank_reference,
            "currency": self.currency,
            "failure_reason": None if self.failure_reason is None else self.failure_reason.value,
            "kind": self.kind.value,
            "nonce": self.nonce,
            "notified_at": _iso(self.notified_at),
            "order_id": self.order_id,
            "settled_at": _iso(self.settled_at),
            "state": self.state.value,
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _iso(when: dt.datetime) -> str:
    return when.astimezone(clock.UTC).isoformat(timespec="microseconds")


# The platform's notification endpoint: (raw body, signature header) → an HTTP status. Anything
# but a 2xx, or an exception, counts as not received and the bank retries later.
NotificationCallback = Callable[[bytes, str], int]


@runtime_checkable
class BankChannel(Protocol):
    """What the payments service needs from a bank. `SandboxBank` is the shipped implementation."""

    def submit(self, order: BankOrder) -> Acknowledgement:
        """Accept an order (idempotent by order id); raises BankOrderConflict or ChannelUnavailable."""
        ...

    def query(self, order_id: str) -> OrderStatus:
        """The order's current state; raises BankOrderNotFound if the bank never accepted it."""
        ...

    def register_callback(self, callback: NotificationCallback) -> None:
        """Where the bank posts signed notifications."""
        ...

    def statement(self, business_date: dt.date) -> str:
        """The statement file (CSV) of the reserve account for a business date that has ended."""
        ...
