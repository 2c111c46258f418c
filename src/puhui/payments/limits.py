"""Spending limits, enforced atomically in the payment's own unit of work.

`consume` inserts the (subject, bucket, period) row if missing, then runs ONE conditional UPDATE
(`used = used + a WHERE used + a <= limit`): the row lock (PostgreSQL) or the single writer (SQLite)
serialises concurrent payments, so the limit is never exceeded; a refused payment rolls back whole.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from puhui import clock
from puhui.db import UnitOfWork
from puhui.identity.models import TIER_RULES, WalletTier
from puhui.payments.models import (
    LimitExceeded,
    QrKind,
    VerificationStrength,
    qr_daily_limit,
    qr_limit_bucket,
)
from puhui.payments.tables import spending


def tier_period(period: str, today: dt.date) -> str:
    return "lifetime" if period == "lifetime" else str(today.year)


def consume(uow: UnitOfWork, subject_id: str, bucket: str, period: str, amount: int, limit: int) -> None:
    """Count `amount` against the limit or raise LimitExceeded (the caller's transaction rolls back)."""
    insert = pg_insert(spending) if uow.postgres else sqlite_insert(spending)
    uow.execute(
        insert.values(subject_id=subject_id, bucket=bucket, period=period, used=0).on_conflict_do_nothing(
            index_elements=["subject_id", "bucket", "period"]
        )
    )
    result = uow.execute(
        spending.update()
        .where(
            and_(
                spending.c.subject_id == subject_id,
                spending.c.bucket == bucket,
                spending.c.period == period,
                spending.c.used + amount <= limit,
            )
        )
        .values(used=spending.c.used + amount)
    )
    if result.rowcount != 1:
        raise LimitExceeded(
            f"the {bucket} limit of {limit} fen for {period} would be exceeded", bucket=bucket, period=period
        )


def consume_tier(uow: UnitOfWork, customer_id: str, tier: WalletTier, amount: int) -> None:
    rule = TIER_RULES[tier]
    consume(uow, customer_id, f"tier_{rule.period}", tier_period(rule.period, clock.business_date()), amount,
            rule.limit_minor)


def consume_qr(uow: UnitOfWork, customer_id: str, kind: QrKind, strength: VerificationStrength, amount: int) -> None:
    limit = qr_daily_limit(kind, strength)
    if limit is None:  # by agreement (digital certificate)
        return
    consume(uow, customer_id, qr_limit_bucket(kind, strength), clock.business_date().isoformat(), amount, limit)
