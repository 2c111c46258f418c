"""Consent (个人信息处理同意) per purpose, with a separate consent (单独同意) for sensitive personal
information. Records are append-only; for each (purpose, sensitive) the latest record wins, so a
withdrawal is simply a later record with `granted = false`.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.events import outbox
from puhui.identity import customers as customer_ops
from puhui.identity.errors import ConsentRequired
from puhui.identity.models import Actor, ConsentPurpose
from puhui.identity.tables import consents

TOPIC = "identity"

REGISTRATION_CONSENTS = (ConsentPurpose.payments,)
"""Without consent to process personal information for payments (the payment service agreement and privacy
notice: PIPL 个人信息保护法 art. 13-14, the PBOC payment-account rules) no wallet is opened: the console's
sign-up and `POST /v1/customers` ask for the same."""


def require_registration_consents(purposes: list[ConsentPurpose]) -> list[ConsentPurpose]:
    """The purposes a sign-up consents to, once each in the order given; `ConsentRequired` (naming the
    missing ones) unless every one of REGISTRATION_CONSENTS is among them."""
    given = list(dict.fromkeys(ConsentPurpose(p) for p in purposes))
    missing = [p.value for p in REGISTRATION_CONSENTS if p not in given]
    if missing:
        raise ConsentRequired(f"consent to {', '.join(missing)} is required to open a wallet", missing=missing)
    return given


def record_registration_consents(
    uow: UnitOfWork, customer_id: str, purposes: list[ConsentPurpose], actor: Actor | None
) -> None:
    """Record the consents given at sign-up, in the sign-up's transaction; recorded by the customer on a self
    sign-up (`actor` None), else by the staff member at the counter."""
    for purpose in require_registration_consents(purposes):
        record_consent(
            uow, customer_id, purpose, granted=True, sensitive=False, actor=actor or _Self(customer_id, "customer")
        )


def record_consent(
    uow: UnitOfWork, customer_id: str, purpose: ConsentPurpose, *, granted: bool, sensitive: bool, actor: Actor
) -> dict:
    """Grant or withdraw consent for one purpose (and, separately, for its sensitive information)."""
    customer_ops.require_active(uow.connection, customer_id, lock=True)
    now = clock.now_micros()
    uow.execute(
        consents.insert().values(
            customer_id=customer_id,
            purpose=purpose.value,
            sensitive=sensitive,
            granted=granted,
            recorded_by=actor.id,
            at=now,
        )
    )
    outbox.publish(
        uow,
        TOPIC,
        "identity.consent_recorded",
        customer_id,
        {"customer_id": customer_id, "purpose": purpose.value, "sensitive": sensitive, "granted": granted},
    )
    return {
        "purpose": purpose.value,
        "sensitive": sensitive,
        "granted": granted,
        "at": clock.from_micros(now).isoformat(),
    }


class _Self:
    def __init__(self, id: str, role: str) -> None:
        self.id, self.role = id, role


def consent_history(connection: Connection, customer_id: str) -> list[dict]:
    rows = connection.execute(
        select(consents).where(consents.c.customer_id == customer_id).order_by(consents.c.seq)
    ).mappings()
    return [
        {
            "purpose": r["purpose"],
            "sensitive": r["sensitive"],
            "granted": r["granted"],
            "recorded_by": r["recorded_by"],
            "at": clock.from_micros(r["at"]).isoformat(),
        }
        for r in rows
    ]


def current_consents(connection: Connection, customer_id: str) -> list[dict]:
    """The standing consent per (purpose, sensitive): the latest record of each."""
    latest: dict[tuple[str, bool], dict] = {}
    for record in consent_history(connection, customer_id):
        latest[(record["purpose"], record["sensitive"])] = record
    return [{k: v for k, v in record.items() if k != "recorded_by"} for _, record in sorted(latest.items())]


def has_consent(connection: Connection, customer_id: str, purpose: ConsentPurpose, *, sensitive: bool = False) -> bool:
    """Whether the customer's latest word on `purpose` (sensitive or not) is a grant."""
    row = connection.execute(
        select(consents.c.granted)
        .where(
            consents.c.customer_id == customer_id,
            consents.c.purpose == purpose.value,
            consents.c.sensitive == sensitive,
        )
        .order_by(consents.c.seq.desc())
        .limit(1)
    ).first()
    return bool(row and row[0])
