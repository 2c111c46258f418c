"""A repayment of arrears shows at once (逾期结清, user pass, finding 4): a loan whose arrears are all paid
is current again in the same unit of work — 0 days past due, bucket current, class normal, and its
provision released to the normal rate by the end of day's own rules — not after the next end of day.
Some arrears left: the days past due count from the oldest instalment still unpaid. The next end of day
finds the loan as the repayment left it."""

from __future__ import annotations

import datetime as dt

from puhui.db import reading
from puhui.ledger.audit import audit
from puhui.lending import accounts, repayments
from puhui.lending.delinquency import LoanClass, provision_for
from puhui.lending.service import date_of, instalments, loan_row
from puhui.lending.statements import reconcile
from puhui.lending.tables import loan_provisions
from puhui.payments.reserve import reserve_coverage

from .lending_world import MONTHLY, World


def _days_until(world: World, day: int) -> None:
    """End of day every day up to and including `day`, the clock following."""
    while world.today().toordinal() < day:
        world.eod()
        world.next_day()
    world.eod()


def _loan(engine, loan_id: str) -> tuple[dict, accounts.LoanBalances, dict]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        provision = connection.execute(loan_provisions.select().where(loan_provisions.c.loan_id == loan_id))
        return loan_row(connection, loan_id), accounts.balances(connection, loan_id), dict(provision.mappings().one())


def _sound(engine, loan_id: str) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        report = audit(connection)
        assert report.ok, report.violations
        assert reserve_coverage(connection).covered
        assert reconcile(connection, loan_id) == {}


def _delinquency(row: dict) -> tuple[int, str, str]:
    return row["days_past_due"], row["bucket"], row["loan_class"]


def _setup(engine, clock) -> tuple[World, str, str, list[dict]]:  # type: ignore[no-untyped-def]
    world = World(engine, clock)
    world.product(MONTHLY)
    cid = world.customer()
    loan_id = world.loan(cid, "cash-12", 6_000_00, 6)
    with reading(engine) as connection:
        return world, cid, loan_id, instalments(connection, loan_id)


def test_paying_all_arrears_makes_the_loan_current_at_once(engine, clock):
    world, cid, loan_id, rows = _setup(engine, clock)
    _days_until(world, rows[0]["due_day"] + 10)
    row, balance, _ = _loan(engine, loan_id)
    assert _delinquency(row) == (10, "M1", "special_mention")
    assert balance.provision == provision_for(balance.principal, LoanClass.special_mention) > 0

    world.repay(loan_id, cid)  # everything due, the penalty included
    row, balance, provision = _loan(engine, loan_id)
    assert _delinquency(row) == (0, "current", "normal")
    assert balance.provision == provision["amount"] == provision_for(balance.principal, LoanClass.normal)
    assert provision["loan_class"] == "normal"
    _sound(engine, loan_id)

    world.next_day()
    world.eod()
    again, balance_after, _ = _loan(engine, loan_id)
    assert _delinquency(again) == (0, "current", "normal") and balance_after.provision == balance.provision
    _sound(engine, loan_id)


def test_paying_the_oldest_instalment_counts_the_days_from_the_next_one(engine, clock):
    """Two instalments past due (the oldest over 30 days, M2); paying all but the second one's principal
    settles the first: 5 days past due, from the second's due date, M1."""
    world, cid, loan_id, rows = _setup(engine, clock)
    first, second = rows[0]["due_day"], rows[1]["due_day"]
    _days_until(world, second + 5)
    row, _, _ = _loan(engine, loan_id)
    assert second + 5 - first > 30, (date_of(first), date_of(second))
    assert _delinquency(row) == (second + 5 - first, "M2", "special_mention")

    with reading(engine) as connection:
        due, _ = repayments.due_and_payoff(connection, loan_id)
    world.repay(loan_id, cid, due - rows[1]["principal"])  # allocation: penalty, fees, interest, then principal
    row, balance, provision = _loan(engine, loan_id)
    assert _delinquency(row) == (5, "M1", "special_mention")
    assert balance.provision == provision["amount"] == provision_for(balance.principal, LoanClass.special_mention)
    _sound(engine, loan_id)

    world.repay(loan_id, cid)  # the rest of the arrears
    assert _delinquency(_loan(engine, loan_id)[0]) == (0, "current", "normal")
    world.next_day()
    world.eod()
    assert _delinquency(_loan(engine, loan_id)[0]) == (0, "current", "normal")
    _sound(engine, loan_id)


def test_a_partial_early_repayment_of_a_late_loan_also_cures_it(engine, clock):
    world, cid, loan_id, rows = _setup(engine, clock)
    _days_until(world, rows[0]["due_day"] + 6)
    with reading(engine) as connection:
        due, _ = repayments.due_and_payoff(connection, loan_id)
    world.repay(loan_id, cid, due + 1_000_00, kind="early_partial")
    row, balance, _ = _loan(engine, loan_id)
    assert _delinquency(row) == (0, "current", "normal")
    assert balance.provision == provision_for(balance.principal, LoanClass.normal)
    # repaid after the end of day of the sixth day past due, at the start of the seventh
    assert world.today() == dt.date.fromordinal(rows[0]["due_day"] + 7)
    _sound(engine, loan_id)
