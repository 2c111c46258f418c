"""The unit of work: one business operation, one database transaction.

A unit of work holds the connection every service function writes through: ledger transfers,
business rows and outbox events all commit together or not at all. Serialization failures and
deadlocks on PostgreSQL (and a busy SQLite) are retried by `transaction`, so callers never see them.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from puhui.db import pq_pipeline
from puhui.db.engine import is_postgres
from puhui.db.prepared import Prepared, run, run_writes

T = TypeVar("T")

RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
MAX_ATTEMPTS = 12


@dataclass
class UnitOfWork:
    connection: Connection
    postgres: bool
    # Work to run after a successful commit (e.g. waking the outbox relay).
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    # Work to run after the transaction rolled back (e.g. recording why a payment was declined).
    after_rollback: list[Callable[[], None]] = field(default_factory=list)
    # What stays true to the end of this transaction, read once and shared by the units of work in it
    # (the jobs of one group-commit batch): e.g. a merchant's terms. Gone with the transaction.
    shared: dict[Any, Any] = field(default_factory=dict)
    # Work the group committer runs once per batch, last before COMMIT, for the batch's jobs that
    # succeeded (e.g. numbering the batch's outbox events). Plain transactions do not run it.
    before_batch_commit: list[Callable[[UnitOfWork], Any]] = field(default_factory=list)
    # A group-commit job's amounts the committer adds up over the batch's jobs that succeeded, for its
    # `before_batch_commit` work (e.g. the ledger's late credits); None outside a group commit.
    batch_sums: dict[Hashable, int] | None = None
    # A group-commit job's writes whose results nobody reads (`write`, `write_sql`): sent together at its end.
    deferred: list[tuple[Prepared | str, Any]] | None = None
    # A group-commit job's outbox events on PostgreSQL (`events.outbox.publish`): the committer gathers those
    # of the batch's jobs that succeeded, and the batch inserts them last, already numbered. None elsewhere.
    batch_events: list[dict[str, Any]] | None = None

    def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self.connection.execute(statement, parameters)

    def write(self, statement: Prepared, parameters: Mapping[str, Any]) -> None:
        """A write whose result nobody reads (an insert of a row no later step of the operation reads):
        run now, or, in a group-commit job, sent with the job's other such writes just before its
        savepoint is released (on PostgreSQL in one round trip). It is still all or nothing with the job."""
        if self.deferred is None:
            run(self.connection, statement, parameters)
        else:
            self.deferred.append((statement, parameters))

    def write_sql(self, sql: str, values: Any) -> bool:
        """Driver SQL (the driver's own parameter style) whose result nobody reads, deferred as `write`
        defers: True when deferred (in a group-commit job), False when the caller must run it now."""
        if self.deferred is None:
            return False
        self.deferred.append((sql, values))
        return True

    def has_deferred_sql(self) -> bool:
        return any(isinstance(statement, str) for statement, _ in self.deferred or ())

    def flush(self) -> None:
        """Run the deferred writes now (a later step is about to read what they write)."""
        if self.deferred:
            writes, self.deferred[:] = list(self.deferred), []
            run_writes(self.connection, writes)


class RetryableConflict(Exception):
    """Raised inside a unit of work to ask `transaction` to run it again (e.g. a duplicate key race)."""


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a driver error, raised bare (psycopg pipelines) or wrapped by SQLAlchemy."""
    return getattr(error, "sqlstate", None) or getattr(getattr(error, "orig", None), "sqlstate", None)


def is_retryable(error: BaseException) -> bool:
    return isinstance(error, RetryableConflict) or aborts_batch(error)


def aborts_batch(error: BaseException) -> bool:
    """Failures only a new transaction cures: deadlocks and serialization failures (PostgreSQL), a
    busy SQLite. Rolling back to a savepoint keeps the batch's locks, so a group commit's whole batch
    reruns (`puhui.db.group_commit`, `puhui.db.side_by_side`)."""
    if _sqlstate(error) in RETRYABLE_SQLSTATES:
        return True
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


def is_unique_violation(error: BaseException) -> bool:
    if _sqlstate(error) == "23505":
        return True
    return isinstance(error, IntegrityError) and "UNIQUE constraint failed" in str(error.orig)


@contextlib.contextmanager
def unit_of_work(engine: Engine) -> Iterator[UnitOfWork]:
    """One transaction; commits on success, rolls back on any error. Not retried."""
    uow: UnitOfWork | None = None
    try:
        with engine.begin() as connection:
            uow = UnitOfWork(connection=connection, postgres=is_postgres(engine))
            yield uow
    except BaseException:
        for hook in uow.after_rollback if uow is not None else ():
            hook()
        raise
    for hook in uow.after_commit:
        hook()


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only connection: one consistent snapshot, no write lock taken on SQLite."""
    with engine.connect() as connection:
        if not is_postgres(engine):
            connection.execution_options(read_only=True)
            yield connection
            return
        # said in the BEGIN itself (psycopg), not in a round trip of its own
        connection.execution_options(read_only=True, isolation_level="REPEATABLE READ", postgresql_readonly=True)
        yield connection
        # A read-only transaction ends the same either way, but psycopg forgets every statement the
        # connection has prepared at each ROLLBACK (and sends DEALLOCATE ALL): ended by COMMIT, the
        # statements stay prepared for the next user of the pooled connection. After a failed statement
        # it still rolls back: psycopg must forget the PREPAREs a failed pipeline skipped.
        if connection.in_transaction() and pq_pipeline.in_transaction(connection.connection.driver_connection):
            connection.commit()


def transaction(engine: Engine, work: Callable[[UnitOfWork], T], *, unique_race_retries: bool = True) -> T:
    """Run `work` in one unit of work, retrying serialization failures, deadlocks and key races."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with unit_of_work(engine) as uow:
                return work(uow)
        except Exception as error:  # noqa: BLE001 - re-raised unless it is a known transient conflict
            retry = is_retryable(error) or (unique_race_retries and is_unique_violation(error))
            if not retry or attempt == MAX_ATTEMPTS:
                raise
            time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))
    raise AssertionError("unreachable")
