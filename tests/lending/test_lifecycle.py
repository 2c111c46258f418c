"""A simulated stretch of lending, day by day with end of day, on SQLite and PostgreSQL: on-time,
late, early-full, early-partial and defaulted borrowers. The ledger audit passes, every loan's
ledger accounts reproduce its statement at every checkpoint, buckets, classes and provisions
follow the days past due, the defaulter is written off and then recovers part."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from puhui.db import reading
from puhui.ledger.audit import audit
from puhui.lending import accounts
from puhui.lending.delinquency import (
    LoanClass,
    delinquency_bucket,
    loan_class,
    provision_for,
)
from puhui.lending.eod import WRITE_OFF_DPD
from puhui.lending.service import date_of, instalments, loan_row
from puhui.lending.statements import reconcile, statement
from puhui.payments.reserve import reserve_coverage

from .lending_world import INTEREST_FIRST, MONTHLY, World

DAYS = 365


def _due_days(engine, loan_id: str) -> list[int]:
    with reading(engine) as connection:
        return [r["due_day"] for r in instalments(connection, loan_id)]


def ran_since(connection, day: int) -> bool:
    return connection.execute(text("SELECT max(business_day) FROM lending_eod_runs")).scalar_one() >= day


def _check_books(engine, loans: dict[str, str]) -> dict[str, dict]:
    """Audit, statements = ledger, and the class, bucket and provision rules, for every loan."""
    with reading(engine) as connection:
        report = audit(connection)
        assert report.ok, report.violations
        assert reserve_coverage(connection).covered  # every yuan lent into a wallet came into the reserve
        seen = {}
        for name, loan_id in loans.items():
            assert reconcile(connection, loan_id) == {}, (name, statement(connection, loan_id))
            row = loan_row(connection, loan_id)
            balance = accounts.balances(connection, loan_id)
            if row["status"] == "active":
                assert row["bucket"] == delinquency_bucket(row["days_past_due"]), name
                assert row["loan_class"] == loan_class(row["days_past_due"]).value, name
                if ran_since(connection, row["start_day"]):
                    assert balance.provision == provision_for(balance.principal, LoanClass(row["loan_class"])), name
            else:
                assert balance.provision == 0 and balance.principal == 0, name
            seen[name] = {**row, "balance": balance}
    return seen


def test_simulated_borrowers(engine, clock):
    w = World(engine, clock)
    w.product(MONTHLY)
    w.product(INTEREST_FIRST)
    people = {name: w.customer() for name in ("ontime", "late", "full", "partial", "default", "bizowner")}
    loans = {
        "ontime": w.loan(people["ontime"], "cash-12", 12_000_00, 6),
        "late": w.loan(people["late"], "cash-12", 6_000_00, 6),
        "full": w.loan(people["full"], "cash-12", 10_000_00, 6),
        "partial": w.loan(people["partial"], "cash-12", 20_000_00, 6),
        "default": w.loan(people["default"], "cash-12", 8_000_00, 6),
        "bizowner": w.loan(people["bizowner"], "biz-6", 50_000_00, 6),
    }
    # disbursed net of the 1% upfront fee
    assert w.wallet(people["ontime"]) == 10_000_000 + 12_000_00 - 120_00
    due = {name: _due_days(engine, loan_id) for name, loan_id in loans.items()}
    start = w.today().toordinal()
    worst: dict[str, int] = {}
    written_off_on = recovered = None
    for _ in range(DAYS):
        day = w.today().toordinal()
        for name in ("ontime", "full", "partial", "bizowner"):
            if day in due[name]:
                if name == "full" and day >= due[name][2]:
                    continue
                w.repay(loans[name], people[name])
        if day - 20 in due["late"]:
            w.repay(loans["late"], people["late"])
        if day == due["full"][2] + 10:
            w.repay(loans["full"], people["full"], kind="early_full")
        if day == due["partial"][1] + 12:
            w.repay(loans["partial"], people["partial"], 5_000_00, kind="early_partial")
            due["partial"] = _due_days(engine, loans["partial"])
        if written_off_on and day == written_off_on + 30:
            recovered = w.repay(loans["default"], people["default"], 1_000_00)
        assert w.eod().ran
        if (day - start) % 29 == 0 or day - 19 in due["late"] or day == due["default"][0] + 95:
            seen = _check_books(engine, loans)
            for name, row in seen.items():
                worst[name] = max(worst.get(name, 0), row["days_past_due"])
            if day == due["default"][0] + 95:  # 95 days past due: M3+, substandard, 25% provision
                d = seen["default"]
                assert (d["bucket"], d["loan_class"]) == ("M3+", "substandard")
                assert d["balance"].provision == provision_for(d["balance"].principal, LoanClass.substandard) > 0
                assert d["balance"].penalty > 0
        if written_off_on is None and _status(engine, loans["default"]) == "written_off":
            written_off_on = day
            assert day - due["default"][0] == WRITE_OFF_DPD + 1
        w.next_day()
    seen = _check_books(engine, loans)
    assert {n: seen[n]["status"] for n in loans} == {
        "ontime": "paid_off",
        "late": "paid_off",
        "full": "paid_off",
        "partial": "paid_off",
        "default": "written_off",
        "bizowner": "paid_off",
    }
    assert worst["ontime"] == worst["full"] == worst["partial"] == worst["bizowner"] == 0
    assert worst["late"] == 19  # the day before it pays, 20 days late: counted from the due date
    assert recovered is not None and recovered["kind"] == "recovery"
    with reading(engine) as connection:
        late = statement(connection, loans["late"])
        assert late.paid_penalties > 0 and late.penalties == 0
        full = statement(connection, loans["full"])
        assert full.paid_early_fees > 0 and full.outstanding_principal == 0
        part = statement(connection, loans["partial"])
        assert part.paid_early_fees > 0 and part.paid_principal == 20_000_00
        gone = statement(connection, loans["default"])
        assert gone.written_off > 8_000_00 and gone.recovered == 1_000_00
        # the partial prepayment re-amortized: later instalments smaller than the first ones
        rows = instalments(connection, loans["partial"])
        assert rows[-1]["principal"] < rows[0]["principal"]
        assert date_of(rows[-1]["due_day"]) > date_of(rows[0]["due_day"])
    assert w.wallet(people["default"]) == 10_000_000 + 8_000_00 - 80_00 - 1_000_00


def _status(engine, loan_id: str) -> str:
    with reading(engine) as connection:
        return loan_row(connection, loan_id)["status"]


def test_dates_before_and_after(engine, clock):
    """Business dates are stored as day numbers; the conversion round-trips."""
    assert date_of(dt.date(2026, 1, 5).toordinal()) == dt.date(2026, 1, 5)
