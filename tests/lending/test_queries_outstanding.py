"""`lending.queries.outstanding_by_loan`, what supervision reads of the loan book, on SQLite and PostgreSQL
through the services: each active loan's outstanding principal is the loan book's (`service.get_loan`, the
ledger's principal receivable, which the statement reconciles to) after a scheduled repayment, an early
partial repayment (the schedule re-amortized, not marked paid) and a payoff; paid-off and written-off loans
are not listed; `disbursed_by` leaves out the loans disbursed after that date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from puhui.db import reading
from puhui.lending import queries, service, statements

from .lending_world import MONTHLY, World


def _book(engine) -> dict[str, tuple[str, int]]:  # type: ignore[no-untyped-def]
    """Every loan's (status, outstanding principal in fen) as the loan book shows it."""
    with reading(engine) as connection:
        return {
            loan["customer_id"]: (loan["status"], int(Decimal(loan["outstanding_principal"]) * 100))
            for loan in service.list_loans(connection)
        }


def _listed(engine, disbursed_by: dt.date | None = None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        rows = queries.outstanding_by_loan(connection, disbursed_by)
    found = {customer: owed for customer, _, owed in rows}
    assert len(found) == len(rows)  # one loan each in this world
    return found


def _reconciled(engine, loan_ids: list[str]) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        assert {i: statements.reconcile(connection, i) for i in loan_ids} == {i: {} for i in loan_ids}


def test_outstanding_by_loan_is_the_loan_book(engine, clock):
    w = World(engine, clock)
    w.product(MONTHLY)
    scheduled, partial, payoff, default = (w.customer() for _ in range(4))
    start = w.today()
    loans = {
        scheduled: w.loan(scheduled, "cash-12", 6_000_00, 6),
        partial: w.loan(partial, "cash-12", 12_000_00, 12),
        payoff: w.loan(payoff, "cash-12", 3_000_00, 6),
        default: w.loan(default, "cash-12", 5_000_00, 6),
    }
    assert _listed(engine) == {scheduled: 6_000_00, partial: 12_000_00, payoff: 3_000_00, default: 5_000_00}

    w.clock.advance(days=31)  # the first instalments fall due
    later = w.customer()
    loans[later] = w.loan(later, "cash-12", 2_000_00, 6)
    paid = w.repay(loans[scheduled], scheduled)  # the instalment due
    prepaid = w.repay(loans[partial], partial, 3_000_00, "early_partial")  # what is due, then principal ahead
    w.repay(loans[payoff], payoff, None, "early_full")
    repaid = {c: int(Decimal(r["principal"]) * 100) for c, r in ((scheduled, paid), (partial, prepaid))}
    assert 0 < repaid[scheduled] < 1_000_00 and 2_000_00 < repaid[partial] < 3_000_00

    book = _book(engine)
    assert book[payoff] == ("paid_off", 0)
    assert book[scheduled] == ("active", 6_000_00 - repaid[scheduled])
    assert book[partial] == ("active", 12_000_00 - repaid[partial])  # what the old sum of instalments missed
    expected = {c: owed for c, (status, owed) in book.items() if status == "active"}
    assert _listed(engine) == expected  # loan by loan, the paid-off loan not listed
    assert _listed(engine, start) == {c: o for c, o in expected.items() if c != later}  # disbursed after: out
    assert _listed(engine, start - dt.timedelta(days=1)) == {}
    _reconciled(engine, list(loans.values()))

    late = start + dt.timedelta(days=400)  # no one pays again: every active loan is written off
    w.clock.advance(days=(late - w.today()).days)
    assert w.eod(late).ran
    book = _book(engine)
    assert {status for status, _ in book.values()} == {"written_off", "paid_off"}
    assert all(owed == 0 for _, owed in book.values())
    assert _listed(engine) == {}
