"""`puhui lending partner-file`: a funding partner's daily file (合作机构对账文件) as CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from puhui.cli_errors import fail

app = typer.Typer(no_args_is_help=True, help="Funding partners in joint lending and facilitation.")
OUT = typer.Option(None, "--out", help="write the CSV here (default: stdout)")


@app.command("partner-file")
def partner_file(
    partner: str = typer.Option(..., "--partner", help="the funding partner's id"),
    date: str = typer.Option(..., "--date", help="business date YYYY-MM-DD"),
    db: str | None = typer.Option(None, "--db", help="database URL (default: the configured one)"),
    out: Path | None = OUT,
) -> None:
    """Write PARTNER's file for DATE: that day's disbursements, repayments and write-offs with its split."""
    from puhui.cli_engine import engine_for as _engine
    from puhui.db import reading
    from puhui.lending.partners import service as partners

    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        typer.echo("error: --date must be YYYY-MM-DD", err=True)
        raise typer.Exit(2) from None
    try:
        with reading(_engine(db)) as connection:
            text = partners.partner_file(connection, partner, day)
    except partners.PartnerNotFound as error:
        fail(error)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(text.splitlines()) - 1} lines to {out}")
