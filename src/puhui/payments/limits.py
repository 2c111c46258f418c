"""Spending limits, enforced atomically in the payment's own unit of work.

`consume` runs ONE upsert of the (subject, bucket, period) row (`used = used + a WHERE used + a <= limit`
when it exists), and `consume_all` one upsert of a row per limit: the row lock (PostgreSQL) or the single
writer (SQLite) serialises concurrent payments, so the limit is never exceeded; a refused payment rolls
back whole.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from puhui import clock
from puhui.db import UnitOfWork
from puhui.db.prepared import Prepared, Read, Rows, run_all
from puhui.identity.models import TIER_RULES, WalletTier
from puhui.money import format_minor
from puhui.payments.errors import LimitExceeded
from puhui.payments.models import QR_DAILY_LIMITS, QR_DAY_BUCKET, QrKind, VerificationStrength, qr_daily_limits
from puhui.payments.tables import spending


def tier_period(period: str, today: dt.date) -> str:
    return "lifetime" if period == "lifetime" else str(today.year)


@functools.cache
def _counting(postgres: bool, rows: int) -> Prepared:
    """The one upsert that counts an amount against `rows` limits of one subject, a row each, built once
    per dialect and count (building a statement costs far more than running a prepared one). A row's
    limit is picked by its bucket (a payment's limits are of different buckets); it returns the buckets
    it counted."""
    insert = pg_insert(spending) if postgres else sqlite_insert(spending)
    values = insert.values(
        [
            {
                "subject_id": bindparam(f"s{i}"),
                "bucket": bindparam(f"b{i}"),
                "period": bindparam(f"p{i}"),
                "used": bindparam(f"a{i}"),
            }
            for i in range(rows)
        ]
    )
    limit = (
        case(
            *((values.excluded.bucket == bindparam(f"k{i}"), bindparam(f"l{i}")) for i in range(rows - 1)),
            else_=bindparam(f"l{rows - 1}"),
        )
        if rows > 1
        else bindparam("l0")
    )
    return Prepared(
        values.on_conflict_do_update(
            index_elements=["subject_id", "bucket", "period"],
            set_={"used": spending.c.used + values.excluded.used},
            where=spending.c.used + values.excluded.used <= limit,
        ).returning(spending.c.bucket)
    )


UNCAPPED = 2**62
"""The limit of a total counted with no cap (a QR payment at level A, by agreement): never reached, and
`used + amount` stays within a BIGINT."""


@dataclass(frozen=True)
class Counted:
    """A limit a payment counts against: its bucket, its period and the limit in fen (`UNCAPPED`: counted
    only). `name` says what the limit is, for the refusal; the bucket's name by default."""

    bucket: str
    period: str
    limit: int
    name: str = ""
    stronger: tuple[str, int] | None = None
    """A stronger verification that would lift the limit, and the limit in fen it would have then (the
    QR day limit at level C: `two_factors`, level B's 5,000 CNY); None when none would."""

    @property
    def mark(self) -> str:
        """How a payment records it, so a refund gives the amount back ("bucket@period")."""
        return f"{self.bucket}@{self.period}"


def consume(uow: UnitOfWork, subject_id: str, bucket: str, period: str, amount: int, limit: int) -> None:
    """Count `amount` against the limit or raise LimitExceeded (the caller's transaction rolls back).
    One statement: the row is inserted with `amount`, or its `used` raised by it where that stays
    within the limit; no row comes back when it would not."""
    consume_all(uow, subject_id, [Counted(bucket, period, limit)], amount)


def consume_all(uow: UnitOfWork, subject_id: str, counted: list[Counted], amount: int) -> str | None:
    """Count `amount` against every limit of `counted` (on PostgreSQL in one round trip), or raise
    LimitExceeded for the first it would exceed; returns their marks, joined."""
    returned = run_all(uow.connection, counting(uow.postgres, subject_id, counted, amount))
    return settled(counted, amount, returned, uow.connection, subject_id)


def counting(postgres: bool, subject_id: str, counted: list[Counted], amount: int) -> list[Read]:
    """The statement that counts `amount` against `counted` (none when no limit fits it), for a caller
    sending it with others (`puhui.db.prepared.run_all`); `settled` then judges what it returned."""
    fits = [c for c in counted if amount <= c.limit]  # an amount over a limit itself needs no counting
    if not fits:
        return []
    values: dict[str, Any] = {}
    for i, c in enumerate(fits):
        values.update({f"s{i}": subject_id, f"b{i}": c.bucket, f"p{i}": c.period, f"a{i}": amount, f"l{i}": c.limit})
        if i < len(fits) - 1:  # the last row's limit is the CASE's ELSE
            values[f"k{i}"] = c.bucket
    return [(_counting(postgres, len(fits)), values)]


def settled(
    counted: list[Counted],
    amount: int,
    returned: list[Rows],
    connection: Connection | None = None,
    subject_id: str | None = None,
) -> str | None:
    """The marks of `counted` once `counting`'s statement returned `returned`, or LimitExceeded for the
    first limit it did not count (the caller's unit of work then rolls them all back). Given the
    `connection` and `subject_id` it counted on, a refusal a stronger verification would lift says so
    (`refusal`)."""
    found = {row[0] for rows in returned for row in rows.all()}
    over = next((c for c in counted if c.bucket not in found), None)
    if over is not None:
        raise refusal(over, counted, found, amount, connection, subject_id)
    return join_marks(*(c.mark for c in counted))


def refusal(
    over: Counted,
    counted: list[Counted],
    found: set[str],
    amount: int,
    connection: Connection | None,
    subject_id: str | None,
) -> LimitExceeded:
    """The refusal of `over`: which limit, of how much, for which period. When a stronger verification
    would lift it (`Counted.stronger`: the QR day limit at level C) and the payment then fits every
    limit (each other one counted it, and the day's total with it stays within the stronger level's
    limit), it also says so: a sentence, and `stronger_verification` (the level to pay with) and
    `stronger_verification_limit` (its day limit), so the payer can pay again with the password."""
    detail = (
        f"{over.name or f'the {over.bucket} limit'} of {format_minor(over.limit, 2)} CNY for {over.period} "
        "would be exceeded"
    )
    extra: dict[str, Any] = {"bucket": over.bucket, "period": over.period, "limit": format_minor(over.limit, 2)}
    lifted = over.stronger
    others_fit = all(c.bucket in found for c in counted if c is not over)
    if lifted is not None and others_fit and connection is not None and subject_id is not None:
        level, limit = lifted
        if used(connection, subject_id, over.bucket, over.period) + amount <= limit:
            detail += (
                f". With a stronger verification ({level}: the payer's password checked again in the payment) the "
                f"limit is {format_minor(limit, 2)} CNY, which this payment fits: pay again with it"
            )
            extra.update(stronger_verification=level, stronger_verification_limit=format_minor(limit, 2))
    return LimitExceeded(detail, **extra)


def used(connection: Connection, subject_id: str, bucket: str, period: str) -> int:
    """What is counted so far against one limit (fen; 0 before the first payment of its period)."""
    found = connection.execute(
        select(spending.c.used).where(
            spending.c.subject_id == subject_id, spending.c.bucket == bucket, spending.c.period == period
        )
    ).scalar()
    return int(found or 0)


def tier_counted(tier: WalletTier) -> Counted:
    """The wallet class limit (账户分类限额) a payment counts against today."""
    rule = TIER_RULES[tier]
    return Counted(f"tier_{rule.period}", tier_period(rule.period, clock.business_date()), rule.limit_minor)


def qr_counted(kind: QrKind, strength: VerificationStrength) -> list[Counted]:
    """The QR daily limits a payment counts against (`models.qr_daily_limits`): the customer's day total of
    every QR payment, capped by this payment's verification level (counted uncapped at level A, by
    agreement), and for a static code also the day's static total. One upsert counts them all."""
    day = clock.business_date().isoformat()
    return [
        Counted(
            bucket,
            day,
            UNCAPPED if limit is None else limit,
            _qr_name(bucket, strength),
            stronger_qr_verification(strength) if bucket == QR_DAY_BUCKET else None,
        )
        for bucket, limit in qr_daily_limits(kind, strength)
    ]


def stronger_qr_verification(strength: VerificationStrength) -> tuple[str, int] | None:
    """The stronger verification the platform can prove that would raise the QR day limit, with the limit
    it would have: level C (`one_factor`) to B (`two_factors`, the payment password). Level A needs a
    digital certificate, which Puhui does not issue (`verification.proven`), so from B there is none."""
    if strength == VerificationStrength.one_factor:
        limit = QR_DAILY_LIMITS[VerificationStrength.two_factors]
        assert limit is not None
        return VerificationStrength.two_factors.value, limit
    return None


def _qr_name(bucket: str, strength: VerificationStrength) -> str:
    if bucket == QR_DAY_BUCKET:
        return f"the QR daily limit at verification {strength.value} (the day's QR payments, static and dynamic)"
    return "the static-QR daily limit"


def join_marks(*marks: str) -> str | None:
    return ";".join(m for m in marks if m) or None


def give_back(uow: UnitOfWork, subject_id: str, marks: str | None, amount: int) -> None:
    """A refund gives `amount` back to every limit its payment was counted against (never below 0)."""
    for mark in (marks or "").split(";"):
        if not mark:
            continue
        bucket, period = mark.split("@", 1)
        where = and_(spending.c.subject_id == subject_id, spending.c.bucket == bucket, spending.c.period == period)
        uow.execute(
            spending.update()
            .where(where)
            .values(used=case((spending.c.used > amount, spending.c.used - amount), else_=0))
        )
