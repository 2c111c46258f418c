"""Signed notifications to merchants (商户通知): every payment and refund of a merchant is POSTed as
JSON, signed with HMAC-SHA256 (the `signature` field over the canonical JSON of the rest), to the
URL the merchant registered, until it answers 2xx.

Two steps, each safe to repeat: `collect` turns outbox events into notification rows (one per
event, its offset advanced in the same transaction); `deliver` POSTs the due ones and records the
outcome, retrying with exponential backoff (10 s, 20 s, … capped at an hour) up to `MAX_ATTEMPTS`,
after which a notification is `failed` and stays readable by the merchant, who can also poll.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, select

from puhui import clock
from puhui.db import UnitOfWork, reading, transaction
from puhui.events.outbox import advance_offset, consumer_offset, read_events
from puhui.identity import org
from puhui.payments.errors import InvalidNotifyUrl
from puhui.payments.tables import merchant_notifications

log = logging.getLogger("puhui.payments.notifications")
CONSUMER = "payments.merchant_notifications"
EVENTS = ("payment.succeeded", "refund.succeeded")
MAX_ATTEMPTS = 10
FIRST_RETRY_SECONDS, MAX_RETRY_SECONDS = 10, 3600
TIMEOUT_SECONDS = 5.0
Post = Callable[[str, bytes, dict[str, str]], int]  # (url, body, headers) -> HTTP status


def sign(body: dict[str, Any], key: str) -> dict[str, Any]:
    """`body` with its `signature`: HMAC-SHA256 over the canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return {**body, "signature": hmac.new(key.encode(), canonical, hashlib.sha256).hexdigest()}


def verify(message: dict[str, Any], key: str) -> bool:
    """What a merchant runs on a notification it receives."""
    body = {k: v for k, v in message.items() if k != "signature"}
    return hmac.compare_digest(sign(body, key)["signature"], str(message.get("signature", "")))


PAYER_ONLY = ("device_id", "location")


def merchant_view(payment: dict[str, Any]) -> dict[str, Any]:
    """A payment without what only its payer and risk control may see (the payer's device and location)."""
    return {k: v for k, v in payment.items() if k not in PAYER_ONLY}


def merchant_notice(event: dict[str, Any], key: str) -> dict[str, Any]:
    """The signed notification of a `payment.succeeded` event, as its merchant receives it."""
    return sign({"event": "payment.succeeded", "payment": merchant_view(event["payment"])}, key)


