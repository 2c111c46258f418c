"""Property: whatever a borrower does — pay on time or days late, prepay part, pay off early — the
loan's ledger accounts reproduce its statement every day, the audit passes, and once every
instalment is paid the loan is closed with nothing left on its accounts. Random plans on SQLite
(the same code runs on PostgreSQL in the scenario tests); each example adds a new customer and
loan to one database and moves the clock forward."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from puhui.db import reading
from puhui.ledger.audit import audit
from puhui.lending import accounts, repayments
from puhui.lending.service import instalments, loan_row
from puhui.lending.statements import reconcile

from .lending_world import INTEREST_FIRST, MONTHLY, World

PLANS = st.fixed_dictionaries(
    {
        "product": st.sampled_from(["cash-12", "biz-6"]),
        "amount_yuan": st.integers(5_000, 20_000),
        "late_days": st.lists(st.integers(0, 25), min_size=6, max_size=6),
        "prepay": st.one_of(
            st.none(), st.tuples(st.integers(1, 4), st.integers(1, 25), st.sampled_from(["partial", "full"]))
        ),
    }
)


@pytest.fixture
def world(engine, clock):
    if engine.dialect.name != "sqlite":
        pytest.skip("random plans run on SQLite; the scenario tests cover PostgreSQL")
    w = World(engine, clock)
    w.product(MONTHLY)
    w.product(INTEREST_FIRST)
    return w


@settings(
    max_examples=4,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(plan=PLANS)
def test_any_repayment_plan_keeps_statement_and_ledger_equal(world, plan):
    w = world
    cid = w.customer()
    loan_id = w.loan(cid, plan["product"], plan["amount_yuan"] * 100, 6)
    with reading(w.engine) as connection:
        due = [r["due_day"] for r in instalments(connection, loan_id)]
    pay_on = {d + late: d for d, late in zip(due, plan["late_days"])}
    prepay_day = due[plan["prepay"][0] - 1] + plan["prepay"][1] if plan["prepay"] else None
    closed = False
    for _ in range(due[-1] + 30 - w.today().toordinal()):
        day = w.today().toordinal()
        if day in pay_on and not closed:
            try:
                w.repay(loan_id, cid)
            except repayments.NothingDue:  # a prepayment already paid it
                pass
        if day == prepay_day and not closed:
            if plan["prepay"][2] == "full":
                w.repay(loan_id, cid, kind="early_full")
            else:
                _partial(w, loan_id, cid, day)
        w.eod()
        with reading(w.engine) as connection:
            if day % 3 == 0 or day in pay_on or day == prepay_day:
                assert reconcile(connection, loan_id) == {}
            closed = loan_row(connection, loan_id)["status"] == "paid_off"
        w.next_day()
    with reading(w.engine) as connection:
        assert audit(connection).ok
        assert loan_row(connection, loan_id)["status"] == "paid_off"
        left = accounts.balances(connection, loan_id)
        assert left == accounts.LoanBalances()


def _partial(w: World, loan_id: str, cid: str, day: int) -> None:
    """Prepay half of the principal not yet due, on top of anything due today."""
    with reading(w.engine) as connection:
        rows = instalments(connection, loan_id)
    ahead = sum(r["principal"] - r["principal_paid"] for r in rows if r["due_day"] > day)
    due = sum(
        r["principal"] - r["principal_paid"] + r["interest"] - r["interest_paid"] + r["fee"] - r["fee_paid"]
        for r in rows
        if r["due_day"] <= day
    )
    with reading(w.engine) as connection:
        penalty = accounts.balances(connection, loan_id).penalty
    if ahead > 2:
        w.repay(loan_id, cid, due + penalty + ahead // 2, kind="early_partial")
