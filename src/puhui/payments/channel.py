"""The bank channel: what the platform depends on to move money in and out through a bank.

A bank channel is a payment gateway at the custodian bank (备付金存管银行). The platform sends it
`BankOrder`s; the gateway accepts them synchronously (`Acknowledgement`) and reports the outcome
later, asynchronously, as signed `BankNotification`s posted to the platform's callback. Like a
real gateway it may notify late, twice, or never, so every order can also be *queried*; and it
publishes a statement file of every settled movement on the platform's reserve account each
business day (see `puhui.payments.bank_statement`).

- `debit_card` order (top-up): the bank debits the customer's card and credits the reserve account.
- `credit_card` order (withdrawal, merchant settlement payout): the bank debits the reserve account
  and pays out to the card.

Notifications are signed with HMAC-SHA256 over their exact body, which is the canonical JSON
serialization of the notification (sorted keys, no spaces, UTF-8). The body carries the moment
it was sent (`notified_at`) and a random `nonce`: `verify_notification` refuses a forged or
tampered notification (`ForgedNotification`), one sent outside the time window
(`StaleNotification`) and, given a `NonceCache`, one seen before (`ReplayedNotification`).
A gateway re-sending a notification (a retry, a duplicate) signs it afresh with a new nonce, so
duplicates pass verification: the platform de-duplicates by order id, never by nonce.

Amounts are integer fen inside, decimal strings (`"12.34"`) on the wire; times are aware UTC.
Card numbers never appear in reprs: they are masked (`6222********0017`).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

from stdnum import luhn

from puhui import clock
from puhui.errors import Conflict, InvalidInput, NotFound, PuhuiError, Unauthorized
from puhui.money import InvalidAmount, format_minor, parse_minor

CURRENCY = "CNY"
SCALE = 2
ORDER_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
BANK_REFERENCE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
CARD_NUMBER = re.compile(r"^[0-9]{12,19}$")
CARD_TOKEN = re.compile(r"^tok_[A-Za-z0-9_\-]{4,64}$")
MAX_AMOUNT = 10**15  # fen; far above any real order, keeps arithmetic honest

DEFAULT_MAX_AGE = dt.timedelta(minutes=5)
DEFAULT_MAX_SKEW = dt.timedelta(minutes=1)
MIN_KEY_BYTES = 16
SIGNATURE_VERSION = "v1"


# ---------------------------------------------------------------------------------------------
# Errors


class BankChannelError(PuhuiError):
    """Root of the bank channel's errors (each subclass also has its HTTP-ish base)."""

    code = "bank_channel_error"
    title = "Bank channel error"


class InvalidBankOrder(BankChannelError, InvalidInput):
    code = "invalid_bank_order"
    title = "The bank order is not valid"


class BankOrderConflict(BankChannelError, Conflict):
    code = "bank_order_conflict"
    title = "A different order was already submitted under this order id"


class BankOrderNotFound(BankChannelError, NotFound):
    code = "bank_order_not_found"
    title = "The bank has no order with this id"


class ChannelUnavailable(BankChannelError):
    """The call's outcome is unknown (timeout, connection reset): retry with the same order."""

    code = "bank_channel_unavailable"
    status = 503
    title = "The bank channel did not answer; the order may or may not have been accepted"


class WeakSigningKey(BankChannelError, InvalidInput):
    code = "weak_signing_key"
    title = f"A notification signing key needs at least {MIN_KEY_BYTES} bytes"


class ForgedNotification(BankChannelError, Unauthorized):
    code = "forged_notification"
    title = "The notification's signature does not verify"


class StaleNotification(BankChannelError, Unauthorized):
    code = "stale_notification"
    title = "The notification was sent outside the accepted time window"


class ReplayedNotification(StaleNotification):
    code = "replayed_notification"
    title = "The notification was received before (same nonce)"


class MalformedNotification(BankChannelError, InvalidInput):
    code = "malformed_notification"
    title = "The notification body is not a valid notification"


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
    if CARD_TOKEN.match(card):
        return card[:6] + "*" * (len(card) - 6)
    if len(card) <= 8:
        return "*" * len(card)
    return card[:4] + "*" * (len(card) - 8) + card[-4:]


def check_card(card: str) -> str:
    """A card number (12-19 digits, Luhn) or an opaque card token (`tok_...`), or InvalidBankOrder."""
    if not isinstance(card, str):
        raise InvalidBankOrder("the card must be a string")
    if CARD_TOKEN.match(card):
        return card
    if not CARD_NUMBER.match(card):
        raise InvalidBankOrder("the card must be 12-19 digits or a card token (tok_...)")
    if not luhn.is_valid(card):
        raise InvalidBankOrder("the card number's Luhn check digit does not match")
    return card


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
    """One instruction to the bank. `order_id` is chosen by the platform and is the idempotency key."""

    order_id: str
    kind: OrderKind
    card: str = field(repr=False)
    amount: int
    currency: str = CURRENCY
    created_at: dt.datetime = field(default_factory=clock.now)

    def __post_init__(self) -> None:
        if not isinstance(self.order_id, str) or not ORDER_ID.match(self.order_id):
            raise InvalidBankOrder("the order id must be 1-64 characters of A-Z a-z 0-9 . _ : -")
        try:
            object.__setattr__(self, "kind", OrderKind(self.kind))
        except ValueError:
            raise InvalidBankOrder(f"unknown order kind {self.kind!r}") from None
        check_card(self.card)
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

    def differences(self, other: "BankOrder") -> list[str]:
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


