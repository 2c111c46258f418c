"""Acting on advice, on SQLite and PostgreSQL: the target portfolio is bought as fund orders
whose amounts add up to what was invested; replaying the call places nothing twice; a drifted
holding is rebalanced with redemptions and purchases; the books and the reserve stay clean."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import func, select

from puhui.db import reading
from puhui.ledger.audit import audit
from puhui.wealth import calendar
from puhui.wealth.advice import advisor
from puhui.wealth.advice import orders as advice_orders
from puhui.wealth.funds.nav_files import load_navs
from puhui.wealth.funds.tables import fund_orders
from puhui.wealth.suitability.service import level_of

from .mmf_world import at
from .test_fund_orders import Funds

CODES = ("BD0001", "MX0002", "EQ0003")


def nav_history(w: Funds, start: str, end: str) -> None:
    """Seeded random walks with different drifts and volatilities (bond, mixed, equity)."""
    rng = random.Random(5)
    day, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    levels = {code: 1.0 for code in CODES}
    moves = {"BD0001": (0.0002, 0.001), "MX0002": (0.0005, 0.006), "EQ0003": (0.0008, 0.015)}
    lines = ["date,fund_code,nav"]
    while day <= last:
        if calendar.is_trading_day(day):
            for code in CODES:
                drift, vol = moves[code]
                levels[code] *= 1 + rng.gauss(drift, vol)
                lines.append(f"{day},{code},{Decimal(levels[code]).quantize(Decimal('0.0001'))}")
        day += dt.timedelta(days=1)
    w.run(lambda uow: load_navs(uow, "\n".join(lines)))


def orders_count(engine) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return connection.execute(select(func.count()).select_from(fund_orders)).scalar_one()


def test_invest_then_rebalance(engine, clock):
    w = Funds(engine, clock)
    clock.set(at("2026-03-09", "10:00"))
    for code, risk in zip(CODES, (2, 3, 4)):
        w.product(code, risk=risk)
    nav_history(w, "2026-01-05", "2026-03-06")
    cid = w.investor(100_000_00)
    with reading(engine) as connection:
        target = advisor.target_portfolio(advisor.fund_universe(connection), level_of(connection, cid))
    placed = w.run(lambda uow: advice_orders.invest(uow, cid, 50_000_00, target, "inv-1"))
    assert sum(o["amount"] for o in placed) == 50_000_00
    assert {o["fund_code"] for o in placed} == {c for c, weight in target.weights.items() if weight > 0}
    assert w.wallet(cid) == 50_000_00
    w.run(lambda uow: advice_orders.invest(uow, cid, 50_000_00, target, "inv-1"))  # a replay
    assert orders_count(engine) == len(placed) and w.wallet(cid) == 50_000_00
    nav_history(w, "2026-03-09", "2026-03-10")
    w.eod(dt.date(2026, 3, 10))  # T+1: the units are issued at T's NAV

    clock.set(at("2026-03-11", "10:00"))
    everything_in_one = dataclasses.replace(target, weights={CODES[0]: 1.0})  # a different target: far off
    result = w.run(lambda uow: advice_orders.rebalance(uow, cid, everything_in_one, 0.05, "reb-1"))
    kinds = {(o["fund_code"], o["kind"]) for o in result["orders"]}
    sold = {c for c, weight in target.weights.items() if weight > 0 and c != CODES[0]}
    assert {(c, "redeem") for c in sold} <= kinds and (CODES[0], "purchase") in kinds
    assert result["buys_waiting_for_cash"] == []
    calm = w.run(lambda uow: advice_orders.rebalance(uow, cid, target, 0.99, "reb-2"))
    assert calm["orders"] == []  # under the threshold nothing trades
    with reading(engine) as connection:
        assert audit(connection).ok
    assert w.covered()


def test_split_adds_up_and_refuses_nothing_to_invest():
    parts = advice_orders.split(100_01, {"A": 0.5, "B": 0.3333, "C": 0.1667})
    assert sum(parts.values()) == 100_01 and parts["A"] == 50_00 + 1
    import pytest

    with pytest.raises(advice_orders.InvalidInput):
        advice_orders.split(0, {"A": 1.0})


def test_split_invests_the_weights_as_shown():
    """The solver's 0.3499999993 is shown as 0.35: 10,000.00 at 0.35/0.35/0.30 made 3499.99/3500.01/3000.00."""
    weights = {"A": 0.3499999993, "B": 0.3500000011, "C": 0.2999999996}
    assert advice_orders.split(1_000_000, weights) == {"A": 350_000, "B": 350_000, "C": 300_000}


def test_backtest_command_reports_metrics_and_writes_charts(engine, clock, db_url, tmp_path):
    import json

    from typer.testing import CliRunner

    from puhui.cli import app

    w = Funds(engine, clock)
    clock.set(at("2026-03-09", "10:00"))
    for code, risk in zip(CODES, (2, 3, 4)):
        w.product(code, risk=risk)
    nav_history(w, "2025-09-01", "2026-03-06")
    done = CliRunner().invoke(app, ["wealth", "backtest", "--level", "C3", "--out", str(tmp_path), "--db", db_url])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert set(report["metrics"]) == {"total_return", "annual_return", "annual_volatility", "max_drawdown", "sharpe"}
    assert "EQ0003" not in report["target"]["weights"]  # R4 is above C3
    assert all(p.endswith(".png") and (tmp_path / p.split("/")[-1]).exists() for p in report["charts"])
    bad = CliRunner().invoke(app, ["wealth", "backtest", "--level", "C9", "--db", db_url])
    assert bad.exit_code == 2
    # Regression: --amount 0 crashed (`InvalidOperation: DivisionUndefined`), --amount -5 "succeeded"
    for amount, refusal in (
        ("0", "invalid_input: --amount must be greater than zero"),
        ("0.00", "invalid_input: --amount must be greater than zero"),
        ("-5", "invalid_input: --amount must be greater than zero"),
        ("abc", "invalid_amount: "),
        ("1.001", "invalid_amount: "),
    ):
        out = tmp_path / f"refused-{amount}"
        argv = ["wealth", "backtest", "--level", "C3", "--amount", amount, "--out", str(out), "--db", db_url]
        refused = CliRunner().invoke(app, argv)
        assert refused.exit_code == 2 and refused.output.startswith(refusal), (amount, refused.output)
        assert len(refused.output.strip().splitlines()) == 1 and not out.exists()
