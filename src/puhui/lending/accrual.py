"""How far a loan's interest is accrued (计息至), the day it was paid off (结清日) and the day it was written
off (核销日).

End of day accrues interest on active loans only, so a loan paid off (结清) accrues nothing after its
payoff: its interest is accrued through the last end of day that ran before the payoff, never later,
however many end-of-day runs follow. Which runs came before is told by time (a run's `finished_at`
against the paying-off repayment's `created_at`; end of day and repayments are serialized, a run
holding the loans while it runs), so a catch-up run of an earlier date after the payoff does not count.
At the same instant (a clock that stands still, as in tests) a run of the payoff's own date counts as
after it, one of an earlier date as before.

A written-off loan (已核销) accrues nothing after its write-off either: the end of day that wrote it off
accrued that day's interest first (step 2 before step 5 of `eod`) and then wrote off what was receivable;
later runs accrue active loans only, and money recovered afterwards is recovery income, not interest. So
its interest is accrued through its write-off date, however many end-of-day runs follow. The lending rows
keep that date without a column of their own: the run that wrote the loan off counted its days past due
from its oldest unpaid instalment (`eod.PAST_DUE`), and neither has moved since (end of day and repayments
touch a written-off loan's days past due and instalments no more; a recovery changes only `recovered`).
Paid off and written off are the only ends a loan has (`tables.loans.status`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from puhui.lending.tables import lending_eod_runs, loan_instalments, loan_repayments


@dataclass(frozen=True)
class Payoff:
    """The repayment that paid a loan off (结清): its business day and when it was taken (µs)."""

    day: int
    at: int

    @property
    def date(self) -> dt.date:
        return dt.date.fromordinal(self.day)


def payoff_of(connection: Connection, loan: dict) -> Payoff | None:
    """A paid-off loan's payoff: its last repayment (a closed loan takes no more); None for any other."""
    if loan["status"] != "paid_off":
        return None
    r = loan_repayments.c
    row = connection.execute(
        select(r.business_day, r.created_at)
        .where(r.loan_id == loan["id"])
        .order_by(r.business_day.desc(), r.created_at.desc())
        .limit(1)
    ).first()
    return None if row is None else Payoff(int(row[0]), int(row[1]))


def written_off_on(connection: Connection, loan: dict) -> dt.date | None:
    """A written-off loan's write-off date (核销日): its oldest unpaid instalment's due date plus the days past
    due the writing-off run counted from it (see the module's note); None for any other loan."""
    if loan["status"] != "written_off":
        return None
    i = loan_instalments.c
    unpaid = or_(i.principal_paid < i.principal, i.interest_paid < i.interest, i.fee_paid < i.fee)
    oldest = connection.execute(select(func.min(i.due_day)).where(i.loan_id == loan["id"], unpaid)).scalar()
    return None if oldest is None else dt.date.fromordinal(int(oldest) + loan["days_past_due"])


def accrued_through(
    connection: Connection, loan: dict, payoff: Payoff | None, written_off: dt.date | None = None
) -> dt.date:
    """The date a loan's interest is accrued through: the last end of day run (before its payoff, for a
    paid-off loan; its write-off date for a written-off one), but never before the loan began. A loan
    disbursed after the last run (today, say) shows its start date: nothing is accrued on the day it starts
    (end of day accrues a period from the day after its start), so through its start nothing is owed yet,
    and no date before the loan existed is ever shown."""
    if written_off is not None:
        return written_off
    runs = select(func.max(lending_eod_runs.c.business_day))
    if payoff is not None:
        runs = runs.where(_before(payoff))
    day = connection.execute(runs).scalar_one()
    return dt.date.fromordinal(max(int(day or 0), loan["start_day"]))


def _before(payoff: Payoff) -> ColumnElement[bool]:
    """End-of-day runs finished before the payoff was taken."""
    run = lending_eod_runs.c
    return or_(run.finished_at < payoff.at, and_(run.finished_at == payoff.at, run.business_day < payoff.day))


def accrual_dates(connection: Connection, loan: dict) -> dict[str, str | None]:
    """A loan answer's `accrued_through` (计息至), `paid_off_on` (结清日, null unless paid off) and
    `written_off_on` (核销日, null unless written off), ISO dates."""
    payoff = payoff_of(connection, loan)
    written_off = written_off_on(connection, loan)
    return {
        "accrued_through": accrued_through(connection, loan, payoff, written_off).isoformat(),
        "paid_off_on": None if payoff is None else payoff.date.isoformat(),
        "written_off_on": None if written_off is None else written_off.isoformat(),
    }
