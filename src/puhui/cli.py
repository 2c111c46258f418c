"""The `puhui` command (Typer + Rich): serve, db upgrade, audit, bench."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from puhui.bench.console import command as bench_console
from puhui.bench.graph import command as bench_graph
from puhui.bench.insurance import command as bench_insurance
from puhui.bench.lending import command as bench_lending
from puhui.bench.matching import command as bench_matching
from puhui.bench.monitor import command as bench_monitor
from puhui.bench.payments import command as bench_payments
from puhui.bench.risk import command as bench_risk
from puhui.bench.wealth import command as bench_wealth
from puhui.cli_engine import disposed_when_done
from puhui.cli_engine import engine_for as _engine
from puhui.console_screenshots import app as console_app
from puhui.eod_cli import eod as eod_command
from puhui.identity.cli import app as identity_app
from puhui.identity.merchants_cli import app as merchants_app
from puhui.insurance.cli import app as insurance_app
from puhui.lending.cli import app as lending_app
from puhui.payments import cli as payments_cli
from puhui.regtech import graph_cli as regtech_graph
from puhui.regtech import reports_cli as regtech_reports
from puhui.regtech.cli import app as regtech_app
from puhui.regtech.nats import cli as regtech_nats
from puhui.risk.cli import app as risk_app
from puhui.risk.features_cli import app as profiles_app
from puhui.securities.cli import app as securities_app
from puhui.sim.cli import simulate, simulate_insurance
from puhui.supplychain.cli import app as supplychain_app
from puhui.wealth.cli import app as wealth_app


def _every_command(command: Any, parent: Any = None) -> Iterator[tuple[Any, Any]]:
    """`command` and every command and group under it (click's objects, as Typer built them), each with a
    context as click makes one to run it (its settings, its parent's), with no arguments read."""
    context = command.context_class(command, parent=parent, info_name=command.name, **command.context_settings)
    yield command, context
    for sub in getattr(command, "commands", {}).values():
        yield from _every_command(sub, context)


def _refusing_without_env_file(callback: Callable[..., Any]) -> Callable[..., Any]:
    """`callback`, first refusing with `env_file_missing` when PUHUI_ENV_FILE names no file."""
    if getattr(callback, "_checks_env_file", False):
        return callback

    @functools.wraps(callback)
    def checked(*args: Any, **kwargs: Any) -> Any:
        from puhui.settings import env_file

        env_file()
        return callback(*args, **kwargs)

    checked._checks_env_file = True  # type: ignore[attr-defined]
    return checked


def _flags_shown_as_flags(command: Any, context: Any) -> None:
    """A flag (`--json`, `--record / --no-record`, `--help`) takes no value, so help shows no type for it: an
    empty metavar, which every Typer release shows as nothing (Typer 0.29 shows `<bool>` otherwise)."""
    for param in [*command.params, command.get_help_option(context)]:
        if getattr(param, "is_flag", False) and not getattr(param, "count", False) and param.metavar is None:
            param.metavar = ""


class PuhuiCommand(TyperGroup):
    """The `puhui` root, built with every command under it. Each command that runs (not a group: they only
    show help or pass on to a command) first refuses with `env_file_missing` when PUHUI_ENV_FILE names no
    file, the server too; the check comes once its arguments are read, so `--help` and a bare group still
    show their help. And every flag shows in help as a flag, without a type."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for command, context in _every_command(self):
            _flags_shown_as_flags(command, context)
            if getattr(command, "commands", None) is None and command.callback is not None:
                command.callback = _refusing_without_env_file(command.callback)


app = typer.Typer(
    cls=PuhuiCommand,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Puhui (普惠): an internet-finance platform.",
    epilog="Exit status (every command): 0 done; 1 failed (a check found a problem, a database error, a bug); "
    "2 bad usage, nothing done; 3 could not run (the database cannot be reached). "
    "An error is one line on stderr: `code: message`.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks, each with a baseline measured in the same run.")


@app.callback()
def _command(context: typer.Context) -> None:
    # PUHUI_ENV_FILE naming no file stops every command as it starts (`PuhuiCommand`), not help
    disposed_when_done(context)


app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")
app.add_typer(identity_app, name="identity")
app.add_typer(merchants_app, name="merchants")
app.add_typer(risk_app, name="risk")
app.add_typer(lending_app, name="lending")
app.add_typer(insurance_app, name="insurance")
app.add_typer(supplychain_app, name="supplychain")
app.add_typer(wealth_app, name="wealth")
app.add_typer(securities_app, name="securities")
app.add_typer(regtech_app, name="regtech")
app.add_typer(console_app, name="console")
regtech_app.add_typer(regtech_reports.report, name="report")
regtech_app.add_typer(regtech_reports.cases, name="cases")
regtech_app.command("dashboard")(regtech_reports.dashboard)
regtech_app.command("graph")(regtech_graph.graph)
regtech_app.command("relay")(regtech_nats.relay)
regtech_app.command("worker")(regtech_nats.worker)
app.command("simulate", help="Simulate the market through the real services and write the HTML report.")(simulate)
app.command("simulate-insurance", help="Simulate the insurance book; loss ratios and claims-fraud AUC.")(
    simulate_insurance
)
risk_app.add_typer(profiles_app, name="profiles", help="Customer profiles (用户画像): batch and incremental.")
app.command("settle")(payments_cli.settle)
app.command("reconcile")(payments_cli.reconcile)
console = Console()
errors = Console(stderr=True)

DbOption = typer.Option(None, "--db", help="Database URL (default: PUHUI_DATABASE_URL or SQLite in the user data dir).")


@db_app.command("upgrade")
def db_upgrade(db: str = DbOption, revision: str = typer.Argument("head")) -> None:
    """Apply Alembic migrations up to REVISION (default: head)."""
    from puhui.db.migrate import current_revision, upgrade

    engine = _engine(db, check_schema=False)
    upgrade(engine, revision)
    console.print(f"database at revision [bold]{current_revision(engine)}[/bold]")


@app.command()
def audit(db: str = DbOption, as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Check the ledger invariants; exit 1 with the offending rows if any fails (3: the database cannot be reached)."""
    from puhui.db import reading
    from puhui.ledger.audit import audit as run_audit

    engine = _engine(db)
    with reading(engine) as connection:
        report = run_audit(connection)
    if as_json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "accounts": report.accounts,
                    "transfers": report.transfers,
                    "violations": [{"check": v.check, "rows": v.rows} for v in report.violations],
                }
            )
        )
    elif report.ok:
        console.print(f"[green]audit passed[/green]: {report.accounts} accounts, {report.transfers} transfers")
    else:
        for violation in report.violations:
            table = Table(title=f"[red]{violation.check}[/red]")
            for column in violation.rows[0]:
                table.add_column(str(column))
            for row in violation.rows:
                table.add_row(*(str(v) for v in row.values()))
            errors.print(table)
        errors.print(f"[red]audit failed[/red]: {len(report.violations)} invariant(s) broken")
    raise typer.Exit(0 if report.ok else 1)


