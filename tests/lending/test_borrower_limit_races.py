"""Borrower limits could be exceeded (issue 19, finding 3): one approved application yielded any number
of offers and loans, and acceptance checked the outstanding total without a lock, so 20 parallel
acceptances gave 7 loans (35,000) against a 10,000 cap on PostgreSQL. Now an application makes one
loan, and parallel acceptances are checked against the limits one after another."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from puhui.errors import PuhuiError
from puhui.lending import service

from .lending_world import MONTHLY, World

INCOME = 3_000_000  # 30,000.00 a year: at most 10,000.00 outstanding (a third)


def test_one_application_makes_one_loan(engine, clock):
    w = World(engine, clock)
    w.product(MONTHLY)
    cid = w.customer()
    application = w.run(lambda uow: service.apply(uow, cid, "cash-12", 500_000, 12, INCOME))
    first, second = (w.run(lambda uow: service.make_offer(uow, application["id"], cid)) for _ in range(2))
    w.run(lambda uow: service.accept(uow, first["id"], cid))
    with pytest.raises(service.ApplicationAlreadyUsed) as refused:
        w.run(lambda uow: service.accept(uow, second["id"], cid))
    assert refused.value.status == 409 and refused.value.code == "loan_application_used"


def test_parallel_acceptances_never_pass_the_income_limit(engine, clock):
    w = World(engine, clock)
    w.product(MONTHLY)
    cid = w.customer()
    offers = []
    for _ in range(20):  # each alone is within the limit: 5,000.00 of 10,000.00
        application = w.run(lambda uow: service.apply(uow, cid, "cash-12", 500_000, 12, INCOME))
        offers.append(w.run(lambda uow: service.make_offer(uow, application["id"], cid))["id"])

    def accept(offer_id: str) -> str:
        try:
            return w.run(lambda uow: service.accept(uow, offer_id, cid))["id"]
        except PuhuiError as refused:
            return refused.code

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(accept, offers))
    loans = [o for o in outcomes if o.startswith("ln_")]
    assert len(loans) == 2, outcomes
    assert set(outcomes) - set(loans) == {"borrower_limit_exceeded"}, outcomes
    with engine.connect() as connection:
        assert service.outstanding_of(connection, cid) == 1_000_000
