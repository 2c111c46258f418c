"""A P2P transfer's declared purpose (用途): checked, stored beside the payment, read back for its bill."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from puhui.db import UnitOfWork
from puhui.payments.errors import UnknownPurpose
from puhui.payments.models import Purpose
from puhui.payments.tables import payment_purposes


def checked(purpose: str | None) -> Purpose | None:
    """The purpose as a `Purpose`, None when none was declared; anything else is refused."""
    if purpose is None:
        return None
    try:
        return Purpose(purpose)
    except ValueError:
        raise UnknownPurpose(f"unknown purpose {purpose!r}; one of {', '.join(p.value for p in Purpose)}") from None


def record(uow: UnitOfWork, payment_id: str, purpose: Purpose | None) -> None:
    if purpose is not None:
        uow.execute(insert(payment_purposes).values(payment_id=payment_id, purpose=purpose.value))


def purpose_of(connection: Connection, payment_id: str) -> str | None:
    return connection.execute(
        select(payment_purposes.c.purpose).where(payment_purposes.c.payment_id == payment_id)
    ).scalar_one_or_none()


def with_purpose(connection: Connection, row: dict) -> dict:
    """A P2P payment's row with its declared purpose (None when it declared none, which its bill leaves out)."""
    return {**row, "purpose": purpose_of(connection, row["id"])}


def declared_of(connection: Connection, payment_ids: list[str]) -> dict[str, str]:
    """The declared purposes of those of `payment_ids` that have one."""
    found: dict[str, str] = {}
    for i in range(0, len(payment_ids), 500):
        chunk = payment_ids[i : i + 500]
        rows = connection.execute(select(payment_purposes).where(payment_purposes.c.payment_id.in_(chunk)))
        found.update({r.payment_id: r.purpose for r in rows})
    return found
