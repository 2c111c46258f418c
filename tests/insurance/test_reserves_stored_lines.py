"""A reserve report reads each line of business as its run booked it (`insurance_reserve_run_lines`), on SQLite
and PostgreSQL: covers recorded after a date's run, even dated on or before it, change neither that date's
report nor its books (the next date books them); a line a run did not book reads as zeros; and a run recorded
before the lines were kept (migration 0051, no line rows) reads as it did: the return-shipping line worked out
again from its covers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from puhui.db import reading, transaction
from puhui.insurance.reserves import lines, return_line
from puhui.insurance.reserves.return_line import ReturnCover
from puhui.insurance.reserves.tables import insurance_reserve_run_lines
from tests.insurance.test_reserves import INSURER, assert_audit_clean, random_book, seed
from tests.insurance.test_reserves_return_shipping import booked, fen, report, run_day, seed_covers, shown_line

D = dt.date
FIRST, SECOND = D(2026, 1, 20), D(2026, 1, 21)
LATE = [
    ReturnCover(D(2026, 1, 15), 3_00, 12_00, Decimal("0.2"), None),
    ReturnCover(FIRST, 2_50, 12_00, Decimal("0.1"), None),
]


def stored_lines(engine, day: D) -> list[str]:  # type: ignore[no-untyped-def]
    c = insurance_reserve_run_lines.c
    with reading(engine) as connection:
        query = select(c.line).where(c.insurer_id == INSURER, c.business_date == day).order_by(c.line)
        return [str(line) for line in connection.execute(query).scalars()]


def test_a_report_shows_what_its_run_booked_not_what_came_later(engine, clock):
    seed(engine, random_book(INSURER, seed_value=3, count=6))
    assert run_day(engine, FIRST)["insurers"] == 1
    before = report(engine, INSURER, FIRST)
    assert stored_lines(engine, FIRST) == ["medical"]  # no cover yet: the return-shipping line booked nothing
    rs = shown_line(before, lines.RETURN_SHIPPING)
    assert rs == {"line": "return_shipping", **lines.money_json(return_line.line_figures([], FIRST))}
    assert rs["policies"] == 0 and fen(rs["written"]) == 0

    seed_covers(engine, INSURER, LATE)  # recorded after the run, dated on and before its date
    assert report(engine, INSURER, FIRST) == before  # as booked: the books hold nothing of them for that date
    assert booked(engine, INSURER, lines.RETURN_SHIPPING)["upr"] == 0

    assert run_day(engine, SECOND)["insurers"] == 1  # the next date books them
    assert stored_lines(engine, SECOND) == ["medical", "return_shipping"]
    after = shown_line(report(engine, INSURER, SECOND), lines.RETURN_SHIPPING)
    assert after == {"line": "return_shipping", **lines.money_json(return_line.line_figures(LATE, SECOND))}
    assert after["policies"] == 2 and fen(after["written"]) == 5_50
    on_books = booked(engine, INSURER, lines.RETURN_SHIPPING)
    assert on_books["upr"] == fen(after["upr"]) and on_books["earned"] == fen(after["earned"])
    assert report(engine, INSURER, FIRST) == before  # the earlier date still reads as it was booked
    assert_audit_clean(engine)


def test_a_run_recorded_before_its_lines_were_kept_reads_as_before(engine, clock):
    seed(engine, random_book(INSURER, seed_value=5, count=4))
    seed_covers(engine, INSURER, LATE)
    assert run_day(engine, FIRST)["insurers"] == 1
    shown = report(engine, INSURER, FIRST)

    def forget(uow):  # type: ignore[no-untyped-def]
        uow.execute(insurance_reserve_run_lines.delete())  # as a run before migration 0051 left it

    transaction(engine, forget)
    assert stored_lines(engine, FIRST) == []
    assert report(engine, INSURER, FIRST) == shown  # medical from the run's row, return shipping worked out again
    assert shown_line(shown, lines.RETURN_SHIPPING)["policies"] == 2
