"""`puhui insurance …`: insurers (保险公司), their premium remittance (保费划转) and daily partner files
(对账文件). Other insurance commands join this app."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="Internet insurance: insurers, remittances and partner files.")
insurers_app = typer.Typer(no_args_is_help=True, help="Insurers (保险公司).")
app.add_typer(insurers_app, name="insurers")

DB = typer.Option(None, "--db", help="database URL (default: the configured one)")
INSURER = typer.Option(..., "--insurer", help="the insurer's partner id")
OUT = typer.Option(None, "--out", help="write the CSV here (default: stdout)")


@insurers_app.command("list")
def list_insurers(db: str | None = DB) -> None:
    """Every insurer with its premiums held and its commission rate, as JSON."""
    from puhui.cli_engine import engine_for
    from puhui.db import reading
    from puhui.insurance.settlement import service

    with reading(engine_for(db)) as connection:
        rows = service.list_insurers(connection)
    typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))


@app.command("remit")
def remit(
    insurer: str = INSURER,
    through: str = typer.Option(..., "--through", help="remit through this business date YYYY-MM-DD (over)"),
    db: str | None = DB,
) -> None:
    """Remit INSURER's held premiums through a date, net of the platform's commission; again moves nothing."""
    from puhui.cli_engine import engine_for
    from puhui.cli_errors import fail
    from puhui.db import transaction
    from puhui.eod.dates import parse_date
    from puhui.errors import PuhuiError
    from puhui.insurance.settlement import service

    try:
        day = parse_date(through, "--through")
        answer = transaction(engine_for(db), lambda uow: service.remit(uow, insurer, day))
    except PuhuiError as error:
        fail(error)
    typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))


@app.command("files")
def files(
    insurer: str = INSURER,
    date: str = typer.Option(..., "--date", help="business date YYYY-MM-DD"),
    db: str | None = DB,
    out: Path | None = OUT,
) -> None:
    """Write INSURER's partner file for DATE: premiums, refunds, claims, commission and remittances."""
    from puhui.cli_engine import engine_for
    from puhui.cli_errors import fail
    from puhui.db import reading
    from puhui.eod.dates import parse_date
    from puhui.errors import PuhuiError
    from puhui.insurance.settlement import service

    try:
        day = parse_date(date, "--date")
        with reading(engine_for(db)) as connection:
            text = service.partner_file(connection, insurer, day)
    except PuhuiError as error:
        fail(error)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(text.splitlines()) - 2} lines to {out}")


@app.command("eod")
def eod(
    date: str = typer.Option(..., "--date", help="business date YYYY-MM-DD, once it is over"),
    db: str | None = DB,
) -> None:
    """The reserve end of day (准备金日终) for DATE: each insurer's reserves on the ledger.

    Each insurer's UPR, earned premium, case and IBNR reserves; a gap's dates run first; a date again moves
    nothing."""
    from puhui.cli_engine import engine_for
    from puhui.cli_errors import fail
    from puhui.eod.dates import parse_date
    from puhui.errors import PuhuiError
    from puhui.insurance.reserves import service

    try:
        answer = service.run_reserves(engine_for(db), parse_date(date, "--date"))
    except PuhuiError as error:
        fail(error)
    typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))
