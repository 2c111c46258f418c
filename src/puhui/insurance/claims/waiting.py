"""Approved claims waiting for the insurer's money (待支付赔案): the list staff work from, and paying them
once the money is there.

A claim approved while the insurer's held account (insurer.<id>.premium_held) held less than its benefit
stays `approved`, unpaid, with the reason `insurer_funds_insufficient`. Its turn is its approval (核赔
通过: `decided_at`, then the claim id), oldest first.

Paying the waiting claims (`pay_waiting`, in the caller's unit of work) goes through `service.pay`, the one
payment path (transfer `clm.<claim id>`, the conditional `approved → paid`, the `insurance.claim_paid`
event), so it is idempotent and racing payers pay a claim once. The rule is strict first in, first out
(先到先付): claims are paid in turn while the held money covers the next one, and the first that does not
fit stops the sweep, even when a later, smaller one would fit. So no claim is overtaken by a later one (a
large bill is not starved by a stream of small ones) and what the insurer must wire in to move the queue
is plain: the head's shortfall. Settlement's funding (理赔备付金, `settlement.service.fund`) runs it as
soon as the money arrives; staff may run it on demand, e.g. after premiums came in.

On PostgreSQL the sweep first locks the insurer's waiting claims in turn order (`lock`), before any money
moves: the order every payer takes (a claim's row, then the ledger's accounts), so a funding's sweep and
an approval do not deadlock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, func, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.insurance.claims import service
from puhui.insurance.claims.tables import insurance_claims as claims
from puhui.insurance.service import insurer_json
from puhui.money import format_minor

TURN = (claims.c.decided_at, claims.c.id)  # oldest approval first


@dataclass(frozen=True, slots=True)
class Sweep:
    """What paying an insurer's waiting claims did: the claims paid, in turn, and how many still wait."""

    paid: tuple[str, ...]
    waiting: int


def _waiting(insurer_id: str | None) -> Select[Any]:
    query = select(claims).where(claims.c.status == service.APPROVED)
    return query if insurer_id is None else query.where(claims.c.insurer_id == insurer_id)


def lock(uow: UnitOfWork, insurer_id: str) -> list[tuple[str, int]]:
    """The insurer's waiting claims in turn, (claim id, benefit in fen), locked on PostgreSQL."""
    query = (
        select(claims.c.id, claims.c.benefit)
        .where(claims.c.status == service.APPROVED, claims.c.insurer_id == insurer_id)
        .order_by(*TURN)
    )
    rows = uow.execute(query.with_for_update() if uow.postgres else query).all()
    return [(str(claim_id), int(benefit)) for claim_id, benefit in rows]


def waiting_count(connection: Connection, insurer_id: str) -> int:
    query = select(func.count()).where(claims.c.status == service.APPROVED, claims.c.insurer_id == insurer_id)
    return int(connection.execute(query).scalar_one())


def pay_waiting(uow: UnitOfWork, insurer_id: str) -> Sweep:
    """Pay the insurer's waiting claims in turn while its held money covers the next one; the first that
    does not fit stops the sweep (strict first in, first out)."""
    paid = []
    for claim_id, benefit in lock(uow, insurer_id):
        if benefit > service.held(uow.connection, insurer_id):
            break
        if service.pay(uow, claim_id):
            paid.append(claim_id)
    return Sweep(tuple(paid), waiting_count(uow.connection, insurer_id))


def pay_waiting_json(uow: UnitOfWork, insurer_id: str) -> dict[str, Any]:
    """Staff pay an insurer's waiting claims now (e.g. after premiums came in): what was paid, what waits."""
    insurer_json(uow.connection, insurer_id)
    sweep = pay_waiting(uow, insurer_id)
    return {
        "insurer_id": insurer_id,
        "claims_paid": list(sweep.paid),
        "claims_waiting": sweep.waiting,
        "held": format_minor(service.held(uow.connection, insurer_id), 2),
    }


# -- the list (待支付赔案) ------------------------------------------------------------------------------


def awaiting_payment(connection: Connection, limit: int, insurer_id: str | None = None) -> dict[str, Any]:
    """Approved claims not yet paid, oldest approval first (at most `limit`), and per insurer with any
    (all of them, not only those listed): how many wait, what they owe, what is held and the shortfall.
    `insurer_id` filters (an insurer with none, or none of that id, lists nothing)."""
    rows = connection.execute(_waiting(insurer_id).order_by(*TURN).limit(limit)).mappings().all()
    listed = [
        {
            "claim_id": row["id"],
            "insurer_id": row["insurer_id"],
            "policy_id": row["policy_id"],
            "customer_id": row["customer_id"],
            "owed": format_minor(row["benefit"], 2),
            "approved_at": clock.iso(row["decided_at"] if row["decided_at"] is not None else row["created_at"]),
            "reported_date": row["reported_date"].isoformat(),
        }
        for row in rows
    ]
    return {"claims": listed, "insurers": _by_insurer(connection, insurer_id)}


def _by_insurer(connection: Connection, insurer_id: str | None) -> list[dict[str, Any]]:
    query = select(claims.c.insurer_id, func.count(), func.sum(claims.c.benefit)).where(
        claims.c.status == service.APPROVED
    )
    if insurer_id is not None:
        query = query.where(claims.c.insurer_id == insurer_id)
    totals = connection.execute(query.group_by(claims.c.insurer_id).order_by(claims.c.insurer_id)).all()
    found = []
    for insurer, count, owed in totals:
        held = service.held(connection, str(insurer))
        found.append(
            {
                "insurer_id": str(insurer),
                "claims": int(count),
                "owed": format_minor(int(owed), 2),
                "held": format_minor(held, 2),
                "shortfall": format_minor(max(int(owed) - held, 0), 2),
            }
        )
    return found
