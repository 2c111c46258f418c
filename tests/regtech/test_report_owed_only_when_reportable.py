"""A large-value report is owed only for a date with something to report, on SQLite and PostgreSQL: dates with
only small transactions owe nothing (never `missing`, never pending nor overdue on the dashboard), and
generating one is a 422 `report_no_data` that stores nothing; a date with one qualifying transaction owes one
report, due 5 working days later over the National Day holiday and its make-up Saturday (调休); a report stored
with no line before the rule is owed nothing."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.regtech import dashboard as board
from puhui.regtech import report_coverage, reports
from puhui.regtech.reports_tables import regulatory_reports

from .test_report_coverage import D, at_china, due, world  # noqa: F401  (the fixture)
from .test_reports_world import china

Y = 100


def _count(engine) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return connection.execute(select(func.count()).select_from(regulatory_reports)).scalar_one()


def test_only_a_date_with_a_qualifying_transaction_owes_a_report(engine, world, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.identity.helpers import make_staff
    from tests.regtech.streams import app_client

    a, b, _ = world.customers
    for day in ("2026-09-27", "2026-09-28", "2026-09-29"):  # small every day, 499,999.99 cumulated at most
        world.payment(a, b, 250_000 * Y, china(day, "09:00"))
        world.payment(a, b, 249_999 * Y + 99, china(day, "15:00"))
    world.payment(b, a, 500_000 * Y, china("2026-09-30"))  # exactly the natural person's threshold
    world.payment(b, a, 10 * Y, china("2026-10-02"))
    at_china(clock, "2026-10-13")
    with reading(engine) as connection:
        found = report_coverage.large_value_days(connection)
        dashboard = board.pending_reports(connection)
    statuses = {d["business_date"]: d["status"] for d in found["days"]}
    assert found["from"] == "2026-09-30"  # the small days before are not even listed
    assert statuses["2026-09-30"] == "missing" and found["counts"]["missing"] == 1
    assert all(s == "nothing_to_report" for day, s in statuses.items() if day != "2026-09-30")
    day = found["days"][0]
    assert day["deadline"] == due("2026-09-30") == "2026-10-13"  # 10-01..10-08 off, Saturday 10-10 worked
    assert not day["overdue"] and (dashboard["pending"], dashboard["overdue_count"]) == (1, 0)
    at_china(clock, "2026-10-14")
    with reading(engine) as connection:
        assert report_coverage.large_value_days(connection)["overdue"] == ["2026-09-30"]
        assert board.pending_reports(connection)["missing_overdue"] == ["2026-09-30"]

    with app_client(engine) as client:
        officer = make_staff(client, "risk_officer")
        for small in ("2026-09-28", "2026-10-02", "2026-10-05"):
            refused = client.post("/v1/regtech/reports/large-value", json={"business_date": small}, headers=officer)
            assert (refused.status_code, refused.json()["code"]) == (422, "report_no_data"), refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
        assert _count(engine) == 0  # the refusals changed nothing
        made = client.post("/v1/regtech/reports/large-value", json={"business_date": "2026-09-30"}, headers=officer)
    assert made.status_code == 201, made.text
    assert (made.json()["lines"], made.json()["deadline"], made.json()["overdue"]) == (2, "2026-10-13", True)


def test_a_report_stored_without_a_line_is_owed_nothing(engine, world, clock) -> None:  # type: ignore[no-untyped-def]
    a, b, _ = world.customers
    world.payment(a, b, 100 * Y, china("2026-09-01"))
    content = reports.render(reports.report_id(D("2026-09-01")), D("2026-09-01"), [], {})
    row = {
        "id": reports.report_id(D("2026-09-01")),
        "kind": reports.KIND,
        "business_date": "2026-09-01",
        "deadline": "2026-09-08",
        "status": "generated",
        "lines": 0,
        "content": content,
        "sha256": hashlib.sha256(content.encode()).hexdigest(),
        "created_by": "risk.one",
        "created_at": china("2026-11-01"),
        "submitted_by": None,
        "submitted_at": None,
    }
    transaction(engine, lambda uow: uow.execute(regulatory_reports.insert().values(**row)))  # as stored before
    at_china(clock, "2026-12-08")
    with reading(engine) as connection:
        found = report_coverage.large_value_days(connection)
        pending = board.pending_reports(connection)
        stored = reports.get(connection, row["id"])
    assert found["days"][0] == {
        "business_date": "2026-09-01",
        "status": "nothing_to_report",
        "report_id": row["id"],
        "deadline": "2026-09-08",
        "overdue": False,
    }
    assert found["counts"]["missing"] == 0 and found["overdue"] == []
    assert (pending["pending"], pending["overdue_count"], stored["overdue"]) == (0, 0, False)
