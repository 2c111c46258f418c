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
