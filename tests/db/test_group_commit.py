"""The group committer (`puhui.db.group_commit`) on SQLite and PostgreSQL: jobs queued together share
one transaction, each in its own savepoint; a failing job fails alone, a failing commit fails them
all, a key race reruns only its job, and a caller gone before its turn is skipped."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, text
from sqlalchemy.exc import IntegrityError

from puhui.db import group_commit, transaction
from puhui.db.prepared import Prepared
from puhui.db.uow import RetryableConflict
from puhui.errors import InvalidInput


class Gate:
    """Holds the committer inside a batch until `open`, so what is submitted meanwhile forms the next one."""

    def __init__(self, engine) -> None:
        self.inside, self.go = threading.Event(), threading.Event()

        def wait(uow) -> None:
            self.inside.set()
            assert self.go.wait(timeout=30)

        self.done = group_commit.submit(engine, group_commit.Job(wait))
        assert self.inside.wait(timeout=30)

    def open(self) -> None:
        self.go.set()
        self.done.result(timeout=30)


@pytest.fixture
def tables(engine):
    def create(uow) -> None:
        uow.execute(text("CREATE TABLE gc_parent (id INTEGER PRIMARY KEY)"))
        uow.execute(
            text(
                "CREATE TABLE gc_row (n INTEGER PRIMARY KEY, "
                "parent INTEGER REFERENCES gc_parent (id) DEFERRABLE INITIALLY DEFERRED)"
            )
        )

    transaction(engine, create)
    return engine


def _insert(n: int, parent: int | None = None):
    def work(uow) -> int:
        uow.execute(text("INSERT INTO gc_row (n, parent) VALUES (:n, :p)"), {"n": n, "p": parent})
        return n

    return work


def _rows(engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT n FROM gc_row ORDER BY n")).scalars())


def test_a_failing_job_fails_alone_and_its_refusal_is_recorded_in_the_batch(tables):
    engine = tables
    stats = group_commit.committer_for(engine).stats
    before = stats.batches
    refusals: list[str] = []

    def refuse(uow) -> None:
        _insert(2)(uow)  # written, then undone with its savepoint
        raise InvalidInput("no")

    def record(uow, error) -> None:
        refusals.append(type(error).__name__)
        _insert(100)(uow)

    gate = Gate(engine)
    futures = [
        group_commit.submit(engine, group_commit.Job(_insert(1))),
        group_commit.submit(engine, group_commit.Job(refuse, refused=record)),
        group_commit.submit(engine, group_commit.Job(_insert(3))),
    ]
    gate.open()
    assert futures[0].result(timeout=30) == 1 and futures[2].result(timeout=30) == 3
    with pytest.raises(InvalidInput):
        futures[1].result(timeout=30)
    assert refusals == ["InvalidInput"]
    assert _rows(engine) == [1, 3, 100]
    assert stats.batches - before == 2  # the gate's batch, then the three together


@pytest.mark.parametrize("failing", ["on_the_server", "before_sending"])
def test_a_failing_read_ahead_fails_its_job_alone(tables, failing):
    from sqlalchemy import Integer, String, bindparam, cast, literal, select

    from puhui.db.prepared import run

    engine = tables
    read = {
        "on_the_server": (Prepared(select(cast(bindparam("v", type_=String), Integer))), {"v": "x"}),
        "before_sending": (Prepared(select(literal(1) / bindparam("by"))), {"by": None}),  # a Numeric bind
    }[failing]

    def uses_it(uow):
        return run(uow.connection, *read).scalar()

    gate = Gate(engine)
    futures = [
        group_commit.submit(engine, group_commit.Job(_insert(1))),
        group_commit.submit(engine, group_commit.Job(uses_it, reads=lambda shared: [read])),
        group_commit.submit(engine, group_commit.Job(_insert(3))),
    ]
    gate.open()
    assert futures[0].result(timeout=30) == 1 and futures[2].result(timeout=30) == 3
    if engine.dialect.name == "postgresql":
        assert futures[1].exception(timeout=30) is not None
    assert _rows(engine) == [1, 3]


def test_a_failing_commit_fails_every_job_of_the_batch(tables):
    engine = tables
    gate = Gate(engine)
    futures = [
        group_commit.submit(engine, group_commit.Job(_insert(1))),
        group_commit.submit(engine, group_commit.Job(_insert(2, parent=999))),  # refused only at COMMIT
    ]
    gate.open()
    for future in futures:
        with pytest.raises(IntegrityError):
            future.result(timeout=30)
    assert _rows(engine) == []
    assert group_commit.run(engine, _insert(5)) == 5  # the committer goes on
    assert _rows(engine) == [5]


def test_a_key_race_reruns_only_its_job_and_a_caller_gone_is_skipped(tables):
    engine = tables
    attempts: list[int] = []

    def racy(uow) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RetryableConflict("lost a race")
        return _insert(7)(uow) and "ok"

    gate = Gate(engine)
    first = group_commit.submit(engine, group_commit.Job(_insert(6)))
    gone = group_commit.submit(engine, group_commit.Job(_insert(8)))
    assert gone.cancel()
    raced = group_commit.submit(engine, group_commit.Job(racy))
    gate.open()
    assert first.result(timeout=30) == 6 and raced.result(timeout=30) == "ok"
    assert len(attempts) == 2
    assert _rows(engine) == [6, 7]


def test_a_jobs_deferred_writes_stay_its_own(tables):
    """`uow.write` defers a write to the end of its job (one pipeline on PostgreSQL). A deferred write
    that fails undoes its whole job, and only its job; one that succeeds is committed with the rest."""
    gc_row = Table("gc_row", MetaData(), Column("n", Integer, primary_key=True), Column("parent", Integer))
    insert = Prepared(gc_row.insert())
    engine = tables
    group_commit.run(engine, lambda uow: uow.write(insert, {"n": 40}))

    def duplicate(uow) -> None:
        _insert(41)(uow)  # runs at once
        uow.write(insert, {"n": 42})
        uow.write(insert, {"n": 40})  # a duplicate key, found only when the job's writes are sent
        assert uow.deferred is not None and len(uow.deferred) == 2

    def fine(uow) -> int:
        uow.write(insert, {"n": 43})
        return 43

    gate = Gate(engine)
    futures = [
        group_commit.submit(engine, group_commit.Job(duplicate)),
        group_commit.submit(engine, group_commit.Job(fine)),
    ]
    gate.open()
    with pytest.raises(IntegrityError):
        futures[0].result(timeout=30)
    assert futures[1].result(timeout=30) == 43
    assert _rows(engine) == [40, 43]
    transaction(engine, lambda uow: uow.write(insert, {"n": 44}))  # outside a group commit: written at once
    assert _rows(engine) == [40, 43, 44]


def test_the_committer_counts_its_jobs_batches_and_time_and_the_benchmark_reads_its_line(tables):
    from puhui.bench.payments_deployed import committer_batching

    assert group_commit.stats_of(tables) is None  # no committer yet in this process for this engine
    gate = Gate(tables)
    futures = [group_commit.submit(tables, group_commit.Job(_insert(n))) for n in range(5)]
    gate.open()
    assert [f.result(timeout=30) for f in futures] == list(range(5))
    stats = group_commit.stats_of(tables)
    assert stats is not None and stats.jobs == 6 and stats.batches == 2 and stats.largest == 5
    assert stats.busy_seconds >= stats.cpu_seconds > 0
    read = committer_batching("INFO:     " + stats.summary() + "\nINFO:     " + stats.summary())
    assert read["committers"] == 2 and read["jobs_per_commit"] == 3
    assert read["committer_ms_per_job"] == pytest.approx(1000 * stats.busy_seconds / 6, abs=0.001)
    assert read["committer_cpu_ms_per_job"] == pytest.approx(1000 * stats.cpu_seconds / 6, abs=0.001)
    assert read["busiest_committer_share"] == 0.5  # the two lines' jobs are even
    assert (read["side_by_side_share"], read["side_by_side_fell_back"]) == (0, 0)  # SQLite's never do, nor these
    sides = committer_batching(
        "group commit: 8 jobs in 4 batches (largest 3, 0 rerun, 3 side by side, 1 fell back), 1.000 ms a job"
        " in its batch, 0.500 ms of it CPU"
    )
    assert (sides["side_by_side_share"], sides["side_by_side_fell_back"]) == (0.75, 1)
    uneven = committer_batching(
        "INFO:     " + stats.summary() + "\nINFO:     group commit: 18 jobs in 3 batches (x)"
        ", 1.000 ms a job in its batch, 0.500 ms of it CPU"
    )
    assert uneven["committers"] == 2 and uneven["busiest_committer_share"] == 0.75
    assert committer_batching("no committer logged") == {}


def test_a_jobs_writes_go_with_the_next_jobs_reads_and_each_failure_stays_with_its_job(tables, monkeypatch):
    """On PostgreSQL a job's deferred writes and its savepoint's release go in the round trip of the next
    job's savepoint and reads ahead. A write that fails there fails its own job (rerun alone, as any key
    race), and the next job's reads run after; a read that fails there fails only the job that reads."""
    from sqlalchemy import Integer, String, bindparam, cast, select

    from puhui.db import pq_pipeline
    from puhui.db.prepared import run

    gc_row = Table("gc_row", MetaData(), Column("n", Integer, primary_key=True), Column("parent", Integer))
    insert = Prepared(gc_row.insert())
    count = Prepared(select(gc_row.c.n).where(gc_row.c.n == bindparam("n")))
    bad = Prepared(select(cast(bindparam("v", type_=String), Integer)))
    engine = tables
    group_commit.run(engine, lambda uow: uow.write(insert, {"n": 50}))
    pipelines: list[int] = []
    real = pq_pipeline.run
    monkeypatch.setattr(pq_pipeline, "run", lambda driver, statements: pipelines.append(1) or real(driver, statements))

    def writes(n: int, then_reads: int | None = None):
        def work(uow) -> list[int]:
            seen = [row[0] for row in run(uow.connection, count, {"n": then_reads}).all()] if then_reads else []
            uow.write(insert, {"n": n})
            return [n, *seen]

        reads = (lambda shared: [(count, {"n": then_reads})]) if then_reads is not None else None
        return group_commit.Job(work, reads=reads)

    gate = Gate(engine)
    futures = [
        group_commit.submit(engine, writes(51)),
        group_commit.submit(engine, writes(52, then_reads=51)),  # sees what the job before it wrote
        group_commit.submit(engine, writes(50)),  # a duplicate key, found when its writes go with the next's reads
        group_commit.submit(engine, writes(53, then_reads=52)),
        group_commit.submit(
            engine,
            group_commit.Job(
                lambda uow: run(uow.connection, bad, {"v": "x"}), reads=lambda shared: [(bad, {"v": "x"})]
            ),
        ),
        group_commit.submit(engine, writes(54, then_reads=53)),
    ]
    gate.open()
    assert futures[0].result(timeout=30) == [51]
    assert futures[1].result(timeout=30) == [52, 51]
    with pytest.raises(IntegrityError):
        futures[2].result(timeout=30)
    assert futures[3].result(timeout=30) == [53, 52]
    if engine.dialect.name == "postgresql":  # SQLite casts 'x' to 0
        assert futures[4].exception(timeout=30) is not None
    assert futures[5].result(timeout=30) == [54, 53]
    assert _rows(engine) == [50, 51, 52, 53, 54]
    assert pipelines or engine.dialect.name == "sqlite"

    pipelines.clear()
    gate = Gate(engine)
    futures = [group_commit.submit(engine, writes(n, then_reads=n - 1)) for n in (55, 56, 57)]
    gate.open()
    assert [f.result(timeout=30) for f in futures] == [[55, 54], [56, 55], [57, 56]]
    if engine.dialect.name == "postgresql":
        # the gate's batch: its savepoint, its release; then a round trip each for a job's savepoint and
        # reads (with the previous job's writes), and the last job's writes alone: 2 + 3 + 1 (it was 2 + 6)
        assert len(pipelines) == 6, len(pipelines)


