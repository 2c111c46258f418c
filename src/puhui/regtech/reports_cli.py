"""`report large-value --date D [--out FILE]` and `dashboard --from D --to D`: the regulatory
reports and the supervision dashboard data from the command line (JSON on stdout, errors as JSON on
stderr with their stable code and exit status 2)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from puhui.db.engine import engine_for as _engine

app = typer.Typer(no_args_is_help=True, help="Regulatory reports and supervision dashboard data.")
report = typer.Typer(no_args_is_help=True, help="Regulatory reports (大额交易报告).")
app.add_typer(report, name="report")

DB = typer.Option(None, "--db", help="Database URL (default: PUHUI_DATABASE_URL or SQLite in the user data dir).")
OUT = typer.Option(None, "--out", dir_okay=False, help="write the report file (CSV) here")
BY = "cli"



def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{option} is YYYY-MM-DD") from None


def _fail(error: Exception) -> None:
    typer.echo(json.dumps({"error": getattr(error, "code", "error"), "detail": str(error)}), err=True)
    raise typer.Exit(2)


@report.command("large-value")
def large_value(date: str = typer.Option(..., "--date", help="China business date YYYY-MM-DD"),
                out: Path | None = OUT, db: str = DB) -> None:
    """Generate and store the date's large-value transaction report; print its metadata."""
    from puhui.db import reading, transaction
    from puhui.errors import PuhuiError
    from puhui.regtech import reports

    day = _date(date, "--date")
    try:
        engine = _engine(db)
        made = transaction(engine, lambda uow: reports.generate(uow, day, BY))
        if out is not None:
            with reading(engine) as connection:
                out.write_text(reports.content_of(connection, made["id"]), encoding="utf-8")
    except PuhuiError as error:
        _fail(error)
    typer.echo(json.dumps(made, ensure_ascii=False))


@app.command()
def dashboard(first: str = typer.Option(..., "--from", help="first China business date YYYY-MM-DD"),
              last: str = typer.Option(..., "--to", help="last China business date YYYY-MM-DD"), db: str = DB) -> None:
    """The supervision dashboard data from --from to --to, with early-warning flags."""
    from puhui.db import reading
    from puhui.errors import PuhuiError
    from puhui.regtech.dashboard import dashboard as board

    start, end = _date(first, "--from"), _date(last, "--to")
    try:
        with reading(_engine(db)) as connection:
            data = board(connection, start, end)
    except PuhuiError as error:
        _fail(error)
    typer.echo(json.dumps(data, ensure_ascii=False))
