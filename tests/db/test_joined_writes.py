"""A group-commit job's last writes (`puhui.db.prepared.run_writes`): on PostgreSQL consecutive plain
inserts into different tables go as one statement; whatever is joined, the rows written, their order
within a table, and a failure are those of the statements run one by one."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from puhui.db import transaction
from puhui.db.prepared import Prepared, run_writes
from tests.db.test_read_ahead import Statements, notes, other, tables  # noqa: F401 - the fixture

INSERT_NOTE = Prepared(notes.insert())
INSERT_OTHER = Prepared(other.insert())
SET_NOTE = Prepared(update(notes).where(notes.c.id == bindparam("key")).values(n=bindparam("to")))


def upsert(engine):
    insert = (pg_insert if engine.dialect.name == "postgresql" else sqlite_insert)(notes)
    return Prepared(insert.on_conflict_do_update(index_elements=["id"], set_={"n": notes.c.n + insert.excluded.n}))


def test_the_rows_are_those_of_the_statements_one_by_one(tables):  # noqa: F811
    writes = [
        (INSERT_NOTE, {"id": "c", "n": 3}),
        (INSERT_OTHER, {"id": "c", "n": 30}),
        (INSERT_NOTE, {"id": "d", "n": 4}),  # the same table again: a new statement
        (upsert(tables), {"id": "c", "n": 100}),  # sees the insert before it
        (SET_NOTE, {"key": "d", "to": 40}),  # an update keeps its place
        (INSERT_OTHER, {"id": "d", "n": 41}),
    ]
    with Statements(tables) as seen:
        transaction(tables, lambda uow: run_writes(uow.connection, writes, "SELECT 1"))
    with tables.connect() as c:
        assert dict(c.execute(select(notes.c.id, notes.c.n)).all()) == {"a": 1, "b": 1, "c": 103, "d": 40}
        assert dict(c.execute(select(other.c.id, other.c.n)).all()) == {"a": 1, "b": 1, "c": 30, "d": 41}
    sent = [sql.split()[0] for sql in seen if not sql.startswith(("BEGIN", "SET"))]
    if tables.dialect.name == "postgresql":
        assert sent == ["WITH", "INSERT", "INSERT", "UPDATE", "INSERT", "SELECT"]
    else:
        assert sent == ["INSERT"] * 4 + ["UPDATE", "INSERT", "SELECT"]


def test_a_failing_insert_in_a_joined_statement_writes_none_of_it(tables):  # noqa: F811
    writes = [(INSERT_OTHER, {"id": "e", "n": 5}), (INSERT_NOTE, {"id": "a", "n": 9})]  # "a" exists

    def work(uow):
        run_writes(uow.connection, writes, "SELECT 1")

    with pytest.raises(IntegrityError):
        transaction(tables, work, unique_race_retries=False)
    with tables.connect() as c:
        assert c.execute(select(other.c.id).where(other.c.id == "e")).first() is None
        assert c.execute(select(notes.c.n).where(notes.c.id == "a")).scalar() == 1
