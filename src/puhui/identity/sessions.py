"""Customer log-in (登录): phone + password (Argon2id) -> a short-lived session token (JWT).

Every attempt, good or bad, is written to the audit log (never the phone or the password). The
slow hash check runs outside any transaction; a wrong phone costs the same as a wrong password.
"""

from __future__ import annotations

import json

from sqlalchemy import Engine

from puhui import clock
from puhui.db import reading, transaction
from puhui.db.tables import audit_log
from puhui.errors import PuhuiError
from puhui.identity import auth, throttle
from puhui.identity import customers as customer_ops
from puhui.identity.errors import (
    AuthNotConfigured,
    InvalidCredentials,
    PaymentPasswordInvalid,
)
from puhui.identity.models import CustomerStatus, normalize_phone
from puhui.identity.vault import Vault
from puhui.settings import Settings

ACTION = "identity.login"
CONFIRM_ACTION = "identity.confirm_password"


def login(
    engine: Engine, vault: Vault, settings: Settings, phone: str, password: str,
    *, source_ip: str | None = None, request_id: str | None = None,
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

    def record(uow) -> None:  # type: ignore[no-untyped-def]
        if rehash is not None:
            customer_ops.set_password_hash(uow, row["id"], rehash)
        if ok:
            throttle.clear(uow, subject)  # the attempt was counted before the hash was checked
        _audit(uow, principal, ok, source_ip, request_id, None if ok else InvalidCredentials())

    transaction(engine, record)
    if not ok:
        raise InvalidCredentials()
    return row["id"], auth.issue_session(settings.jwt_secret, settings.jwt_ttl_seconds, row["id"])


def confirm_password(engine: Engine, customer_id: str, password: str) -> None:
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
    transaction(engine, lambda uow: _audit(uow, customer_id, False, None, None, PaymentPasswordInvalid(),
                                           action=CONFIRM_ACTION))
    raise PaymentPasswordInvalid("the password is wrong")


def _reserve(engine: Engine, subject: str, source_ip: str | None, request_id: str | None) -> None:
    """Count the attempt before the slow hash; a locked phone is refused (429) and the refusal audited."""
    wait = transaction(engine, lambda uow: throttle.reserve_attempt(uow, subject))
    if wait is not None:
        refused = throttle.TooManyLoginAttempts(retry_after_seconds=wait)
        _audit_apart(engine, source_ip, request_id, refused)
        raise refused


def _audit_apart(engine: Engine, source_ip: str | None, request_id: str | None, error: PuhuiError) -> None:
    transaction(engine, lambda uow: _audit(uow, "anonymous", False, source_ip, request_id, error))


def _audit(uow, principal: str, ok: bool, source_ip: str | None, request_id: str | None,  # type: ignore[no-untyped-def]
           error: PuhuiError | None, action: str = ACTION) -> None:
    uow.execute(
        audit_log.insert().values(
            at=clock.now_micros(), principal=principal, action=action, target=principal if ok else None,
            source_ip=source_ip, request_id=(request_id or "")[:64] or None,
            status_code=200 if error is None else error.status,
            detail=None if error is None else json.dumps({"error": error.code}),
        )
    )
