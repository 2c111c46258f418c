"""Operator commands: `puhui settle --date` and `puhui reconcile --date`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from puhui.cli_engine import engine_for as _engine
from puhui.cli_errors import fail
from puhui.eod.dates import parse_date
from puhui.errors import Conflict, PuhuiError

app = typer.Typer(help="Merchant settlement and reconciliation with the bank.", no_args_is_help=True)


class BankUnknown(Conflict):
    """A command that needs the bank has none it can trust: a new, empty sandbox bank would know none of
    the platform's orders (every one of the day's would be `missing_at_bank`)."""

    code = "bank_unknown"
    title = "No bank that knows the platform's orders"


def kept_bank_state(db: str | None) -> Path | None:
    """The state file of the sandbox bank the server keeps (`puhui serve --demo`): named by
    PUHUI_SANDBOX_BANK_STATE in the environment or in PUHUI_ENV_FILE, and only for that file's database."""
    import os

    from puhui.demo_home import read_env
    from puhui.payments.bank.sandbox.shared import STATE_ENV

    env_file = os.environ.get("PUHUI_ENV_FILE")
    stored = read_env(Path(env_file)) if env_file else {}
    named = os.environ.get(STATE_ENV) or stored.get(STATE_ENV)
    if not named or (db is not None and db != stored.get("PUHUI_DATABASE_URL", db)):
        return None
    return Path(named)


def _bank(state: Path | None, db: str | None, *, create: bool):
    """The sandbox bank of `state` (--bank-state; a new one kept there when `create` and the file does not
    exist yet) or else the server's (`kept_bank_state`), shared with every process that opens the file;
    None when there is neither."""
    from puhui.payments.bank.sandbox.bank import SandboxBank
    from puhui.payments.bank.sandbox.shared import SharedSandboxBank
    from puhui.settings import Settings

    key = Settings().bank_notify_key
    path = state if state is not None else kept_bank_state(db)
    if path is None:
        return None
    if not path.exists():
        if not create:
            fail(BankUnknown(f"the sandbox bank's state file {path} does not exist"))
        return SharedSandboxBank.adopt(path, SandboxBank(key, auto_open_balance=0), key)
    return SharedSandboxBank(path, key)


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
    """Pay every merchant its net earnings of DATE (T+1), once.

    DATE must be over and not before the last date settled; dates skipped since then are settled first,
    in order."""
    from puhui.identity.pii import vault_for
    from puhui.payments import settlement
    from puhui.settings import Settings

    def card_of(connection, merchant_id: str) -> str:
        return settlement.vault_cards(vault_for(Settings()))(connection, merchant_id)  # the vault only when needed

    day = _date(date)
    bank = _bank(bank_state, db, create=True)
    from puhui.db import reading

    engine = _engine(db)
    try:
        rows = settlement.settle(engine, bank, day, card_of=card_of)
    except PuhuiError as error:
        fail(error)
    with reading(engine) as connection:  # the bank's reason of a failed payout, what is still unpaid
        rows = settlement.explain(connection, rows)
    if bank is None and any(r["state"] == "pending" for r in rows):
        typer.echo(
            "no sandbox bank here (--bank-state FILE, or the demo's settings): the payouts wait, held, for the "
            "server's bank worker to send them (its sweeper submits an order the bank never got)",
            err=True,
        )
    from puhui.payments.operations_api import settlement_json

    typer.echo(json.dumps([settlement_json(r) for r in rows], indent=2, ensure_ascii=False, default=str))


@app.command()
def reconcile(
    date: str = typer.Option(..., "--date", help="business date YYYY-MM-DD (China time)"),
    statement: Path | None = STATEMENT,
    db: str | None = typer.Option(None, "--db", help="database URL"),
    bank_state: Path | None = BANK_STATE,
) -> None:
    """Match the bank's statement of DATE against the platform's bank orders.

    DATE must be over and not before the last date reconciled; dates skipped since then are matched first,
    each against the bank's statement (a --statement file covers DATE alone, so then they must be
    reconciled first)."""
    from puhui.payments import reconciliation

    day = _date(date)
    if statement is not None:
        data = statement.read_bytes()
        statement_of, catch_up = (lambda _day: data), False
    else:
        from puhui.db import reading
        from puhui.eod import runs

        engine = _engine(db)
        try:  # a date that cannot run is refused as such, before the bank is looked for
            with reading(engine) as connection:
                runs.plan(connection, reconciliation.RECONCILIATION_JOB, day)
        except PuhuiError as error:
            fail(error)
        bank = _bank(bank_state, db, create=False)
        if bank is None:  # a new, empty bank would report every order of the day missing at the bank
            fail(
                BankUnknown(
                    "no bank statement to match: give the bank's file (--statement FILE), the sandbox bank's "
                    "state (--bank-state FILE, or the demo's settings: PUHUI_ENV_FILE), or reconcile on the "
                    "server, whose bank took the orders (POST /v1/reconciliation/runs)"
                )
            )
        from puhui.payments.bank import worker as bank_worker

        # query, then match (先查询后对账), as the server does: an order the bank finished whose notice has not
        # arrived yet is finished first, so it is not reported missing on the platform's side
        bank_worker.sweep(engine, bank, after=dt.timedelta(0))
        statement_of, catch_up = bank.statement, True
    engine = _engine(db)
    seen: dict[dt.date, tuple[int, set[str], set[str]]] = {}

    def statement_for(date: dt.date) -> str | bytes:
        """The date's statement, taken just before the date is matched: its lines and the date's open
        exceptions then are kept for the summary."""
        data = statement_of(date)
        lines = reconciliation.parse_statement(data, date)
        open_before = {r["id"] for r in reconciliation.exceptions_of(engine, date, "open")}
        seen[date] = (len(lines), {line.order_id for line in lines}, open_before)
        return data

    try:
        run = reconciliation.reconcile_days(engine, day, statement_for, catch_up=catch_up)
    except PuhuiError as error:
        fail(error)
    from puhui.payments.operations_api import exception_json

    rows = run.result
    for date, found in run.results:  # for the operator, on stderr: stdout stays the date's exceptions as JSON
        typer.echo(_reconciled(date, found, *seen[date]), err=True)
    typer.echo(json.dumps([exception_json(r) for r in rows], indent=2, ensure_ascii=False, default=str))
    if any(r["status"] == "open" for r in rows):
        raise typer.Exit(1)


def _reconciled(date: dt.date, found: list[dict], lines: int, orders: set[str], open_before: set[str]) -> str:
    """One line for a date reconciled: the statement's orders matched without an exception, the exceptions the
    run opened (new, or found again) and closed (no longer found), and those open now."""
    open_now = {r["id"] for r in found if r["status"] == "open"}
    unmatched = {r["order_id"] for r in found if r["id"] not in open_before - open_now}  # closed now: matched
    return (
        f"reconciled {date.isoformat()}: {len(orders - unmatched)} of {len(orders)} orders on the bank's statement "
        f"({lines} lines) matched; exceptions: {len(open_now - open_before)} opened, "
        f"{len(open_before - open_now)} closed, {len(open_now)} open"
    )
