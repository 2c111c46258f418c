"""A day's close (日终资产) read back after the books moved on, on SQLite and PostgreSQL. The gap: a day
cleared after the next session opened (a catch-up after an outage, an operator's late `clear`) got no
snapshot, so it counted as zero in the ChiNext/STAR 20-day average (前20个交易日日均资产) and delayed a
permission. Now the late clearing reads each account's cash and shares back from the ledger as of the
day's end, each instrument at the reference price its row carried then: the same figure an on-time
clearing took, whatever traded and moved since."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete

from puhui.clock import ManualClock
from puhui.db import reading, transaction
from puhui.securities import calendar, clearing, daily_assets
from puhui.securities.tables import securities_daily_assets
from tests.identity.helpers import LI, ZHANG, login, make_staff
from tests.securities.test_brokerage_http import (  # noqa: F401 - `client` is a fixture
    assert_audit_clean,
    call,
    client,
    deposit,
    investor,
    order,
)
from tests.securities.test_corporate_actions import announce, holders_at_the_record
from tests.securities.test_daily_assets import china, grant, move, problem, rows

THURSDAY, FRIDAY, MONDAY = dt.date(2026, 12, 3), dt.date(2026, 12, 4), dt.date(2026, 12, 7)


def read_back(engine: Engine, customers: list[str], day: dt.date) -> dict[str, tuple[int, int]]:
    with reading(engine) as connection:
        return {c: daily_assets.assets_as_of(connection, c, day) for c in customers}


def now(engine: Engine, customers: list[str]) -> dict[str, tuple[int, int]]:
    with reading(engine) as connection:
        return {c: daily_assets.assets(connection, c) for c in customers}


def taken(engine: Engine, day: dt.date) -> dict[str, tuple[int, int]]:
    return {r[0]: (r[2], r[3]) for r in rows(engine) if r[1] == day}


def retake_late(engine: Engine, day: dt.date) -> int:
    """Forget the day's snapshots and take them again now (after the next session opened): a late clearing."""
    with engine.begin() as connection:
        connection.execute(delete(securities_daily_assets).where(securities_daily_assets.c.trade_day == day))
    return transaction(engine, lambda uow: daily_assets.take(uow, day))


def a_thursday_of_trading(client: TestClient, engine: Engine, clock: ManualClock) -> tuple[str, str]:
    """Li sells Zhang 500 at 10.50 and 100 at 10.60 (the last trade: 600000's reference price, above its
    previous close 10.50); at the close Zhang's buy at 10.00 is open (cash frozen) and 100 of Li's sell at
    10.60 (shares frozen); Zhang takes 1,000.00 out that evening, before the day ends."""
    zhang, z = investor(client, engine, ZHANG, 50_000_00)
    li, lee = investor(client, engine, LI, 1_000_00)
    deposit(engine, li, "600000", 1_000)
    assert order(client, lee, "s1", "sell", 500, "10.50").status_code == 201
    assert order(client, z, "b1", "buy", 500, "10.60").json()["status"] == "filled"
    assert order(client, lee, "s2", "sell", 200, "10.60").status_code == 201
    assert order(client, z, "b2", "buy", 100, "10.60").json()["status"] == "filled"
    assert order(client, z, "b3", "buy", 100, "10.00").json()["status"] == "open"
    clock.set(china(THURSDAY, 20))
    move(engine, zhang, "out", 1_000_00, "thursday-evening")
    return zhang, li


