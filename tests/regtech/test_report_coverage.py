"""Every business date's large-value report in the deadlines view, on SQLite and PostgreSQL: a date never
generated is `missing` (and overdue after its deadline), a date with no transaction reaching the thresholds
(none, or only small ones) is `nothing_to_report` (exactly the dates generating refuses with
`report_no_data`), generated and submitted ones are told apart; the view covers the last 366 days to yesterday
from the first date with something to report, in the same few queries whatever the range."""

from __future__ import annotations

import datetime as dt
import json

import chinese_calendar
import pytest
from sqlalchemy import event

from puhui.db import reading, transaction
from puhui.regtech import report_coverage, report_index, reports
from puhui.regtech.errors import NoDataForDate

from .test_reports_world import World, china

Y = 100  # fen per yuan
D = dt.date.fromisoformat


def at_china(clock, day: str, hhmm: str = "10:00") -> None:  # type: ignore[no-untyped-def]
    clock.set(dt.datetime.fromisoformat(f"{day}T{hhmm}:00+08:00").astimezone(dt.UTC))


def due(day: str) -> str:
    """The 5th working day after `day`, by the library's own schedule (the oracle)."""
    start = D(day)
    return chinese_calendar.get_workdays(start + dt.timedelta(days=1), start + dt.timedelta(days=40))[4].isoformat()


@pytest.fixture
def world(engine, clock):  # type: ignore[no-untyped-def]
    w = World(engine)
    for _ in range(3):
        w.customer()
    return w


def plant(w: World) -> None:
    a, b, c = w.customers
    w.payment(a, b, 600_000 * Y, china("2025-12-26"))  # the first transaction: reported and submitted below
    w.bank(c, "credit_card", 900_000 * Y, china("2025-12-27"), status="pending")  # not posted: not a transaction
    w.payment(a, b, 499_999 * Y, china("2025-12-28"))  # under the threshold: nothing to report
    w.bank(c, "debit_card", 300_000 * Y, china("2025-12-29", "23:59"))  # a completed top-up, and a payment in:
    w.payment(a, c, 200_000 * Y, china("2025-12-29"))  # c's 500,000 in, cumulated over both sources
    w.payment(a, b, 800_000 * Y, china("2025-12-30"))  # generated below, not submitted
    w.payment(b, c, 700_000 * Y, china("2025-12-31", "00:00"))  # never generated
    w.payment(c, a, 10 * Y, china("2026-01-02"))  # small: nothing to report
    for hhmm in ("09:00", "12:00", "23:59"):  # a holiday Saturday: 600,000 cumulated, never generated
        w.payment(c, a, 200_000 * Y, china("2026-01-03", hhmm))
    w.payment(c, a, 600_000 * Y, china("2026-01-07"))  # today when viewed: not over, not listed


def view(engine) -> dict:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return report_coverage.large_value_days(connection)


def generate(engine, day: str) -> dict:  # type: ignore[no-untyped-def]
    return transaction(engine, lambda uow: reports.generate(uow, D(day), "risk.one"))


def test_each_date_is_submitted_generated_nothing_to_report_or_missing(engine, world, clock):  # type: ignore[no-untyped-def]
    plant(world)
    first = generate(engine, "2025-12-26")
    transaction(engine, lambda uow: reports.submit(uow, first["id"], "risk.one"))
    second = generate(engine, "2025-12-30")
    at_china(clock, "2026-01-07")  # yesterday, 01-06, is the last date that is over

    found = view(engine)
    days = {d["business_date"]: d for d in found["days"]}
    assert (found["from"], found["to"]) == ("2025-12-26", "2026-01-06")
    assert list(days) == [(D("2025-12-26") + dt.timedelta(days=i)).isoformat() for i in range(12)]
    statuses = {day: d["status"] for day, d in days.items()}
    assert statuses == {
        "2025-12-26": "submitted",
        "2025-12-27": "nothing_to_report",
        "2025-12-28": "nothing_to_report",
        "2025-12-29": "missing",
        "2025-12-30": "generated",
        "2025-12-31": "missing",
        "2026-01-01": "nothing_to_report",
        "2026-01-02": "nothing_to_report",
        "2026-01-03": "missing",
        "2026-01-04": "nothing_to_report",
        "2026-01-05": "nothing_to_report",
        "2026-01-06": "nothing_to_report",
    }
    assert found["counts"] == {"submitted": 1, "generated": 1, "nothing_to_report": 7, "missing": 3}
    assert days["2025-12-26"]["report_id"] == first["id"] and days["2025-12-30"]["report_id"] == second["id"]
    assert all(d["report_id"] is None for d in days.values() if d["status"] in ("missing", "nothing_to_report"))
    for day, d in days.items():
        assert d["deadline"] == due(day), day
    # Today is 01-07: 12-29's deadline (01-06) has passed; 12-30's is today (01-07), 12-31's tomorrow.
    assert due("2025-12-29") == "2026-01-06" and due("2025-12-30") == "2026-01-07"
    assert found["overdue"] == ["2025-12-29"] and days["2025-12-29"]["overdue"]
    assert not days["2025-12-30"]["overdue"] and not days["2025-12-26"]["overdue"]

    at_china(clock, "2026-01-09")  # 12-30 generated, 12-31 and 01-03 missing are overdue too (due 01-07, 01-08)
    assert due("2025-12-31") == due("2026-01-03") == "2026-01-08"
    later = view(engine)
    assert later["to"] == "2026-01-08"
    assert later["overdue"] == ["2025-12-29", "2025-12-30", "2025-12-31", "2026-01-03"]
    assert later["days"][-2]["status"] == "missing"  # 01-07's payment: over now, not generated


