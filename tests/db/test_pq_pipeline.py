"""`puhui.db.pq_pipeline`: a PostgreSQL pipeline sent in one write below psycopg's cursors answers exactly as
psycopg's own pipeline does (rows, their types, row counts, errors with their SQLSTATE), and keeps psycopg's
prepared-statement bookkeeping true."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from puhui.db import pq_pipeline

SETUP = """
CREATE TABLE IF NOT EXISTS pqp_notes (id text PRIMARY KEY, n bigint, amount numeric(18, 2), note text,
                                      at timestamptz, flags jsonb);
TRUNCATE pqp_notes;
INSERT INTO pqp_notes VALUES ('a', 1, 1.10, NULL, '2026-12-05 08:00+08', '{"k": 1}'), ('b', 2, 2.20, 'x', NULL, NULL);
"""
STATEMENTS = [
    ("SELECT id, n, amount, note, at, flags FROM pqp_notes WHERE id = %s", ("a",)),
    ("SELECT id, n, amount, note, at, flags FROM pqp_notes WHERE id = %(id)s", {"id": "b"}),
    ("SELECT count(*) FROM pqp_notes WHERE n > %s", (0,)),
    ("UPDATE pqp_notes SET n = n + %s WHERE id = %s", (1, "a")),
    ("UPDATE pqp_notes SET n = n + 1 WHERE id = 'nobody'", None),
    (
        "INSERT INTO pqp_notes (id, n, amount) VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING",
        ("c", 3, Decimal("3.30")),
    ),
    ("SELECT n FROM pqp_notes ORDER BY id", None),
    ("SAVEPOINT pqp", None),
    ("RELEASE SAVEPOINT pqp", None),
]


@pytest.fixture
def driver(pg_url):
    from puhui.db.embedded import _psycopg_conninfo

    with psycopg.connect(_psycopg_conninfo(pg_url), prepare_threshold=2) as connection:
        connection.execute(SETUP)
        connection.commit()
        yield connection
        connection.rollback()
        connection.execute("DROP TABLE pqp_notes")
        connection.commit()


def _psycopgs(driver, statements):
    with driver.pipeline():
        cursors = [driver.execute(sql, values) for sql, values in statements]
    return [(cursor.fetchall() if cursor.description else [], cursor.rowcount) for cursor in cursors]


def _begun(driver) -> None:
    driver.execute("SELECT 1")  # psycopg's BEGIN, as a unit of work's first statement sends it


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, len(STATEMENTS) - 1), min_size=1, max_size=12), runs=st.integers(1, 4))
def test_it_answers_as_psycopgs_own_pipeline(driver, picks, runs) -> None:
    statements = [STATEMENTS[i] for i in picks]  # a RELEASE without its SAVEPOINT fails, as it should
    for _ in range(runs):  # the later runs go prepared (prepare_threshold=2)
        _begun(driver)
        assert pq_pipeline.supported(driver)
        ours = _outcome(driver, lambda: pq_pipeline.run(driver, statements))
        _begun(driver)
        theirs = _outcome(driver, lambda: _psycopgs(driver, statements))
        assert ours == theirs


def _outcome(driver, pipeline):
    try:
        return pipeline()
    except psycopg.Error as error:
        return type(error), error.sqlstate
    finally:
        driver.rollback()


def test_the_values_come_back_with_their_types(driver) -> None:
    _begun(driver)
    [(rows, count)] = pq_pipeline.run(driver, [STATEMENTS[0]])
    assert count == 1
    assert rows == [("a", 1, Decimal("1.10"), None, dt.datetime(2026, 12, 5, 0, 0, tzinfo=dt.UTC), {"k": 1})]


def test_the_first_failure_is_raised_and_what_follows_it_is_skipped(driver) -> None:
    _begun(driver)
    statements = [
        ("UPDATE pqp_notes SET n = 10 WHERE id = %s", ("a",)),
        ("INSERT INTO pqp_notes (id, n) VALUES (%s, %s)", ("a", 9)),  # a duplicate key
        ("SELECT 1 / 0", None),
    ]
    with pytest.raises(psycopg.errors.UniqueViolation) as raised:
        pq_pipeline.run(driver, statements)
    assert raised.value.sqlstate == "23505"
    assert driver.pgconn.transaction_status == psycopg.pq.TransactionStatus.INERROR
    assert not pq_pipeline.supported(driver)  # a failed transaction goes psycopg's way
    driver.rollback()
    assert driver.execute("SELECT n FROM pqp_notes WHERE id = 'a'").fetchone() == (1,)


def test_a_value_it_cannot_adapt_is_raised_after_the_statements_before_it_ran(driver) -> None:
    _begun(driver)
    with pytest.raises(psycopg.ProgrammingError):
        pq_pipeline.run(driver, [("UPDATE pqp_notes SET n = 7 WHERE id = 'b'", None), ("SELECT %s", (object(),))])
    assert pq_pipeline.supported(driver)
    assert driver.execute("SELECT n FROM pqp_notes WHERE id = 'b'").fetchone() == (7,)


def test_statements_are_prepared_under_psycopgs_names_and_forgotten_with_them(driver) -> None:
    read = ("SELECT n FROM pqp_notes WHERE id = %s", ("a",))
    for _ in range(3):
        _begun(driver)
        assert pq_pipeline.run(driver, [read]) == [([(1,)], 1)]
        driver.commit()
    names = set(driver._prepared._names.values())
    server = {row[0].encode() for row in driver.execute("SELECT name FROM pg_prepared_statements").fetchall()}
    assert names and names <= server
    driver.execute(*read)  # psycopg's own run of it uses the statement made in the pipeline
    driver.rollback()  # psycopg forgets them all (DEALLOCATE ALL): so does the pipeline
    _begun(driver)
    assert pq_pipeline.run(driver, [read]) == [([(1,)], 1)]


def test_a_transaction_not_begun_is_begun_with_psycopgs_own_begin_in_the_same_round_trip(driver) -> None:
    driver.read_only = True  # psycopg's BEGIN then says READ ONLY, as `puhui.db.reading` asks
    driver.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    assert pq_pipeline.supported(driver) and pq_pipeline.idle(driver)
    [(first, _), (isolation, _)] = pq_pipeline.run(
        driver, [("SELECT n FROM pqp_notes WHERE id = %s", ("a",)), ("SHOW transaction_isolation", None)]
    )
    assert first == [(1,)] and isolation == [("repeatable read",)]
    assert driver.pgconn.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        pq_pipeline.run(driver, [("UPDATE pqp_notes SET n = 0", None)])
    driver.rollback()
    driver.read_only = driver.isolation_level = None


def test_in_autocommit_or_in_psycopgs_pipeline_it_is_not_used(driver) -> None:
    _begun(driver)
    with driver.pipeline():
        assert not pq_pipeline.supported(driver)
    driver.rollback()
    driver.autocommit = True  # nothing would begin the transaction the statements expect
    assert not pq_pipeline.supported(driver)


def test_a_deallocate_all_psycopg_queued_goes_before_what_the_pipeline_prepares(driver) -> None:
    """psycopg forgets its statements when a ROLLBACK's result is read, which in its own pipeline is at the
    pipeline's end: its DEALLOCATE ALL then waits for its next maintenance. Sent after a pipeline that
    prepared a statement, it would drop that statement while psycopg still counted it as made."""
    driver.prepare_threshold = 0  # every statement prepared at its first run
    _begun(driver)
    driver.execute("SAVEPOINT s")
    driver.execute("SELECT n FROM pqp_notes WHERE id = %s", ("b",))  # psycopg has a statement prepared
    with driver.pipeline():
        driver.execute("ROLLBACK TO SAVEPOINT s")
    read = ("SELECT n, note FROM pqp_notes WHERE id = %s", ("a",))
    for _ in range(2):
        assert pq_pipeline.run(driver, [read]) == [([(1, None)], 1)]


def test_the_sync_goes_through_the_libpq_psycopg_loaded_and_its_failure_is_psycopgs_error(driver) -> None:
    """The sync is sent by ctypes (which lets go of the GIL) wherever psycopg's C libpq can be found."""
    import sys

    if sys.platform.startswith("linux") and psycopg.pq.__impl__ in ("c", "binary"):
        assert pq_pipeline._LIBPQ is not None
    with pytest.raises(psycopg.OperationalError, match="not in pipeline mode"):
        pq_pipeline._sync(driver.pgconn)  # not in pipeline mode: libpq refuses it
    assert pq_pipeline.run(driver, [("SELECT %s::int", (7,))]) == [([(7,)], 1)]


def test_without_the_loaded_libpq_psycopgs_own_sync_serves(driver, monkeypatch) -> None:
    monkeypatch.setattr(pq_pipeline, "_LIBPQ", None)
    assert pq_pipeline.run(driver, [("SELECT %s::int", (8,)), ("SELECT %s::text", ("x",))]) == [
        ([(8,)], 1),
        ([("x",)], 1),
    ]
