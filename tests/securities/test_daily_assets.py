"""The ChiNext/STAR permissions' 20-trading-day average (前20个交易日日均资产), on SQLite and PostgreSQL.
The gap: a grant checked the account's assets as they stood at the application, so money moved in that
morning earned a permission, and a month of holdings moved out that morning lost it. Now clearing
snapshots every account's assets at each trading day's close (日终资产: cash and shares at the day's
prices; once per account and day, again changing nothing; a day cleared after the next session opened
read back as of its end), and a grant averages the 20 XSHG trading days before the application, a day
without a snapshot counting as zero: rich for 19 days and poor on the 20th is refused though rich again
today; rich for 20 days is granted though poor today; rich only today is refused."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from puhui import clock as clock_module
from puhui.db import reading, transaction
from puhui.securities import accounts, calendar, clearing, daily_assets
from puhui.securities.tables import securities_daily_assets
from tests.identity.helpers import ADMIN, LI, WANG, ZHANG
from tests.securities.test_brokerage_http import (  # noqa: F401 - `client` is a fixture
    assert_audit_clean,
    call,
    client,
    deposit,
    investor,
    problem,
)

CHINEXT = {"board": "chinext", "permitted": True}


def china(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), clock_module.CHINA)


def rows(engine) -> list[tuple]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        query = select(securities_daily_assets).order_by(
            securities_daily_assets.c.trade_day, securities_daily_assets.c.customer_id
        )
        return [tuple(r) for r in connection.execute(query)]


def move(engine, customer_id: str, direction: str, fen: int, key: str) -> None:  # type: ignore[no-untyped-def]
    """银证转账 through the brokerage's own call (the customers' tokens expire within the month)."""
    transaction(engine, lambda uow: accounts.transfer(uow, customer_id, direction, fen, key))


def grant(client, customer_id: str, key: str):  # type: ignore[no-untyped-def]
    return call(client, f"/v1/securities/accounts/{customer_id}/permissions", ADMIN, key, CHINEXT)


def test_a_grant_averages_the_closes_of_the_20_trading_days_before_it(client, engine, clock):  # noqa: F811
    zhang, _ = investor(client, engine, ZHANG, 104_000_00)
    li, _ = investor(client, engine, LI, 89_500_00)
    deposit(engine, li, "600000", 1_000)  # 1,000 × 10.50 (its previous close): 100,000.00 with the cash
    days = calendar.trading_days_before(dt.date(2026, 12, 31), 20)
    assert (days[0], days[-1]) == (dt.date(2026, 12, 3), dt.date(2026, 12, 30))  # today, Thursday, is the first
    for day in days:
        if day == days[-1]:
            clock.set(china(day, 10))
            move(engine, zhang, "out", 100_000_00, "poor-on-the-20th")  # 4,000.00 at the 20th close
        clock.set(china(day + dt.timedelta(days=1), 1))  # the night after: T+1 clearing, before the next open
        clearing.clear(engine, day)
    taken = rows(engine)
    assert len(taken) == 2 * 20 and {r[1] for r in taken} == set(days)  # no weekend, each account once a day
    assert [r[2:4] for r in taken if r[0] == li][0] == (89_500_00, 10_500_00)  # cash, shares at the close
    assert [r[2] + r[3] for r in taken if r[0] == zhang] == [104_000_00] * 19 + [4_000_00]
    clearing.clear(engine, days[-1])  # the close again: nothing taken twice, nothing changed
    assert rows(engine) == taken

    clock.set(china(dt.date(2026, 12, 31), 10))  # the application date
    move(engine, zhang, "in", 100_000_00, "rich-again-today")  # 104,000.00 now: today does not count
    refused = grant(client, zhang, "zhang-chinext")
    problem(refused, 409, "board_permission_not_eligible")
    detail = refused.json()["detail"]
    assert "at least 100000.00 CNY over the 20 trading days before the application" in detail
    assert "(2026-12-03 to 2026-12-30)" in detail  # (19 × 104,000.00 + 4,000.00) / 20
    assert "20-day average is 99000.00 CNY (20 of the 20 days" in detail
    assert (refused.json()["average_daily_assets"], refused.json()["threshold"]) == ("99000.00", "100000.00")

    move(engine, li, "out", 89_500_00, "poor-today")  # 10,500.00 in shares now; 100,000.00 for 20 closes
    granted = grant(client, li, "li-chinext")
    assert granted.status_code == 200 and granted.json()["chinext_permitted"] is True, granted.text

    wang, _ = investor(client, engine, WANG, 300_000_00)  # new today, with three times the threshold
    problem(grant(client, wang, "wang-chinext"), 409, "board_permission_not_eligible")
    assert "20-day average is 0.00 CNY (0 of the 20 days" in grant(client, wang, "wang-again").json()["detail"]
    with reading(engine) as connection:
        assert not accounts.find(connection, zhang)["chinext"] and not accounts.find(connection, wang)["chinext"]
    assert_audit_clean(engine)


def test_a_day_cleared_late_is_read_back_as_of_its_end(client, engine, clock):  # noqa: F811
    """Cleared after the next sessions opened (a catch-up after an outage), Thursday and Friday are still
    snapshotted: as the books stood at each day's end, not as they stand at the clearing."""
    thursday, friday, monday = dt.date(2026, 12, 3), dt.date(2026, 12, 4), dt.date(2026, 12, 7)
    zhang, _ = investor(client, engine, ZHANG, 120_000_00)
    clock.set(china(friday, 10))
    move(engine, zhang, "out", 20_000_00, "friday-out")  # 100,000.00 at Friday's close
    clock.set(china(monday, 9))
    move(engine, zhang, "in", 50_000_00, "monday-in")  # 150,000.00 from Monday on
    clock.set(china(monday, 10))  # cleared late: Friday's and Monday's sessions have opened since
    clearing.clear(engine, thursday)
    clearing.clear(engine, friday)
    assert [(r[0], r[1], r[2] + r[3]) for r in rows(engine)] == [
        (zhang, thursday, 120_000_00),
        (zhang, friday, 100_000_00),
    ]
    clock.set(china(monday, 16))
    li, _ = investor(client, engine, LI, 150_000_00)  # opened after Monday's close
    clock.set(china(dt.date(2026, 12, 8), 9, 14))  # a minute before Tuesday's opening auction: on time
    clearing.clear(engine, monday)
    assert [(r[0], r[1], r[2] + r[3]) for r in rows(engine)][2:] == [(zhang, monday, 150_000_00)]
    with reading(engine) as connection:
        average = daily_assets.average(connection, zhang, dt.date(2026, 12, 8))
    assert (average.days_on_record, average.total, average.shown()) == (3, 370_000_00, 18_500_00)


