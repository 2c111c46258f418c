"""How far a loan's interest is accrued (计息至) and the day it was paid off (结清日).

End of day accrues interest on active loans only, so a loan paid off (结清) accrues nothing after its
payoff: its interest is accrued through the last end of day that ran before the payoff, never later,
however many end-of-day runs follow. Which runs came before is told by time (a run's `finished_at`
against the paying-off repayment's `created_at`; end of day and repayments are serialized, a run
holding the loans while it runs), so a catch-up run of an earlier date after the payoff does not count.
At the same instant (a clock that stands still, as in tests) a run of the payoff's own date counts as
after it, one of an earlier date as before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from puhui.lending.tables import lending_eod_runs, loan_repayments


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


def accrued_through(connection: Connection, loan: dict, payoff: Payoff | None) -> dt.date:
    """The date a loan's interest is accrued through: the last end of day run (before its payoff, for a
    paid-off loan), but never before the loan began. A loan disbursed after the last run (today, say)
    shows its start date: nothing is accrued on the day it starts (end of day accrues a period from the
    day after its start), so through its start nothing is owed yet, and no date before the loan existed
    is ever shown."""
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
    """A loan answer's `accrued_through` (计息至) and `paid_off_on` (结清日, null until paid off), ISO dates."""
    payoff = payoff_of(connection, loan)
    return {
        "accrued_through": accrued_through(connection, loan, payoff).isoformat(),
        "paid_off_on": None if payoff is None else payoff.date.isoformat(),
    }
