"""Claims as read by the reserves (赔案数据), typed: payments made and claims still open by a date.

Dates are China business dates: a claim is paid on its `paid_date`, reported on its `reported_date`
(报案日期), and its accident date is the event date (出险日期). Amounts are Decimal yuan (元)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, RowMapping, and_, func, or_, select

from puhui.insurance.claims.tables import insurance_claim_documents as documents
from puhui.insurance.claims.tables import insurance_claims as claims

PAID, APPROVED, REVIEW = "paid", "approved", "review"


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
    the adjudicated benefit, or under review the billed amount less social insurance."""

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
            case_estimate=_case_estimate(row),
            status=row["status"],
        )
        for row in connection.execute(query).mappings()
    ]


def _case_estimate(row: RowMapping) -> Decimal:
    if row["status"] == REVIEW:
        return _yuan(row["billed"] - row["social_insurance_paid"])
    return _yuan(row["benefit"])


def benefits_on_policy(connection: Connection, policy_id: str) -> int:
    """What the policy's claims have paid or owe (approved or paid), in fen."""
    query = select(func.coalesce(func.sum(claims.c.benefit), 0)).where(
        claims.c.policy_id == policy_id, claims.c.status.in_(("approved", "paid"))
    )
    return int(connection.execute(query).scalar_one())


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