def test_the_window_is_the_20_xshg_trading_days_before_the_application():
    for application in (dt.date(2026, 10, 9), dt.date(2026, 2, 24), dt.date(2026, 12, 31), dt.date(2027, 1, 4)):
        days = calendar.trading_days_before(application, 20)
        assert len(days) == 20 and all(calendar.is_trading_day(d) for d in days) and days[-1] < application
        assert all(calendar.next_trading_day(a) == b for a, b in zip(days, days[1:]))  # none skipped
        assert calendar.next_trading_day(days[-1]) >= application
    assert calendar.trading_days_before(dt.date(2026, 10, 8), 2) == [dt.date(2026, 9, 29), dt.date(2026, 9, 30)]


def test_the_overnight_clearing_clears_the_last_trading_day_before_the_next_session(client, engine, clock):  # noqa: F811
    """Nothing ran the clearing in its window (midnight to the next 09:15), so the snapshots never came:
    now the server's leader clears the last trading day overnight, once, and not after the next open."""
    friday, monday = dt.date(2026, 12, 4), dt.date(2026, 12, 7)
    zhang, _ = investor(client, engine, ZHANG, 120_000_00)
    clock.set(china(friday, 16))
    assert clearing.clear_overnight(engine) is None  # Thursday's window closed at Friday's open
    clock.set(china(dt.date(2026, 12, 5), 0, 5))  # Saturday, just after midnight
    assert clearing.last_closed_day(clock.now()) == friday
    assert clearing.clear_overnight(engine)["business_date"] == str(friday)
    assert clearing.clear_overnight(engine) is None  # cleared once
    clock.set(china(monday, 9, 30))  # Monday's session has opened: Friday's close is gone from the books
    assert clearing.clear_overnight(engine) is None
    assert [(r[0], r[1], r[2] + r[3]) for r in rows(engine)] == [(zhang, friday, 120_000_00)]
    clock.set(china(dt.date(2026, 12, 8), 3))
    assert clearing.clear_overnight(engine)["business_date"] == str(monday)
    assert [r[1] for r in rows(engine)] == [friday, monday]
    assert_audit_clean(engine)
