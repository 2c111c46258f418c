"""Reads ahead (`puhui.db.prepared.read_ahead`): on PostgreSQL reads sent together in one round trip and
kept for the `run`s that follow. A kept row must be exactly what the read would return at the moment it
is used: any write to a table it reads, by any path, drops it. On SQLite nothing is kept."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Column, MetaData, String, Table, bindparam, create_engine, event, select, update

from puhui.db import transaction
from puhui.db.prepared import Prepared, read_ahead, run, run_sql, run_writes

metadata = MetaData()
notes = Table("ahead_notes", metadata, Column("id", String(8), primary_key=True), Column("n", BigInteger))
other = Table("ahead_other", metadata, Column("id", String(8), primary_key=True), Column("n", BigInteger))

NOTE = Prepared(select(notes.c.n).where(notes.c.id == bindparam("id")))
OTHER = Prepared(select(other.c.n).where(other.c.id == bindparam("id")))
SET_NOTE = Prepared(update(notes).where(notes.c.id == bindparam("key")).values(n=bindparam("to")))
SET_OTHER = Prepared(update(other).where(other.c.id == bindparam("key")).values(n=bindparam("to")))


@pytest.fixture
def tables(engine):
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(notes.insert(), [{"id": k, "n": 1} for k in "ab"])
        connection.execute(other.insert(), [{"id": k, "n": 1} for k in "ab"])
    yield engine
    metadata.drop_all(engine)


class Statements:
    """The statements sent to the database while it is open (prepared ones and SQLAlchemy's)."""

    def __init__(self, engine) -> None:
        self.engine, self.seen = engine, []

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append(statement)

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self.seen

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def test_a_kept_read_answers_without_a_statement_once(tables):
    postgres = tables.dialect.name == "postgresql"

    def work(uow):
        read_ahead(uow.connection, [(NOTE, {"id": "a"}), (OTHER, {"id": "b"})], first="SAVEPOINT ahead")
        with Statements(tables) as seen:
            c = uow.connection
            answers = [run(c, NOTE, {"id": "a"}).scalar(), run(c, OTHER, {"id": "b"}).scalar()]
            after_use = len(seen)
            again = run(c, NOTE, {"id": "a"}).scalar()  # used once: the next run asks the database
        return answers, after_use, again, len(seen)

    answers, after_use, again, total = transaction(tables, work)
    assert answers == [1, 1] and again == 1
    assert (after_use, total) == ((0, 1) if postgres else (2, 3))


def test_a_write_to_its_table_by_any_path_drops_a_kept_read(tables):
    def work(uow):
        c = uow.connection
        found = []
        for write in (
            lambda: run(c, SET_NOTE, {"key": "a", "to": 2}),  # prepared
            lambda: c.execute(update(notes).where(notes.c.id == "a").values(n=3)),  # SQLAlchemy Core
            lambda: run_writes(c, [(SET_NOTE, {"key": "a", "to": 4})], "SELECT 1"),  # pipelined writes
            lambda: run_sql(c, "SAVEPOINT s1"),  # SQL it cannot attribute drops everything
        ):
            read_ahead(c, [(NOTE, {"id": "a"})])
            write()
            found.append(run(c, NOTE, {"id": "a"}).scalar())
        return found

    assert transaction(tables, work) == [2, 3, 4, 4]


def test_a_write_to_another_table_keeps_it(tables):
    postgres = tables.dialect.name == "postgresql"

    def work(uow):
        read_ahead(uow.connection, [(NOTE, {"id": "a"})])
        run(uow.connection, SET_OTHER, {"key": "a", "to": 9})
        with Statements(tables) as seen:
            value = run(uow.connection, NOTE, {"id": "a"}).scalar()
        return value, len(seen)

    assert transaction(tables, work) == (1, 0 if postgres else 1)


def test_reads_sent_with_a_write_are_kept_unless_it_writes_their_table(tables):
    postgres = tables.dialect.name == "postgresql"

    def work(uow):
        c = uow.connection
        changed = run(c, SET_NOTE, {"key": "b", "to": 5}, ahead=[(OTHER, {"id": "b"}), (NOTE, {"id": "b"})])
        with Statements(tables) as seen:
            values = (run(c, OTHER, {"id": "b"}).scalar(), run(c, NOTE, {"id": "b"}).scalar())
        return changed.rowcount, values, len(seen)

    assert transaction(tables, work) == (1, (1, 5), 1 if postgres else 2)


def test_a_rolled_back_savepoint_drops_what_was_kept(tables):
    def work(uow):
        c = uow.connection
        run_sql(c, "SAVEPOINT outer_one")
        run(c, SET_NOTE, {"key": "a", "to": 7})
        read_ahead(c, [(NOTE, {"id": "a"})])
        run_sql(c, "ROLLBACK TO SAVEPOINT outer_one")
        return run(c, NOTE, {"id": "a"}).scalar()

    assert transaction(tables, work) == 1


def test_nothing_kept_outlives_its_transaction(tables):
    with tables.connect() as c:  # one connection, transaction after transaction
        with c.begin() as undone:
            run(c, SET_NOTE, {"key": "a", "to": 6})
            read_ahead(c, [(NOTE, {"id": "a"})])
            undone.rollback()
        with c.begin():
            read_ahead(c, [(NOTE, {"id": "b"})])
        with tables.begin() as elsewhere:  # a write the kept row, had it survived, would not show
            elsewhere.execute(update(notes).where(notes.c.id == "b").values(n=3))
        with c.begin():
            assert (run(c, NOTE, {"id": "a"}).scalar(), run(c, NOTE, {"id": "b"}).scalar()) == (1, 3)


def test_an_engine_not_watched_keeps_nothing(tables):
    if tables.dialect.name != "postgresql":
        pytest.skip("only a PostgreSQL engine keeps reads")
    bare = create_engine(tables.url)  # made without `puhui.db.create_engine_from_url`: no `watch`
    try:
        with bare.begin() as connection:
            read_ahead(connection, [(NOTE, {"id": "a"})])
            connection.execute(update(notes).where(notes.c.id == "a").values(n=8))
            assert run(connection, NOTE, {"id": "a"}).scalar() == 8
    finally:
        bare.dispose()


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("ahead"), st.lists(st.tuples(st.sampled_from("no"), st.sampled_from("ab")), max_size=4)),
        st.tuples(st.just("read"), st.tuples(st.sampled_from("no"), st.sampled_from("ab"))),
        st.tuples(st.just("write"), st.tuples(st.sampled_from("no"), st.sampled_from("ab"), st.integers(0, 99))),
        st.tuples(st.just("core_write"), st.tuples(st.sampled_from("no"), st.sampled_from("ab"), st.integers(0, 99))),
        st.tuples(st.just("savepoint"), st.just(None)),
    ),
    max_size=14,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_every_read_answers_what_the_database_holds_now(tables, steps):
    """Any mix of reads ahead, writes (prepared, Core) and savepoints: each `run` of a read answers what a
    plain SQLAlchemy read in the same transaction answers at that moment."""
    reads = {"n": NOTE, "o": OTHER}
    writes = {"n": SET_NOTE, "o": SET_OTHER}
    core = {"n": notes, "o": other}

    def work(uow):
        c = uow.connection
        for kind, arg in steps:
            if kind == "ahead":
                read_ahead(c, [(reads[t], {"id": k}) for t, k in arg])
            elif kind == "read":
                t, k = arg
                table = core[t]
                truth = c.execute(select(table.c.n).where(table.c.id == k)).scalar()
                # the Core read above is a SELECT: it drops nothing, so the kept row is still compared
                assert run(c, reads[t], {"id": k}).scalar() == truth
            elif kind == "write":
                t, k, n = arg
                run(c, writes[t], {"key": k, "to": n})
            elif kind == "core_write":
                t, k, n = arg
                c.execute(update(core[t]).where(core[t].c.id == k).values(n=n))
            else:
                run_sql(c, "SAVEPOINT step")
        raise _Undo

    with pytest.raises(_Undo):
        transaction(tables, work)


class _Undo(Exception):
    """Rolls the example's transaction back, so every example starts from the same rows."""
