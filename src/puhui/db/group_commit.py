"""Group commit (成组提交): concurrent units of work coalesced into one database transaction.

The idea is TigerBeetle's: a commit costs a round trip and a flush to disk whatever it holds, so
a busy process commits many operations at once. Jobs queue to one committer per engine and
process; it takes what is queued (up to `MAX_BATCH`, never waiting for more), runs each job in its
own SAVEPOINT inside one transaction and commits once. A job that raises rolls back only itself
and gets its own error while the others keep their results; results are released only after the
commit returned (durable). If the commit fails, every job of the batch gets the error;
deadlocks, serialization failures and a busy SQLite rerun the whole batch.

On SQLite the committer is the process's single writer: request threads never spin on
`BEGIN IMMEDIATE`. On PostgreSQL jobs name the rows they will lock (`Job.locks`) and a batch
takes them all first through the jobs' `locker`, in one sorted statement, so batches of
different processes over the same rows queue instead of deadlocking; and a batch's COMMIT waits
on a thread of its own (`_Finisher`) while the committer runs the next batch. A PostgreSQL batch whose
jobs touch disjoint rows runs them side by side, in two round trips whatever their number
(`puhui.db.side_by_side`), and one at a time when any of them fails.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine

from puhui.db import side_by_side
from puhui.db.engine import is_postgres
from puhui.db.prepared import (
    Read,
    deferring_only,
    drop_guess,
    failed_at,
    forget,
    in_one_write,
    read_ahead,
    rollback_to_savepoint,
    run_sql,
    run_sql_all,
    run_writes,
    write_statements,
)
from puhui.db.uow import MAX_ATTEMPTS, RetryableConflict, UnitOfWork, aborts_batch, is_unique_violation

T = TypeVar("T")

MAX_BATCH = 64
IDLE_SECONDS = 5.0  # a committer with nothing to do this long ends its thread; the next job starts one
JOB_RETRIES = 3  # a job's own key race (RetryableConflict, a unique violation) reruns it in a new savepoint

log = logging.getLogger(__name__)

Locker = Callable[[UnitOfWork, set[Any]], None]


@dataclass(eq=False)
class Job(Generic[T]):
    """One unit of work for the committer, and the future its caller waits on."""

    work: Callable[[UnitOfWork], T]
    # Runs in the batch after `work` raised and its savepoint rolled back (e.g. auditing the refusal).
    refused: Callable[[UnitOfWork, Exception], None] | None = None
    # PostgreSQL: keys `locker` turns into row locks taken for the whole batch before any job runs.
    locks: tuple[Hashable, ...] = ()
    locker: Locker | None = None
    # The reads `work` will make first, independent of each other, given what its batch read as it began
    # (`shared`): on PostgreSQL sent with the job's savepoint in one round trip (`puhui.db.prepared.read_ahead`).
    reads: Callable[[dict[Any, Any]], Sequence[Read]] | None = None
    # The writes `work` will most likely make next, guessed from what the batch read when it began: on
    # PostgreSQL sent after the reads, under a savepoint of their own, for `work` to take or have undone
    # (`puhui.db.prepared.take_guess`).
    guess: Callable[[UnitOfWork], Sequence[Read]] | None = None
    # What the job reads and writes rows of (its wallets, its code), known once the batch holds its locks
    # (from the batch's `shared`), or None: jobs whose footprints are disjoint run side by side
    # (`puhui.db.side_by_side`).
    footprint: Callable[[dict[Any, Any]], frozenset[Hashable] | None] | None = None
    future: Future[T] = field(default_factory=Future)


@dataclass
class _Done:
    job: Job[Any]
    value: Any
    error: BaseException | None
    after_commit: list[Callable[[], None]]
    after_rollback: list[Callable[[], None]]
    before_commit: list[Callable[[UnitOfWork], Any]] = field(default_factory=list)
    sums: dict[Hashable, int] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Stats:
    batches: int = 0
    jobs: int = 0
    batch_retries: int = 0
    largest: int = 0
    # The committer is one thread: its time in batches bounds a process's jobs per second.
    # wall time in batches, waits for the database and the GIL included (on PostgreSQL not the COMMIT's,
    # which the finisher waits for while the committer goes on)
    busy_seconds: float = 0.0
    cpu_seconds: float = 0.0  # the committer thread's own CPU time in batches
    side_by_side: int = 0  # batches whose jobs ran side by side
    fell_back: int = 0  # batches that tried to and ran their jobs one at a time

    def summary(self) -> str:
        """One log line (`puhui bench payments` reads it from the server's log)."""
        per_job = 1000 / max(1, self.jobs)
        return (
            f"group commit: {self.jobs} jobs in {self.batches} batches (largest {self.largest}, "
            f"{self.batch_retries} rerun, {self.side_by_side} side by side, {self.fell_back} fell back), "
            f"{self.busy_seconds * per_job:.3f} ms a job in its batch, "
            f"{self.cpu_seconds * per_job:.3f} ms of it CPU"
        )


class Committer:
    """The one committer of an engine in this process (`committer_for`)."""

    def __init__(self, engine: Engine, max_batch: int = MAX_BATCH) -> None:
        self._engine = weakref.ref(engine)
        self._postgres = is_postgres(engine)
        self._queue: queue.SimpleQueue[Job[Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False
        self.max_batch = max_batch
        self.stats = Stats()
        self._finishing: _Finisher | None = None
        self._side_misses = self._side_skip = 0  # tries side by side that fell back in a row; batches to skip

    def submit(self, job: Job[T]) -> Future[T]:
        with self._lock:
            self._queue.put(job)
            if not self._running:
                self._running = True
                threading.Thread(target=self._loop, name="puhui-group-commit", daemon=True).start()
        return job.future

    def queued(self) -> int:
        """Jobs waiting for the next batch."""
        return self._queue.qsize()

    def _loop(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._running = False
                        if self._finishing is not None:  # it ends once it has released what it holds
                            self._finishing.close()
                            self._finishing = None
                        return
                continue
            batch = [first] if first.future.set_running_or_notify_cancel() else []
            while len(batch) < self.max_batch:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job.future.set_running_or_notify_cancel():  # a caller gone before its turn is skipped
                    batch.append(job)
            if batch:
                started, cpu = time.perf_counter(), time.thread_time()
                self._commit(batch)
                self.stats.busy_seconds += time.perf_counter() - started
                self.stats.cpu_seconds += time.thread_time() - cpu

    def _commit(self, jobs: list[Job[Any]]) -> None:
        engine = self._engine()
        done: list[_Done] = []
        try:
            if engine is None:
                raise RuntimeError("the engine of this committer was disposed")
            for attempt in range(1, MAX_ATTEMPTS + 1):
                done = []
                try:
                    if self._postgres:  # its COMMIT waits on the finisher's thread while the next batch runs
                        self._finisher().hand(*self._ran(engine, jobs, done), jobs, done)
                        return
                    with engine.begin() as connection:
                        self._run(connection, jobs, done)
                    break
                except Exception as error:
                    if not aborts_batch(error) or attempt == MAX_ATTEMPTS:
                        raise
                    self.stats.batch_retries += 1
                    time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))
        except BaseException as error:  # noqa: BLE001 - every job of the batch gets the failure; the committer goes on
            self._failed(jobs, done, error)
            return
        self._released(jobs, done)

    def _ran(self, engine: Engine, jobs: list[Job[Any]], done: list[_Done]) -> tuple[Connection, Last]:
        """The batch run in a transaction left open for its finishing writes and COMMIT (rolled back if it
        raises)."""
        connection = engine.connect()
        try:
            connection.begin()
            last = self._run(connection, jobs, done)
        except BaseException:
            connection.close()
            raise
        return connection, last

    def _finisher(self) -> _Finisher:
        if self._finishing is None:  # only the committer's thread makes and ends it
            self._finishing = _Finisher(self)
        return self._finishing

    def _failed(self, jobs: list[Job[Any]], done: list[_Done], error: BaseException) -> None:
        log.warning("group commit of %d jobs failed: %r", len(jobs), error)
        for item in done:
            _run_hooks(item.after_rollback)
        for job in jobs:
            job.future.set_exception(error)

    def _released(self, jobs: list[Job[Any]], done: list[_Done]) -> None:
        """The batch committed: each job's result (or its own error) released, its hooks run."""
        with self._lock:
            self.stats.batches += 1
            self.stats.jobs += len(jobs)
            self.stats.largest = max(self.stats.largest, len(jobs))
        for item in done:
            if item.error is None:
                _run_hooks(item.after_commit)
                item.job.future.set_result(item.value)
            else:
                _run_hooks(item.after_rollback)
                item.job.future.set_exception(item.error)

    def _run(self, connection: Connection, jobs: list[Job[Any]], done: list[_Done]) -> Last:
        """The batch's jobs run, their outcomes in `done`: the batch's finishing writes, where they are left
        to go with its COMMIT (PostgreSQL; sent already elsewhere)."""
        shared: dict[Any, Any] = {}  # one batch, one transaction: what its jobs read once
        if self._postgres:
            _prelock(UnitOfWork(connection=connection, postgres=True, shared=shared), jobs)
            if len(jobs) > 1 and self._side_by_side_tried() and in_one_write(connection):
                if side_by_side.disjoint(jobs, shared) and self._side_by_side(connection, jobs, shared, done):
                    return _last(connection, shared, done)
        owed: _Owed | None = None
        for job in jobs:
            owed = _run_job(connection, self._postgres, job, shared, done, owed)
        if owed is not None:
            _settle(connection, self._postgres, owed, shared, done)
        if self._postgres:
            return _last(connection, shared, done)
        _finished(connection, False, shared, done).flush()
        return []

    def _side_by_side_tried(self) -> bool:
        """Whether this batch may try its jobs side by side: after k tries in a row that fell back (e.g. a fraud
        rule reads each payer's balance, a statement none foresaw), the next 2^k batches (at most 64) do not."""
        if self._side_skip:
            self._side_skip -= 1
            return False
        return True

    def _side_by_side(
        self, connection: Connection, jobs: list[Job[Any]], shared: dict[Any, Any], done: list[_Done]
    ) -> bool:
        if _run_side_by_side(connection, jobs, shared, done):
            self.stats.side_by_side += 1
            self._side_misses = 0
            return True
        self.stats.fell_back += 1
        self._side_misses += 1
        self._side_skip = min(64, 2**self._side_misses)
        return False


def _run_side_by_side(connection: Connection, jobs: list[Job[Any]], shared: dict[Any, Any], done: list[_Done]) -> bool:
    """The jobs side by side, their outcomes in `done`; False, with nothing done, when they fell back."""
    ran = side_by_side.run(connection, jobs, shared)
    if ran is None:
        return False
    done[:] = [_Owed(job, 0, one.uow, one.value).done() for job, one in zip(jobs, ran, strict=True)]
    return True


Last = list[tuple[str, Any]]  # a batch's finishing writes, driver SQL sent with its COMMIT


def _last(connection: Connection, shared: dict[Any, Any], done: list[_Done]) -> Last:
    """PostgreSQL: the batch's finishing writes (late credits, the events' numbering), for the finisher to send
    with the COMMIT in one round trip. Between the first of them and the COMMIT, the batch holds the rows every
    batch takes last (the fee income's, the numbering's lock): no Python runs there, so no other batch waits
    on this process's GIL."""
    with deferring_only(connection):
        return write_statements(connection, _finished(connection, True, shared, done).deferred or [])


def _finished(connection: Connection, postgres: bool, shared: dict[Any, Any], done: list[_Done]) -> UnitOfWork:
    """The batch's finishing work (its jobs' `before_batch_commit`: late credits, the events' numbering) run
    for the jobs done so far, its writes left deferred in the unit of work returned."""
    finishers = {hook: None for item in done if item.error is None for hook in item.before_commit}
    sums: dict[Hashable, int] = {}
    for item in done:
        if item.error is None:
            for key, amount in item.sums.items():
                sums[key] = sums.get(key, 0) + amount
    events = [event for item in done if item.error is None for event in item.events]
    last = UnitOfWork(
        connection=connection, postgres=postgres, shared=shared, batch_sums=sums, deferred=[], batch_events=events
    )
    for finish in finishers:
        finish(last)
    return last


class _Finisher:
    """PostgreSQL: a batch's finishing writes and COMMIT (one round trip) and the release of its results, on a
    thread of their own, so that the committer runs the next batch meanwhile (a COMMIT waits for the WAL's
    flush). One batch at a time: the committer hands over the next only once the last is released. A batch
    that overlaps the one committing waits on its row locks (the wallets, a code, the outbox's numbering) until
    that COMMIT, and READ COMMITTED shows it nothing uncommitted; finishing writes or a COMMIT that fail fail
    their own batch's jobs alone, which their callers retry with the same Idempotency-Key. (No table of Puhui's has a
    deferred constraint: a COMMIT checking one could wait on the next batch's locks, a deadlock PostgreSQL
    would end by failing one of them.)"""

    def __init__(self, committer: Committer) -> None:
        self._committer = committer
        self._free = threading.Semaphore(1)
        self._queue: queue.SimpleQueue[tuple[Connection, Last, list[Job[Any]], list[_Done]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._loop, name="puhui-group-commit-finish", daemon=True)
        self._thread.start()

    def hand(self, connection: Connection, last: Last, jobs: list[Job[Any]], done: list[_Done]) -> None:
        self._free.acquire()
        self._queue.put((connection, last, jobs, done))

    def close(self) -> None:
        self._queue.put(None)

    def _loop(self) -> None:
        while (handed := self._queue.get()) is not None:
            connection, last, jobs, done = handed
            try:
                _commit_batch(connection, last)
            except BaseException as error:  # noqa: BLE001 - the batch's jobs get the failure; the finisher goes on
                connection.close()
                self._committer._failed(jobs, done, error)
            else:
                connection.close()
                self._committer._released(jobs, done)
            finally:
                self._free.release()


def _commit_batch(connection: Connection, last: Last) -> None:
    """The batch's finishing writes and its COMMIT in one round trip (psycopg's own COMMIT then finds the
    transaction ended, and only SQLAlchemy's bookkeeping is left)."""
    if last:
        run_sql_all(connection, [*last, ("COMMIT", None)])
    connection.commit()


def _prelock(uow: UnitOfWork, jobs: list[Job[Any]]) -> None:
    wanted: dict[Locker, set[Any]] = {}
    for job in jobs:
        if job.locker is not None and job.locks:
            wanted.setdefault(job.locker, set()).update(job.locks)
    for locker, keys in wanted.items():
        locker(uow, keys)


@dataclass
class _Owed:
    """A job whose work has run, owing its deferred writes and its savepoint's release. On PostgreSQL they
    go in the round trip of the next job's savepoint and reads (a round trip fewer a job), or alone after
    the batch's last job. Until they are sent, the job's result is not known."""

    job: Job[Any]
    attempt: int
    uow: UnitOfWork
    value: Any

    def done(self) -> _Done:
        uow = self.uow
        return _Done(
            self.job,
            self.value,
            None,
            uow.after_commit,
            uow.after_rollback,
            uow.before_batch_commit,
            uow.batch_sums or {},
            uow.batch_events or [],
        )


def _run_job(
    connection: Connection,
    postgres: bool,
    job: Job[Any],
    shared: dict[Any, Any],
    done: list[_Done],
    owed: _Owed | None = None,
    attempt: int = 0,
) -> _Owed | None:
    """The job in its own savepoint, after settling `owed`: the job owing its writes, or None once its
    outcome (its value, or its error with only its own writes undone) is in `done`."""
    while True:
        uow = UnitOfWork(
            connection=connection,
            postgres=postgres,
            shared=shared,
            deferred=[],
            batch_sums={},
            batch_events=[] if postgres else None,
        )
        try:  # a read ahead that fails fails its job alone (its savepoint went first)
            _start(connection, postgres, job, uow, done, owed)
            owed = None
            value = job.work(uow)
            drop_guess(connection)  # one the work did not take (it answered early: a replay)
            if in_one_write(connection):
                return _Owed(job, attempt, uow, value)
            run_writes(connection, uow.deferred or [], _RELEASE)
        except Exception as error:  # noqa: BLE001 - the job's own outcome (`_failed` raises what aborts the batch)
            owed = None  # settled by `_start`, whichever way it went
            if _failed(connection, postgres, job, error, attempt, done, uow):
                return None
            attempt += 1
            continue
        done.append(_Owed(job, attempt, uow, value).done())
        return None


def _start(
    connection: Connection, postgres: bool, job: Job[Any], uow: UnitOfWork, done: list[_Done], owed: _Owed | None
) -> None:
    """`owed`'s writes and release, then the job's savepoint, reads ahead and guess, in one round trip when
    the pipeline goes in one write (a failure then says whose statement it was); else `owed` first, alone."""
    shared = uow.shared
    try:
        reads = job.reads(shared) if job.reads is not None else ()
        guess = job.guess(uow) if job.guess is not None and postgres else ()
    except Exception:
        if owed is not None:
            _settle(connection, postgres, owed, shared, done)
        raise
    if owed is not None and not in_one_write(connection):
        _settle(connection, postgres, owed, shared, done)
        owed = None
    if owed is None:
        read_ahead(connection, reads, first=_SAVEPOINT, guess=guess)
        return
    before: list[tuple[str, Any]] = []
    try:
        before = write_statements(connection, owed.uow.deferred or [], _RELEASE)
        read_ahead(connection, reads, first=[*before, (_SAVEPOINT, ())], guess=guess)
    except Exception as error:
        position = failed_at(error)
        # `before` is set once nothing can fail before the pipeline is sent: `owed`'s writes went unless a
        # statement of theirs failed, and the job failed
        if before and (position is None or position >= len(before)):
            done.append(owed.done())
            raise
        _owed_failed(connection, postgres, owed, error, shared, done)  # nothing of the job ran
        read_ahead(connection, reads, first=_SAVEPOINT, guess=guess)
        return
    done.append(owed.done())


def _settle(connection: Connection, postgres: bool, owed: _Owed, shared: dict[Any, Any], done: list[_Done]) -> None:
    """`owed`'s writes and release sent alone, and its outcome in `done`."""
    try:
        run_writes(connection, owed.uow.deferred or [], _RELEASE)
    except Exception as error:  # noqa: BLE001 - the job's own outcome (`_failed` raises what aborts the batch)
        _owed_failed(connection, postgres, owed, error, shared, done)
        return
    done.append(owed.done())


def _owed_failed(
    connection: Connection, postgres: bool, owed: _Owed, error: Exception, shared: dict[Any, Any], done: list[_Done]
) -> None:
    """`owed`'s writes failed: its savepoint (not released) is rolled back, and the job is run again alone
    from its start when its error is a key race, as any job's."""
    if not _failed(connection, postgres, owed.job, error, owed.attempt, done, owed.uow):
        again = _run_job(connection, postgres, owed.job, shared, done, attempt=owed.attempt + 1)
        if again is not None:
            _settle(connection, postgres, again, shared, done)


def _failed(
    connection: Connection,
    postgres: bool,
    job: Job[Any],
    error: Exception,
    attempt: int,
    done: list[_Done],
    uow: UnitOfWork,
) -> bool:
    """The job's savepoint rolled back after `error`: False when it should run again (its own key race),
    else True with its refusal recorded and its outcome in `done`. Raises what aborts the whole batch."""
    forget(connection)
    if aborts_batch(error):  # the whole transaction rolls back
        raise error
    rollback_to_savepoint(connection, _JOB_SAVEPOINT)
    run_sql(connection, _RELEASE)
    if attempt < JOB_RETRIES and (isinstance(error, RetryableConflict) or is_unique_violation(error)):
        return False
    if job.refused is not None:
        _record_refusal(connection, postgres, job, error)
    done.append(_Done(job, None, error, [], uow.after_rollback))
    return True


# A job's savepoint as plain driver SQL: SQLAlchemy's `begin_nested` cost 106 µs a job, the driver 3 µs.
# Jobs run one after another, so one name serves them all; a job's own `begin_nested` nests inside it.
_JOB_SAVEPOINT = "puhui_job"
_SAVEPOINT = "SAVEPOINT puhui_job"
_RELEASE = "RELEASE SAVEPOINT puhui_job"


def _record_refusal(connection: Connection, postgres: bool, job: Job[Any], error: Exception) -> None:
    assert job.refused is not None
    try:
        with connection.begin_nested():
            job.refused(UnitOfWork(connection=connection, postgres=postgres), error)
    except Exception as failure:
        if aborts_batch(failure):
            raise
        log.exception("recording a refused job failed")


def _run_hooks(hooks: list[Callable[[], None]]) -> None:
    for hook in hooks:
        try:
            hook()
        except Exception:  # noqa: BLE001 - a hook's failure must not change the answer of a committed job
            log.exception("group commit hook failed")


_COMMITTERS: weakref.WeakKeyDictionary[Engine, Committer] = weakref.WeakKeyDictionary()
_REGISTRY = threading.Lock()


def stats_of(engine: Engine) -> Stats | None:
    """The batching of `engine`'s committer in this process so far, if it has one."""
    with _REGISTRY:
        found = _COMMITTERS.get(engine)
    return found.stats if found is not None else None


def committer_for(engine: Engine) -> Committer:
    with _REGISTRY:
        found = _COMMITTERS.get(engine)
        if found is None:
            found = _COMMITTERS[engine] = Committer(engine)
        return found


def submit(engine: Engine, job: Job[T]) -> Future[T]:
    """Queue `job` to the engine's committer; the future resolves once its batch committed."""
    return committer_for(engine).submit(job)


def run(engine: Engine, work: Callable[[UnitOfWork], T], **options: Any) -> T:
    """`work` in the engine's next group commit, waiting for it: its value, or the error it raised
    (or the batch's commit failure). Never call this from inside a job: the committer would wait on itself."""
    return submit(engine, Job(work, **options)).result()
