"""`puhui bench wealth`: one day's money-market income distribution to N holders.

On a fresh database (SQLite file, or the embedded PostgreSQL), N holders of the platform fund are
bulk-loaded through the ledger (`puhui.ledger.seed.load_opening_balances`: accounts plus their opening
unit transfers, generated server-side from a series, balances derived from the transfers, so the
ledger audits clean), then, on the same database
and engine:

- **baseline**     one plain `UPDATE` adding each holder's income to its balance, nothing else
                   (no transfer rows, no residue, no events), on a scratch copy of the accounts
                   (`create_scratch_copy`: same columns, keys, indexes and rows), rolled back;
- **distribution** `distribution.distribute` for one day in one transaction: the income transfer
                   of every holder staged and posted by the ledger's set-based batch (`ledger.bulk`:
                   one INSERT ... SELECT, one check, one UPDATE ... FROM per side), the residue and
                   the fund's money, committed.

Printed: holders, seconds, holders/s and the ratio of the baseline's time to the distribution's.
Target: under 60 s for 1,000,000 holders on each backend on a 2-core machine.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import ExitStack
from typing import Annotated

import typer
from sqlalchemy import Engine, text

from puhui import clock
from puhui.db import create_engine_from_url, reading, transaction
from puhui.db.migrate import upgrade
from puhui.ledger.models import AccountFlags
from puhui.ledger.seed import (
    SelectRows,
    create_scratch_copy,
    drop_scratch_copy,
    load_opening_balances,
)
from puhui.wealth import units as funds
from puhui.wealth.mmf import distribution

FUND = "PH0001"
DAY = dt.date(2026, 1, 5)
R_E4 = 5_123  # 0.5123 yuan per 10,000 units (~1.9% a year)
TARGET_SECONDS = 60.0

BASELINE = """
    UPDATE {accounts} SET credits_posted = credits_posted
                          + (credits_posted - debits_posted - debits_pending) * :r / 100000000
    WHERE ledger = :ledger AND code = 'fund_units_held'
"""


SERIES = "WITH RECURSIVE s(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < :n) "
# Holder i: account `mmf.PH0001.b<i>`, bound not to go negative (as `ensure_holder` opens it), holding
# 100 + (i × 7919) mod 5,000,000 units (0.01 units, 1 to 50,000 units) issued by the fund.
HOLDERS = (
    SERIES
    + """
    SELECT CAST(:prefix AS VARCHAR(64)) || i, CAST(:ledger AS VARCHAR(16)), 'fund_units_held', 'b' || i,
           CAST(:flags AS INTEGER) FROM s
"""
)
SUBSCRIPTIONS = (
    SERIES
    + """
    SELECT 'mb.' || i, CAST(:issued AS VARCHAR(64)), CAST(:prefix AS VARCHAR(64)) || i, 100 + (i * 7919) % 5000000,
           CAST(:ledger AS VARCHAR(16)), 'mmf_confirm' FROM s
"""
)


def _seed(engine: Engine, holders: int) -> float:
    """The holders and their units, through the ledger's bulk load (balances follow from the transfers)."""
    started = time.perf_counter()
    with engine.begin() as connection:
        params = {"n": holders, "prefix": funds.holder_account(FUND, "b"), "ledger": funds.ledger_of(FUND)}
        load_opening_balances(
            connection,
            SelectRows(HOLDERS, {**params, "flags": int(AccountFlags.debits_must_not_exceed_credits)}),
            SelectRows(SUBSCRIPTIONS, {**params, "issued": funds.issued_account(FUND)}),
        )
    _analyze(engine)
    return time.perf_counter() - started


def _analyze(engine: Engine) -> None:
    """Fresh planner statistics after a bulk load."""
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def _baseline(engine: Engine) -> float:
    """The plain UPDATE over a scratch copy of the accounts (same shape and rows), rolled back."""
    with engine.begin() as connection:
        scratch = create_scratch_copy(connection, "bench_", copy_transfers=False)
    _analyze(engine)
    try:
        with engine.connect() as connection:
            transaction_ = connection.begin()
            started = time.perf_counter()
            connection.execute(
                text(BASELINE.format(accounts=scratch.accounts.name)), {"r": R_E4, "ledger": funds.ledger_of(FUND)}
            )
            seconds = time.perf_counter() - started
            transaction_.rollback()
    finally:
        with engine.begin() as connection:
            drop_scratch_copy(connection, scratch)
    return seconds


def run(
    backend: str = "sqlite", holders: int = 1_000_000, database_url: str | None = None, audit: bool | None = None
) -> dict:
    """Measure one day's distribution to `holders` holders on `backend` (a fresh database)."""
    from puhui.bench.ledger import fresh_database
    from puhui.ledger.audit import audit as run_audit

    previous = clock.install(clock.ManualClock(dt.datetime(2026, 1, 5, 14, 0, tzinfo=dt.UTC)))
    try:
        with ExitStack() as cleanup:
            url = database_url or fresh_database(backend, cleanup, "puhui_bench_wealth")
            engine = create_engine_from_url(url)
            cleanup.callback(engine.dispose)
            upgrade(engine)
            seed_seconds = _seed(engine, holders)
            baseline = _baseline(engine)
            started = time.perf_counter()
            income = transaction(engine, lambda uow: distribution.distribute(uow, FUND, DAY, R_E4))
            seconds = time.perf_counter() - started
            audit_ok = None
            if audit if audit is not None else holders <= 100_000:
                with reading(engine) as connection:
                    audit_ok = run_audit(connection).ok
    finally:
        clock.install(previous)
    return {
        "backend": backend,
        "holders": holders,
        "seed_seconds": round(seed_seconds, 2),
        "seconds": round(seconds, 6),
        "holders_per_s": round(holders / seconds, 1),
        "baseline_seconds": round(baseline, 6),
        "baseline_holders_per_s": round(holders / baseline, 1),
        "ratio_to_baseline": round(baseline / seconds, 3),
        "within_target": seconds < TARGET_SECONDS,
        "paid_holders": income.paid_holders,
        "paid": income.paid,
        "distributed": income.distributed,
        "residue": income.residue,
        "audit_ok": audit_ok,
    }


def command(
    holders: Annotated[int, typer.Option("--holders", min=1, help="Holders of the fund.")] = 1_000_000,
    backend: Annotated[str, typer.Option("--backend", help="sqlite or postgresql (embedded).")] = "sqlite",
    audit: Annotated[bool, typer.Option("--audit/--no-audit", help="Run `puhui audit` at the end.")] = False,
) -> None:
    """Time one day's money-market income distribution to N holders against a plain-UPDATE baseline."""
    from rich.console import Console
    from rich.table import Table

    if backend not in ("sqlite", "postgresql"):
        raise typer.BadParameter("--backend is sqlite or postgresql")
    result = run(backend=backend, holders=holders, audit=audit or None)
    table = Table(title=f"money-market income distribution on {backend}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(
            key, f"{value:,}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
        )
    console = Console(width=100)
    console.print(table)
    verdict = "within" if result["within_target"] else "OVER"
    console.print(
        f"{result['holders']:,} holders in {result['seconds']:.2f} s "
        f"({result['holders_per_s']:,.0f} holders/s): {verdict} the {TARGET_SECONDS:.0f} s target; "
        f"plain UPDATE baseline {result['baseline_seconds']:.2f} s"
    )