# ---------------------------------------------------------------------------------------------
# Signing and verification

Keyring = bytes | str | Mapping[str, bytes | str]


def _key_bytes(key: bytes | str) -> bytes:
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_BYTES:
        raise WeakSigningKey(f"the key has {len(raw)} bytes")
    return raw


def _mac(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def sign(body: bytes, key: bytes | str, key_id: str = "k1") -> str:
    """The signature header for a body: `kid=<key id>,v1=<hex HMAC-SHA256 of the body>`."""
    if not re.match(r"^[A-Za-z0-9_\-]{1,32}$", key_id):
        raise InvalidInput("a key id is 1-32 characters of A-Z a-z 0-9 _ -")
    return f"kid={key_id},{SIGNATURE_VERSION}={_mac(_key_bytes(key), body)}"


def sign_notification(notification: BankNotification, key: bytes | str, key_id: str = "k1") -> tuple[bytes, str]:
    """(body, signature header) ready to post."""
    body = notification.body()
    return body, sign(body, key, key_id)


_HEADER = re.compile(r"^kid=([A-Za-z0-9_\-]{1,32}),v1=([0-9a-f]{64})$")


class NonceCache(Protocol):
    def remember(self, nonce: str, until: dt.datetime, now: dt.datetime) -> bool:
        """Record `nonce` until `until`; False if it was already recorded (a replay)."""
        ...


class MemoryNonceCache:
    """Nonces seen within the window, in memory (one process); thread-safe."""

    def __init__(self) -> None:
        self._seen: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    def remember(self, nonce: str, until: dt.datetime, now: dt.datetime) -> bool:
        with self._lock:
            for old in [n for n, expiry in self._seen.items() if expiry < now]:
                del self._seen[old]
            if nonce in self._seen:
                return False
            self._seen[nonce] = until
            return True

    def __len__(self) -> int:
        return len(self._seen)


def _select_key(keys: Keyring, key_id: str) -> bytes:
    if isinstance(keys, (bytes, str)):
        return _key_bytes(keys)
    if key_id not in keys:
        raise ForgedNotification(f"unknown signing key id {key_id!r}")
    return _key_bytes(keys[key_id])


def verify_notification(
    raw_body: bytes,
    signature_header: str,
    key: Keyring,
    now: dt.datetime | None = None,
    *,
    nonces: NonceCache | None = None,
    max_age: dt.timedelta = DEFAULT_MAX_AGE,
    max_skew: dt.timedelta = DEFAULT_MAX_SKEW,
) -> BankNotification:
    """The notification in `raw_body` if it is authentic, fresh and (given `nonces`) not a replay.

    `key` is one key, or a mapping key id → key (rotation: keep the old key until its last
    notification can no longer arrive). Order of checks: signature (constant-time), then
    parsing, then the time window `[now - max_age, now + max_skew]`, then the nonce.
    """
    now = now or clock.now()
    if not isinstance(raw_body, (bytes, bytearray)) or not isinstance(signature_header, str):
        raise ForgedNotification("the body must be bytes and the signature header a string")
    match = _HEADER.match(signature_header.strip())
    if not match:
        raise ForgedNotification("the signature header is not `kid=<id>,v1=<hex>`")
    key_id, given = match.groups()
    expected = _mac(_select_key(key, key_id), bytes(raw_body))
    if not hmac.compare_digest(expected, given):
        raise ForgedNotification("the signature does not match the body")
    notification = parse_notification(bytes(raw_body), signature_header.strip())
    age = now - notification.notified_at
    if age > max_age or -age > max_skew:
        raise StaleNotification(f"sent at {notification.notified_at.isoformat()}, received at {now.isoformat()}")
    if nonces is not None and not nonces.remember(notification.nonce, notification.notified_at + max_age + max_skew, now):
        raise ReplayedNotification(f"nonce {notification.nonce} was seen before")
    return notification


def parse_notification(raw_body: bytes, signature: str = "") -> BankNotification:
    """Parse a notification body (no signature check: use `verify_notification` on input)."""
    try:
        document = json.loads(raw_body.decode("utf-8"))
        if not isinstance(document, dict):
            raise ValueError("not an object")
        kind = OrderKind(_text(document, "kind"))
        state = OrderState(_text(document, "state"))
        reason_text = document.get("failure_reason")
        reason = None if reason_text is None else FailureReason(reason_text)
        amount = parse_minor(_text(document, "amount"), SCALE)
        order_id, reference = _text(document, "order_id"), _text(document, "bank_reference")
        if not ORDER_ID.match(order_id) or not BANK_REFERENCE.match(reference) or amount <= 0:
            raise ValueError("bad order id, bank reference or amount")
        if _text(document, "currency") != CURRENCY:
            raise ValueError(f"the channel settles {CURRENCY} only")
        return BankNotification(
            order_id=order_id,
            bank_reference=reference,
            kind=kind,
            state=state,
            failure_reason=reason,
            amount=amount,
            currency=CURRENCY,
            settled_at=_time(document, "settled_at"),
            notified_at=_time(document, "notified_at"),
            nonce=_text(document, "nonce"),
            signature=signature,
        )
    except (ValueError, KeyError, TypeError, InvalidAmount, UnicodeDecodeError) as error:
        raise MalformedNotification(f"not a notification: {error}") from None


def _text(document: Mapping[str, Any], name: str) -> str:
    value = document[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string")
    return value


def _time(document: Mapping[str, Any], name: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(_text(document, name))
    if value.tzinfo is None:
        raise ValueError(f"{name} has no timezone")
    return value.astimezone(clock.UTC)
