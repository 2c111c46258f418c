"""The benchmarks' plain-SQL baselines write scratch copies of the ledger's tables, never the ledger's
own (issue 13): after a run the ledger holds exactly the transfers the ledger itself made, and the
copies are gone."""

from __future__ import annotations

from sqlalchemy import inspect, text

from puhui.bench.ledger import run
from puhui.db import create_engine_from_url

TINY = dict(
    batches=2, singles=20, batch_size=50, accounts=20, warmup_batches=1, warmup_singles=5, pgbench_seconds=1, quiet=True
)


def _transfers(url: str) -> tuple[int, set[str]]:
    engine = create_engine_from_url(url)
    try:
        with engine.connect() as connection:
            count = int(connection.execute(text("SELECT count(*) FROM transfers")).scalar_one())
        return count, set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_ledger_bench_baselines_leave_the_ledgers_tables_alone(db_url: str) -> None:
    before, tables_before = _transfers(db_url)
    backend = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    result = run(backend=backend, database_url=db_url, **TINY)
    after, tables_after = _transfers(db_url)
    assert result["baseline_per_s"] > 0 and result["fast_baseline_per_s"] > 0 and result["audit_ok"] is True
    funding, batched, single = 20, (1 + 2) * 50, 5 + 20  # one top-up per wallet; warm-up round included
    assert after - before == funding + batched + single  # no baseline row among them
    assert tables_after == tables_before  # the scratch copies were dropped
