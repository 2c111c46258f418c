"""Signing and verifying bank notifications (HMAC-SHA256 over the exact body).

The body is the canonical serialization of a `BankNotification` (sorted keys, no spaces, ASCII
JSON); the signature header is `kid=<key id>,v1=<hex HMAC-SHA256 of the body>`. The body carries
the moment it was sent (`notified_at`) and a random `nonce`, so `verify_notification` refuses:

- a forged or tampered notification, an unknown key id, a malformed header: `ForgedNotification`
- one sent outside `[now - max_age, now + max_skew]` (an old one replayed): `StaleNotification`
- given a `NonceCache`, one whose nonce was seen before: `ReplayedNotification`

The bank re-signs every retry and duplicate with a fresh nonce and time, so honest duplicates
verify: the platform de-duplicates by order id (its order's final state), never by nonce.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from puhui import clock
from puhui.errors import InvalidInput
from puhui.money import InvalidAmount, parse_minor
from puhui.payments.bank.channel import (
    BANK_REFERENCE,
    CURRENCY,
    ORDER_ID,
    SCALE,
    BankNotification,
    FailureReason,
    OrderKind,
    OrderState,
)
from puhui.payments.errors import (
    MIN_KEY_BYTES,
    ForgedNotification,
    MalformedNotification,
    ReplayedNotification,
    StaleNotification,
    WeakSigningKey,
)

DEFAULT_MAX_AGE = dt.timedelta(minutes=5)
DEFAULT_MAX_SKEW = dt.timedelta(minutes=1)
SIGNATURE_VERSION = "v1"


Keyring = bytes | str | Mapping[str, bytes | str]


def signing_key(key: bytes | str) -> bytes:
    """The key's bytes (a str is UTF-8), or WeakSigningKey if it is shorter than 16 bytes."""
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_BYTES:
        raise WeakSigningKey(f"the key has {len(raw)} bytes")
    return raw


def _mac(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def sign(body: bytes, key: bytes | str, key_id: str = "k1") -> str:
    """The signature header for a body: `kid=<key id>,v1=<hex HMAC-SHA256 of the body>`."""
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,32}", key_id):
        raise InvalidInput("a key id is 1-32 characters of A-Z a-z 0-9 _ -")
    return f"kid={key_id},{SIGNATURE_VERSION}={_mac(signing_key(key), body)}"


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
        return signing_key(keys)
    if key_id not in keys:
        raise ForgedNotification(f"unknown signing key id {key_id!r}")
    return signing_key(keys[key_id])


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
    match = _HEADER.fullmatch(signature_header.strip())
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
    if nonces is not None and not nonces.remember(
        notification.nonce, notification.notified_at + max_age + max_skew, now
    ):
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
        if not ORDER_ID.fullmatch(order_id) or not BANK_REFERENCE.fullmatch(reference) or amount <= 0:
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
