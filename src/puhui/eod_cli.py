"""`puhui eod --date D`: the platform's end of day (日终), every business form's job in one run.

The order is the order money settles in. The bank's day first: reconciliation matches D's bank orders
against the bank's statement of D (对账), then merchant settlement (T+1: D's net earnings paid on D+1)
pays the merchants out of what was matched. Then loans accrue and age (lending), receivables mature
(supply chain), the money-market funds distribute the day's income and the distributed funds confirm
orders (wealth), and the insurers' books earn premium and reserve for claims (insurance: it reads the
day's claims and refunds, so it runs last).

D runs only once it is over (`puhui.eod.dates.check_over`, on the platform's clock): that is checked
before any job runs, so a date still in progress is refused and changes nothing. Each job keeps its own
dates under the one rule of every end of day (`puhui.eod.runs`): none skipped, a gap run first, a date
again moves nothing. A job that refuses stops the run there; the jobs before it stay done.

Reconciliation needs the bank's statement: the sandbox bank's (`--bank-state`, else the one the demo's
server keeps). Without a bank it is left out, and the answer says so (`puhui reconcile --statement FILE`
matches a bank's file). Settlement without a bank opens the payouts and holds them for the server's
bank worker to send (`payments.settlement.settle_days`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import Engine

Job = Callable[[Engine, dt.date], Any]


def bank_jobs(bank: Any) -> list[tuple[str, Job]]:
    """Reconciliation and merchant settlement with `bank` (None: no bank known, see the module)."""
    return [("reconciliation", lambda engine, day: reconcile(engine, day, bank)), ("settlement", settle_with(bank))]


def jobs(seed: int, sandbox: bool = False, bank: Any = None) -> list[tuple[str, Job]]:
    """The jobs in order. In the sandbox (the demo too) the funds' simulated managers publish each closed
    trading day's NAV (`wealth.funds.nav_source`), so fund orders confirm; never outside it."""
    from puhui.insurance.reserves.service import run_reserves
    from puhui.lending import eod as lending_eod
    from puhui.supplychain.service import mature
    from puhui.wealth.funds.nav_source import SimulatedNavs
    from puhui.wealth.funds.orders import funds_eod
    from puhui.wealth.mmf.eod import run_eod, runs_json
    from puhui.wealth.mmf.manager import SimulatedManager

    return [
        *bank_jobs(bank),
        ("lending", lambda engine, day: lending_eod.run(engine, day).as_json()),
        ("supplychain", mature),
        ("money_market", lambda engine, day: runs_json(run_eod(engine, day, SimulatedManager(seed=seed)))),
        ("funds", lambda engine, day: funds_eod(engine, day, SimulatedNavs(seed=seed) if sandbox else None)),
        ("insurance", run_reserves),
    ]


def run_all(engine: Engine, day: dt.date, seed: int = 2026, sandbox: bool = False, bank: Any = None) -> dict[str, Any]:
    """Every job for `day`, in order, once `day` is over; the answer of each. `sandbox`: `Settings.sandbox`
    (see `jobs`); `bank`: the bank of reconciliation and settlement (None: see the module)."""
    from puhui.eod.dates import check_over

    check_over(day)  # before any job: a day in progress is refused as a whole, nothing run
    return {name: job(engine, day) for name, job in jobs(seed, sandbox, bank)}


