"""`puhui securities simulate` prints each instrument's daily bar, replays a bar file, refuses bad input."""

from __future__ import annotations

import json
from decimal import Decimal

from typer.testing import CliRunner

from puhui.cli import app


def test_simulate_prints_a_daily_bar_per_instrument_and_trading_day():
    out = CliRunner().invoke(app, ["securities", "simulate", "--start", "2026-12-04", "--days", "3", "--seed", "2"])
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert {r["date"] for r in rows} == {"2026-12-04"}  # the 5th and 6th are a weekend
    assert {r["code"] for r in rows} == {"600000", "000001", "300750", "688981"}
    assert all(r["volume"] > 0 and Decimal(r["low"]) <= Decimal(r["close"]) <= Decimal(r["high"]) for r in rows)


def test_simulate_replays_a_bar_file_and_refuses_a_bad_one(tmp_path):
    bars = tmp_path / "bars.csv"
    bars.write_text("date,open,high,low,close,volume\n2026-12-04,10.00,10.60,9.90,10.50,100000\n")
    out = CliRunner().invoke(
        app, ["securities", "simulate", "--start", "2026-12-04", "--days", "1", "--replay", str(bars)]
    )
    assert out.exit_code == 0, out.output
    pufa = next(json.loads(line) for line in out.output.splitlines() if '"600000"' in line)
    assert abs(Decimal(pufa["close"]) - Decimal("10.50")) <= Decimal("0.10")
    bars.write_text("date,open,high,low,close,volume\n2026-12-04,10.00,9.00,9.90,10.50,100000\n")
    bad = CliRunner().invoke(app, ["securities", "simulate", "--replay", str(bars)])
    assert bad.exit_code == 2 and "bar_file_invalid" in bad.output
    bars.write_bytes(b"\xff\xfe not text")
    binary = CliRunner().invoke(app, ["securities", "simulate", "--replay", str(bars)])
    assert binary.exit_code == 2 and binary.output.startswith("bar_file_invalid: "), binary.output


def test_simulate_says_when_no_trading_day_falls_in_the_range():
    """Regression: a weekend-only range printed nothing and exited 0."""
    out = CliRunner().invoke(app, ["securities", "simulate", "--start", "2026-12-05", "--days", "2"])
    assert out.exit_code == 2, out.output
    assert out.output.strip() == (
        "no_trading_day: no XSHG trading day from 2026-12-05 to 2026-12-06 (2 calendar days); "
        "the next one is 2026-12-07"
    )


def test_simulate_takes_its_start_date_as_every_command_does():
    """Regression: `invalid_input: --start: month must be in 1..12`, not the `date_invalid` of other commands."""
    for start in ("2026-13-01", "2026-12-1", "20261201"):
        out = CliRunner().invoke(app, ["securities", "simulate", "--start", start])
        assert out.exit_code == 2 and out.output.startswith("date_invalid: --start "), out.output


def test_clear_refuses_a_day_the_exchange_did_not_trade_and_clears_it_with_the_next(db_url, clock):
    """Regression: `clear --date <a Sunday>` cleared it and exited 0. Refused now, changing nothing; the next
    trading day's clearing covers the days between, as the refusal says."""
    import datetime as dt

    from sqlalchemy import select

    from puhui import clock as clock_module
    from puhui.db import create_engine_from_url, reading
    from puhui.eod.tables import eod_runs
    from puhui.securities.clearing import JOB

    def cleared() -> list[str]:
        engine = create_engine_from_url(db_url)
        try:
            with reading(engine) as connection:
                rows = connection.execute(select(eod_runs.c.business_date).where(eod_runs.c.job == JOB))
                return sorted(day for (day,) in rows)
        finally:
            engine.dispose()

    clock.set(dt.datetime(2026, 12, 8, 10, 0, tzinfo=clock_module.CHINA))  # a Tuesday: the weekend is over
    runner = CliRunner()
    refused = runner.invoke(app, ["securities", "clear", "--date", "2026-12-06", "--db", db_url])
    assert refused.exit_code == 2, refused.output
    assert refused.output.strip() == (
        "not_a_trading_day: --date 2026-12-06 (Sunday) is not an XSHG trading day: clear 2026-12-04, the trading "
        "day before it (the next, 2026-12-07, clears the days between with it)"
    )
    assert cleared() == []
    for day in ("2026-12-04", "2026-12-07"):
        done = runner.invoke(app, ["securities", "clear", "--date", day, "--db", db_url])
        assert done.exit_code == 0 and json.loads(done.output)["business_date"] == day, done.output
    assert cleared() == ["2026-12-04", "2026-12-05", "2026-12-06", "2026-12-07"]
