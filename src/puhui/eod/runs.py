"""Which business dates each end-of-day job completed, and the runner every job goes through.

The rule, for a job asked to run date D:
- D not over yet is refused (`puhui.eod.dates.check_over`): today `business_date_not_over`, a later
  date `business_date_in_future`. Every job alike: a day's batch runs once the day has ended, and a
  T+1 job (merchant settlement of D, paid on D+1) is asked for D, the date it settles;
- D already completed: the job's own step runs for D once more and gives its idempotent answer
  (nothing moves twice: "already ran", or a retry of what is still pending);
- D before the last completed date (a date the job skipped) is refused: `business_date_closed`.
  Running it late would charge again what later days charged and move counters backwards;
- otherwise every date from the day after the last completed one to D runs, in order, each as
  if it had run on time, and each is recorded when its step has finished. The first run of a job
  runs D alone. One call runs at most `MAX_DAYS` dates (`business_date_gap` names the date to run
  through first), and a first date may be at most that far back (`business_date_too_old`).

A job's step for one date must be idempotent (each already is: its own run rows or keys), so a
crash between a step and its record, or two runners at once, repeat nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine, func, select

from puhui import clock
from puhui.db import UnitOfWork, reading, transaction
from puhui.eod.dates import check_over
from puhui.eod.errors import BusinessDateClosed, BusinessDateGap, BusinessDateTooOld
from puhui.eod.tables import eod_runs

T = TypeVar("T")
ONE_DAY = dt.timedelta(days=1)
# One call runs at most this many dates, and a job's first date is at most this far back: a longer
# outage is caught up in steps, and no request (nor a mistyped first date) runs for hours.
MAX_DAYS = 366


@dataclass(frozen=True)
class Plan:
    """The dates to run for a request, in order (the requested date last)."""

    job: str
    requested: dt.date
    last: dt.date | None  # the last completed date when planned
    days: tuple[dt.date, ...]
    again: bool  # the requested date had already completed: its step runs once more, unrecorded


@dataclass(frozen=True)
class Run(Generic[T]):
    plan: Plan
    results: tuple[tuple[dt.date, T], ...]  # each date run, with its step's answer

    @property
    def result(self) -> T:
        """The answer for the requested date."""
        return self.results[-1][1]

    @property
    def caught_up(self) -> tuple[tuple[dt.date, T], ...]:
        """The dates of a gap, run before the requested one."""
        return self.results[:-1]


def last_completed(connection: Connection, job: str) -> dt.date | None:
    last = connection.execute(select(func.max(eod_runs.c.business_date)).where(eod_runs.c.job == job)).scalar_one()
    return dt.date.fromisoformat(last) if last else None


def first_completed(connection: Connection, job: str) -> dt.date | None:
    first = connection.execute(select(func.min(eod_runs.c.business_date)).where(eod_runs.c.job == job)).scalar_one()
    return dt.date.fromisoformat(first) if first else None


def recent(connection: Connection, limit: int = 60) -> list[dict]:
    """The latest completed dates of every job, newest first: job, business_date, completed_at (µs)."""
    query = select(eod_runs).order_by(eod_runs.c.completed_at.desc(), eod_runs.c.job).limit(limit)
    return [dict(row) for row in connection.execute(query).mappings()]


def completed(connection: Connection, job: str, day: dt.date) -> bool:
    return (
        connection.execute(
            select(eod_runs.c.job).where(eod_runs.c.job == job, eod_runs.c.business_date == day.isoformat())
        ).first()
        is not None
    )


def plan(connection: Connection, job: str, day: dt.date) -> Plan:
    """What running `job` for `day` means now; refused for a date not over or skipped."""
    check_over(day)
    last = last_completed(connection, job)
    if completed(connection, job, day):
        return Plan(job, day, last, (day,), True)
    if last is not None and day < last:
        first = first_completed(connection, job)
        why = (
            f"its first run was for {first}, after it"
            if first is not None and day < first
            else "it was skipped, and the days after it already ran without it"
        )
        raise BusinessDateClosed(
            f"{job} end of day already ran through {last}; {day} can no longer run: {why}",
            last_completed=last.isoformat(),
        )
    if last is None and (clock.business_date() - day).days > MAX_DAYS:
        raise BusinessDateTooOld(f"{job} has never run; its first date may be at most {MAX_DAYS} days back, not {day}")
    start = last + ONE_DAY if last is not None else day
    if (day - start).days >= MAX_DAYS:
        through = start + (MAX_DAYS - 1) * ONE_DAY
        raise BusinessDateGap(
            f"{job} would catch up {(day - start).days + 1} days (from {start}); at most "
            f"{MAX_DAYS} run at once: run through {through} first",
            first_missing=start.isoformat(),
            run_through=through.isoformat(),
        )
    return Plan(job, day, last, tuple(start + n * ONE_DAY for n in range((day - start).days + 1)), False)


def record(uow: UnitOfWork, job: str, day: dt.date) -> None:
    """Mark `day` completed for `job` (once; a second mark is a no-op)."""
    if not completed(uow.connection, job, day):
        uow.execute(eod_runs.insert().values(job=job, business_date=day.isoformat(), completed_at=clock.now_micros()))


def run_days(engine: Engine, job: str, day: dt.date, step: Callable[[dt.date], T], catch_up: bool = True) -> Run[T]:
    """Run `step(date)` for every date the plan names, each recorded after its step; the step runs
    its own units of work (one or several) and must be idempotent. Without `catch_up` (the step
    has input for the one date only, e.g. a statement file) a gap is refused: `business_date_gap`."""
    with reading(engine) as connection:
        chosen = plan(connection, job, day)
    if not catch_up and len(chosen.days) > 1:
        raise BusinessDateGap(
            f"{job} has not run for {chosen.days[0]} to {chosen.days[-2]}; run those dates first",
            first_missing=chosen.days[0].isoformat(),
        )
    results = []
    for date in chosen.days:
        results.append((date, step(date)))
        if not chosen.again:
            transaction(engine, lambda uow, d=date: record(uow, job, d))
    return Run(chosen, tuple(results))


def run_in(uow: UnitOfWork, job: str, day: dt.date, step: Callable[[UnitOfWork, dt.date], T]) -> Run[T]:
    """The same in the caller's unit of work (an API call): every date of a gap, or none, commits.
    A date is recorded before its step, so a concurrent run of the same date waits on the record's
    key and, retried by `transaction`, finds the date done."""
    chosen = plan(uow.connection, job, day)
    results = []
    for date in chosen.days:
        if not chosen.again:
            record(uow, job, date)
        results.append((date, step(uow, date)))
    return Run(chosen, tuple(results))