def reconcile(engine: Engine, day: dt.date, bank: Any) -> dict[str, Any]:
    """Match `day` (and the days of a gap) against the bank's statements, as the API does: query the bank
    first (先查询后对账), so an order it finished whose notice is late is not reported missing."""
    if bank is None:
        return {
            "business_date": day.isoformat(),
            "skipped": "bank_unknown",
            "detail": "no bank statement here: give --bank-state FILE (the sandbox bank's state), run it on the "
            "demo's settings (PUHUI_ENV_FILE), or match the bank's file with `puhui reconcile --statement FILE`",
        }
    from puhui.payments import reconciliation
    from puhui.payments.bank import worker as bank_worker
    from puhui.payments.operations_api import exception_json
    from puhui.payments.schemas import ReconciliationRun

    bank_worker.sweep(engine, bank, after=dt.timedelta(0))
    done = reconciliation.reconcile_days(engine, day, bank.statement)

    def opened(rows: list[dict]) -> int:
        return sum(1 for row in rows if row["status"] == "open")

    return ReconciliationRun.shape(
        {
            "business_date": day.isoformat(),
            "exceptions": [exception_json(row) for row in done.result],
            "open": opened(done.result),
            "caught_up": [{"business_date": d.isoformat(), "open": opened(rows)} for d, rows in done.caught_up],
        }
    )


def settle_with(bank: Any) -> Job:
    """Merchant settlement (T+1) of a date with `bank`, answered as `POST /v1/settlements` answers."""

    def settle(engine: Engine, day: dt.date) -> dict[str, Any]:
        from puhui.db import reading
        from puhui.identity.pii import vault_for
        from puhui.payments import settlement
        from puhui.payments.operations_api import settlement_json
        from puhui.payments.schemas import SettlementRun
        from puhui.settings import Settings

        def card_of(connection: Any, merchant_id: str) -> str:  # the PII vault opened only when a payout is sent
            return settlement.vault_cards(vault_for(Settings()))(connection, merchant_id)

        done = settlement.settle_days(engine, bank, day, card_of=card_of)

        def settled(date: dt.date, rows: list[dict]) -> dict[str, Any]:
            with reading(engine) as connection:
                told = settlement.explain(connection, rows)
            return {"business_date": date.isoformat(), "settlements": [settlement_json(row) for row in told]}

        caught_up = [settled(date, rows) for date, rows in done.caught_up]
        return SettlementRun.shape({**settled(day, done.result), "caught_up": caught_up})

    return settle


def kept_bank(state: Path | None, db: str | None) -> Any:
    """The sandbox bank of `state` (--bank-state), else the one the demo's server keeps; None without either.
    A named state file that does not exist is refused: a new, empty bank would know none of the orders."""
    from puhui.payments.bank.sandbox.shared import SharedSandboxBank
    from puhui.payments.cli import BankUnknown, kept_bank_state
    from puhui.settings import Settings

    path = state if state is not None else kept_bank_state(db)
    if path is None:
        return None
    if not path.exists():
        raise BankUnknown(f"the sandbox bank's state file {path} does not exist")
    return SharedSandboxBank(path, Settings().bank_notify_key)


def eod(
    date: str = typer.Option(..., "--date", help="business date YYYY-MM-DD (China time), once it is over"),
    db: str | None = typer.Option(None, "--db", help="database URL (default: the configured one)"),
    seed: int = typer.Option(2026, "--seed", help="seed of the simulated fund manager's figures"),
    bank_state: Path | None = typer.Option(
        None, "--bank-state", help="the sandbox bank's saved state (JSON; default: the demo server's bank)"
    ),
) -> None:
    """The end of day of every business form for DATE, once DATE is over; one JSON object.

    In order: reconciliation with the bank, merchant settlement (T+1), lending, supply chain, money-market
    funds, funds, insurance reserves; each job's answer in the JSON object, in the words of every end-of-day
    answer: a day's date `business_date`, `already_done` for a date run before."""
    from puhui.cli_engine import engine_for
    from puhui.cli_errors import fail
    from puhui.eod.dates import parse_date
    from puhui.errors import PuhuiError
    from puhui.settings import get_settings

    try:
        day = parse_date(date, "--date")
        engine = engine_for(db)
        answer = run_all(engine, day, seed, get_settings().sandbox, kept_bank(bank_state, db))
    except PuhuiError as error:
        fail(error)
    if "skipped" in answer["reconciliation"]:
        typer.echo(f"reconciliation left out: {answer['reconciliation']['detail']}", err=True)
    typer.echo(json.dumps(answer, ensure_ascii=False, default=str))