@app.command("reserve-check")
def reserve_check(
    db: str = DbOption,
    ledger: str = typer.Option("CNY", help="Currency ledger to check."),
    record: bool = typer.Option(True, help="Record the result as today's check."),
) -> None:
    """Prove the reserve funds cover all wallet balances (备付金核对); exit 1 if not."""
    from puhui import clock
    from puhui.db import transaction
    from puhui.payments.reserve import record_check, reserve_coverage

    engine = _engine(db)
    if record:
        result = transaction(engine, lambda uow: record_check(uow, clock.business_date(), ledger))
    else:
        from puhui.db import reading

        with reading(engine) as connection:
            result = {
                "business_date": clock.business_date().isoformat(),
                **reserve_coverage(connection, ledger).as_json(),
            }
    print(json.dumps(result))
    raise typer.Exit(0 if result["covered"] else 1)


@bench_app.command("ledger")
def bench_ledger(
    backend: str = typer.Option("sqlite", "--backend", help="sqlite or postgresql"),
    db: str = typer.Option(None, "--db", help="Use this database instead of a fresh one (it is written to!)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    batches: int = typer.Option(12, help="Batches of 8,190 transfers to time."),
    singles: int = typer.Option(3000, help="One-transfer calls to time."),
) -> None:
    """Ledger throughput: batched, one per call, a plain-SQL baseline and (PostgreSQL) pgbench."""
    from puhui.bench.ledger import run

    if backend not in ("sqlite", "postgresql"):
        errors.print("--backend must be sqlite or postgresql")
        raise typer.Exit(2)
    result = run(backend=backend, database_url=db, batches=batches, singles=singles, quiet=as_json)
    if as_json:
        print(json.dumps(result))
    else:
        table = Table(title=f"ledger benchmark on {backend}")
        table.add_column("measure")
        table.add_column("value", justify="right")
        for key, value in result.items():
            table.add_row(key, f"{value:,.2f}" if isinstance(value, float) else str(value))
        console.print(table)


@bench_app.command("event-loop")
def bench_event_loop(
    backend: str = typer.Option("sqlite", "--backend", help="sqlite or postgresql"),
    payments: int = typer.Option(1500, help="Payments to time (as many /health calls are the baseline)."),
    clients: int = typer.Option(16, help="Calls in flight at once."),
    merchants: int = typer.Option(500, help="Merchants the payments spread over."),
) -> None:
    """A payment's cost to a serving process's event loop, over raw ASGI, against /health's (one JSON line)."""
    from puhui.bench.event_loop import run

    if backend not in ("sqlite", "postgresql"):
        errors.print("--backend must be sqlite or postgresql")
        raise typer.Exit(2)
    if payments < 1 or clients < 1 or merchants < 1:
        errors.print("--payments, --clients and --merchants must be at least 1")
        raise typer.Exit(2)
    print(json.dumps(run(backend=backend, payments=payments, clients=clients, merchants=merchants)))


bench_app.command("payments")(bench_payments)
bench_app.command("risk")(bench_risk)
bench_app.command("lending")(bench_lending)
bench_app.command("wealth")(bench_wealth)
bench_app.command("monitor")(bench_monitor)
bench_app.command("graph")(bench_graph)
bench_app.command("matching")(bench_matching)
app.command("eod")(eod_command)
bench_app.command("insurance")(bench_insurance)
bench_app.command("console")(bench_console)


@app.command("openapi")
def openapi_spec(
    out: str = typer.Option(
        None, "--out", help="Write it to this file (e.g. docs/openapi.json) instead of standard output."
    ),
) -> None:
    """The API's OpenAPI document as published (sandbox routes included): the same on every machine."""
    from pathlib import Path

    from puhui.api.contract import spec, text

    document = text(spec())
    if out is None:
        sys.stdout.write(document)
        return
    Path(out).write_text(document, encoding="utf-8")
    console.print(f"wrote {out}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    db: str = DbOption,
    demo: bool = typer.Option(
        False,
        "--demo",
        help="Run with a demo world on embedded SQLite: seeded, then a "
        "short market simulation with alerts and cases (once per database).",
    ),
    demo_customers: int = typer.Option(
        200,
        "--demo-customers",
        min=40,
        envvar="PUHUI_DEMO_CUSTOMERS",
        help="Simulated customers in the demo market (at least 40).",
    ),
    demo_days: int = typer.Option(
        14,
        "--demo-days",
        min=1,
        max=366,
        envvar="PUHUI_DEMO_DAYS",
        help="Simulated days in the demo market, ending yesterday (platform time).",
    ),
    demo_seed: int = typer.Option(1, "--demo-seed", envvar="PUHUI_DEMO_SEED", help="The demo market's seed."),
    workers: int = typer.Option(
        None,
        "--workers",
        envvar="PUHUI_WORKERS",
        help="Worker processes (PostgreSQL; default: the CPU count). SQLite is served by one.",
    ),
) -> None:
    """Run the HTTP API and console."""
    from puhui.server import run_server

    run_server(
        host=host,
        port=port,
        database_url=db,
        demo=demo,
        demo_customers=demo_customers,
        demo_days=demo_days,
        demo_seed=demo_seed,
        workers=workers,
    )


def main() -> None:
    """The `puhui` script: whatever stops a command is one line with its stable code (puhui.cli_errors)."""
    from puhui.cli_errors import report

    def echo(text: str) -> None:
        print(text, file=sys.stderr)

    try:
        status = app(standalone_mode=False)
    except typer.Abort:
        echo("aborted: interrupted")
        sys.exit(130)
    except typer.Exit as stop:
        sys.exit(stop.exit_code)
    except Exception as error:  # noqa: BLE001 - every error leaves as one line with its code and exit status
        sys.exit(report(error, echo))
    sys.exit(status if isinstance(status, int) else 0)