def check_url(url: str) -> str:
    """An https URL without credentials, spaces or control characters, whose host is a name or a public
    address: a merchant must not make the platform call its own network (SSRF). Names are resolved and
    checked again at each delivery (`http_post`)."""
    from urllib.parse import urlsplit

    if len(url) > 512:
        raise InvalidNotifyUrl("the notify URL has at most 512 characters")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise InvalidNotifyUrl("the notify URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError:
        raise InvalidNotifyUrl("the notify URL is not a valid URL") from None
    if parts.scheme != "https" or not host or parts.username or parts.password:
        raise InvalidNotifyUrl("the notify URL must be https://host/path (no credentials in it)")
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")) or _private_literal(host):
        raise InvalidNotifyUrl("the notify URL must point to a public address")
    return url


def _private_literal(host: str) -> bool:
    import ipaddress

    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False  # a name: checked when it is resolved


def public_address(host: str, port: int) -> str | None:
    """The address to connect to for `host`, when every address it resolves to is public (not loopback,
    private, link-local or reserved); None otherwise."""
    import ipaddress
    import socket

    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    addresses = [info[4][0].split("%")[0] for info in found]
    if not addresses or not all(ipaddress.ip_address(a).is_global for a in addresses):
        return None
    return addresses[0]


def resolves_publicly(host: str, port: int) -> bool:
    return public_address(host, port) is not None


def set_notify_url(uow: UnitOfWork, merchant_id: str, url: str | None) -> dict:
    org.set_notify_url(uow, merchant_id, check_url(url) if url is not None else None)
    return {"merchant_id": merchant_id, "notify_url": url}


def collect(engine: Engine, key: str, limit: int = 1000) -> int:
    """Turn new payment events of merchants with a notify URL into notification rows; returns how many."""
    with reading(engine) as connection:
        after = consumer_offset(connection, CONSUMER)
    events = read_events(engine, after=after, limit=limit, topic="payments")
    if not events:
        return 0

    def work(uow: UnitOfWork) -> int:
        urls = org.notify_urls(uow.connection)
        made = 0
        for event in events:
            if event.type in EVENTS and event.key in urls:
                body = (
                    merchant_notice(event.payload, key)
                    if event.type == "payment.succeeded"
                    else sign({"event": event.type, "refund": event.payload}, key)
                )
                uow.execute(
                    merchant_notifications.insert().values(
                        id=event.position,
                        merchant_id=event.key,
                        event=event.type,
                        url=urls[event.key],
                        body=json.dumps(body, ensure_ascii=False),
                        status="pending",
                        attempts=0,
                        next_attempt_at=clock.now_micros(),
                        last_status=None,
                        delivered_at=None,
                    )
                )
                made += 1
        advance_offset(uow, CONSUMER, events[-1].position)
        return made

    return transaction(engine, work)


def deliver(engine: Engine, post: Post, limit: int = 100) -> int:
    """POST the due notifications (outside any transaction), then record each outcome; returns
    how many were delivered."""
    now = clock.now_micros()
    with reading(engine) as connection:
        due = (
            connection.execute(
                select(merchant_notifications)
                .where(merchant_notifications.c.status == "pending", merchant_notifications.c.next_attempt_at <= now)
                .order_by(merchant_notifications.c.id)
                .limit(limit)
            )
            .mappings()
            .all()
        )
    delivered = 0
    for row in due:
        status = _attempt(post, row)
        delivered += 200 <= status < 300
        transaction(engine, lambda uow, r=row, s=status: _record(uow, r, s))
    return delivered


def _attempt(post: Post, row) -> int:
    headers = {"Content-Type": "application/json", "Puhui-Event": row["event"], "Puhui-Notification-Id": str(row["id"])}
    try:
        return post(row["url"], row["body"].encode(), headers)
    except Exception:  # noqa: BLE001 - one merchant's broken URL must not stop the loop for every merchant
        log.warning("notification %s to merchant %s could not be sent", row["id"], row["merchant_id"], exc_info=True)
        return 0  # retried like any failure, then `failed`


def _record(uow: UnitOfWork, row, status: int) -> None:
    attempts = row["attempts"] + 1
    if 200 <= status < 300:
        values: dict[str, Any] = {"status": "delivered", "delivered_at": clock.now_micros()}
    elif attempts >= MAX_ATTEMPTS:
        values = {"status": "failed"}
    else:
        backoff = min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS)
        values = {"next_attempt_at": clock.now_micros() + backoff * 1_000_000}
    uow.execute(
        merchant_notifications.update()
        .where(merchant_notifications.c.id == row["id"], merchant_notifications.c.status == "pending")
        .values(attempts=attempts, last_status=status, **values)
    )


def http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """The real transport (httpx), with a short timeout, to public addresses only, checked again at each
    delivery (a name may have been pointed at an internal address since it was registered). The request
    goes to the address that was checked, not to a second lookup (DNS rebinding), with the name as Host
    and for TLS (SNI and certificate). No redirects; any failure is 0, whatever its cause."""
    from urllib.parse import urlsplit, urlunsplit

    import httpx

    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 443
    address = public_address(host, port) if parts.scheme == "https" and host else None
    if address is None:
        return 0
    pinned = urlunsplit(parts._replace(netloc=f"[{address}]:{port}" if ":" in address else f"{address}:{port}"))
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
        request = client.build_request(
            "POST",
            pinned,
            content=body,
            extensions={"sni_hostname": host},
            headers={**headers, "Host": host if port == 443 else f"{host}:{port}"},
        )
        try:
            return client.send(request).status_code
        except httpx.HTTPError:
            return 0


def notifications_of(connection: Connection, merchant_id: str, limit: int = 100) -> list[dict]:
    rows = connection.execute(
        select(merchant_notifications)
        .where(merchant_notifications.c.merchant_id == merchant_id)
        .order_by(merchant_notifications.c.id.desc())
        .limit(limit)
    ).mappings()
    return [
        {
            "id": r["id"],
            "event": r["event"],
            "status": r["status"],
            "attempts": r["attempts"],
            "last_status": r["last_status"],
            "body": json.loads(r["body"]),
            "delivered_at": clock.from_micros(r["delivered_at"]).isoformat() if r["delivered_at"] else None,
        }
        for r in rows
    ]
