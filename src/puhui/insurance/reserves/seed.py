"""Policies loaded in bulk for a reserve run at scale (批量装载保单): a benchmark's or a simulation's
book, written straight into `insurance_policies` (COPY on PostgreSQL, executemany on SQLite). No
money moves here: the reserve end of day books the insurer's side of what the rows say."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass
from typing import Any

from sqlalchemy import Connection

from puhui import clock

COLUMNS = (
    "id",
    "customer_id",
    "client_id",
    "product_code",
    "product_version",
    "insurer_id",
    "insured_age",
    "social_insurance",
    "premium",
    "start_date",
    "end_date",
    "status",
    "refund",
    "created_at",
    "cancelled_at",
)


@dataclass(frozen=True, slots=True)
class PolicyRow:
    """One policy as stored (amounts in fen, times in UTC microseconds)."""

    id: str
    customer_id: str
    client_id: str
    product_code: str
    product_version: int
    insurer_id: str
    insured_age: int
    social_insurance: bool
    premium: int
    start_date: dt.date
    end_date: dt.date
    status: str
    refund: int | None
    created_at: int
    cancelled_at: int | None


def seed_policies(connection: Connection, rows: Iterable[PolicyRow]) -> int:
    """Write the rows in bulk in the caller's transaction; returns how many."""
    names = ", ".join(COLUMNS)
    driver: Any = connection.connection.driver_connection
    count = 0

    def counted() -> Iterator[tuple[Any, ...]]:
        nonlocal count
        for row in rows:
            count += 1
            yield astuple(row)

    if connection.dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f"COPY insurance_policies ({names}) FROM STDIN") as copy:
            for values in counted():
                copy.write_row(values)
        return count
    cursor = driver.cursor()
    try:
        sqlite_rows = (tuple(v.isoformat() if isinstance(v, dt.date) else v for v in r) for r in counted())
        cursor.executemany(
            f"INSERT INTO insurance_policies ({names}) VALUES ({', '.join('?' * len(COLUMNS))})", sqlite_rows
        )
    finally:
        cursor.close()
    return count


def synthetic_policies(
    insurer_id: str, count: int, first_sale: dt.date, sale_days: int, seed: int = 15, cancel_rate: float = 0.05
) -> Iterator[PolicyRow]:
    """`count` one-year medical policies sold evenly over `sale_days` days from `first_sale`, premiums
    from 200 to 2,000 CNY, a share cancelled after the cooling-off period with the unearned premium back."""
    from puhui.insurance.models import Cover, one_year_from, unearned_reserve

    draw = random.Random(seed)
    for n in range(count):
        sold = first_sale + dt.timedelta(days=n * sale_days // max(count, 1))
        cover: Cover = one_year_from(sold + dt.timedelta(days=1), draw.randrange(200_00, 2_000_00))
        created = clock.day_bounds(sold)[0] + 3_600_000_000
        status, refund, cancelled = "active", None, None
        if draw.random() < cancel_rate:
            on = cover.start + dt.timedelta(days=draw.randrange(15, cover.days))
            status, refund, cancelled = "cancelled", unearned_reserve(cover, on), clock.day_bounds(on)[0] + 1
        yield PolicyRow(
            f"pol_{insurer_id[-8:]}_{n:09d}",
            f"cus_{insurer_id[-8:]}_{n:09d}",
            f"seed-{n}",
            "med-e",
            1,
            insurer_id,
            30 + n % 40,
            n % 3 != 0,
            cover.premium,
            cover.start,
            cover.end,
            status,
            refund,
            created,
            cancelled,
        )
