"""`puhui supplychain receivables` and `puhui supplychain mature --date`."""

from __future__ import annotations

import json

import typer

from puhui.cli_engine import engine_for as _engine

app = typer.Typer(no_args_is_help=True, help="Supply-chain finance (供应链金融): receivables and maturities.")
DB = typer.Option(None, "--db", help="database URL (default: the configured one)")


@app.command()
def receivables(
    core: str | None = typer.Option(None, "--core", help="only this core enterprise's payables"), db: str | None = DB
) -> None:
    """List confirmed receivables (JSON), oldest maturity first."""
    from puhui.db import reading
    from puhui.supplychain import service

    with reading(_engine(db)) as connection:
        rows = service.list_receivables(connection, core_id=core)
    typer.echo(json.dumps([service.receivable_json(r) for r in rows], indent=2, ensure_ascii=False))


@app.command()
def mature(
    date: str = typer.Option(..., "--date", help="business date YYYY-MM-DD (China time)"), db: str | None = DB
) -> None:
    """Settle the receivables due on or before DATE: core enterprises pay, or they turn overdue.

    Idempotent. DATE must be over (before today) and not before the last date run; dates skipped since then
    run first."""
    from puhui.cli_errors import fail
    from puhui.eod.dates import parse_date
    from puhui.errors import PuhuiError
    from puhui.supplychain import service

    try:
        summary = service.mature(_engine(db), parse_date(date, "--date"))
    except PuhuiError as error:
        fail(error)
    typer.echo(json.dumps(summary, indent=2))
