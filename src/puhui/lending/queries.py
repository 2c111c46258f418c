"""What other packages may read of lending (its tables are its own): flows of a span of business
days and the loan book, for supervision (监管报表), the dashboard and the simulator."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Connection, func, literal_column, select

from puhui.ledger import queries as ledger_queries
from puhui.lending.tables import loan_repayments, loans


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


def outstanding_by_loan(connection: Connection, disbursed_by: dt.date | None = None) -> list[tuple[str, str, int]]:
    """(customer, delinquency bucket, outstanding principal in fen) of every active loan, now; with
    `disbursed_by`, of the loans disbursed (放款) on that business date or before it only.

    The outstanding principal is the loan's principal receivable in the ledger (`loan.<id>.principal`),
    the figure the loan book shows (`GET /v1/lending/loans`, `service.get_loan`, the ops console's
    /ops/loans) and the statement reconciles to: the principal lent less every principal repayment —
    scheduled, early partial or full, and a merchant's refund of a pay-later purchase, which repays its
    loan — and less what was written off. (The instalments' `principal_paid` is not it: an early
    partial repayment re-amortizes the schedule, lowering the instalments' principal instead of paying
    them.) Paid-off and written-off loans owe nothing and are not listed.

    It is the balance now and the delinquency bucket now, even with `disbursed_by` in the past: the lending
    tables date disbursements and repayments but record neither when a loan was written off nor its past
    buckets, so the balance as of an earlier date cannot be told from them."""
    principal = literal_column(
        ledger_queries.balance_sql(f"'loan.' || {loans.name}.{loans.c.id.name} || '.principal'", debit_normal=True),
        BigInteger,
    )
    query = select(loans.c.customer_id, loans.c.bucket, principal).where(loans.c.status == "active")
    if disbursed_by is not None:
        query = query.where(loans.c.start_day <= disbursed_by.toordinal())
    rows = connection.execute(query.order_by(loans.c.id))
    return [(customer, bucket, int(owed or 0)) for customer, bucket, owed in rows]


def loans_by_status_and_bucket(connection: Connection) -> list[tuple[str, str, int]]:
    """(status: active | paid_off | written_off, delinquency bucket 逾期分类: current | M1 | … | M3+,
    how many loans) of every status and bucket that has loans."""
    rows = connection.execute(
        select(loans.c.status, loans.c.bucket, func.count()).group_by(loans.c.status, loans.c.bucket)
    )
    return [(status, bucket, int(n)) for status, bucket, n in rows]
