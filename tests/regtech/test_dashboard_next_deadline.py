"""The supervision dashboard's "next deadline" was in the past (new-user pass: Nov 30 shown on Dec 9, with 9
reports overdue): it was the earliest deadline of every report owed, overdue ones included. It is now the
earliest deadline not yet passed (today's or later), the overdue ones counted apart as before, and none when
every report owed is overdue; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from puhui import clock as clock_module
from puhui.db import reading
from puhui.regtech import dashboard as board
from puhui.regtech import report_index

from .test_report_coverage import at_china, generate, plant
from .test_reports_world import World


@pytest.fixture
def world(engine, clock):  # type: ignore[no-untyped-def]
    w = World(engine)
    for _ in range(3):
        w.customer()
    return w


def figures(engine) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return board.pending_reports(connection), report_index.deadlines_json(connection)


def test_the_next_deadline_is_the_earliest_not_yet_passed(engine, world, clock):  # type: ignore[no-untyped-def]
    plant(world)
    generate(engine, "2025-12-30")
    at_china(clock, "2026-01-09")  # every date up to 01-03 is past its deadline; 01-07's is still ahead
    got, view = figures(engine)
    today = clock_module.business_date().isoformat()
    assert got["overdue_count"] == 5
    owed = [*view["reports"], *(d for d in view["large_value_days"]["days"] if d["status"] == "missing")]
    ahead = [x["deadline"] for x in owed if not x["overdue"]]
    assert ahead and got["next_deadline"] == min(ahead) >= today
    assert min(x["deadline"] for x in owed) < today  # the overdue ones are earlier, and not "next"


def test_no_next_deadline_when_every_report_owed_is_overdue(engine, world, clock):  # type: ignore[no-untyped-def]
    plant(world)
    at_china(clock, "2026-02-02")
    got, _ = figures(engine)
    assert got["overdue_count"] == got["pending"] == 6
    assert got["next_deadline"] is None


def test_an_overdue_report_is_a_warning_of_the_dashboard(engine, world, clock):  # type: ignore[no-untyped-def]
    """New-user pass: a report past its deadline was counted (`overdue_count` 1) but not among the warnings."""
    plant(world)
    at_china(clock, "2026-01-05")
    with reading(engine) as connection:
        today = clock_module.business_date()
        before = board.dashboard(connection, today, today)
    assert before["reports"]["overdue_count"] == 0 and "reports_overdue" not in before["warnings"]
    at_china(clock, "2026-02-02")
    with reading(engine) as connection:
        today = clock_module.business_date()
        after = board.dashboard(connection, today, today)
    assert after["reports"]["overdue_count"] == 6 and "reports_overdue" in after["warnings"]
    assert after["warnings"] == sorted(after["warnings"])
