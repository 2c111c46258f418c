"""Loan layering (以贷洗钱) over what the real services publish: a loan passed on to other persons within a
day, or repaid early with money third parties paid in, raises a `loan_layering` alert with the loan and
the flows as evidence; the same loan spent slowly, passed to the lender's affiliate (self-financing's
case), or repaid early with one's own money does not. The books audit clean. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from puhui.regtech.monitor import Monitor
from tests.regtech.test_new_rules_services import Market, _of


@pytest.mark.parametrize(
    ("payee", "share", "hours", "alerted"),
    [
        ("stranger", 90, 3, True),
        ("stranger", 50, 3, False),  # most of the loan stays
        ("stranger", 90, 30, False),  # passed on, but not at once
        ("affiliate", 90, 3, False),  # the lender's related party: self-financing, not this rule
    ],
)
def test_a_loan_passed_on_at_once(engine, clock, payee, share, hours, alerted) -> None:  # type: ignore[no-untyped-def]
    m = Market(engine, clock)
    borrower, stranger, affiliate = m.customer(), m.customer(), m.customer()
    m.relate("platform", affiliate)
    loan_id = m.borrow(borrower, 15_000_00)
    m.later(hours=hours)
    to = stranger if payee == "stranger" else affiliate
    first = m.pay(borrower, to, 15_000_00 * share // 100 // 2)
    m.later(minutes=20)
    second = m.pay(borrower, to, 15_000_00 * share // 100 // 2 + 37)
    Monitor(engine).run()
    found = _of(engine, "loan_layering")
    if not alerted:
        assert found == []
    else:
        [alert] = found
        assert alert["party"] == borrower.customer_id
        refs = {f["ref"] for f in json.loads(alert["evidence"])["flows"]}
        assert refs == {loan_id, first, second}
    assert m.audit_ok()


@pytest.mark.parametrize("third_parties", [True, False], ids=["others-money", "own-money"])
def test_a_loan_repaid_early_with_third_parties_money(engine, clock, third_parties) -> None:  # type: ignore[no-untyped-def]
    m = Market(engine, clock)
    borrower = m.customer()
    payers = [m.customer(5_000_00) for _ in range(4)]
    loan_id = m.borrow(borrower, 15_000_00)
    m.later(hours=2)
    m.withdraw(borrower, 13_500_00)  # looks like using it
    m.later(days=1)
    paid_in = []
    for payer in payers:
        if third_parties:
            paid_in.append(m.pay(payer, borrower, 4_100_00))
        else:
            m.top_up(borrower, 4_100_00)
        m.later(hours=3)
    m.later(days=1)
    repayment = m.platform.repay(borrower, early=True)
    assert repayment is not None, m.platform.refused
    Monitor(engine).run()
    found = _of(engine, "loan_layering")
    if not third_parties:
        assert found == []
    else:
        [alert] = found
        refs = {f["ref"] for f in json.loads(alert["evidence"])["flows"]}
        assert refs == {loan_id, repayment, *paid_in}
    assert m.audit_ok()
