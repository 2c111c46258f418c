"""What other packages may read of lending (its tables are its own): flows of a span of business
days and the loan book, for supervision (监管报表), the dashboard and the simulator."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, func, select

from puhui.lending.tables import loan_instalments, loan_repayments, loans


def disbursed(connection: Connection, first: dt.date, last: dt.date) -> tuple[int, int]:
    """(how many loans, Σ principal in fen) disbursed (放款) on the business days first..last."""
    count, total = connection.execute(
        select(func.count(), func.coalesce(func.sum(loans.c.principal), 0)).where(
            loans.c.start_day.between(first.toordinal(), last.toordinal())
        )
    ).one()
    return int(count), int(total)


def repaid(connection: Connection, first: dt.date, last: dt.date) -> tuple[int, int]:
    """(how many repayments, Σ amount in fen) received on the business days first..last."""
    days = (first.toordinal(), last.toordinal())
    count, total = connection.execute(
        select(func.count(), func.coalesce(func.sum(loan_repayments.c.amount), 0)).where(
            loan_repayments.c.business_day.between(*days)
        )
    ).one()
    return int(count), int(total)


def outstanding_by_loan(connection: Connection) -> list[tuple[str, str, int]]:
    """(customer, delinquency bucket, outstanding principal in fen) of every active loan."""
    paid = (
        select(loan_instalments.c.loan_id, func.sum(loan_instalments.c.principal_paid).label("paid"))
        .group_by(loan_instalments.c.loan_id)
        .subquery()
    )
    rows = connection.execute(
        select(loans.c.customer_id, loans.c.bucket, loans.c.principal, func.coalesce(paid.c.paid, 0))
        .select_from(loans.outerjoin(paid, paid.c.loan_id == loans.c.id))
        .where(loans.c.status == "active")
    )
    return [(customer, bucket, int(principal) - int(done)) for customer, bucket, principal, done in rows]


def loans_by_status_and_bucket(connection: Connection) -> list[tuple[str, str, int]]:
    """(status: active | paid_off | written_off, delinquency bucket 逾期分类: current | M1 | … | M3+,
    how many loans) of every status and bucket that has loans."""
    rows = connection.execute(
        select(loans.c.status, loans.c.bucket, func.count()).group_by(loans.c.status, loans.c.bucket)
    )
    return [(status, bucket, int(n)) for status, bucket, n in rows]