def test_the_batchs_last_writes_go_with_its_commit_and_a_failure_of_the_last_job_stays_its_own(tables, monkeypatch):
    """On PostgreSQL the batch's finishing writes (late credits, the events' numbering) go with its COMMIT, in
    one round trip. If the last job's writes fail, the job fails (or reruns) alone, and the batch's finishing
    counts only the jobs done."""
    from puhui.db import pq_pipeline

    gc_row = Table("gc_row", MetaData(), Column("n", Integer, primary_key=True), Column("parent", Integer))
    insert = Prepared(gc_row.insert())
    engine = tables
    group_commit.run(engine, lambda uow: uow.write(insert, {"n": 60}))

    def finish(uow) -> None:  # a batch's finisher: one row that counts the batch's jobs done
        uow.write(insert, {"n": 100 + sum(uow.batch_sums.values())})

    def job(n: int) -> group_commit.Job:
        def work(uow) -> int:
            uow.write(insert, {"n": n})
            uow.batch_sums[("done",)] = 1
            uow.before_batch_commit.append(finish)
            return n

        return group_commit.Job(work)

    gate = Gate(engine)
    futures = [group_commit.submit(engine, job(61)), group_commit.submit(engine, job(60))]  # the last: a duplicate
    gate.open()
    assert futures[0].result(timeout=30) == 61
    with pytest.raises(IntegrityError):
        futures[1].result(timeout=30)
    assert _rows(engine) == [60, 61, 101]

    pipelines: list[int] = []
    real = pq_pipeline.run
    monkeypatch.setattr(pq_pipeline, "run", lambda driver, statements: pipelines.append(1) or real(driver, statements))
    gate = Gate(engine)
    futures = [group_commit.submit(engine, job(n)) for n in (62, 63)]
    gate.open()
    assert [f.result(timeout=30) for f in futures] == [62, 63]
    assert _rows(engine) == [60, 61, 62, 63, 101, 102]
    if engine.dialect.name == "postgresql":
        # the gate's batch: its savepoint, its release; then 62's savepoint, 63's with 62's writes, 63's writes,
        # and the finisher's writes with the COMMIT: 2 + 4 (before 2026-12-06, the finisher's writes went with
        # 63's and the COMMIT alone: 2 + 3 pipelines and a COMMIT)
        assert len(pipelines) == 6, len(pipelines)


