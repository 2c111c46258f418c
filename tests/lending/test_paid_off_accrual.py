"""A paid-off loan (已结清) accrues nothing after its payoff, and its answers say so, on SQLite and PostgreSQL.

Its `accrued_through` (计息至) showed the last end of day run however long after the payoff, as if interest
still ran. It now stays at the last run before the payoff, and `paid_off_on` (结清日) gives the payoff date;
a loan not paid off shows `paid_off_on` null and accrues through the last run as before."""

from __future__ import annotations

import datetime as dt

from puhui.db import reading
from puhui.lending import service, statements

from .lending_world import MONTHLY, World
from .test_lending_http import ZHANG, _fund, client, login, make_staff, register

__all__ = ["client"]


def _dates(engine, loan_id: str) -> tuple[tuple[str, str | None], tuple[str, str | None]]:
    """(the loan's (accrued_through, paid_off_on), its statement's)."""
    with reading(engine) as connection:
        loan = service.get_loan(connection, loan_id)
        st = statements.statement(connection, loan_id).as_json()
    return (loan["accrued_through"], loan["paid_off_on"]), (st["accrued_through"], st["paid_off_on"])


def _interest(engine, loan_id: str) -> str:
    with reading(engine) as connection:
        return statements.statement(connection, loan_id).as_json()["paid_interest"]


def test_a_loan_paid_off_early_accrues_through_its_payoff_and_no_later(engine, clock):
    w = World(engine, clock)
    w.product(MONTHLY)
    cid = w.customer()
    paid, kept = w.loan(cid, "cash-12", 6_000_00, 6), w.loan(cid, "cash-12", 6_000_00, 6)
    for _ in range(3):  # three days of interest
        w.eod()
        w.next_day()
    last_run = w.today() - dt.timedelta(days=1)
    payoff_day = w.today()
    assert w.repay(paid, cid, kind="early_full")["kind"] == "early_full"
    interest = _interest(engine, paid)
    paid_off = ((last_run.isoformat(), payoff_day.isoformat()),) * 2
    assert _dates(engine, paid) == paid_off  # interest accrued through the last run before the payoff

    for _ in range(5):  # end of day goes on: the paid-off loan's answers do not move
        w.eod()
        w.next_day()
    assert _dates(engine, paid) == paid_off
    assert _interest(engine, paid) == interest
    latest = (w.today() - dt.timedelta(days=1)).isoformat()
    assert _dates(engine, kept) == ((latest, None),) * 2  # a live loan accrues through the last run


def test_a_payoff_after_the_days_run_accrues_through_that_day_and_catch_up_runs_do_not_count(engine, clock):
    w = World(engine, clock)
    w.product(MONTHLY)
    cid = w.customer()
    same_day, lagging = w.loan(cid, "cash-12", 6_000_00, 6), w.loan(cid, "cash-12", 6_000_00, 6)
    w.next_day()
    start = w.eod().business_date  # the day closed (at its end), then the payoff: that day's interest is in
    clock.advance(minutes=1)
    w.repay(same_day, cid, kind="early_full")
    assert w.today() == start + dt.timedelta(days=1)  # paid off the minute the next day began
    paid_off = ((start.isoformat(), w.today().isoformat()),) * 2
    assert _dates(engine, same_day) == paid_off

    for _ in range(3):  # end of day stops for three days; the other loan is paid off meanwhile
        w.next_day()
    payoff = w.today()
    assert payoff == start + dt.timedelta(days=3)
    w.repay(lagging, cid, kind="early_full")
    clock.advance(minutes=1)
    assert [r.business_date for r in w.eod().caught_up] == [start + dt.timedelta(days=n) for n in (1, 2)]
    # the two days caught up and the payoff's own day, all run after the payoff: none counts
    assert _dates(engine, lagging) == ((start.isoformat(), payoff.isoformat()),) * 2
    assert _dates(engine, same_day) == paid_off


def test_over_http_a_paid_off_loan_shows_its_payoff_date(client, engine, clock):
    operator = make_staff(client, "operator")
    assert client.post("/v1/lending/products", headers={**operator, "Idempotency-Key": "p1"}, json=MONTHLY).is_success
    zhang = register(client, ZHANG)
    me = login(client, ZHANG)
    _fund(engine, clock, zhang["id"])
    body = {"product_code": "cash-12", "amount": "6000.00", "term": 6, "annual_income": "120000.00"}
    applied = client.post("/v1/lending/applications", headers={**me, "Idempotency-Key": "a1"}, json=body)
    offer = client.post(
        f"/v1/lending/applications/{applied.json()['id']}/offers", headers={**me, "Idempotency-Key": "o1"}
    )
    accepted = client.post(f"/v1/lending/offers/{offer.json()['id']}/accept", headers={**me, "Idempotency-Key": "c1"})
    assert accepted.status_code == 201, accepted.text
    loan_id = accepted.json()["id"]
    assert accepted.json()["paid_off_on"] is None
    w = World(engine, clock)
    for _ in range(2):
        w.eod()
        w.next_day()
    payoff_day = w.today().isoformat()
    me = login(client, ZHANG)  # days later: a fresh session
    repaid = client.post(
        f"/v1/lending/loans/{loan_id}/repayments", headers={**me, "Idempotency-Key": "r1"}, json={"kind": "early_full"}
    )
    assert repaid.status_code == 201, repaid.text
    for _ in range(4):
        w.eod()
        w.next_day()
    me = login(client, ZHANG)
    through = (dt.date.fromisoformat(payoff_day) - dt.timedelta(days=1)).isoformat()
    for answer in (
        client.get(f"/v1/lending/loans/{loan_id}", headers=me).json(),
        client.get("/v1/lending/loans", headers=me).json()[0],
        client.get(f"/v1/lending/loans/{loan_id}/statement", headers=me).json(),
    ):
        assert answer["status"] == "paid_off", answer
        assert (answer["accrued_through"], answer["paid_off_on"]) == (through, payoff_day), answer
