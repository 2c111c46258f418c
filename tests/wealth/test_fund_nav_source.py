"""The sandbox's simulated fund managers (`wealth.funds.nav_source`), on SQLite and PostgreSQL: in the
sandbox the end of day publishes each closed trading day's NAV (a seeded random walk from the last
one), so a fund order confirms at its trade date's NAV on T+1, as with a real manager's file; outside
the sandbox nothing is invented and the order waits for the NAV."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from puhui.app import create_app
from puhui.db import reading
from puhui.eod.errors import BusinessDateNotOver
from puhui.eod_cli import run_all
from puhui.settings import Settings
from puhui.wealth.funds import orders as fo
from puhui.wealth.funds.nav_source import SimulatedNavs, sandbox_navs
from puhui.wealth.funds.tables import fund_navs

from .mmf_world import at
from .test_fund_orders import FUND, Funds, nav_of

FRIDAY, MONDAY, TUESDAY = dt.date(2026, 3, 6), dt.date(2026, 3, 9), dt.date(2026, 3, 10)
WEDNESDAY = dt.date(2026, 3, 11)


def navs_after(engine, day: dt.date) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        rows = connection.execute(
            select(fund_navs.c.nav_date, fund_navs.c.nav).where(
                fund_navs.c.fund_code == FUND, fund_navs.c.nav_date > day.isoformat()
            )
        )
        return {d: int(n) for d, n in rows}


def world(engine, clock) -> tuple[Funds, str, dict]:  # type: ignore[no-untyped-def]
    """A fund valued through Friday 03-06 (a file), and a purchase on Monday 03-09 before the cut-off."""
    w = Funds(engine, clock)
    clock.set(at("2026-03-02", "09:00"))
    w.product()
    w.navs("2026-03-02", FRIDAY.isoformat())
    cid = w.investor(fen=1_000_000)
    clock.set(at(MONDAY.isoformat(), "10:00"))
    return w, cid, w.buy(cid, 500_000)


def test_in_the_sandbox_a_fund_order_confirms_at_the_published_nav(engine, clock):
    w, _, order = world(engine, clock)
    assert (order["trade_date"], order["confirm_date"]) == (MONDAY.isoformat(), TUESDAY.isoformat())
    clock.set(at(TUESDAY.isoformat(), "00:30"))  # Monday is over
    monday = run_all(engine, MONDAY, sandbox=True)["funds"]
    expected = SimulatedNavs().nav_e4(FUND, 3, MONDAY, nav_of(FRIDAY))  # from Friday's NAV, seeded by fund and day
    assert navs_after(engine, FRIDAY) == {MONDAY.isoformat(): expected}
    assert monday["waiting_for_nav"] == 0 and w.order(order["id"])["status"] == "pending"  # T+1, not on T
    clock.set(at(WEDNESDAY.isoformat(), "00:30"))
    tuesday = run_all(engine, TUESDAY, sandbox=True)["funds"]
    row = w.order(order["id"])
    assert (tuesday["purchases_confirmed"], row["status"], row["nav"]) == (1, "confirmed", expected)
    assert row["units"] > 0 and set(navs_after(engine, FRIDAY)) == {MONDAY.isoformat(), TUESDAY.isoformat()}
    again = fo.funds_eod(engine, TUESDAY, SimulatedNavs())  # a re-run moves nothing, invents nothing new
    assert again["already_done"] and navs_after(engine, FRIDAY)[MONDAY.isoformat()] == expected
    assert w.audit_ok() and w.covered()


def test_outside_the_sandbox_nothing_is_invented(engine, clock):
    w, _, order = world(engine, clock)
    assert sandbox_navs(Settings(sandbox=False)) is None and sandbox_navs(Settings(sandbox=True)) is not None
    for day in (MONDAY, TUESDAY):
        clock.set(at((day + dt.timedelta(days=1)).isoformat(), "00:30"))
        answer = run_all(engine, day, sandbox=False)["funds"]
    assert answer["waiting_for_nav"] == 1 and w.order(order["id"])["status"] == "pending"
    assert navs_after(engine, FRIDAY) == {}


def test_a_day_in_progress_is_refused_and_gets_no_nav_until_it_is_over(engine, clock):
    w, _, order = world(engine, clock)
    clock.set(at(MONDAY.isoformat(), "10:30"))  # Monday not closed yet: its NAV cannot be known
    with pytest.raises(BusinessDateNotOver):
        fo.funds_eod(engine, MONDAY, SimulatedNavs())
    assert navs_after(engine, FRIDAY) == {} and w.order(order["id"])["status"] == "pending"
    clock.set(at(TUESDAY.isoformat(), "12:00"))  # Monday over, Tuesday not
    fo.funds_eod(engine, MONDAY, SimulatedNavs())
    assert list(navs_after(engine, FRIDAY)) == [MONDAY.isoformat()]
    clock.set(at(WEDNESDAY.isoformat(), "00:30"))
    answer = fo.funds_eod(engine, TUESDAY, SimulatedNavs())
    assert answer["purchases_confirmed"] == 1 and w.order(order["id"])["status"] == "confirmed"


def test_the_walk_is_deterministic_per_fund_and_day():
    navs = SimulatedNavs()
    assert navs.nav_e4(FUND, 3, MONDAY, 12_345) == SimulatedNavs().nav_e4(FUND, 3, MONDAY, 12_345)
    walked = {navs.nav_e4(code, 3, day, 12_345) for code in ("EQ0001", "EQ0002") for day in (MONDAY, TUESDAY)}
    assert len(walked) > 1 and all(5_000 < nav < 20_000 for nav in walked)


def test_the_sandbox_api_end_of_day_publishes_navs_and_production_does_not(engine, clock):
    world(engine, clock)
    clock.set(at(TUESDAY.isoformat(), "00:30"))  # Monday is over
    token = "admin-token-for-nav-source-tests-0123456789"
    answers = {}
    for sandbox in (False, True):
        settings = Settings(admin_token=token, sandbox=sandbox)
        with TestClient(create_app(engine, settings, run_expiry=False)) as client:
            response = client.post(
                "/v1/wealth/funds-eod",
                json={"business_date": MONDAY.isoformat()},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"eod-{sandbox}"},
            )
        assert response.status_code == 200, response.text
        answers[sandbox] = navs_after(engine, FRIDAY)
    assert answers[False] == {} and list(answers[True]) == [MONDAY.isoformat()]
