"""Operator commands: `puhui settle --date` and `puhui reconcile --date`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from puhui.cli_engine import engine_for as _engine
from puhui.cli_errors import fail
from puhui.eod.dates import parse_date
from puhui.errors import PuhuiError

app = typer.Typer(help="Merchant settlement and reconciliation with the bank.", no_args_is_help=True)


def _bank(state: Path | None):
    """The sandbox bank, from its saved state file when given (a fresh one otherwise)."""
    from puhui.payments.bank.sandbox.bank import SandboxBank
    from puhui.settings import Settings

    key = Settings().bank_notify_key
    if state is not None and state.exists():
        return SandboxBank.load(state, key=key)
    return SandboxBank(key, auto_open_balance=0)


def _date(value: str) -> dt.date:
    """--date as a business date YYYY-MM-DD; anything else is `date_invalid` in one line, exit 2."""
    try:
        return parse_date(value, "--date")
    except PuhuiError as error:
        fail(error)


STATEMENT = typer.Option(None, "--statement", help="the bank's statement CSV (default: ask the bank)")
BANK_STATE = typer.Option(None, "--bank-state", help="the sandbox bank's saved state (JSON)")


@app.command()
def settle(
    date: str = typer.Option(..., "--date", help="business date YYYY-MM-DD (China time)"),
    db: str | None = typer.Option(None, "--db", help="database URL"),
    bank_state: Path | None = BANK_STATE,
) -> None:
    """Pay every merchant its net earnings of DATE (T+1), once. DATE must be over and not before the
    last date settled; dates skipped since then are settled first, in order."""
    from puhui.identity.pii import vault_for
    from puhui.payments import settlement
    from puhui.settings import Settings

    def card_of(connection, merchant_id: str) -> str:
        return settlement.vault_cards(vault_for(Settings()))(connection, merchant_id)  # the vault only when needed

    day = _date(date)
    bank = _bank(bank_state)
    try:
        rows = settlement.settle(_engine(db), bank, day, card_of=card_of)
    except PuhuiError as error:
        fail(error)
    if bank_state is not None:
        bank.save(bank_state)
    from puhui.payments.operations_api import settlement_json

    typer.echo(json.dumps([settlement_json(r) for r in rows], indent=2, ensure_ascii=False, default=str))


@app.command()
def reconcile(
    date: str = typer.Option(..., "--date", help="business date YYYY-MM-DD (China time)"),
    statement: Path | None = STATEMENT,
    db: str | None = typer.Option(None, "--db", help="database URL"),
    bank_state: Path | None = BANK_STATE,
) -> None:
    """Match the bank's statement of DATE against the platform's bank orders. DATE must be over and not
    before the last date reconciled; dates skipped since then are matched first, each against the
    bank's statement (a --statement file covers DATE alone, so then they must be reconciled first)."""
    from puhui.payments import reconciliation

    day = _date(date)
    if statement is not None:
        data = statement.read_bytes()
        statement_of, catch_up = (lambda _day: data), False
    else:
        statement_of, catch_up = _bank(bank_state).statement, True
    try:
        rows = reconciliation.reconcile_days(_engine(db), day, statement_of, catch_up=catch_up).result
    except PuhuiError as error:
        fail(error)
    from puhui.payments.operations_api import exception_json

    typer.echo(json.dumps([exception_json(r) for r in rows], indent=2, ensure_ascii=False, default=str))
    if any(r["status"] == "open" for r in rows):
        raise typer.Exit(1)
