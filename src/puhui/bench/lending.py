"""`puhui bench lending`: end of day for N active loans, against a plain-SQL baseline measured in
the same run on the same database.

- **setup**     (untimed) a fresh migrated database (SQLite temp file, or a database on an embedded
                PostgreSQL), one product, and N active 6-month loans bulk-inserted (loans and
                schedules; five ledger accounts each and a disbursement transfer each through the
                ledger's bulk load, `puhui.ledger.seed`, which derives the balances, so the audit
                holds). Start dates spread over the last 60 days; one loan in ten never
                pays, so some are overdue (penalties, buckets, classes, provisions move).
                An untimed warm-up end of day for the day before sets the first provisions.
- **eod**       `puhui.lending.eod.run` for the bench date: accrual for every loan, days past
                due, penalties, classes, provisions, all set-based; postings through the ledger.
- **eod again** the same date a second time (idempotent: nothing changes).
- **baseline**  one plain `UPDATE loans SET days_past_due = days_past_due + 0` over every row, in
                its own transaction: the least a pass over all loans can cost.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from contextlib import ExitStack
from typing import Any

import typer
from sqlalchemy import Engine, text

from puhui import clock
from puhui.bench.ledger import fresh_database
from puhui.db import create_engine_from_url, reading, transaction
from puhui.db.engine import is_postgres
from puhui.db.migrate import upgrade
from puhui.ledger.seed import OpeningAccount, OpeningTransfer, load_opening_balances

TERM = 6
PRINCIPAL = 10_000_00
PRODUCT = {
    "code": "bench-6",
    "name": "bench 6 months",
    "min_amount": "1000.00",
    "max_amount": "50000.00",
    "min_term": 6,
    "max_term": 6,
    "method": "equal_instalments",
    "annual_rate": "0.18",
    "grace_days": 3,
    "penalty_annual_rate": "0.24",  # the cap (`lending.disclosure.check_penalty_cap`)
}
FUNDER = "platform.equity.CNY"


def _bulk(connection: Any, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Rows straight in: COPY on PostgreSQL, DBAPI executemany on SQLite."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    connection.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def seed(engine: Engine, loans: int, bench_date: dt.date) -> None:
    """N active loans with schedules, accounts and disbursements, written in bulk."""
    from puhui.lending import accounts, service
    from puhui.lending.products import product_from_json
    from puhui.lending.schedule import build_schedule

    transaction(engine, lambda uow: service.create_product(uow, PRODUCT))
    product = product_from_json(PRODUCT)
    now = clock.now_micros()
    schedules = {
        k: build_schedule(PRINCIPAL, product.annual_rate, TERM, product.method, bench_date - dt.timedelta(k))
        for k in range(1, 61)
    }
    loan_rows: list[tuple] = []
    instalment_rows: list[tuple] = []
    account_rows: list[OpeningAccount] = []
    transfer_rows: list[OpeningTransfer] = []
    for n in range(loans):
        loan_id = f"bn{n:09d}"
        age = 1 + n % 60
        start = (bench_date - dt.timedelta(age)).toordinal()
        loan_rows.append(
            (
                loan_id,
                f"bc{n:09d}",
                PRODUCT["code"],
                PRINCIPAL,
                "0.18",
                270_000,
                "equal_instalments",
                TERM,
                3,
                start,
                "active",
                0,
                "current",
                "normal",
                0,
                0,
                0,
                now,
            )
        )
        for row in service.instalment_rows(loan_id, schedules[age], start):
            paid = n % 10 != 0 and row["due_day"] < bench_date.toordinal() - 1
            instalment_rows.append(
                (
                    loan_id,
                    row["number"],
                    row["period_start_day"],
                    row["due_day"],
                    row["principal"],
                    row["interest"],
                    0,
                    row["principal"] if paid else 0,
                    row["interest"] if paid else 0,
                    0,
                    row["interest"] if paid else 0,
                    0,
                )
            )
        account_rows += [
            OpeningAccount(r["id"], r["ledger"], r["code"], r["owner_id"], r["flags"])
            for r in accounts.account_rows(loan_id, now)
        ]
        transfer_rows.append(
            OpeningTransfer(
                f"dsb.{loan_id}",
                accounts.account_id(loan_id, "principal"),
                FUNDER,
                PRINCIPAL,
                "CNY",
                "loan_disbursement",
            )
        )

    def write(uow):
        c = uow.connection
        _bulk(
            c,
            "loans",
            (
                "id",
                "customer_id",
                "product_code",
                "principal",
                "annual_rate",
                "penalty_rate_e6",
                "method",
                "term",
                "grace_days",
                "start_day",
                "status",
                "days_past_due",
                "bucket",
                "loan_class",
                "penalty_accrued",
                "written_off",
                "recovered",
                "created_at",
            ),
            loan_rows,
        )
        _bulk(
            c,
            "loan_instalments",
            (
                "loan_id",
                "number",
                "period_start_day",
                "due_day",
                "principal",
                "interest",
                "fee",
                "principal_paid",
                "interest_paid",
                "fee_paid",
                "interest_accrued",
                "fee_recognized",
            ),
            instalment_rows,
        )
        # the loans' accounts and disbursements through the ledger: the principal receivable is
        # debited and the funder credited by the transfers themselves
        load_opening_balances(c, account_rows, transfer_rows)

    transaction(engine, write)
    if is_postgres(engine):
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


def run(
    *, loans: int = 100_000, backend: str = "sqlite", database_url: str | None = None, quiet: bool = False
) -> dict[str, Any]:
    from puhui.ledger.audit import audit
    from puhui.lending import eod

    if backend not in ("sqlite", "postgresql"):
        raise ValueError("backend must be sqlite or postgresql")
    if loans < 1:
        raise ValueError("loans must be at least 1")
    bench_date = clock.business_date() - dt.timedelta(1)  # the last date that is over: end of day runs it
    with ExitStack() as cleanup:
        url = database_url or fresh_database(backend, cleanup, "puhui_bench_lending")
        engine = create_engine_from_url(url)
        cleanup.callback(engine.dispose)
        upgrade(engine)
        began = time.perf_counter()
        seed(engine, loans, bench_date)
        setup_s = time.perf_counter() - began
        _say(quiet, f"seeded {loans:,} loans in {setup_s:.1f} s; warm-up end of day")
        eod.run(engine, bench_date - dt.timedelta(1))
        began = time.perf_counter()
        first = eod.run(engine, bench_date)
        eod_s = time.perf_counter() - began
        began = time.perf_counter()
        second = eod.run(engine, bench_date)
        again_s = time.perf_counter() - began
        began = time.perf_counter()
        transaction(engine, lambda uow: uow.execute(text("UPDATE loans SET days_past_due = days_past_due + 0")))
        baseline_s = time.perf_counter() - began
        with reading(engine) as connection:
            report = audit(connection)
            overdue = connection.execute(text("SELECT count(*) FROM loans WHERE days_past_due > 0")).scalar_one()
    return {
        "backend": backend,
        "loans": loans,
        "setup_s": round(setup_s, 3),
        "eod_s": round(eod_s, 6),
        "eod_loans_per_s": round(loans / eod_s, 1),
        "eod_transfers": first.transfers,
        "eod_again_s": round(again_s, 6),
        "eod_again_changed": second.ran,
        "baseline_update_s": round(baseline_s, 6),
        "baseline_loans_per_s": round(loans / baseline_s, 1),
        "eod_to_baseline": round(eod_s / baseline_s, 1),
        "overdue_loans": int(overdue),
        "audit_ok": report.ok,
    }


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        typer.echo(message, err=True)


def command(
    loans: int = typer.Option(100_000, "--loans", help="active loans to run end of day over"),
    backend: str = typer.Option("sqlite", "--backend", help="sqlite or postgresql (embedded)"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """End of day for N active loans (set-based), against a plain UPDATE over all loans."""
    result = run(loans=loans, backend=backend, quiet=as_json)
    if as_json:
        typer.echo(json.dumps(result))
        return
    for key, value in result.items():
        typer.echo(f"{key:>22}  {value}")


__all__ = ["command", "run"]
