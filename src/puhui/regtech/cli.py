"""`puhui regtech …`: the fund-flow monitor (资金监测)."""

from __future__ import annotations

import json
import time

import typer

from puhui.cli_engine import engine_for as _engine

app = typer.Typer(no_args_is_help=True, help="RegTech: the real-time fund-flow monitor, its rules and alerts.")

DB = typer.Option(None, "--db", help="database URL (default: the configured one)")


@app.command()
def monitor(
    once: bool = typer.Option(False, "--once", help="drain the outbox once and exit"),
    batch: int = typer.Option(1000, "--batch", min=1, max=100_000, help="events per transaction"),
    poll: float = typer.Option(0.5, "--poll", min=0.01, help="seconds between polls when idle"),
    db: str | None = DB,
) -> None:
    """Consume the outbox from the stored offset, evaluate every rule in force, write alerts."""
    from puhui.regtech.monitor import Monitor

    worker = Monitor(_engine(db), batch=batch)
    if once:
        events, alerts = worker.run()
        typer.echo(json.dumps({"events": events, "alerts": alerts, "offset": worker.offset}))
        return
    while True:  # pragma: no cover - a long-running worker; --once is what tests drive
        events, alerts = worker.run()
        if alerts:
            typer.echo(json.dumps({"events": events, "alerts": alerts, "offset": worker.offset}))
        time.sleep(poll)


@app.command()
def rules(db: str | None = DB) -> None:
    """Print the rules in force as JSON."""
    from puhui.db import reading
    from puhui.regtech.rules import current_versions, rule_json

    with reading(_engine(db)) as connection:
        typer.echo(json.dumps([rule_json(r) for r in current_versions(connection)], ensure_ascii=False, indent=2))
