"""`puhui eod --date D`: the platform's end of day (日终), every business form's job in one run.

The order is the order money settles in: loans accrue and age (lending), receivables mature (supply
chain), the money-market funds distribute the day's income and the distributed funds confirm orders
(wealth), and the insurers' books earn premium and reserve for claims (insurance: it reads the day's
claims and refunds, so it runs last). Each job keeps its own dates under the one rule of every end of
day (`puhui.eod.runs`): none after today, none skipped, a gap run first, a date again moves nothing.
A job that refuses stops the run there; the jobs before it stay done. Merchant settlement (T+1) goes
to the bank and has its own command, `puhui settle --date`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import typer
from sqlalchemy import Engine


def jobs(seed: int, sandbox: bool = False) -> list[tuple[str, Callable[[Engine, dt.date], Any]]]:
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
        ("lending", lambda engine, day: lending_eod.run(engine, day).as_json()),
        ("supplychain", mature),
        ("money_market", lambda engine, day: runs_json(run_eod(engine, day, SimulatedManager(seed=seed)))),
        ("funds", lambda engine, day: funds_eod(engine, day, SimulatedNavs(seed=seed) if sandbox else None)),
        ("insurance", run_reserves),
    ]


def run_all(engine: Engine, day: dt.date, seed: int = 2026, sandbox: bool = False) -> dict[str, Any]:
    """Every job for `day`, in order; the answer of each. `sandbox`: `Settings.sandbox` (see `jobs`)."""
    return {name: job(engine, day) for name, job in jobs(seed, sandbox)}


def eod(
    date: str = typer.Option(..., "--date", help="business date YYYY-MM-DD (China time), not after today"),
    db: str | None = typer.Option(None, "--db", help="database URL (default: the configured one)"),
    seed: int = typer.Option(2026, "--seed", help="seed of the simulated fund manager's figures"),
) -> None:
    """The end of day of every business form for DATE: lending, supply chain, money-market funds, funds,
    insurance reserves; each job's answer as one JSON object."""
    from puhui.cli_engine import engine_for
    from puhui.cli_errors import fail
    from puhui.eod.dates import parse_date
    from puhui.errors import PuhuiError
    from puhui.settings import get_settings

    try:
        answer = run_all(engine_for(db), parse_date(date, "--date"), seed, get_settings().sandbox)
    except PuhuiError as error:
        fail(error)
    typer.echo(json.dumps(answer, ensure_ascii=False, default=str))
