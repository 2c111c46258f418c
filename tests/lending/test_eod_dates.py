"""Which dates lending end of day accepts (issue 12, defect 3), on SQLite and PostgreSQL: a future
date, an integer or a date in another format is refused and changes nothing; a date skipped before
the last run is refused; a gap runs day by day, so penalty interest (罚息) is charged on each
instalment only from its own due date and days past due never move backwards."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import ROUND_HALF_UP, Decimal

import pytest
from fastapi.testclient import TestClient

from puhui import cli
from puhui.app import create_app
from puhui.db import reading
from puhui.eod.errors import BusinessDateClosed, BusinessDateInFuture, BusinessDateNotOver, DateInvalid
from puhui.lending import eod
from puhui.lending.accounts import balances
from puhui.lending.service import date_of, instalments, loan_row
from puhui.settings import Settings

from .lending_world import MONTHLY, World, day_over, snapshot
from .test_lending_http import ADMIN, ADMIN_TOKEN, INDEX_KEY, JWT_SECRET, K1

PENALTY_RATE = Decimal(MONTHLY["penalty_annual_rate"])
GRACE = MONTHLY["grace_days"]


def _days_until(w: World, day: dt.date) -> None:
    """End of day every day up to and including `day`, the clock following."""
    while w.today() < day:
        w.eod()
        w.next_day()
    w.eod()


def _unpaid_loan(engine, clock) -> tuple[World, str, list[dict]]:  # type: ignore[no-untyped-def]
    w = World(engine, clock)
    w.product(MONTHLY)
    loan = w.loan(w.customer(), "cash-12", 12_000_00, 6)
    with reading(engine) as connection:
        return w, loan, instalments(connection, loan)


def _penalty_by_instalment(rows: list[dict], after: int, through: int) -> int:
    """The penalty of days after..through as if run daily: each day, the principal of the
    instalments overdue that day (past their grace) × rate / 360, half up to the fen."""
    total = 0
    for day in range(after + 1, through + 1):
        overdue = sum(r["principal"] for r in rows if r["due_day"] + GRACE < day)
        total += int((overdue * PENALTY_RATE / 360).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return total


def test_a_gap_charges_each_instalment_from_its_own_due_date(engine, clock):
    w, loan, rows = _unpaid_loan(engine, clock)
    first, second = rows[0]["due_day"], rows[1]["due_day"]
    last_run = date_of(first + GRACE + 5)  # the first instalment is overdue and charged
    _days_until(w, last_run)
    with reading(engine) as connection:
        before = loan_row(connection, loan)["penalty_accrued"]
    gap_end = second + GRACE + 12  # the second instalment fell due inside the gap
    clock.advance(days=gap_end - w.today().toordinal())
    result = w.eod()
    assert result.ran and [r.business_date for r in result.caught_up] == [
        date_of(d) for d in range(last_run.toordinal() + 1, gap_end)
    ]
    with reading(engine) as connection:
        charged = loan_row(connection, loan)["penalty_accrued"] - before
        assert balances(connection, loan).penalty == loan_row(connection, loan)["penalty_accrued"]
    expected = _penalty_by_instalment(rows, last_run.toordinal(), gap_end)
    everything_for_every_day = (gap_end - last_run.toordinal()) * int(
        (Decimal(rows[0]["principal"] + rows[1]["principal"]) * PENALTY_RATE / 360).quantize(Decimal(1))
    )
    assert charged == expected < everything_for_every_day


def test_a_skipped_date_is_refused_and_a_date_already_run_changes_nothing(engine, clock):
    w, loan, rows = _unpaid_loan(engine, clock)
    first_run = date_of(rows[0]["due_day"] + GRACE + 20)
    clock.advance(days=first_run.toordinal() - w.today().toordinal())
    assert w.eod().ran  # the first run ever: this date alone
    w.next_day()
    clock.advance(days=29)
    last_run = w.eod()  # thirty days later: the 29 between are caught up
    assert last_run.business_date == first_run + dt.timedelta(days=30) and len(last_run.caught_up) == 29
    before = snapshot(engine)
    with reading(engine) as connection:
        dpd = loan_row(connection, loan)["days_past_due"]
    with pytest.raises(BusinessDateClosed) as refused:
        w.eod(first_run - dt.timedelta(days=3))  # never ran, and later days did
    assert refused.value.code == "business_date_closed" and refused.value.status == 409
    again = w.eod(first_run + dt.timedelta(days=10))  # ran as part of the gap
    assert not again.ran and again.caught_up == ()
    assert snapshot(engine) == before
    days_late = last_run.business_date.toordinal() - rows[0]["due_day"]  # as of the last date run
    with reading(engine) as connection:
        assert loan_row(connection, loan)["days_past_due"] == dpd == days_late


def test_a_future_date_is_refused_and_changes_nothing(engine, clock):
    w, _, _ = _unpaid_loan(engine, clock)
    w.eod()
    before = snapshot(engine)
    for day in (w.today() + dt.timedelta(days=1), dt.date(2040, 1, 1)):
        with pytest.raises(BusinessDateInFuture) as refused:
            eod.run(engine, day)  # as it stands: `World.eod` would move the clock past it
        assert refused.value.code == "business_date_in_future"
    with pytest.raises(BusinessDateNotOver) as refused:
        eod.run(engine, w.today())  # today, not over yet
    assert refused.value.code == "business_date_not_over"
    assert snapshot(engine) == before


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    settings = Settings(admin_token=ADMIN_TOKEN, pii_keys=f"k1:{K1}", pii_index_key=INDEX_KEY, jwt_secret=JWT_SECRET)
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def test_http_takes_only_iso_date_strings_up_to_today(client, engine, clock):
    w, loan, rows = _unpaid_loan(engine, clock)
    before = snapshot(engine)
    for n, (date, status, code) in enumerate(
        [
            ("2035-06-01", 422, "business_date_in_future"),
            (86400, 422, "date_invalid"),  # once taken as 1970-01-02
            ("2026/12/01", 422, "date_invalid"),
            ("20260105", 422, "date_invalid"),
            ("2026-02-30", 422, "date_invalid"),
            (None, 422, "date_invalid"),
        ]
    ):
        response = client.post(
            "/v1/lending/eod", headers={**ADMIN, "Idempotency-Key": f"bad{n}"}, json={"business_date": date}
        )
        assert (response.status_code, response.json()["code"]) == (status, code), (date, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert snapshot(engine) == before
    today = w.today().isoformat()
    not_over = client.post("/v1/lending/eod", headers={**ADMIN, "Idempotency-Key": "e0"}, json={"business_date": today})
    assert (not_over.status_code, not_over.json()["code"]) == (409, "business_date_not_over"), not_over.text
    assert snapshot(engine) == before
    day_over(clock)
    ran = client.post("/v1/lending/eod", headers={**ADMIN, "Idempotency-Key": "e1"}, json={"business_date": today})
    assert ran.status_code == 200 and ran.json()["already_done"] is False and ran.json()["caught_up"] == [], ran.text
    clock.advance(days=2)
    later = day_over(clock)  # three days after the first run, once over
    gap = client.post(
        "/v1/lending/eod", headers={**ADMIN, "Idempotency-Key": "e2"}, json={"business_date": later.isoformat()}
    )
    assert gap.status_code == 200, gap.text
    assert [d["business_date"] for d in gap.json()["caught_up"]] == [
        (later - dt.timedelta(days=n)).isoformat() for n in (2, 1)
    ]
    before = snapshot(engine)
    skipped = client.post(
        "/v1/lending/eod", headers={**ADMIN, "Idempotency-Key": "e3"}, json={"business_date": "2026-01-01"}
    )
    assert (skipped.status_code, skipped.json()["code"]) == (409, "business_date_closed"), skipped.text
    again = client.post("/v1/lending/eod", headers={**ADMIN, "Idempotency-Key": "e4"}, json={"business_date": today})
    assert again.status_code == 200 and again.json()["already_done"] is True
    assert snapshot(engine) == before


def _command(monkeypatch, capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "argv", ["puhui", *argv])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    captured = capsys.readouterr()
    return stopped.value.code, captured.out, captured.err


@pytest.mark.parametrize(
    "date, code",
    [("2040-01-01", BusinessDateInFuture.code), ("2026/12/01", DateInvalid.code), ("86400", DateInvalid.code)],
)
def test_command_refuses_in_one_line_with_exit_2(monkeypatch, capsys, db_url, engine, clock, date, code):
    _unpaid_loan(engine, clock)
    before = snapshot(engine)
    status, out, err = _command(monkeypatch, capsys, "lending", "eod", "--date", date, "--db", db_url)
    assert status == 2 and out == "", (status, out, err)
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"{code}: "), err
    assert snapshot(engine) == before