def test_a_close_read_back_equals_the_one_taken_on_time(client, engine, clock):  # noqa: F811
    zhang, li = a_thursday_of_trading(client, engine, clock)
    clock.set(china(FRIDAY, 1))  # on time: overnight, before Friday's session
    clearing.clear(engine, THURSDAY)
    on_time = taken(engine, THURSDAY)
    # Zhang: 50,000.00 − 5,255.05 (b1 with its fees) − 1,065.01 (b2) − 1,000.00 out, b3's 1,005.01 frozen
    # in it; 600 shares at 10.60. Li: 1,000.00 + 5,242.32 (s1 less its fees) + 1,060.00 (s2's fill, its fees
    # due when it ends); 400 shares at 10.60, 100 of them frozen under s2
    assert on_time == {zhang: (42_679_94, 6_360_00), li: (7_302_32, 4_240_00)}
    assert read_back(engine, [zhang, li], THURSDAY) == on_time  # while the books still stand there

    clock.set(china(FRIDAY, 10))  # Friday: the open orders expired, trades at other prices, cash moves
    z, lee = login(client, ZHANG), login(client, LI)
    assert order(client, z, "b4", "buy", 200, "10.80").status_code == 201
    assert order(client, lee, "s3", "sell", 200, "10.80").json()["status"] == "filled"
    move(engine, zhang, "in", 10_000_00, "friday-in")
    move(engine, li, "out", 2_000_00, "friday-out")
    clock.set(china(MONDAY, 10))
    clearing.clear(engine, FRIDAY)  # late: Monday's session has opened
    assert now(engine, [zhang, li]) != on_time
    assert read_back(engine, [zhang, li], THURSDAY) == on_time
    assert retake_late(engine, THURSDAY) == 2 and taken(engine, THURSDAY) == on_time
    # Friday, cleared late, at Friday's end: Zhang 800 shares and Li 200 at 10.80
    assert {c: value for c, (_, value) in taken(engine, FRIDAY).items()} == {zhang: 8_640_00, li: 2_160_00}
    assert taken(engine, FRIDAY) == now(engine, [zhang, li])  # nothing moved since Friday
    assert_audit_clean(engine)


def test_an_ex_date_close_reads_back_at_its_reference_price(client, engine, clock):  # noqa: F811
    """600000 goes ex on Friday (10派3元送3.5股; reference 7.56) and does not trade: Friday's close values the
    shares at 7.56 with the bonus shares and the dividend, Thursday's at 10.50 without them; both read back
    on Monday as cleared on time."""
    zhang, _, li, _ = holders_at_the_record(client, engine)
    assert announce(client, make_staff(client, "operator"), "ca-1").status_code == 201
    clock.set(china(FRIDAY, 1))
    clearing.clear(engine, THURSDAY)  # then applies the distribution: Friday's book opens ex
    clock.set(china(dt.date(2026, 12, 5), 1))
    clearing.clear(engine, FRIDAY)
    on_time = {day: taken(engine, day) for day in (THURSDAY, FRIDAY)}
    assert {c: v for c, (_, v) in on_time[THURSDAY].items()} == {zhang: 533 * 10_50, li: 502 * 10_50}
    assert {c: v for c, (_, v) in on_time[FRIDAY].items()} == {zhang: 719 * 7_56, li: 678 * 7_56}

    clock.set(china(MONDAY, 10))
    z, lee = login(client, ZHANG), login(client, LI)
    assert order(client, lee, "s9", "sell", 100, "7.60").status_code == 201
    assert order(client, z, "b9", "buy", 100, "7.60").json()["status"] == "filled"
    for day in (THURSDAY, FRIDAY):
        assert read_back(engine, [zhang, li], day) == on_time[day]
        assert retake_late(engine, day) == 2 and taken(engine, day) == on_time[day]
    assert_audit_clean(engine)


def test_a_grant_counts_the_days_an_outage_cleared_late(client, engine, clock):  # noqa: F811
    """Clearing stopped for the window's last three days; the catch-up on the application morning reads
    them back at 104,000.00 each, not at zero nor at the 54,000.00 the account holds by then."""
    zhang, _ = investor(client, engine, ZHANG, 104_000_00)
    days = calendar.trading_days_before(dt.date(2026, 12, 31), 20)
    for day in days[:-3]:
        clock.set(china(day + dt.timedelta(days=1), 1))
        clearing.clear(engine, day)
    clock.set(china(dt.date(2026, 12, 31), 9))
    move(engine, zhang, "out", 50_000_00, "before-the-catch-up")
    with reading(engine) as connection:
        average = daily_assets.average(connection, zhang, dt.date(2026, 12, 31))
    assert (average.days_on_record, average.shown()) == (17, 88_400_00)
    problem(grant(client, zhang, "too-early"), 409, "board_permission_not_eligible")

    clock.set(china(dt.date(2026, 12, 31), 10))  # the outage over: one catch-up clears the three days
    clearing.clear(engine, days[-1])
    assert [r[2] + r[3] for r in rows(engine)] == [104_000_00] * 20
    granted = grant(client, zhang, "after-the-catch-up")
    assert granted.status_code == 200 and granted.json()["chinext_permitted"] is True, granted.text
    assert_audit_clean(engine)
