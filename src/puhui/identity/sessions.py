"""Customer log-in (登录): phone + password (Argon2id) -> a short-lived session token (JWT), and the
session it opens.

Every attempt, good or bad, is written to the audit log (never the phone or the password). The
slow hash check runs outside any transaction; a wrong phone costs the same as a wrong password.
Each token is a row of `customer_sessions` (by its `jti`) and is honoured only while that row is
open: log-out ends one session, "log out everywhere" and a password change end the others at once.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, Engine, and_, bindparam, select, update

from puhui import clock
from puhui.db import reading, transaction
from puhui.db.prepared import ByKeys, Prepared, Read, among, run
from puhui.db.tables import audit_log
from puhui.errors import PuhuiError
from puhui.events import outbox
from puhui.identity import auth, throttle
from puhui.identity import customers as customer_ops
from puhui.identity.errors import (
    AuthNotConfigured,
    CurrentPasswordInvalid,
    InvalidCredentials,
    PaymentPasswordInvalid,
    TooManyLoginAttempts,
)
from puhui.identity.models import CustomerStatus, check_password, normalize_phone
from puhui.identity.tables import customer_sessions, customers
from puhui.identity.vault import Vault
from puhui.settings import Settings

ACTION = "identity.login"
CONFIRM_ACTION = "identity.confirm_password"


def login(
    engine: Engine,
    vault: Vault,
    settings: Settings,
    phone: str,
    password: str,
    *,
    source_ip: str | None = None,
    request_id: str | None = None,
) -> tuple[str, auth.SessionToken]:
    """(customer id, session token) for a right phone and password of an active customer."""
    if not settings.jwt_secret:
        raise AuthNotConfigured()
    number = normalize_phone(phone)
    subject = vault.blind_index(number, field=customer_ops.INDEX_PHONE)
    _reserve(engine, subject, source_ip, request_id)
    with reading(engine) as connection:
        row = customer_ops.find_by_phone(connection, vault, number)
    stored = row["password_hash"] if row and row["status"] == CustomerStatus.active else None
    ok = auth.verify_password(stored, password) and stored is not None
    principal = row["id"] if ok else "anonymous"
    rehash = auth.hash_password(password) if ok and auth.needs_rehash(stored) else None

    def record(uow) -> auth.SessionToken | None:
        if rehash is not None:
            customer_ops.set_password_hash(uow, row["id"], rehash)
        _audit(uow, principal, ok, source_ip, request_id, None if ok else InvalidCredentials())
        if not ok:
            return None
        throttle.clear(uow, subject)  # the attempt was counted before the hash was checked
        return start(uow, settings.jwt_secret, settings.jwt_ttl_seconds, row["id"])

    session = transaction(engine, record)
    if session is None:
        raise InvalidCredentials()
    return row["id"], session


def start(uow, secret: str, ttl_seconds: int, customer_id: str) -> auth.SessionToken:
    """Open a session for the customer and issue its token; the customer's expired sessions are pruned."""
    token = auth.issue_session(secret, ttl_seconds, customer_id)
    now = clock.now_micros()
    uow.execute(
        customer_sessions.delete().where(
            customer_sessions.c.customer_id == customer_id, customer_sessions.c.expires_at <= now
        )
    )
    uow.execute(
        customer_sessions.insert().values(
            id=token.session_id,
            customer_id=customer_id,
            created_at=now,
            expires_at=clock.to_micros(token.expires_at),
            revoked_at=None,
        )
    )
    return token


# Built once: building this select on every request cost twice what running it does.
_SESSIONS = customer_sessions.join(customers, customers.c.id == customer_sessions.c.customer_id)
_LIVE = Prepared(
    select(customers.c.status)
    .select_from(_SESSIONS)
    .where(
        customer_sessions.c.id == bindparam("session_id"),
        customer_sessions.c.customer_id == bindparam("subject"),
        customer_sessions.c.revoked_at.is_(None),
    ),
    by_keys=ByKeys(  # a batch's payments read their sessions in one statement (`read_ahead_each`)
        Prepared(
            select(customer_sessions.c.id, customer_sessions.c.customer_id, customers.c.status)
            .select_from(_SESSIONS)
            .where(
                among(customer_sessions.c.id, "session_id"),
                among(customer_sessions.c.customer_id, "subject"),
                customer_sessions.c.revoked_at.is_(None),
            )
        ),
        ("session_id", "subject"),
    ),
)


def live_read(claims: auth.SessionClaims) -> Read:
    """The read `is_live` makes, to be read ahead (`puhui.db.prepared.read_ahead`)."""
    return _LIVE, {"session_id": claims.session_id, "subject": claims.subject}


