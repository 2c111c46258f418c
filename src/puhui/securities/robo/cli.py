"""`puhui securities robo …`: robo-advice executed as trades (智能投顾), for operators: subscribe a
customer, read a portfolio's holdings and drift, rebalance, mark every portfolio at the close, report."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import typer

app = typer.Typer(no_args_is_help=True, help="Robo-advice (智能投顾): model ETF portfolios executed as trades.")

DB = typer.Option(None, "--db", help="database URL (default: the configured one)")
CUSTOMER = typer.Option(..., "--customer", help="the customer's id")


def _run(work: Callable[[Any], Any], db: str | None, write: bool) -> None:
    from puhui.cli_engine import engine_for
    from puhui.cli_errors import fail
    from puhui.db import reading, transaction
    from puhui.errors import PuhuiError

    try:
        engine = engine_for(db)
        if write:
            answer = transaction(engine, work)
        else:
            with reading(engine) as connection:
                answer = work(connection)
    except PuhuiError as error:
        fail(error)
    typer.echo(json.dumps(answer, ensure_ascii=False, default=str))


@app.command("subscribe")
def subscribe(
    customer: str = CUSTOMER,
    amount: str = typer.Option(..., "--amount", help="CNY, e.g. 100000.00"),
    level: str | None = typer.Option(None, "--level", help="C1..C5 (default: the customer's assessed level)"),
    key: str = typer.Option(..., "--key", help="idempotency key of this subscription"),
    db: str | None = DB,
) -> None:
    """Subscribe the amount to the level's model ETF portfolio and buy it in whole lots."""
    from puhui.cli_errors import fail
    from puhui.errors import PuhuiError
    from puhui.money import parse_minor
    from puhui.securities.robo import api, service

    try:
        fen = parse_minor(amount, 2)
    except PuhuiError as error:
        fail(error)
    _run(lambda uow: api.status_json(service.subscribe(uow, customer, fen, key, level)), db, write=True)


@app.command("status")
def status(customer: str = CUSTOMER, db: str | None = DB) -> None:
    """The portfolio's holdings, weights, targets and drift (偏离度)."""
    from puhui.securities.robo import api, service

    _run(lambda c: api.status_json(service.status(c, customer)), db, write=False)


@app.command("rebalance")
def rebalance(
    customer: str = CUSTOMER, key: str = typer.Option(..., "--key", help="idempotency key"), db: str | None = DB
) -> None:
    """Rebalance when a weight drifted beyond the threshold: sells first, then buys (再平衡)."""
    from puhui.securities.robo import api, service

    def work(uow: Any) -> dict[str, Any]:
        answer = service.rebalance(uow, customer, key)
        return {**api.status_json(answer), "run": answer["run"]}

    _run(work, db, write=True)


@app.command("mark")
def mark(db: str | None = DB) -> None:
    """Mark every robo portfolio at today's prices (after the close)."""
    from puhui.securities.robo import service

    _run(lambda uow: {"customers": service.mark_all(uow)}, db, write=True)


@app.command("report")
def report(customer: str = CUSTOMER, db: str | None = DB) -> None:
    """Time-weighted return net of fees, fees paid, and the model portfolio's return."""
    from puhui.securities.robo import api, service

    _run(lambda c: api.report_json(service.report(c, customer)), db, write=False)
