"""Spending limits, enforced atomically in the payment's own unit of work.

`consume` runs ONE upsert of the (subject, bucket, period) row (`used = used + a WHERE used + a <= limit`
when it exists): the row lock (PostgreSQL) or the single writer (SQLite) serialises concurrent
payments, so the limit is never exceeded; a refused payment rolls back whole.
"""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import and_, bindparam, case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from puhui import clock
from puhui.db import UnitOfWork
from puhui.db.prepared import Prepared, run
from puhui.identity.models import TIER_RULES, WalletTier
from puhui.money import format_minor
from puhui.payments.errors import LimitExceeded
from puhui.payments.models import QrKind, VerificationStrength, qr_daily_limit, qr_limit_bucket
from puhui.payments.tables import spending


def tier_period(period: str, today: dt.date) -> str:
    return "lifetime" if period == "lifetime" else str(today.year)


@functools.cache
def _counting(postgres: bool):
    """The one upsert that counts an amount against a limit, built once per dialect (building a
    statement costs far more than running a prepared one)."""
    insert = pg_insert(spending) if postgres else sqlite_insert(spending)
    values = insert.values(subject_id=bindparam("s"), bucket=bindparam("b"), period=bindparam("p"), used=bindparam("a"))
    return Prepared(
        values.on_conflict_do_update(
            index_elements=["subject_id", "bucket", "period"],
            set_={"used": spending.c.used + values.excluded.used},
            where=spending.c.used + values.excluded.used <= bindparam("limit"),
        ).returning(spending.c.used)
    )


def consume(uow: UnitOfWork, subject_id: str, bucket: str, period: str, amount: int, limit: int) -> None:
    """Count `amount` against the limit or raise LimitExceeded (the caller's transaction rolls back).
    One statement: the row is inserted with `amount`, or its `used` raised by it where that stays
    within the limit; no row comes back when it would not."""
    params = {"s": subject_id, "b": bucket, "p": period, "a": amount, "limit": limit}
    if amount > limit or run(uow.connection, _counting(uow.postgres), params).first() is None:
        raise LimitExceeded(
            f"the {bucket} limit of {format_minor(limit, 2)} CNY for {period} would be exceeded",
            bucket=bucket,
            period=period,
            limit=format_minor(limit, 2),
        )


def consume_tier(uow: UnitOfWork, customer_id: str, tier: WalletTier, amount: int) -> str:
    """Count a payment against the wallet class limit; returns its mark ("bucket@period")."""
    rule = TIER_RULES[tier]
    bucket, period = f"tier_{rule.period}", tier_period(rule.period, clock.business_date())
    consume(uow, customer_id, bucket, period, amount, rule.limit_minor)
    return f"{bucket}@{period}"


def consume_qr(uow: UnitOfWork, customer_id: str, kind: QrKind, strength: VerificationStrength, amount: int) -> str:
    """Count a QR payment against its daily limit; returns its mark ("" when paid by agreement)."""
    limit = qr_daily_limit(kind, strength)
    if limit is None:  # by agreement (digital certificate)
        return ""
    bucket, period = qr_limit_bucket(kind, strength), clock.business_date().isoformat()
    consume(uow, customer_id, bucket, period, amount, limit)
    return f"{bucket}@{period}"


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
