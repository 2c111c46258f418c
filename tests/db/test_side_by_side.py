"""Jobs side by side (`puhui.db.side_by_side`, PostgreSQL): a batch whose jobs name disjoint footprints sends
their reads in one round trip and their writes in the next. A job that sends a statement of its own, or whose
write fails, sends the batch back to running its jobs one at a time, as if it had never tried."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, event, select, text, update

from puhui.db import group_commit, transaction
from puhui.db.prepared import ByKeys, Prepared, among, array_literal, run, take_guess
from tests.db.test_group_commit import Gate, _rows, tables  # noqa: F401

_ROW = Table("gc_row", MetaData(), Column("n", Integer, primary_key=True), Column("parent", Integer))
_INSERT = Prepared(_ROW.insert())
_READ = Prepared(select(_ROW.c.n).where(_ROW.c.n == bindparam("n")))
_ECHO = Prepared(select(bindparam("v", type_=String)))
_PARENT = Prepared(select(_ROW.c.parent).where(_ROW.c.n == bindparam("n")))
_SET_PARENT = Prepared(update(_ROW).where(_ROW.c.n == bindparam("key")).values(parent=bindparam("to")))


@pytest.fixture
def postgres(tables):
    if tables.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL runs jobs side by side (SQLite has no round trips to save)")
    return tables


class _Sent:
    """The statements the engine sends while open, by their first words."""

    def __init__(self, engine) -> None:
        self.engine, self.seen = engine, []

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append(" ".join(statement.split()[:3]))

    def __enter__(self) -> _Sent:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def _job(n: int, work=None, footprint: int | None = None) -> group_commit.Job:
    """A job inserting row `n` with a deferred write, after reading its echo ahead; its footprint is `n`."""

    def insert(uow) -> int:
        assert run(uow.connection, _ECHO, {"v": str(n)}).scalar() == str(n)  # answered from its read ahead
        uow.write(_INSERT, {"n": n})
        return n

    return group_commit.Job(
        work or insert,
        reads=lambda shared: [(_ECHO, {"v": str(n)})],
        guess=lambda uow: [],
        footprint=lambda shared: frozenset({footprint if footprint is not None else n}),
    )


def _batch(engine, jobs: list[group_commit.Job]) -> tuple[list, group_commit.Stats, list[str]]:
    stats = group_commit.committer_for(engine).stats
    before = (stats.side_by_side, stats.fell_back)
    gate = Gate(engine)
    with _Sent(engine) as sent:
        futures = [group_commit.submit(engine, job) for job in jobs]
        gate.open()
        outcomes = [f.exception(timeout=30) or f.result(timeout=30) for f in futures]
    return outcomes, (stats.side_by_side - before[0], stats.fell_back - before[1]), sent.seen


def test_disjoint_jobs_run_side_by_side_without_savepoints_of_their_own(postgres):
    outcomes, (side, fell), sent = _batch(postgres, [_job(1), _job(2), _job(3)])
    assert outcomes == [1, 2, 3] and (side, fell) == (1, 0)
    assert _rows(postgres) == [1, 2, 3]
    assert sent.count("SAVEPOINT puhui_side") == 1 and "SAVEPOINT puhui_job" not in sent


def test_jobs_whose_footprints_meet_run_one_at_a_time(postgres):
    outcomes, (side, fell), sent = _batch(postgres, [_job(1, footprint=7), _job(2), _job(3, footprint=7)])
    assert outcomes == [1, 2, 3] and (side, fell) == (0, 0)
    assert "SAVEPOINT puhui_side" not in sent and sent.count("SAVEPOINT puhui_job") == 3
    assert _rows(postgres) == [1, 2, 3]


def test_a_job_that_sends_its_own_statement_sends_the_batch_back_one_at_a_time(postgres):
    def unforeseen(uow) -> int:
        uow.execute(text("INSERT INTO gc_row (n) VALUES (2)"))  # not read ahead, not deferred
        return 2

    outcomes, (side, fell), sent = _batch(postgres, [_job(1), _job(2, unforeseen), _job(3)])
    assert outcomes == [1, 2, 3] and (side, fell) == (0, 1)
    assert sent.count("SAVEPOINT puhui_job") == 3  # after the undone try
    assert _rows(postgres) == [1, 2, 3]  # each once: the try left nothing


def test_a_write_failing_side_by_side_fails_its_own_job_alone(postgres):
    transaction(postgres, lambda uow: run(uow.connection, _INSERT, {"n": 2}))  # row 2 exists: job 2's insert fails

    outcomes, (side, fell), _ = _batch(postgres, [_job(1), _job(2), _job(3)])
    assert outcomes[0] == 1 and outcomes[2] == 3 and isinstance(outcomes[1], Exception)
    assert (side, fell) == (0, 1)
    assert _rows(postgres) == [1, 2, 3]


def test_a_refusal_side_by_side_is_refused_alone_and_recorded(postgres):
    from puhui.errors import InvalidInput

    recorded: list[str] = []

    def refuse(uow) -> int:
        uow.write(_INSERT, {"n": 20})  # deferred, then never sent
        raise InvalidInput("no")

    refusing = _job(2, refuse)
    refusing.refused = lambda uow, error: recorded.append(type(error).__name__)
    outcomes, (side, fell), _ = _batch(postgres, [_job(1), refusing, _job(3)])
    assert outcomes[0] == 1 and outcomes[2] == 3 and isinstance(outcomes[1], InvalidInput)
    assert (side, fell) == (0, 1) and recorded == ["InvalidInput"]
    assert _rows(postgres) == [1, 3]


def test_after_a_try_that_fell_back_the_next_batches_run_one_at_a_time_for_a_while(postgres):
    def unforeseen(n: int):
        def work(uow) -> int:
            uow.execute(text(f"INSERT INTO gc_row (n) VALUES ({n})"))
            return n

        return work

    tried = []
    for first in (10, 20, 30, 40, 50):  # fell back once: the next two batches do not try, the third does
        work = unforeseen(first) if first == 10 else None
        outcomes, counted, _ = _batch(postgres, [_job(first, work), _job(first + 1)])
        assert outcomes == [first, first + 1]
        tried.append(counted)
    assert tried == [(0, 1), (0, 0), (0, 0), (1, 0), (1, 0)]


@pytest.mark.parametrize("guess_writes", [False, True], ids=["nothing_written", "a_guess_writes_its_table"])
def test_a_read_several_jobs_make_alike_is_sent_once_unless_the_pipeline_writes_its_table(postgres, guess_writes):
    transaction(postgres, lambda uow: uow.execute(text("INSERT INTO gc_parent (id) VALUES (1), (2), (3), (7)")))
    transaction(postgres, lambda uow: [run(uow.connection, _INSERT, {"n": n}) for n in (201, 202, 203)])
    transaction(postgres, lambda uow: run(uow.connection, _INSERT, {"n": 100, "parent": 7}))

    def sharing(n: int) -> group_commit.Job:
        guessed = [(_SET_PARENT, {"key": 200 + n, "to": n})] if guess_writes else []

        def work(uow) -> int:
            assert run(uow.connection, _PARENT, {"n": 100}).scalar() == 7
            if guessed:
                assert take_guess(uow.connection, guessed) is not None
            uow.write(_INSERT, {"n": n})
            return n

        return group_commit.Job(
            work,
            reads=lambda shared: [(_PARENT, {"n": 100})],
            guess=lambda uow: guessed,
            footprint=lambda shared: frozenset({n}),
        )

    outcomes, (side, fell), sent = _batch(postgres, [sharing(1), sharing(2), sharing(3)])
    assert outcomes == [1, 2, 3] and (side, fell) == (1, 0)
    assert sent.count("SELECT gc_row.parent FROM") == (3 if guess_writes else 1)
    with postgres.connect() as connection:
        parents = dict(connection.execute(text("SELECT n, parent FROM gc_row WHERE n > 200")).all())
    assert parents == ({201: 1, 202: 2, 203: 3} if guess_writes else {201: None, 202: None, 203: None})


_PARENTS = Prepared(select(_ROW.c.n.label("key"), _ROW.c.parent).where(among(_ROW.c.n, "n")).order_by(_ROW.c.n))
_PARENT_BY_KEY = Prepared(select(_ROW.c.parent).where(_ROW.c.n == bindparam("n")), by_keys=ByKeys(_PARENTS, ("n",)))
_TWO_PARENTS = Prepared(
    select(_ROW.c.parent).where(_ROW.c.n.in_([bindparam("a"), bindparam("b")])).order_by(_ROW.c.n),
    by_keys=ByKeys(_PARENTS, ("n",), (("a",), ("b",))),
)


@pytest.mark.parametrize("guess_writes", [False, True], ids=["nothing_written", "a_guess_writes_its_table"])
def test_reads_by_key_of_several_jobs_are_one_statement_and_each_job_gets_its_own_rows(postgres, guess_writes):
    transaction(postgres, lambda uow: uow.execute(text("INSERT INTO gc_parent (id) VALUES (1), (2), (3), (4)")))
    there = {301: 1, 303: 3, 401: 2, 501: 4, 402: 1, 503: 2}  # 302, 403 and 502 are not
    transaction(postgres, lambda uow: [run(uow.connection, _INSERT, {"n": n, "parent": p}) for n, p in there.items()])
    transaction(postgres, lambda uow: [run(uow.connection, _INSERT, {"n": n}) for n in (601, 602, 603)])

    def reading(i: int) -> group_commit.Job:
        guessed = [(_SET_PARENT, {"key": 600 + i, "to": i})] if guess_writes else []
        reads = [(_PARENT_BY_KEY, {"n": 300 + i}), (_TWO_PARENTS, {"a": 400 + i, "b": 500 + i})]

        def work(uow) -> tuple:
            one = run(uow.connection, *reads[0]).all()
            two = run(uow.connection, *reads[1]).all()
            if guessed:
                assert take_guess(uow.connection, guessed) is not None
            uow.write(_INSERT, {"n": 700 + i})
            return one, two

        return group_commit.Job(
            work, reads=lambda shared: reads, guess=lambda uow: guessed, footprint=lambda shared: frozenset({i})
        )

    outcomes, (side, fell), sent = _batch(postgres, [reading(1), reading(2), reading(3)])
    assert (side, fell) == (1, 0)
    assert outcomes == [  # what each job would read alone: its own rows only, none for a key not there
        ([(1,)], [(2,), (4,)]),
        ([], [(1,)]),
        ([(3,)], [(2,)]),
    ]
    assert sent.count("SELECT gc_row.n AS") == (0 if guess_writes else 1)  # both reads go by `_PARENTS`: one
    assert sent.count("SELECT gc_row.parent FROM") == (6 if guess_writes else 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(
        st.text(
            st.sampled_from('"\\{},NUL \t') | st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"])
        ),
        max_size=5,
    )
)
def test_an_array_literal_reads_back_as_the_strings_it_was_made_of(postgres, values):
    """Whatever the strings (quotes, backslashes, braces, commas, spaces, NULL spelt out, the empty one)."""
    with postgres.connect() as connection:
        read = connection.execute(text("SELECT CAST(:a AS VARCHAR[])"), {"a": array_literal(values)}).scalar()
    assert read == values


_SERIAL = itertools.count(1000, 10)
_KINDS = st.sampled_from(["ok"] * 12 + ["refused", "own_statement", "failing_write"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.tuples(_KINDS, st.booleans()), min_size=2, max_size=6))
def test_side_by_side_or_not_each_job_ends_as_it_would_alone(postgres, batch):
    """Whatever a batch holds (footprints that meet or not, refusals, statements of their own, failing
    writes), each job's answer and rows are those it would have alone, once each."""
    from puhui.errors import InvalidInput

    committer = group_commit.committer_for(postgres)
    committer._side_misses = committer._side_skip = 0  # each example tries afresh, whatever the last one did
    base = next(_SERIAL)
    jobs, expected = [], {}
    for i, (kind, shares) in enumerate(batch):
        n, owner = base + i, 0 if shares else i + 1  # a job that shares meets every other that does
        if kind == "failing_write":  # its row is there already: its insert fails
            transaction(postgres, lambda uow, n=n: run(uow.connection, _INSERT, {"n": n}))
        work = None
        if kind == "refused":

            def work(uow, n=n):  # noqa: ANN001, ANN202
                uow.write(_INSERT, {"n": n})
                raise InvalidInput("no")
        elif kind == "own_statement":

            def work(uow, n=n):  # noqa: ANN001, ANN202
                uow.execute(text(f"INSERT INTO gc_row (n) VALUES ({n})"))
                return n

        jobs.append(_job(n, work, footprint=owner))
        expected[n] = kind
    outcomes, _, _ = _batch(postgres, jobs)
    for outcome, (n, kind) in zip(outcomes, expected.items(), strict=True):
        if kind in ("ok", "own_statement"):
            assert outcome == n, (kind, outcome)
        else:
            assert isinstance(outcome, Exception), (kind, outcome)
    present = {n for n in _rows(postgres) if base <= n < base + 10}
    assert present == {n for n, kind in expected.items() if kind != "refused"}  # a failing write's row was there