def test_on_postgresql_the_next_batch_runs_while_a_batch_commits_and_waits_for_its_rows(tables, monkeypatch):
    """A batch's COMMIT waits on the finisher's thread while the committer runs the next batch: a job of the
    next batch that locks a row the committing batch wrote waits for that COMMIT and sees its row; results
    are released in commit order, each only after its own COMMIT."""
    engine = tables
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's single writer commits in the committer's thread")
    transaction(engine, _insert(1))
    held, committing = threading.Event(), threading.Event()
    real = group_commit._commit_batch

    def slow_first_commit(connection, last) -> None:  # type: ignore[no-untyped-def]
        if not held.is_set():
            committing.set()
            assert held.wait(timeout=30)
        real(connection, last)

    monkeypatch.setattr(group_commit, "_commit_batch", slow_first_commit)
    ran_meanwhile = threading.Event()

    def bump(uow) -> int:  # type: ignore[no-untyped-def]
        return uow.execute(text("UPDATE gc_row SET n = n + 10 WHERE n IN (1, 11) RETURNING n")).scalar_one()

    def elsewhere(uow) -> int:  # type: ignore[no-untyped-def]
        ran_meanwhile.set()
        return _insert(50)(uow)

    first = group_commit.submit(engine, group_commit.Job(bump))
    assert committing.wait(timeout=30)  # the first batch is committing, held
    second = group_commit.submit(engine, group_commit.Job(elsewhere))
    assert ran_meanwhile.wait(timeout=30)  # the next batch ran meanwhile
    third = group_commit.submit(engine, group_commit.Job(bump))  # the row the first batch wrote
    assert not first.done() and not second.done() and not third.done()  # nothing released before its COMMIT
    held.set()
    assert first.result(timeout=30) == 11 and second.result(timeout=30) == 50
    assert third.result(timeout=30) == 21  # it waited for the first COMMIT and saw its row
    assert _rows(engine) == [21, 50]
