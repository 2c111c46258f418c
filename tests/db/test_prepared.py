"""Prepared statements (`puhui.db.prepared`) answer exactly what SQLAlchemy's own execution of the same
Core statement answers, on SQLite and PostgreSQL: rows, type conversions, a write's row count, the
same exceptions; and a statement they cannot run the same way is refused, not run differently."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    literal,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from puhui.db import transaction
from puhui.db.prepared import NotPreparable, Prepared, run, run_many

metadata = MetaData()
things = Table(
    "prepared_things",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("note", String(64)),
    Column("flag", Boolean, nullable=False, server_default="0"),
)
defaulted = Table(
    "prepared_defaulted", metadata, Column("id", Integer, primary_key=True), Column("n", Integer, default=lambda: 7)
)

BY_ID = select(things).where(things.c.id == bindparam("id"))
MARKED = select(things.c.id, literal(True)).where(things.c.amount > bindparam("least")).order_by(things.c.id)
RAISE = update(things).where(things.c.id == bindparam("key"), things.c.amount < 100).values(amount=bindparam("to"))


@pytest.fixture
def table(engine):
    metadata.create_all(engine)
    yield engine
    metadata.drop_all(engine)


def both(engine, statement, params):
    """(SQLAlchemy's rows, the prepared statement's rows) for the same statement and values."""
    prepared = Prepared(statement)

    def read(uow):
        core = [tuple(row) for row in uow.execute(statement, params).all()]
        return core, run(uow.connection, prepared, params).all()

    return transaction(engine, read)


def test_reads_and_writes_answer_as_sqlalchemy_does(table):
    insert = Prepared(things.insert())
    run_many_rows = [{"id": f"t{n}", "amount": n * 50, "note": None if n % 2 else f"n{n}"} for n in range(4)]

    def write(uow):
        run(uow.connection, insert, {"id": "lone", "amount": 5, "note": "x", "flag": True})  # all columns
        run_many(uow.connection, insert, run_many_rows)  # a subset: the server default fills `flag`
        changed = run(uow.connection, Prepared(RAISE), {"key": "t1", "to": 99})
        unchanged = run(uow.connection, Prepared(RAISE), {"key": "t3", "to": 1})
        return changed.rowcount, unchanged.rowcount

    assert transaction(table, write) == (1, 0)
    core, mine = both(table, BY_ID, {"id": "lone"})
    assert mine == core == [("lone", 5, "x", True)] and isinstance(mine[0][3], bool)
    core, mine = both(table, MARKED, {"least": 40})
    assert mine == core == [("t1", True), ("t2", True), ("t3", True)]
    rows = transaction(table, lambda uow: run(uow.connection, Prepared(BY_ID), {"id": "t1"}))
    assert rows.mapping() == {"id": "t1", "amount": 99, "note": None, "flag": False}
    assert rows.scalar() == "t1" and rows.first() == ("t1", 99, None, False)
    missing = transaction(table, lambda uow: run(uow.connection, Prepared(BY_ID), {"id": "none"}))
    assert missing.first() is None and missing.mapping() is None and missing.mappings() == []


def test_driver_errors_are_sqlalchemys(table):
    insert = Prepared(things.insert())
    transaction(table, lambda uow: run(uow.connection, insert, {"id": "a", "amount": 1}))
    with pytest.raises(IntegrityError):
        transaction(table, lambda uow: run(uow.connection, insert, {"id": "a", "amount": 2}), unique_race_retries=False)
    assert both(table, BY_ID, {"id": "a"})[1] == [("a", 1, None, False)]


def test_what_it_cannot_run_the_same_way_is_refused(table):
    with pytest.raises(NotPreparable):
        transaction(table, lambda uow: run(uow.connection, Prepared(defaulted.insert()), {"id": 1}))
    with pytest.raises(NotPreparable):
        statement = select(things).where(things.c.id.in_(bindparam("ids", expanding=True)))
        transaction(table, lambda uow: run(uow.connection, Prepared(statement), {"ids": ["a"]}))


TEXT = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.dictionaries(  # PostgreSQL's text holds no NUL
        st.text("abcdefgh", min_size=1, max_size=8),
        st.tuples(st.integers(-(2**62), 2**62), st.none() | st.text(TEXT, max_size=20), st.booleans()),
        max_size=12,
    ),
    least=st.integers(-(2**62), 2**62),
)
def test_any_rows_read_the_same(table, rows, least):
    def fill(uow):
        uow.execute(things.delete())
        values = [{"id": k, "amount": a, "note": n, "flag": f} for k, (a, n, f) in rows.items()]
        run_many(uow.connection, Prepared(things.insert()), values)

    transaction(table, fill)
    core, mine = both(table, MARKED, {"least": least})
    assert mine == core
    for key in rows:
        core, mine = both(table, BY_ID, {"id": key})
        assert mine == core


def test_statement_listeners_see_what_runs(table):
    """The engine's statement counters and profilers (`before_cursor_execute`) see prepared statements too."""
    from sqlalchemy import event

    seen: list[tuple[str, bool]] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement.split()[0], executemany))

    event.listen(table, "before_cursor_execute", count)
    try:
        transaction(table, lambda uow: run_many(uow.connection, Prepared(things.insert()), [{"id": "x", "amount": 1}]))
        transaction(table, lambda uow: run(uow.connection, Prepared(BY_ID), {"id": "x"}))
    finally:
        event.remove(table, "before_cursor_execute", count)
    assert [s for s in seen if s[0] in ("INSERT", "SELECT")] == [("INSERT", True), ("SELECT", False)]
