"""`puhui securities …`: the simulated market."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from puhui.securities.robo.cli import app as robo_app

app = typer.Typer(no_args_is_help=True, help="Internet securities: the exchange simulator and its market.")
app.add_typer(robo_app, name="robo")


@app.command("simulate")
def simulate(
    start: str = typer.Option("2026-12-01", "--start", help="first day YYYY-MM-DD (non-trading days are skipped)"),
    days: int = typer.Option(5, "--days", min=1, max=366, help="calendar days to simulate"),
    seed: int = typer.Option(1, "--seed", help="one seed, one market"),
    replay: Path | None = typer.Option(
        None, "--replay", exists=True, readable=True, help="daily bars (date,open,high,low,close,volume) for 600000"
    ),
) -> None:
    """Simulate a few A-shares' trading days; print each instrument's daily bar as one JSON line.

    Agents (market makers, noise and momentum traders) trade through the exchange simulator on the XSHG
    trading days from --start; a range without one is refused (`no_trading_day`)."""
    from puhui.cli_errors import fail
    from puhui.eod.dates import parse_date
    from puhui.errors import PuhuiError
    from puhui.money import format_minor
    from puhui.securities import calendar
    from puhui.securities.errors import BarFileInvalid, NoTradingDay
    from puhui.securities.market_sim import MarketSimulation
    from puhui.securities.marketdata import read_bar_file
    from puhui.securities.models import Board, Exchange, Instrument

    listed = [
        (Instrument("600000", Exchange.sse, Board.main, "浦发银行", dt.date(1999, 11, 10)), 10_00),
        (Instrument("000001", Exchange.szse, Board.main, "平安银行", dt.date(1991, 4, 3)), 11_50),
        (Instrument("300750", Exchange.szse, Board.chinext, "宁德时代", dt.date(2018, 6, 11)), 250_00),
        (Instrument("688981", Exchange.sse, Board.star, "中芯国际", dt.date(2020, 7, 16)), 90_00),
    ]
    try:
        first = parse_date(start, "--start")
        dates = [first + dt.timedelta(days=n) for n in range(days)]
        if not any(calendar.is_trading_day(day) for day in dates):
            raise NoTradingDay(
                f"no XSHG trading day from {first} to {dates[-1]} ({days} calendar day{'s' * (days > 1)}); "
                f"the next one is {calendar.next_trading_day(dates[-1])}"
            )
        try:
            records = {r.day: r for r in read_bar_file(replay)} if replay else {}
        except ValueError as error:  # not text (UnicodeDecodeError): the rows' own faults are BarFileInvalid
            raise BarFileInvalid(f"{replay}: {error}") from None
    except PuhuiError as error:
        fail(error)
    sim = MarketSimulation(listed, seed)
    for day in dates:
        record = records.get(day)
        for d in sim.run_day(day, {"600000": record} if record else None):
            if d.daily is None:
                continue
            bar = d.daily
            row: dict[str, str | int] = {"date": day.isoformat(), "code": d.instrument.code, "name": d.instrument.name}
            row |= {k: format_minor(getattr(bar, k), 2) for k in ("open", "high", "low", "close")}
            row |= {"volume": bar.volume, "turnover": format_minor(bar.turnover, 2), "trades": len(d.ticks)}
            typer.echo(json.dumps(row, ensure_ascii=False))


@app.command("clear")
def clear(
    date: str = typer.Option(..., "--date", help="the trading day YYYY-MM-DD, once it is over"),
    db: str | None = typer.Option(None, "--db", help="database URL (default: the configured one)"),
    out: Path | None = typer.Option(None, "--out", help="also write the day's clearing file (CSV) here"),
) -> None:
    """Clear and settle a trading day (清算交收), once; print the result.

    Pay the day's stamp duty and transfer fees on, once, and print the result (and write the broker's
    clearing file). A date that is not an XSHG trading day is refused (`not_a_trading_day`)."""
    from puhui.cli_engine import engine_for
    from puhui.cli_errors import fail
    from puhui.db import reading
    from puhui.eod.dates import parse_date
    from puhui.errors import PuhuiError
    from puhui.securities import clearing

    try:
        day = clearing.check_trade_day(
            parse_date(date, "--date"), "--date"
        )  # before the database: a holiday clears nothing
        engine = engine_for(db)
        answer = clearing.clear(engine, day)
        if out is not None:
            with reading(engine) as connection:
                out.write_text(clearing.clearing_file(connection, day), encoding="utf-8")
    except PuhuiError as error:
        fail(error)
    typer.echo(json.dumps(answer, ensure_ascii=False))


@app.command("dividend")
def dividend(
    code: str = typer.Option(..., "--code", help="the six-digit share code"),
    record_date: str = typer.Option(..., "--record-date", help="股权登记日 YYYY-MM-DD, a trading day not yet past"),
    ex_date: str = typer.Option(..., "--ex-date", help="除权除息日 YYYY-MM-DD, the next trading day"),
    cash_per_10: str = typer.Option("0", "--cash-per-10", help="派: CNY per 10 shares, e.g. 3.00"),
    bonus_per_10: str = typer.Option("0", "--bonus-per-10", help="送 + 转增: new shares per 10 shares"),
    db: str | None = typer.Option(None, "--db", help="database URL (default: the configured one)"),
) -> None:
    """Announce a distribution (权益分派, e.g. 10派3元送2股); print the announcement.

    The ex-date pays it to the holders at the record date's close."""
    from decimal import Decimal, InvalidOperation

    from puhui.cli_engine import engine_for
    from puhui.cli_errors import fail
    from puhui.db import transaction
    from puhui.eod.dates import parse_date
    from puhui.errors import InvalidInput, PuhuiError
    from puhui.money import parse_minor
    from puhui.securities import distributions
    from puhui.securities.corporate import Distribution

    try:
        plan = Distribution(
            code,
            parse_date(record_date, "--record-date"),
            parse_date(ex_date, "--ex-date"),
            parse_minor(cash_per_10, 2),
            Decimal(bonus_per_10),
        )
        engine = engine_for(db)
        answer = transaction(engine, lambda uow: distributions.announce(uow, plan))
    except (InvalidOperation, ValueError) as error:
        fail(InvalidInput(f"--cash-per-10 / --bonus-per-10: {error}"))
    except PuhuiError as error:
        fail(error)
    typer.echo(json.dumps(answer, ensure_ascii=False))
