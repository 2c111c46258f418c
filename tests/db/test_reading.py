"""`puhui.db.reading`: a read-only snapshot that ends without undoing the connection's prepared statements.

psycopg forgets every statement a connection has prepared at each ROLLBACK (and sends DEALLOCATE ALL), so
a read that ended by rolling back made the next user of the pooled connection parse and plan its
statements again."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from puhui.db import create_engine_from_url, reading
from puhui.identity.tables import customers

PREPARED = text("SELECT count(*) FROM pg_prepared_statements")


@pytest.fixture
def one_connection(pg_url):  # psycopg's prepared statements and read-only transactions are PostgreSQL's
    engine = create_engine_from_url(pg_url, pool_size=1)  # every use below takes the same pooled connection
    yield engine
    engine.dispose()


def test_statements_prepared_in_reads_stay_prepared_after_them(one_connection) -> None:
    for _ in range(3):  # prepared from its second run on (prepare_threshold=2)
        with reading(one_connection) as connection:
            assert connection.execute(customers.select().where(customers.c.id == "nobody")).first() is None
    with reading(one_connection) as connection:
        assert connection.execute(PREPARED).scalar() >= 1


def test_a_read_still_refuses_writes_and_an_error_ends_it(one_connection) -> None:
    with pytest.raises(DBAPIError, match="read-only transaction"), reading(one_connection) as connection:
        connection.execute(customers.delete())
    with reading(one_connection) as connection, pytest.raises(ZeroDivisionError):
        connection.execute(text("SELECT 1"))
        1 / 0  # noqa: B018 - the read ends by its error, not by its end
    with reading(one_connection) as connection:  # the pooled connection was left with no transaction open
        assert connection.execute(text("SELECT 1")).scalar() == 1


def test_a_savepoint_rolled_back_after_a_refusal_keeps_the_prepared_statements(one_connection) -> None:
    """A group-commit job's savepoint (driver SQL) and SQLAlchemy's (`begin_nested`) alike; after a failed
    statement psycopg forgets them as before (a failed pipeline skipped the PREPAREs queued after it)."""
    from puhui.db.prepared import rollback_to_savepoint, run_sql

    with one_connection.begin() as connection:
        for _ in range(3):
            connection.execute(customers.select().where(customers.c.id == "nobody")).first()
        run_sql(connection, "SAVEPOINT job")
        connection.execute(text("CREATE TEMP TABLE scratch (n int)"))
        connection.execute(text("INSERT INTO scratch VALUES (1)"))
        rollback_to_savepoint(connection, "job")  # refused by a rule: no statement failed
        assert connection.execute(PREPARED).scalar() >= 1
        nested = connection.begin_nested()
        connection.execute(text("SELECT 1"))
        nested.rollback()
        assert connection.execute(PREPARED).scalar() >= 1
        with pytest.raises(DBAPIError, match="scratch"), connection.begin_nested():
            connection.execute(text("SELECT n FROM scratch"))  # undone with its savepoint
        assert connection.execute(PREPARED).scalar() == 0
    with pytest.raises(DBAPIError, match="never_made.* does not exist"), one_connection.begin() as connection:
        rollback_to_savepoint(connection, "never_made")


def test_a_read_whose_pipeline_failed_leaves_no_statement_psycopg_wrongly_counts_as_prepared(one_connection) -> None:
    """A failed pipeline skips the PREPARE queued after its error, which psycopg already counts as made:
    such a read must end by ROLLBACK, the way psycopg forgets them, not by COMMIT."""
    query = "SELECT count(*) FROM customers WHERE id = %s"
    with reading(one_connection) as connection:
        connection.execute(text("SELECT 1"))  # the read's transaction begun, as `puhui.db.prepared` begins it
        driver = connection.connection.driver_connection
        for name in "aa":  # run twice: the next run prepares it (prepare_threshold=2)
            driver.execute(query, (name,))
        with pytest.raises(Exception, match="division by zero"), driver.pipeline():
            driver.execute("SELECT 1 / 0")
            driver.execute(query, ("b",))  # its PREPARE is skipped with the pipeline's error
    with reading(one_connection) as connection:
        assert connection.connection.driver_connection.execute(query, ("c",)).fetchone() == (0,)