def is_live(connection: Connection, claims: auth.SessionClaims) -> bool:
    """The token's session is open and its customer active (one indexed read per request)."""
    found = run(connection, *live_read(claims)).first()
    return found is not None and found[0] == CustomerStatus.active


def open_sessions(connection: Connection, customer_id: str) -> list[dict]:
    """The customer's sessions not yet ended or expired, newest first (their ids are the tokens' `jti`)."""
    rows = connection.execute(
        select(customer_sessions)
        .where(
            customer_sessions.c.customer_id == customer_id,
            customer_sessions.c.revoked_at.is_(None),
            customer_sessions.c.expires_at > clock.now_micros(),
        )
        .order_by(customer_sessions.c.created_at.desc(), customer_sessions.c.id)
    ).mappings()
    return [
        {"id": r["id"], "created_at": clock.iso(r["created_at"]), "expires_at": clock.iso(r["expires_at"])}
        for r in rows
    ]


def end(uow, customer_id: str, *, only: str | None = None, keep: str | None = None) -> int:
    """End the customer's open sessions (log-out): `only` that one, or every one but `keep`; how many."""
    match = and_(customer_sessions.c.customer_id == customer_id, customer_sessions.c.revoked_at.is_(None))
    if only is not None:
        match = and_(match, customer_sessions.c.id == only)
    if keep is not None:
        match = and_(match, customer_sessions.c.id != keep)
    return uow.execute(update(customer_sessions).where(match).values(revoked_at=clock.now_micros())).rowcount


def change_password(uow, customer_id: str, password_hash: str, *, keep: str | None = None) -> int:
    """Store the customer's new password (改密) and end every session but `keep`; publishes
    `identity.password_changed` (a takeover often changes the password first). How many ended."""
    customer_ops.set_password_hash(uow, customer_id, password_hash)
    outbox.publish(uow, customer_ops.TOPIC, "identity.password_changed", customer_id, {"customer_id": customer_id})
    return end(uow, customer_id, keep=keep)


def new_password_hash(engine: Engine, customer_id: str, current: str, new: str) -> str:
    """The hash of the customer's new password, once the current one is confirmed (throttled like a
    log-in) and the new one meets the policy. The caller stores it and ends the other sessions."""
    check_password(new)
    confirm_password(engine, customer_id, current, refusal=CurrentPasswordInvalid)
    return auth.hash_password(new)


def confirm_password(
    engine: Engine, customer_id: str, password: str, refusal: type[PuhuiError] = PaymentPasswordInvalid
) -> None:
    """A customer's password checked again inside an operation (a payment's second factor). A wrong one
    is refused (`payment_password_invalid`), audited and counted like a wrong log-in, and the log-in
    lock refuses it too, so a stolen session cannot be used to guess the password."""
    with reading(engine) as connection:
        row = customer_ops.password_of(connection, customer_id)
    if row is not None:
        _reserve(engine, row["phone_index"], None, None)
    stored = row["password_hash"] if row and row["status"] == CustomerStatus.active else None
    if stored is not None and auth.verify_password(stored, password):
        transaction(engine, lambda uow: throttle.clear(uow, row["phone_index"]))
        return
    transaction(engine, lambda uow: _audit(uow, customer_id, False, None, None, refusal(), action=CONFIRM_ACTION))
    raise refusal("the password is wrong")


def _reserve(engine: Engine, subject: str, source_ip: str | None, request_id: str | None) -> None:
    """Count the attempt before the slow hash; a locked phone is refused (429) and the refusal audited."""
    wait = transaction(engine, lambda uow: throttle.reserve_attempt(uow, subject))
    if wait is not None:
        refused = TooManyLoginAttempts(retry_after_seconds=wait)
        _audit_apart(engine, source_ip, request_id, refused)
        raise refused


def _audit_apart(engine: Engine, source_ip: str | None, request_id: str | None, error: PuhuiError) -> None:
    transaction(engine, lambda uow: _audit(uow, "anonymous", False, source_ip, request_id, error))


def _audit(
    uow,
    principal: str,
    ok: bool,
    source_ip: str | None,
    request_id: str | None,
    error: PuhuiError | None,
    action: str = ACTION,
) -> None:
    uow.execute(
        audit_log.insert().values(
            at=clock.now_micros(),
            principal=principal,
            action=action,
            target=principal if ok else None,
            source_ip=source_ip,
            request_id=(request_id or "")[:64] or None,
            status_code=200 if error is None else error.status,
            detail=None if error is None else json.dumps({"error": error.code}),
        )
    )
