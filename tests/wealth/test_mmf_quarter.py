"""A simulated quarter of daily batches with subscriptions and redemptions, on SQLite and PostgreSQL:
the ledger audits clean, every day's income adds up with its residue, the 7-day yields follow the
formula from the stored 万份收益, and a second end of day for a date changes nothing."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import func, select

from puhui.db import reading
from puhui.ledger.audit import audit
from puhui.ledger.tables import accounts, transfers
from puhui.payments.reserve import reserve_coverage
from puhui.wealth import units as funds
from puhui.wealth.mmf import eod, yields
from puhui.wealth.mmf.manager import SimulatedManager
from puhui.wealth.mmf.tables import mmf_daily

from .mmf_world import FUND, World, at, over

START = dt.date(2026, 1, 6)
DAYS = 91


def test_a_quarter_of_daily_batches(engine, clock) -> None:  # type: ignore[no-untyped-def]
    w = World(engine, clock)
    clock.set(at("2026-01-06", "08:00"))
    people = [w.customer(fen=3_000_000) for _ in range(3)]
    rng = random.Random(7)
    manager = SimulatedManager(seed=11)
    for n in range(DAYS):
        day = START + dt.timedelta(days=n)
        clock.set(at(day.isoformat(), f"{rng.choice((9, 11, 14, 16)):02d}:{rng.randrange(60):02d}"))
        for cid in people:
            move = rng.random()
            if move < 0.25:
                w.subscribe(cid, rng.randrange(1_000, 300_000))
            elif move < 0.40 and w.units(cid) > 0:
                units = rng.randrange(1, w.units(cid) + 1)
                w.redeem(cid, units, fast=units <= 1_000_000 and rng.random() < 0.5)  # within the T+0 cap
        clock.set(over(day))  # its end of day runs once the day is over
        [run] = eod.run_eod(engine, day, manager)
        assert run["paid"] + run["residue"] == run["distributed"]
        assert run["distributed"] == run["units"] * yields.r_units(Decimal(run["income_per_10k"])) // 10**8
    with reading(engine) as c:
        report = audit(c)
        assert report.ok, report.violations
        assert reserve_coverage(c).covered  # subscriptions leave the reserve, redemptions come back with income
        rows = (
            c.execute(select(mmf_daily).where(mmf_daily.c.fund_code == FUND).order_by(mmf_daily.c.business_date))
            .mappings()
            .all()
        )
        residue_units = c.execute(
            select(accounts.c.credits_posted).where(accounts.c.id == funds.residue_account(FUND))
        ).scalar_one()
    assert len(rows) == DAYS and all(r["distributed_at"] is not None for r in rows)
    assert sum(r["residue"] for r in rows) == residue_units  # every residue kept, never lost
    assert rows[5]["seven_day_yield"] is None and rows[6]["seven_day_yield"] is not None
    for i in range(6, DAYS):
        week = [Decimal(r["income_per_10k"]).scaleb(-4) for r in rows[i - 6 : i + 1]]
        assert Decimal(rows[i]["seven_day_yield"]) == yields.seven_day_annualized(week)
    # the end of day again for a date already done changes nothing
    last = START + dt.timedelta(days=DAYS - 1)
    before = _snapshot(engine)
    [again] = eod.run_eod(engine, last, manager)
    assert again["already_done"] is True
    assert _snapshot(engine) == before


def _snapshot(engine) -> tuple:  # type: ignore[no-untyped-def]
    with reading(engine) as c:
        return (
            c.execute(select(accounts).order_by(accounts.c.id)).all(),
            c.execute(select(func.count()).select_from(transfers)).scalar_one(),
            c.execute(select(mmf_daily).order_by(mmf_daily.c.business_date)).all(),
        )


def test_the_reserve_covers_wallets_after_income_is_redeemed(engine, clock) -> None:  # type: ignore[no-untyped-def]
    """Subscribing takes the cash out of the reserve into the fund's portfolio; redeeming, income
    included, brings it back: after everything is redeemed the reserve still covers every wallet."""
    w = World(engine, clock)
    clock.set(at("2026-01-06", "09:00"))
    cid = w.customer(fen=50_000_00)
    w.subscribe(cid, 50_000_00)
    manager = SimulatedManager(seed=3)
    for offset in range(10):
        day = dt.date(2026, 1, 6) + dt.timedelta(days=offset)
        clock.set(over(day))
        eod.run_eod(engine, day, manager)
    clock.set(at("2026-01-16", "10:00"))
    w.redeem(cid, w.units(cid), fast=False)
    for day in (dt.date(2026, 1, 16), dt.date(2026, 1, 19)):
        clock.set(over(day))
        eod.run_eod(engine, day, manager)
    assert w.units(cid) == 0 and w.wallet(cid) > 50_000_00  # the income came with it
    with reading(engine) as c:
        assert audit(c).ok and reserve_coverage(c).covered
