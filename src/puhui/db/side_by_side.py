"""Side by side (并行执行): a batch's jobs that touch disjoint rows, in two round trips whatever their number.

One at a time (`puhui.db.group_commit`), a job costs its batch a round trip: its reads and guess go with
the last job's writes, and its work waits for them. Jobs whose footprints (`Job.footprint`: the wallets
and codes whose rows they read and write, known once the batch holds its locks) are disjoint do not see
each other's rows, so their order within the batch changes nothing. Their reads and guesses all go in one
round trip; each job's work then runs on its own rows (`puhui.db.prepared.side_by_side`); their writes
go in the next, and the batch's finishing with its COMMIT (`puhui.db.group_commit`).

A job run alone may fail on its own, send a statement its reads did not foresee, or leave its guess
untaken, each undone to its own savepoint. Side by side, savepoints would undo the neighbours too. So
any of these undoes them all, to the savepoint taken before them, and the batch runs its jobs one at a
time as if never tried: that rare batch pays for its first round trips twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection

from puhui.db.prepared import forget, read_ahead_each, rollback_to_savepoint, run_sql, run_sql_all, side_by_side
from puhui.db.prepared import write_statements as statements_of
from puhui.db.uow import UnitOfWork, aborts_batch

log = logging.getLogger(__name__)

SAVEPOINT = "puhui_side"


class Job(Protocol):
    """What of a group-commit job (`puhui.db.group_commit.Job`) running it side by side needs."""

    @property
    def work(self) -> Callable[[UnitOfWork], Any]: ...
    @property
    def reads(self) -> Callable[[dict[Any, Any]], Sequence[Any]] | None: ...
    @property
    def guess(self) -> Callable[[UnitOfWork], Sequence[Any]] | None: ...
    @property
    def footprint(self) -> Callable[[dict[Any, Any]], frozenset[Hashable] | None] | None: ...


@dataclass
class Ran:
    """A job run side by side: its unit of work (its deferred writes, hooks and sums) and its value."""

    uow: UnitOfWork
    value: Any


def disjoint(jobs: Sequence[Job], shared: dict[Any, Any]) -> bool:
    """Whether every job names its footprint and guess, and no two footprints meet."""
    taken: set[Hashable] = set()
    for job in jobs:
        if job.footprint is None or job.guess is None:
            return False
        footprint = job.footprint(shared)
        if footprint is None or not taken.isdisjoint(footprint):
            return False
        taken.update(footprint)
    return True


def run(connection: Connection, jobs: Sequence[Job], shared: dict[Any, Any]) -> list[Ran] | None:
    """The jobs side by side, their writes sent: what each job returned, or None with all it sent undone.
    What only a new transaction cures (a deadlock) is raised. The batch's finishing writes are the caller's."""
    uows = [
        UnitOfWork(connection=connection, postgres=True, shared=shared, deferred=[], batch_sums={}, batch_events=[])
        for _ in jobs
    ]
    try:
        each = [
            (_reads(job, shared), list(job.guess(uow) if job.guess else ()))
            for job, uow in zip(jobs, uows, strict=True)
        ]
    except Exception:  # noqa: BLE001 - the job fails alone, on its own path
        return None
    try:
        aheads = read_ahead_each(connection, each, first=f"SAVEPOINT {SAVEPOINT}")
        ran = []
        for job, uow, ahead in zip(jobs, uows, aheads, strict=True):
            with side_by_side(connection, ahead):
                ran.append(Ran(uow, job.work(uow)))
        writes = [statement for one in ran for statement in statements_of(connection, one.uow.deferred or [])]
        run_sql_all(connection, [*writes, (f"RELEASE SAVEPOINT {SAVEPOINT}", ())])
    except Exception as error:  # noqa: BLE001 - any job's failure: the batch runs its jobs one at a time
        if aborts_batch(error):  # a deadlock: the whole batch reruns
            raise
        log.debug("jobs side by side fell back: %r", error)
        forget(connection)
        rollback_to_savepoint(connection, SAVEPOINT)
        run_sql(connection, f"RELEASE SAVEPOINT {SAVEPOINT}")
        return None
    return ran


def _reads(job: Job, shared: dict[Any, Any]) -> list[Any]:
    return list(job.reads(shared)) if job.reads is not None else []
