"""Running a completed date again, on SQLite and PostgreSQL: the wealth end of day answers what that
date did and moves nothing, even for a fund that appeared after it (it has no run row for the date):
its holders get no past day's income, its orders neither confirm nor settle as of that day, and no
NAV is invented for a day before it existed. A date not yet completed still runs every fund missing
from it (a crash after some funds committed), and no fund ever runs a date before its own last run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.eod import runs as eod_runs
from puhui.ledger.tables import accounts, transfers
from puhui.wealth import units as funds
from puhui.wealth.errors import InvalidFigures
from puhui.wealth.funds import orders as fo
from puhui.wealth.funds.nav_source import SimulatedNavs
from puhui.wealth.funds.tables import fund_eod_runs, fund_navs, fund_orders
from puhui.wealth.mmf import eod
from puhui.wealth.mmf.manager import SimulatedManager
from puhui.wealth.mmf.tables import mmf_daily, mmf_eod_runs, mmf_orders

from .mmf_world import FUND, World, at, over
from .test_fund_orders import Funds

D = dt.date.fromisoformat
NEW = "PH0002"  # a money-market fund created after the first date


def _mmf_state(engine) -> tuple:  # type: ignore[no-untyped-def]
    with reading(engine) as c:
        return (
            c.execute(select(func.count()).select_from(transfers)).scalar_one(),
            c.execute(
                select(accounts.c.id, accounts.c.debits_posted, accounts.c.credits_posted).order_by(accounts.c.id)
            ).all(),
            c.execute(select(mmf_daily).order_by(mmf_daily.c.fund_code, mmf_daily.c.business_date)).all(),
            c.execute(select(mmf_eod_runs).order_by(mmf_eod_runs.c.fund_code, mmf_eod_runs.c.business_date)).all(),
            c.execute(select(mmf_orders).order_by(mmf_orders.c.id)).all(),
        )


def _ran(engine, code: str) -> list[str]:  # type: ignore[no-untyped-def]
    with reading(engine) as c:
        query = select(mmf_eod_runs.c.business_date).where(mmf_eod_runs.c.fund_code == code)
        return sorted(c.execute(query).scalars())


def _new_fund_with_a_holder(w: World) -> str:
    """On 2026-01-06, after 01-05 ran: a second fund and a holder subscribing to it (due 01-07), so a
    run of a past date for it would have income and orders to move."""
    w.clock.set(at("2026-01-06", "09:30"))
    w.run(lambda uow: funds.create_fund(uow, NEW, "后来的货币基金"))
    holder = w.customer(fen=2_000_000)
    w.subscribe(holder, 1_500_000, fund=NEW)
    return holder


@pytest.mark.parametrize("through", ["run_eod", "run_eod_in"])
def test_a_completed_date_runs_no_fund_created_after_it(engine, clock, through):
    w = World(engine, clock)
    clock.set(at("2026-01-05", "09:30"))
    old = w.customer(fen=3_000_000)
    w.subscribe(old, 1_000_000)  # PH0001, due 01-06
    clock.set(over("2026-01-05"))
    [first] = eod.run_eod(engine, D("2026-01-05"))
    assert (first["fund_code"], first["already_done"]) == (FUND, False)
    holder = _new_fund_with_a_holder(w)
    for day in ("2026-01-06", "2026-01-07"):
        clock.set(over(day))
        eod.run_eod(engine, D(day))
    assert _ran(engine, NEW) == ["2026-01-06", "2026-01-07"] and w.units(holder, NEW) > 1_500_000  # confirmed, earning
    clock.set(at("2026-01-08", "10:00"))
    w.redeem(holder, 100_000, fund=NEW)  # pending, due 01-09: nothing of it may happen as of 01-05
    before, units = _mmf_state(engine), (w.units(old), w.units(holder, NEW), w.wallet(old), w.wallet(holder))

    if through == "run_eod":
        again = eod.run_eod(engine, D("2026-01-05"))
    else:
        again = transaction(engine, lambda uow: eod.run_eod_in(uow, D("2026-01-05")))

    assert again == [{**{k: v for k, v in first.items() if k != "already_done"}, "already_done": True}]
    assert _mmf_state(engine) == before  # no transfer, no mmf_daily / mmf_eod_runs row, no order moved
    assert (w.units(old), w.units(holder, NEW), w.wallet(old), w.wallet(holder)) == units
    assert _ran(engine, NEW) == ["2026-01-06", "2026-01-07"]
    assert w.audit_ok()
    clock.set(over("2026-01-08"))  # the next date runs both funds as usual
    assert [r["fund_code"] for r in eod.run_eod(engine, D("2026-01-08"))] == [FUND, NEW]
    assert w.audit_ok()


@pytest.mark.parametrize("through", ["run_eod", "run_eod_in"])
def test_a_completed_date_lists_only_the_fund_days_that_ran_then(engine, clock, through):
    w = World(engine, clock)
    clock.set(over("2026-01-05"))
    eod.run_eod(engine, D("2026-01-05"))
    w.run(lambda uow: funds.create_fund(uow, NEW, "当晚新设的货币基金"))  # created after 01-05 ran
    before = _mmf_state(engine)
    if through == "run_eod":
        again = eod.run_eod(engine, D("2026-01-05"))
    else:
        again = transaction(engine, lambda uow: eod.run_eod_in(uow, D("2026-01-05")))
    assert [(r["fund_code"], r["already_done"]) for r in again] == [(FUND, True)]
    assert _mmf_state(engine) == before and _ran(engine, NEW) == []
    assert w.audit_ok()


@dataclass(frozen=True)
class FailingFor:
    """The simulated manager, with no figure for one fund: its fund-day fails after the others committed."""

    failing: str
    figures: SimulatedManager = SimulatedManager()

    def income_per_10k(self, fund_code: str, day: dt.date) -> Decimal:
        if fund_code == self.failing:
            raise InvalidFigures(f"no income per 10,000 units for {fund_code} on {day}")
        return self.figures.income_per_10k(fund_code, day)


def test_a_date_not_completed_still_runs_the_funds_a_crash_left(engine, clock):
    w = World(engine, clock)
    clock.set(over("2026-01-05"))
    eod.run_eod(engine, D("2026-01-05"))
    holder = _new_fund_with_a_holder(w)
    clock.set(over("2026-01-06"))
    eod.run_eod(engine, D("2026-01-06"))
    clock.set(over("2026-01-07"))
    with pytest.raises(InvalidFigures):
        eod.run_eod(engine, D("2026-01-07"), FailingFor(NEW))  # PH0001 commits, PH0002 fails
    with reading(engine) as c:
        assert not eod_runs.completed(c, eod.JOB, D("2026-01-07"))
    assert _ran(engine, FUND)[-1] == "2026-01-07" and _ran(engine, NEW) == ["2026-01-06"]
    assert w.units(holder, NEW) == 0  # its subscription, due 01-07, has not confirmed
    runs = eod.run_eod(engine, D("2026-01-07"))  # the retry runs the fund the crash left
    assert [(r["fund_code"], r["already_done"]) for r in runs] == [(FUND, True), (NEW, False)]
    assert runs[1]["confirmed"] == 1 and w.units(holder, NEW) > 1_500_000
    with reading(engine) as c:
        assert eod_runs.completed(c, eod.JOB, D("2026-01-07"))
    assert _ran(engine, NEW) == ["2026-01-06", "2026-01-07"]
    assert w.audit_ok()


def test_a_fund_never_runs_a_date_before_its_own_last_run(engine, clock):
    w = World(engine, clock)
    clock.set(over("2026-01-05"))
    eod.run_eod(engine, D("2026-01-05"))
    _new_fund_with_a_holder(w)
    for day in ("2026-01-06", "2026-01-07"):
        clock.set(over(day))
        eod.run_eod(engine, D(day))
    before = _mmf_state(engine)
    manager = SimulatedManager()
    assert transaction(engine, lambda uow: eod.run_fund_day(uow, NEW, D("2026-01-05"), manager)) is None
    ran = transaction(engine, lambda uow: eod.run_funds_in(uow, D("2026-01-05"), manager))
    assert [(r["fund_code"], r["already_done"]) for r in ran] == [(FUND, True)]  # the new fund is past it
    assert _mmf_state(engine) == before
    assert w.audit_ok()


# ---------------------------------------------------------------------------------------------
# Distributed funds: one `fund_eod_runs` row per date covers every fund; the sandbox's NAVs


LATE = "EQ0002"  # a distributed fund created after the first date
MONDAY, TUESDAY, WEDNESDAY, THURSDAY = D("2026-03-09"), D("2026-03-10"), D("2026-03-11"), D("2026-03-12")


def _navs(engine, code: str) -> list[str]:  # type: ignore[no-untyped-def]
    with reading(engine) as c:
        query = select(fund_navs.c.nav_date).where(fund_navs.c.fund_code == code).order_by(fund_navs.c.nav_date)
        return list(c.execute(query).scalars())


def _funds_eod(w: Funds, day: dt.date) -> dict:
    w.clock.set(max(over(day, "00:00"), w.clock.now()))  # the day is over
    return fo.funds_eod(w.engine, day, SimulatedNavs())


def test_a_completed_date_confirms_and_values_nothing_that_appeared_after_it(engine, clock):
    w = Funds(engine, clock)
    clock.set(at("2026-03-02", "09:00"))
    w.product()
    w.navs("2026-03-02", "2026-03-06")
    early = w.investor(fen=2_000_000)
    clock.set(at(MONDAY.isoformat(), "10:00"))
    w.buy(early, 500_000)  # T Monday, confirmed Tuesday
    monday = _funds_eod(w, MONDAY)
    clock.set(at(TUESDAY.isoformat(), "10:00"))
    w.product(LATE)  # after Monday ran
    late = w.investor(fen=2_000_000)
    bought = w.buy(late, 600_000, code=LATE)  # T Tuesday, confirmed Wednesday
    _funds_eod(w, TUESDAY)
    _funds_eod(w, WEDNESDAY)
    assert w.order(bought["id"])["status"] == "confirmed" and _navs(engine, LATE) == ["2026-03-10", "2026-03-11"]
    clock.set(at(THURSDAY.isoformat(), "10:00"))
    w.sell(late, w.units(late, LATE) // 2, code=LATE)  # pending: T Thursday
    w.buy(early, 100_000)
    before, held = w.state(), (w.units(early), w.units(late, LATE), w.wallet(early), w.wallet(late))
    with reading(engine) as c:
        orders = c.execute(select(fund_orders).order_by(fund_orders.c.id)).all()
        runs = c.execute(select(fund_eod_runs).order_by(fund_eod_runs.c.business_date)).all()

    for again in (
        fo.funds_eod(engine, MONDAY, SimulatedNavs()),
        transaction(engine, lambda uow: fo.funds_eod_in(uow, MONDAY, SimulatedNavs())),
        fo.funds_eod(engine, MONDAY),
    ):
        assert again == {**monday, "already_done": True}

    assert w.state() == before  # no transfer, order, NAV or lot changed
    assert (w.units(early), w.units(late, LATE), w.wallet(early), w.wallet(late)) == held
    assert _navs(engine, LATE) == ["2026-03-10", "2026-03-11"]  # none invented for a day before it existed
    with reading(engine) as c:
        assert c.execute(select(fund_orders).order_by(fund_orders.c.id)).all() == orders
        assert c.execute(select(fund_eod_runs).order_by(fund_eod_runs.c.business_date)).all() == runs
    assert w.audit_ok() and w.covered()


def test_a_fund_created_after_a_run_gets_no_nav_for_that_date_or_before(engine, clock):
    w = Funds(engine, clock)
    clock.set(at("2026-03-02", "09:00"))
    w.product()
    w.navs("2026-03-02", "2026-03-06")
    _funds_eod(w, MONDAY)
    _funds_eod(w, TUESDAY)
    w.product(LATE)  # Wednesday 00:00, after Tuesday ran: no NAV yet
    assert _navs(engine, LATE) == []
    for day in (MONDAY, TUESDAY):  # a re-run of a date before it, or of the date it was created after
        before = w.state()
        assert fo.funds_eod(engine, day, SimulatedNavs())["already_done"] is True
        assert w.state() == before and _navs(engine, LATE) == []
    _funds_eod(w, WEDNESDAY)  # its first date: Wednesday's NAV, at par
    assert _navs(engine, LATE) == ["2026-03-11"]
    assert w.audit_ok()


def test_a_re_run_still_values_a_day_that_closed_after_its_first_run(engine, clock):
    """The re-run's purpose stays: a fund that existed when the date ran gets the NAV not known then.
    A date runs only once it is over (so never before its cut-off): the NAV it lacked is one no source
    gave the first run (the end of day ran without the sandbox's NAV source)."""
    w = Funds(engine, clock)
    clock.set(at("2026-03-02", "09:00"))
    w.product()
    w.navs("2026-03-02", "2026-03-06")
    clock.set(at(MONDAY.isoformat(), "08:00"))
    w.product(LATE)  # created Monday morning, before Monday ran
    clock.set(over(MONDAY))
    assert fo.funds_eod(engine, MONDAY)["already_done"] is False  # no NAV source: nothing invented
    assert _navs(engine, LATE) == [] and _navs(engine, "EQ0001")[-1] == "2026-03-06"
    clock.set(over(MONDAY, "09:00"))
    assert fo.funds_eod(engine, MONDAY, SimulatedNavs())["already_done"] is True
    assert _navs(engine, LATE) == ["2026-03-09"] and _navs(engine, "EQ0001")[-1] == "2026-03-09"
    assert w.audit_ok()
