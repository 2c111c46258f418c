"""Operator commands: `puhui settle --date` and `puhui reconcile --date`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from puhui.db.engine import engine_for as _engine

app = typer.Typer(help="Merchant settlement and reconciliation with the bank.", no_args_is_help=True)

def _bank(state: Path | None):  # type: ignore[no-untyped-def]
    """The sandbox bank, from its saved state file when given (a fresh one otherwise)."""
    from puhui.payments.sandbox_bank import SandboxBank
    from puhui.settings import Settings

    key = Settings().bank_notify_key
    if state is not None and state.exists():
        return SandboxBank.load(state, key=key)
    return SandboxBank(key, auto_open_balance=0)

STATEMENT = typer.Option(None, "--statement", help="the bank's statement CSV (default: ask the bank)")
BANK_STATE = typer.Option(None, "--bank-state", help="the sandbox bank's saved state (JSON)")

@app.command()
def settle(date: str = typer.Option(..., "--date", help="business date YYYY-MM-DD (China time)"),
           db: str | None = typer.Option(None, "--db", help="database URL"),
           bank_state: Path | None = BANK_STATE) -> None:
    """Pay every merchant its net earnings of DATE (T+1), once."""
    from puhui.identity.pii import vault_for
    from puhui.payments import settlement
    from puhui.settings import Settings

    def card_of(connection, merchant_id: str) -> str:  # type: ignore[no-untyped-def]
        return settlement.vault_cards(vault_for(Settings()))(connection, merchant_id)  # the vault only when needed

    bank = _bank(bank_state)
    rows = settlement.settle(_engine(db), bank, dt.date.fromisoformat(date), card_of=card_of)
    if bank_state is not None:
        bank.save(bank_state)
    typer.echo(json.dumps(rows, indent=2, default=str))

@app.command()
def reconcile(date: str = typer.Option(..., "--date", help="business date YYYY-MM-DD (China time)"),
              statement: Path | None = STATEMENT,
              db: str | None = typer.Option(None, "--db", help="database URL"),
              bank_state: Path | None = BANK_STATE) -> None:
    """Match the bank's statement of DATE against the platform's bank orders."""
    from puhui.payments import reconciliation

    day = dt.date.fromisoformat(date)
    data = statement.read_bytes() if statement is not None else _bank(bank_state).statement(day)
    rows = reconciliation.reconcile(_engine(db), day, data)
    typer.echo(json.dumps(rows, indent=2, default=str))
    if any(r["status"] == "open" for r in rows):
        raise typer.Exit(1)
