"""`puhui risk profiles export` and `puhui risk profiles consume`: customer profiles in batch, and the
outbox consumer."""

from __future__ import annotations

import re
import time
from pathlib import Path

import typer

from puhui.cli_engine import engine_for as _engine

app = typer.Typer(
    no_args_is_help=True, help="Customer profiles (用户画像): batch as of a time, incremental from events."
)

DB = typer.Option(None, "--db", help="database URL (default: the configured one)")


@app.command("export")
def export(
    as_of: str = typer.Option(
        ..., "--as-of", help="a date (end of that day, China time), an ISO-8601 time with zone, or UTC microseconds"
    ),
    out: Path | None = typer.Option(None, "--out", help="write the profiles to this CSV file"),
    db: str | None = DB,
) -> None:
    """Every customer's profile as of a time; only data up to that time counts."""
    from puhui.cli_errors import fail
    from puhui.eod.dates import parse_date
    from puhui.errors import PuhuiError
    from puhui.risk.features_api import parse_as_of
    from puhui.risk.profiles import profiles_as_of

    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", as_of):
            parse_date(as_of, "--as-of")  # a date as every command takes it: not one is `date_invalid`
        at = parse_as_of(as_of)
    except PuhuiError as error:
        fail(error)
    engine = _engine(db)
    try:
        started = time.perf_counter()
        frame = profiles_as_of(engine, at)
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    if out is not None:
        frame.to_csv(out)
        typer.echo(f"{len(frame)} profiles as of {as_of} in {seconds:.2f} s -> {out}")
    else:
        typer.echo(frame.to_csv(), nl=False)


@app.command()
def consume(db: str | None = DB) -> None:
    """Apply new payment events to the stored profiles once (resumes from the saved offset)."""
    from puhui.risk.profiles import consume as run

    engine = _engine(db)
    try:
        read = run(engine)
    finally:
        engine.dispose()
    typer.echo(f"{read} events applied")
