"""The dashboard's report figures classify the large-value dates as the deadlines view does, on SQLite and
PostgreSQL: a date never generated (`missing`) is pending and overdue after its deadline, a date with nothing
to report (no transaction) is neither, a generated report is pending until submitted."""

from __future__ import annotations

import json

import pytest

from puhui.db import reading, transaction
from puhui.regtech import dashboard as board
from puhui.regtech import report_index, reports

from .test_report_coverage import D, at_china, generate, plant
from .test_reports_world import World


@pytest.fixture
def world(engine, clock):  # type: ignore[no-untyped-def]
    w = World(engine)
    for _ in range(3):
        w.customer()
    return w


def figures(engine) -> dict:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return board.pending_reports(connection)


def test_missing_dates_are_pending_and_overdue_dates_with_nothing_to_report_are_not(engine, world, clock):  # type: ignore[no-untyped-def]
    plant(world)  # transactions on 12-26, 12-29, 12-30, 12-31, 01-03 (and 01-07, today)
    first = generate(engine, "2025-12-26")
    transaction(engine, lambda uow: reports.submit(uow, first["id"], "risk.one"))
    second = generate(engine, "2025-12-30")
    at_china(clock, "2026-01-07")
    got = figures(engine)
    # 12-30 generated; 12-29, 12-31, 01-03 missing; the 7 dates without a transaction owe nothing
    assert got == {
        "pending": 4,
        "overdue": [],  # 12-30 is due today (01-07)
        "missing_overdue": ["2025-12-29"],  # due 01-06
        "overdue_count": 1,
        "next_deadline": "2026-01-07",  # 12-30's, due today; 12-29's (01-06) has passed: overdue, not next
        "large_value_days": {"submitted": 1, "generated": 1, "nothing_to_report": 7, "missing": 3},
    }
    with reading(engine) as connection:
        view = report_index.deadlines_json(connection)
    assert got["missing_overdue"] == [d for d in view["large_value_days"]["overdue"] if d != "2025-12-30"]
    assert got["large_value_days"] == view["large_value_days"]["counts"]

    at_china(clock, "2026-01-09")  # 12-30's deadline has passed too, and 12-31's and 01-03's (01-08)
    later = figures(engine)
    assert later["overdue"] == [second["id"]] and later["missing_overdue"] == ["2025-12-29", "2025-12-31", "2026-01-03"]
    assert later["overdue_count"] == 4 and later["pending"] == 5  # 01-07 is over now: missing, not yet due
    for day in ("2025-12-29", "2025-12-31", "2026-01-03", "2026-01-07"):
        made = generate(engine, day)
        transaction(engine, lambda uow, rid=made["id"]: reports.submit(uow, rid, "risk.one"))
    transaction(engine, lambda uow: reports.submit(uow, second["id"], "risk.one"))
    done = figures(engine)
    assert (done["pending"], done["overdue_count"], done["next_deadline"]) == (0, 0, None)
    assert done["large_value_days"]["missing"] == 0 and done["large_value_days"]["nothing_to_report"] == 8


def test_a_platform_with_only_days_without_transactions_owes_nothing(engine, world, clock):  # type: ignore[no-untyped-def]
    at_china(clock, "2026-01-07")
    assert figures(engine) == {
        "pending": 0,
        "overdue": [],
        "missing_overdue": [],
        "overdue_count": 0,
        "next_deadline": None,
        "large_value_days": {"submitted": 0, "generated": 0, "nothing_to_report": 0, "missing": 0},
    }


def test_the_dashboard_over_http_and_the_cli_carry_the_same_figures(engine, world, clock, db_url):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from puhui.regtech.reports_cli import app
    from tests.identity.helpers import make_staff
    from tests.regtech.streams import app_client

    plant(world)
    at_china(clock, "2026-01-07")
    expected = figures(engine)
    assert expected["missing_overdue"] == ["2025-12-26", "2025-12-29"] and expected["pending"] == 5
    with app_client(engine) as client:
        answer = client.get(
            "/v1/regtech/dashboard",
            params={"from": "2026-01-06", "to": "2026-01-06"},
            headers=make_staff(client, "regulator"),
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["reports"] == expected
    printed = CliRunner().invoke(app, ["dashboard", "--from", "2026-01-06", "--to", "2026-01-06", "--db", db_url])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["reports"] == expected
    assert D(expected["next_deadline"]) == D("2026-01-07")  # 12-30's: the earliest not yet passed
