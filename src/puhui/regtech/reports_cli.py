"""`report large-value --date D [--out FILE]`, `report suspicious --id STR [--out FILE]`,
`report deadlines`, `cases open-from-alerts [--since T]` and `dashboard --from D --to D`: the
regulatory reports, case opening and the supervision dashboard data from the command line (JSON on
stdout, errors as JSON on stderr with their stable code and exit status 2)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from puhui.cli_engine import engine_for as _engine
from puhui.cli_errors import fail

app = typer.Typer(no_args_is_help=True, help="Regulatory reports and supervision dashboard data.")
report = typer.Typer(no_args_is_help=True, help="Regulatory reports (大额交易报告, 可疑交易报告) and their deadlines.")
app.add_typer(report, name="report")
cases = typer.Typer(no_args_is_help=True, help="Cases (案件) over the monitor's alerts.")
app.add_typer(cases, name="cases")

DB = typer.Option(None, "--db", help="Database URL (default: PUHUI_DATABASE_URL or SQLite in the user data dir).")
OUT = typer.Option(None, "--out", dir_okay=False, help="write the report file (CSV, the stored bytes) here")
OUT_JSON = typer.Option(None, "--out", dir_okay=False, help="write the report file (JSON) here")
BY = "cli"


def _date(value: str, option: str) -> dt.date:
    """A business date YYYY-MM-DD; anything else is `date_invalid` in one line, exit 2."""
    from puhui.eod.dates import parse_date
    from puhui.errors import PuhuiError

    try:
        return parse_date(value, option)
    except PuhuiError as error:
        fail(error)


def _fail(error: Exception) -> None:
    fail(error)


@report.command("large-value")
def large_value(
    date: str = typer.Option(..., "--date", help="China business date YYYY-MM-DD"), out: Path | None = OUT, db: str = DB
) -> None:
    """Generate and store the date's large-value transaction report (大额交易报告); print its metadata.

    A report generated before is not generated again: its stored metadata is printed (and its stored file
    written), with a note on stderr that it was already generated. A day whose transactions all stay under
    the thresholds owes no report: that is said (`nothing_to_report`, exit 0, no file written), since a
    daily job finding nothing to report has not failed."""
    from puhui.db import reading, transaction
    from puhui.errors import PuhuiError
    from puhui.regtech import reports
    from puhui.regtech.errors import NoDataForDate, ReportExists

    day = _date(date, "--date")
    try:
        engine = _engine(db)
        try:
            made = transaction(engine, lambda uow: reports.generate(uow, day, BY))
        except NoDataForDate as nothing:
            typer.echo(f"nothing to report: {nothing}" + ("; no file written" if out is not None else ""), err=True)
            typer.echo(json.dumps({"business_date": day.isoformat(), "status": "nothing_to_report", "lines": 0}))
            return
        except ReportExists:
            with reading(engine) as connection:
                made = reports.get(connection, reports.report_id(day))
            typer.echo(
                f"already generated: the large-value report for {day} ({made['id']}) was generated at "
                f"{made['created_at']} by {made['created_by']}; the stored report is used, nothing is generated",
                err=True,
            )
        if out is not None:
            with reading(engine) as connection:
                out.write_bytes(reports.content_of(connection, made["id"]).encode("utf-8"))
    except PuhuiError as error:
        _fail(error)
    typer.echo(json.dumps(made, ensure_ascii=False))


@report.command("suspicious")
def suspicious(
    report_id: str = typer.Option(..., "--id", help="the report id (str_…)"), out: Path | None = OUT_JSON, db: str = DB
) -> None:
    """Print a suspicious transaction report's metadata (可疑交易报告); --out writes its file."""
    from puhui.db import reading
    from puhui.errors import PuhuiError
    from puhui.regtech import str_report

    try:
        with reading(_engine(db)) as connection:
            found = str_report.get(connection, report_id)
            if out is not None:
                out.write_text(str_report.content_of(connection, report_id), encoding="utf-8")
    except PuhuiError as error:
        _fail(error)
    typer.echo(json.dumps(found, ensure_ascii=False))


@report.command("deadlines")
def deadlines(db: str = DB) -> None:
    """The reports not yet submitted, earliest deadline first, and each date's large-value report status.

    Both kinds, overdue ones flagged; every business date's large-value report is submitted, generated,
    nothing_to_report or missing."""
    from puhui.db import reading
    from puhui.regtech import report_index

    with reading(_engine(db)) as connection:
        found = report_index.deadlines_json(connection)
    typer.echo(json.dumps(found, ensure_ascii=False))


@cases.command("open-from-alerts")
def open_from_alerts(
    since: str | None = typer.Option(
        None, "--since", help="only alerts raised at or after this ISO 8601 time (with offset)"
    ),
    by: str = typer.Option(BY, "--by", help="who opens the cases (recorded in their history)"),
    db: str = DB,
) -> None:
    """Group the alerts in no case by party: a new case each, or join the party's open case."""
    from puhui import clock
    from puhui.db import transaction
    from puhui.errors import PuhuiError
    from puhui.regtech.cases import open_cases_from_alerts

    start = None
    if since is not None:
        try:
            at = dt.datetime.fromisoformat(since)
        except ValueError:
            raise typer.BadParameter("--since is an ISO 8601 time") from None
        if at.tzinfo is None:
            raise typer.BadParameter("--since needs a time zone offset")
        start = clock.to_micros(at)
    try:
        done = transaction(_engine(db), lambda uow: open_cases_from_alerts(uow, by, start))
    except PuhuiError as error:
        _fail(error)
    typer.echo(json.dumps(done, ensure_ascii=False))


@app.command()
def dashboard(
    first: str = typer.Option(..., "--from", help="first China business date YYYY-MM-DD"),
    last: str = typer.Option(..., "--to", help="last China business date YYYY-MM-DD"),
    db: str = DB,
) -> None:
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
