"""Engines from a database URL: embedded SQLite (WAL, one writer) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from puhui.db import prepared
from puhui.db.writers import begin_writing, take_turns
from puhui.errors import InvalidInput, PuhuiError


class UnsupportedDatabase(InvalidInput):
    code = "unsupported_database"
    title = "Unsupported database URL"


def normalize_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` as psycopg 3 URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_postgres(engine_or_url: Engine | str) -> bool:
    if isinstance(engine_or_url, str):
        return engine_or_url.startswith("postgres")
    return engine_or_url.dialect.name == "postgresql"


def create_engine_from_url(
    url: str, *, pool_size: int = 5, max_overflow: int | None = None, durable: bool = True
) -> Engine:
    """An engine for `url`. `durable=False` (SQLite only) skips the fsync at each commit: for a
    throwaway database such as a simulation's own file, where a crash may lose the whole run. PostgreSQL:
    `pool_size` connections kept, `max_overflow` (by default as many) more opened in a burst."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, durable)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size if max_overflow is None else max_overflow,
            pool_recycle=1800,
            isolation_level="READ COMMITTED",
            connect_args={"prepare_threshold": 2},
        )
        prepared.watch(engine)  # a payment's reads go ahead in one round trip
        # SQLAlchemy's savepoints too roll back without psycopg forgetting the prepared statements
        engine.dialect.do_rollback_to_savepoint = prepared.rollback_to_savepoint  # type: ignore[method-assign]
        return engine
    raise UnsupportedDatabase(f"{parsed.get_backend_name()} is not supported; use sqlite or postgresql")


def _sqlite_engine(url: str, durable: bool = True) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # As many pooled connections as a busy server has readers at once: a connection past the pool is
    # opened (with its pragmas) and closed for every read, which cost the payments path 1% of its time.
    pooling = {"pool_size": 16, "max_overflow": 16} if database and database != ":memory:" else {}
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **pooling)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" hook issue the BEGIN, so every write takes the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache per connection
        cursor.close()

    writers = take_turns(engine, writer_lock_path(engine))

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock at BEGIN (no upgrade deadlocks), in turn within this process;
        # readers share the WAL snapshot.
        if conn.get_execution_options().get("read_only", False):
            conn.exec_driver_sql("BEGIN")
        else:
            begin_writing(writers, conn)

    return engine


def writer_lock_path(engine: Engine) -> str | None:
    """The file whose `flock` SQLite's writing processes take in turn (`puhui.db.writers`)."""
    return lock_file(engine, ".writer")


def lock_file(engine: Engine, suffix: str) -> str | None:
    """A SQLite database's lock file, `<database file><suffix>` (its processes `flock` it); None for a
    database in memory (one process) or where there is no `flock`."""
    try:
        import fcntl  # noqa: F401 - only to know whether flock exists here
    except ImportError:  # pragma: no cover - not on POSIX
        return None
    database = engine.url.database
    if not database or database == ":memory:" or engine.url.query.get("mode") == "memory":
        return None
    return os.path.abspath(database) + suffix


class DatabaseNotMigrated(PuhuiError):
    code = "database_not_migrated"
    status = 503
    exit_status = 2  # a command pointed at a database it cannot use yet: bad usage, not a failure
    title = "The database is not at the current schema"
