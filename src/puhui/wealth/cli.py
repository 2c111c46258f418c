"""`puhui wealth …`: the money-market end of day and loading the fund manager's figures."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from puhui.cli_engine import engine_for as _engine

app = typer.Typer(no_args_is_help=True, help="Money-market fund wallet: end of day, manager figures.")

FILE = typer.Argument(..., exists=True, dir_okay=False, help="CSV with fund_code,date,income_per_10k")
NAV_FILE = typer.Argument(..., exists=True, dir_okay=False, help="CSV with date,fund_code,nav")
DB = typer.Option(None, "--db", help="Database URL (default: PUHUI_DATABASE_URL or SQLite in the user data dir).")


def _fail(error: Exception) -> None:
    """A refusal in the one format of every command: `<code>: <one line>`, exit 2 (bad usage)."""
    from puhui.cli_errors import fail

    fail(error)


@app.command()
def eod(
    date: str = typer.Option(..., "--date", help="business date YYYY-MM-DD (China time)"),
    db: str = DB,
    seed: int = typer.Option(2026, "--seed", help="seed of the simulated fund manager"),
) -> None:
    """The day's batch of the money-market funds and the distributed funds for DATE.

    The money-market funds: the manager's figures, confirmations, income, T+1 redemptions; the distributed
    funds: confirmations at the day's NAV, redemption cash due."""
    from puhui.eod.dates import parse_date
    from puhui.errors import PuhuiError
    from puhui.settings import get_settings
    from puhui.wealth.funds.nav_source import sandbox_navs
    from puhui.wealth.funds.orders import funds_eod
    from puhui.wealth.mmf.eod import run_eod, runs_json
    from puhui.wealth.mmf.manager import SimulatedManager

    try:
        day = parse_date(date, "--date")
        engine = _engine(db)
        navs = sandbox_navs(get_settings(), seed)  # the sandbox's managers publish NAVs, as `puhui eod` has them
        runs = {
            "money_market": runs_json(run_eod(engine, day, SimulatedManager(seed=seed))),
            "funds": funds_eod(engine, day, navs),
        }
    except PuhuiError as error:
        _fail(error)
    typer.echo(json.dumps(runs, ensure_ascii=False, default=str))


@app.command("load-yields")
def load_yields(path: Path = FILE, db: str = DB) -> None:
    """Load the fund manager's 万份收益 file: every row checked, all rows or none."""
    from puhui.db import transaction
    from puhui.errors import PuhuiError
    from puhui.wealth.mmf.eod import load_figures

    try:
        count = transaction(_engine(db), lambda uow: load_figures(uow, path.read_text(encoding="utf-8")))
    except PuhuiError as error:
        _fail(error)
    typer.echo(json.dumps({"loaded": count}))


@app.command("load-navs")
def load_navs(path: Path = NAV_FILE, db: str = DB) -> None:
    """Load a NAV file for the distributed funds: every row checked, all rows or none."""
    from puhui.db import transaction
    from puhui.errors import PuhuiError
    from puhui.wealth.funds.nav_files import load_navs as load

    try:
        result = transaction(_engine(db), lambda uow: load(uow, path.read_text(encoding="utf-8")))
    except PuhuiError as error:
        _fail(error)
    typer.echo(json.dumps(result))


@app.command("funds-eod")
def funds_eod(
    date: str = typer.Option(..., "--date", help="business date YYYY-MM-DD (China time)"), db: str = DB
) -> None:
    """Confirm distributed-fund orders whose NAV is known and pay redemptions due (idempotent per date)."""
    from puhui.eod.dates import parse_date
    from puhui.errors import PuhuiError
    from puhui.settings import get_settings
    from puhui.wealth.funds.nav_source import sandbox_navs
    from puhui.wealth.funds.orders import funds_eod as run

    try:
        summary = run(_engine(db), parse_date(date, "--date"), sandbox_navs(get_settings()))
    except PuhuiError as error:
        _fail(error)
    typer.echo(json.dumps(summary, ensure_ascii=False))


@app.command()
def backtest(
    level: str = typer.Option(..., "--level", help="the customer level C1..C5"),
    out: Path = typer.Option(Path("backtest"), "--out", help="directory for the charts"),
    threshold: float = typer.Option(0.05, "--threshold", help="rebalance past this drift"),
    amount: str = typer.Option("100000.00", "--amount", help="initial investment (CNY)"),
    db: str = DB,
) -> None:
    """Backtest the robo-advisor's target for LEVEL over the platform funds' NAV history.

    With rebalancing; prints return, volatility, max drawdown and Sharpe, writes the charts."""
    from puhui.db import reading
    from puhui.errors import PuhuiError
    from puhui.money import parse_positive_minor
    from puhui.wealth.advice import advisor
    from puhui.wealth.advice.backtest import run_backtest, write_charts
    from puhui.wealth.funds import orders as fund_orders  # noqa: F401 - registers the platform funds as the advisor's universe
    from puhui.wealth.suitability.service import CustomerLevel

    try:
        chosen = CustomerLevel[level.upper()]
    except KeyError:
        raise typer.BadParameter("--level is one of C1, C2, C3, C4, C5") from None
    try:
        initial = parse_positive_minor(amount, "--amount")  # before any work: 0 or less has no returns to show
        with reading(_engine(db)) as connection:
            universe = advisor.fund_universe(connection)
        target = advisor.target_portfolio(universe, chosen)
        result = run_backtest(
            universe.navs[list(target.weights)].dropna(), target.weights, initial=initial, threshold=threshold
        )
    except PuhuiError as error:
        _fail(error)
    files = write_charts(result, out)
    typer.echo(
        json.dumps(
            {
                "target": target.as_json(),
                "metrics": result.metrics.as_json(),
                "fees": result.fees,
                "rebalances": [str(d) for d in result.rebalances],
                "charts": [str(f) for f in files],
            },
            ensure_ascii=False,
            default=str,
        )
    )
