"""A job's deferred writes on PostgreSQL (`puhui.db.prepared.write_statements`): a data-modifying statement that
names none of the tables of the plain inserts before it lets them join past it; one that names a table of
theirs keeps them apart, so nothing is written out of order."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, event, text

from puhui.db import transaction
from puhui.db.prepared import Prepared, run_writes
from tests.db.test_group_commit import tables  # noqa: F401

_META = MetaData()
_PARENT = Table("gc_parent", _META, Column("id", Integer, primary_key=True))
_ROW = Table("gc_row", _META, Column("n", Integer, primary_key=True), Column("parent", Integer))
_INSERT_PARENT, _INSERT_ROW = Prepared(_PARENT.insert()), Prepared(_ROW.insert())


@pytest.fixture
def postgres(tables):
    if tables.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL joins a job's inserts")
    transaction(tables, lambda uow: uow.execute(text("INSERT INTO gc_parent (id) VALUES (1)")))
    return tables


def _written(engine, writes) -> tuple[list[str], dict[int, int | None], list[int]]:
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        transaction(engine, lambda uow: run_writes(uow.connection, writes))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    with engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT n, parent FROM gc_row")).all())
        parents = sorted(connection.execute(text("SELECT id FROM gc_parent")).scalars())
    return sent, rows, parents


def test_inserts_join_past_a_statement_that_names_none_of_their_tables(postgres):
    bump = ("UPDATE gc_row SET parent = %s WHERE n = %s", [1, 5])  # names gc_row only
    sent, rows, parents = _written(postgres, [(_INSERT_PARENT, {"id": 2}), bump, (_INSERT_ROW, {"n": 6, "parent": 2})])
    assert sent == ["UPDATE", "WITH"]  # the insert of gc_parent went after the update, joined with the other
    assert rows == {6: 2} and parents == [1, 2]


def test_an_insert_stays_before_a_statement_that_names_its_table(postgres):
    transaction(postgres, lambda uow: uow.execute(text("INSERT INTO gc_row (n) VALUES (5)")))
    bump = ("UPDATE gc_row SET parent = (SELECT max(id) FROM gc_parent) WHERE n = %s", [5])  # reads gc_parent
    sent, rows, parents = _written(postgres, [(_INSERT_PARENT, {"id": 2}), bump, (_INSERT_ROW, {"n": 6, "parent": 2})])
    assert sent == ["INSERT", "UPDATE", "INSERT"]
    assert rows == {5: 2, 6: 2} and parents == [1, 2]  # the update saw the parent inserted before it
