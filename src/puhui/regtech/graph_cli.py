"""`puhui regtech graph --from D --to D`: the batch network analytics (资金网络分析) over the
transfers committed on those China dates (inclusive), and `puhui bench graph`. JSON on stdout;
errors as one line `<code>: <detail>` on stderr, exit status 2."""

from __future__ import annotations

import datetime as dt
import json

import typer

from puhui.cli_engine import engine_for as _engine
from puhui.cli_errors import fail

app = typer.Typer(no_args_is_help=True, help="Batch network analytics over the transfer graph.")

DB = typer.Option(None, "--db", help="Database URL (default: PUHUI_DATABASE_URL or SQLite in the user data dir).")


@app.callback()
def main() -> None:
    """Batch network analytics (资金网络分析)."""


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{option} is YYYY-MM-DD") from None


def _json(value: str | None, option: str) -> object:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        raise typer.BadParameter(f"{option} is a JSON object") from None


@app.command()
def graph(
    first: str = typer.Option(..., "--from", help="first China date YYYY-MM-DD"),
    last: str = typer.Option(..., "--to", help="last China date YYYY-MM-DD (inclusive)"),
    cycle: str | None = typer.Option(None, "--cycle", help='cycle parameters as JSON, e.g. {"max_length": 4}'),
    gather: str | None = typer.Option(None, "--gather-scatter", help="gather-scatter parameters as JSON"),
    db: str | None = DB,
) -> None:
    """Find cycles and gather-scatter hubs among the range's transfers; write their alerts."""
    from puhui.clock import day_bounds
    from puhui.errors import PuhuiError
    from puhui.regtech.graph import run_graph_analytics

    start, end = _date(first, "--from"), _date(last, "--to")
    try:
        counts = run_graph_analytics(
            _engine(db),
            day_bounds(start)[0],
            day_bounds(end)[1],
            cycle=_json(cycle, "--cycle"),
            gather_scatter=_json(gather, "--gather-scatter"),
        )
    except PuhuiError as error:
        fail(error)
    typer.echo(json.dumps(counts))