def test_missing_dates_are_exactly_the_dates_a_report_can_be_generated_for(engine, world, clock):  # type: ignore[no-untyped-def]
    plant(world)
    at_china(clock, "2026-01-07")
    found = view(engine)
    for d in found["days"]:
        if d["status"] == "nothing_to_report":
            with pytest.raises(NoDataForDate):
                generate(engine, d["business_date"])
        else:
            assert d["status"] == "missing"
            made = generate(engine, d["business_date"])
            assert made["deadline"] == d["deadline"]
    after = view(engine)
    assert found["counts"] == {"submitted": 0, "generated": 0, "nothing_to_report": 7, "missing": 5}
    assert after["counts"] == {"submitted": 0, "generated": 5, "nothing_to_report": 7, "missing": 0}
    assert [d["status"] for d in after["days"]] == [
        "generated" if d["status"] == "missing" else d["status"] for d in found["days"]
    ]


def test_no_transaction_yet_or_only_today_lists_no_date(engine, world, clock):  # type: ignore[no-untyped-def]
    empty = {"from": None, "to": None, "counts": dict.fromkeys(report_coverage.STATUSES, 0), "overdue": [], "days": []}
    assert view(engine) == empty
    a, b, _ = world.customers
    world.payment(a, b, 100 * Y, china("2026-01-05", "00:01"))  # today (the clock's 2026-01-05)
    assert view(engine) == empty


def _statements(engine) -> tuple[list[str], object]:  # type: ignore[no-untyped-def]
    """The SELECTs the engine runs from now (a transaction's own BEGIN or SET statements left out)."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    return seen, count


def test_the_view_takes_the_same_few_queries_for_a_week_or_a_year(engine, world, clock):  # type: ignore[no-untyped-def]
    a, b, _ = world.customers
    world.payment(a, b, 500_000 * Y, china("2025-12-29"))
    for n in range(30):  # small payments every day of a month: no query more
        world.payment(b, a, 100 * Y, china((dt.date(2025, 11, 1) + dt.timedelta(days=n)).isoformat()))
    at_china(clock, "2026-01-07")
    seen, listener = _statements(engine)
    try:
        week = view(engine)
        short = len(seen)
        world.payment(a, b, 900_000 * Y, china("2024-06-01"))  # before the range: not listed
        world.bank(b, "debit_card", 600_000 * Y, china("2025-01-06"))  # the range's first date: a year and a day
        seen.clear()
        year = view(engine)
        long = len(seen)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(week["days"]) == 9 and len(year["days"]) == report_coverage.LOOKBACK_DAYS
    # payments' volume per date, posted bank orders, the payments of the dates reaching the lowest threshold,
    # their parties' kinds (customers, merchants), the range's reports
    assert short == long == 6, seen
    assert year["from"] == "2025-01-06" == (D("2026-01-06") - dt.timedelta(days=365)).isoformat()
    assert year["counts"]["missing"] == 2  # 2025-01-06 and 2025-12-29; 2024-06-01 is before the range


def test_the_deadlines_view_over_http_and_the_cli_carries_every_date(engine, world, clock, db_url):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from puhui.regtech.reports_cli import app
    from tests.identity.helpers import make_staff
    from tests.regtech.streams import app_client

    plant(world)
    generate(engine, "2025-12-30")
    at_china(clock, "2026-01-07")
    with reading(engine) as connection:
        expected = report_index.deadlines_json(connection)
    with app_client(engine) as client:
        answer = client.get("/v1/regtech/reports/deadlines", headers=make_staff(client, "regulator"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected
    assert answer.json()["large_value_days"]["overdue"] == ["2025-12-26", "2025-12-29"]  # never generated
    assert [r["business_date"] for r in answer.json()["reports"]] == ["2025-12-30"]  # the generated, unsubmitted
    printed = CliRunner().invoke(app, ["report", "deadlines", "--db", db_url])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == expected
