"""Claims as read by the reserves (赔案数据), typed: payments made and claims still open by a date; and
the claims of one medical event (出险事件) with what they have paid or owe, which adjudication and the
reserves both read.

Dates are China business dates: a claim is paid on its `paid_date`, reported on its `reported_date`
(报案日期), and its accident date is the event date (出险日期). Amounts are Decimal yuan (元).

Case estimate (未决赔款 case reserve) of an open claim: an approved claim not yet paid owes its benefit; a
claim under review (人工审核) is held at what the event may still be compensated (补偿原则): the bill less
social insurance less what the insured's other claims for the event, on every policy, have paid or owe
(approved or paid), never below zero. That is prudent: the deductible, the ratio and the limit, which
review may yet apply, are not taken off, nor is another claim of the event still under review (each one
under review is held at the whole remainder)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, Connection, RowMapping, and_, func, or_, select

from puhui.insurance.claims.models import event_category
from puhui.insurance.claims.tables import insurance_claim_documents as documents
from puhui.insurance.claims.tables import insurance_claims as claims

PAID, APPROVED, REVIEW = "paid", "approved", "review"
COMPENSATED = (APPROVED, PAID)  # what counts as paid for an event (补偿): paid, or owed and waiting for money


@dataclass(frozen=True, slots=True)
class ClaimPayment:
    """A claim paid (已决赔款): when the loss happened, was reported and was paid, and how much."""

    claim_id: str
    policy_id: str
    insurer_id: str
    product_code: str
    accident_date: dt.date
    reported_date: dt.date
    paid_date: dt.date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class OpenClaim:
    """A reported claim not yet paid or declined (未决赔案) and its case estimate (未决赔款 case reserve):
    the adjudicated benefit, or under review what the event may still be compensated (the module's rule)."""

    claim_id: str
    policy_id: str
    insurer_id: str
    product_code: str
    accident_date: dt.date
    reported_date: dt.date
    case_estimate: Decimal
    status: str


def _yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def claim_payments(connection: Connection, through: dt.date) -> list[ClaimPayment]:
    """Every claim paid on or before `through` (China business date), oldest payment first."""
    query = (
        select(claims)
        .where(claims.c.status == PAID, claims.c.paid_date <= through)
        .order_by(claims.c.paid_date, claims.c.id)
    )
    return [
        ClaimPayment(
            claim_id=row["id"],
            policy_id=row["policy_id"],
            insurer_id=row["insurer_id"],
            product_code=row["product_code"],
            accident_date=row["event_date"],
            reported_date=row["reported_date"],
            paid_date=row["paid_date"],
            amount=_yuan(row["benefit"]),
        )
        for row in connection.execute(query).mappings()
    ]


def open_claims(connection: Connection, through: dt.date) -> list[OpenClaim]:
    """Claims reported on or before `through` and still open at its end: under review or approved and
    not yet paid, or paid only after `through`. A declined claim is never open (its case is closed).
    Decisions are read as they stand now: a claim declined after `through` is not counted."""
    still_open = or_(
        claims.c.status.in_((REVIEW, APPROVED)),
        and_(claims.c.status == PAID, claims.c.paid_date > through),
    )
    query = (
        select(claims)
        .where(claims.c.reported_date <= through, still_open)
        .order_by(claims.c.reported_date, claims.c.id)
    )
    return [
        OpenClaim(
            claim_id=row["id"],
            policy_id=row["policy_id"],
            insurer_id=row["insurer_id"],
            product_code=row["product_code"],
            accident_date=row["event_date"],
            reported_date=row["reported_date"],
            case_estimate=_yuan(case_estimate(connection, row)),
            status=row["status"],
        )
        for row in connection.execute(query).mappings().all()
    ]


def case_estimate(connection: Connection, row: RowMapping) -> int:
    """An open claim's case estimate in fen: its benefit once decided; under review the event's remaining
    compensable amount, the bill less social insurance less what the event's other claims paid or owe."""
    if row["status"] != REVIEW:
        return int(row["benefit"])
    others = event_benefits(connection, row["customer_id"], row["condition"], row["event_date"], row["id"])
    return max(int(row["billed"]) - int(row["social_insurance_paid"]) - others, 0)


# -- one medical event (出险事件) ------------------------------------------------------------------------


def same_event(customer_id: str, condition: str, event_date: dt.date) -> ColumnElement[bool]:
    """The claims of one medical event (`models.event_category`): the insured, the date and the
    diagnosis category (the code itself or any code under it)."""
    category = event_category(condition)
    return and_(
        claims.c.customer_id == customer_id,
        claims.c.event_date == event_date,
        or_(claims.c.condition == category, claims.c.condition.startswith(f"{category}.", autoescape=True)),
    )


def event_benefits(
    connection: Connection, customer_id: str, condition: str, event_date: dt.date, excluding: str | None = None
) -> int:
    """What the insured's claims for the event have paid or owe (approved, not yet paid), on every policy,
    in fen; `excluding` a claim (the one being decided or estimated)."""
    query = select(func.coalesce(func.sum(claims.c.benefit), 0)).where(
        same_event(customer_id, condition, event_date), claims.c.status.in_(COMPENSATED)
    )
    if excluding is not None:
        query = query.where(claims.c.id != excluding)
    return int(connection.execute(query).scalar_one())


def benefits_on_policy(connection: Connection, policy_id: str) -> int:
    """What the policy's claims have paid or owe (approved or paid), in fen."""
    query = select(func.coalesce(func.sum(claims.c.benefit), 0)).where(
        claims.c.policy_id == policy_id, claims.c.status.in_(COMPENSATED)
    )
    return int(connection.execute(query).scalar_one())


def compensation_on_policy(connection: Connection, policy_id: str, as_of: int | None = None) -> tuple[int, int]:
    """(paid, owed): what the policy's claims had paid and what they had been approved for and still owed,
    in fen, now or as they stood at `as_of` (UTC microseconds: a claim approved or paid after it is left out,
    one paid after it counts as owed)."""
    query = select(claims.c.status, claims.c.benefit, claims.c.decided_at, claims.c.created_at, claims.c.paid_at)
    paid = owed = 0
    for row in connection.execute(query.where(claims.c.policy_id == policy_id, claims.c.status.in_(COMPENSATED))):
        decided = row.decided_at if row.decided_at is not None else row.created_at
        if as_of is not None and decided > as_of:
            continue
        if row.status == PAID and (as_of is None or (row.paid_at is not None and row.paid_at <= as_of)):
            paid += int(row.benefit)
        else:
            owed += int(row.benefit)
    return paid, owed


def reported_dates(connection: Connection, customer_id: str) -> list[dt.date]:
    """The report dates (报案日期) of every claim the customer has made, oldest first."""
    query = select(claims.c.reported_date).where(claims.c.customer_id == customer_id).order_by(claims.c.reported_date)
    return [_date(d) for d in connection.execute(query).scalars()]


def document_uses(connection: Connection, hashes: Iterable[str]) -> dict[str, int]:
    """How many earlier claims carried each hash, as a document's own sha256 or as a claim's combined one."""
    wanted = sorted(set(hashes))
    uses = dict.fromkeys(wanted, 0)
    if not wanted:
        return uses
    for column, table in ((documents.c.sha256, documents), (claims.c.documents_sha256, claims)):
        query = select(column, func.count()).select_from(table).where(column.in_(wanted)).group_by(column)
        for value, count in connection.execute(query):
            uses[value] += count
    return uses


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
