"""Findings of a new-user pass over lending, on SQLite and PostgreSQL:

1. a loan disbursed after the last end of day showed `accrued_through` = that run's date, a day before
   the loan existed (or null before any run): it now shows its start date until an end of day passes it;
2. a loan product's amounts are decimal strings in CNY like every other amount, a bare number is a 422
   `product_invalid` (it was silently read as fen: `"min_amount": 1000` meant 10.00 CNY);
3. the penalty rate (罚息) is held to the 24% cap like the contract rate (422 `rate_above_cap`);
4. the loan's `bucket` is one of the buckets of `puhui.lending.delinquency` (M3 included), and the
   supervision dashboard's M3+ counts only loans over 90 days past due, as the bucket of that name.
"""

from __future__ import annotations

import datetime as dt
import typing

import pytest
from sqlalchemy import update

from puhui.db import reading
from puhui.lending import service, statements
from puhui.lending.delinquency import BUCKETS, delinquency_bucket
from puhui.lending.errors import RateAboveCap
from puhui.lending.schemas import Loan
from puhui.lending.tables import loans

from .lending_world import MONTHLY, World, day_over, snapshot
from .test_lending_http import ZHANG, _fund, client, login, make_staff, register

__all__ = ["client"]


def _accrued(engine, loan_id: str) -> tuple[str, str, str, str]:  # type: ignore[no-untyped-def]
    """(start_date, the loan's accrued_through, the statement's accrued_through, interest accrued)."""
    with reading(engine) as connection:
        loan = service.get_loan(connection, loan_id)
        st = statements.statement(connection, loan_id).as_json()
    return loan["start_date"], loan["accrued_through"], st["accrued_through"], st["accrued_interest"]


# -- 1. accrued_through never before the loan began ------------------------------------------------


def test_a_new_loan_is_accrued_through_its_start_not_the_day_before(engine, clock):
    w = World(engine, clock)
    w.product(MONTHLY)
    cid = w.customer()
    first = w.loan(cid, "cash-12", 6_000_00, 6)  # before any end of day: it was null
    today = w.today()
    assert _accrued(engine, first) == (today.isoformat(), today.isoformat(), today.isoformat(), "0.00")

    assert w.eod().ran  # today closed
    w.next_day()
    tomorrow = w.today()
    loan = w.loan(cid, "cash-12", 6_000_00, 6)  # disbursed the day after the last run: it showed `today`
    assert _accrued(engine, loan) == (tomorrow.isoformat(), tomorrow.isoformat(), tomorrow.isoformat(), "0.00")
    assert _accrued(engine, first)[1:3] == (today.isoformat(), today.isoformat())  # older loans: the last run

    assert w.eod().ran  # its first day: nothing accrues on the day a loan starts
    assert _accrued(engine, loan) == (tomorrow.isoformat(), tomorrow.isoformat(), tomorrow.isoformat(), "0.00")
    w.next_day()
    assert w.eod().ran
    start, through, through_st, interest = _accrued(engine, loan)
    assert through == through_st == (tomorrow + dt.timedelta(days=1)).isoformat() and interest != "0.00"


def test_over_http_a_loan_taken_today_shows_its_start_date(client, engine, clock):
    operator = make_staff(client, "operator")
    headers = {**operator, "Idempotency-Key": "p1"}
    assert client.post("/v1/lending/products", headers=headers, json=MONTHLY).status_code == 201
    day_over(clock)  # 2026-01-05 is over: its end of day runs, and the loan is taken the next day
    eod = client.post(
        "/v1/lending/eod", headers={**operator, "Idempotency-Key": "e1"}, json={"business_date": "2026-01-05"}
    )
    assert eod.status_code == 200, eod.text
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
    assert accepted.json()["start_date"] == accepted.json()["accrued_through"] == "2026-01-06"
    for answer in (
        client.get(f"/v1/lending/loans/{loan_id}", headers=me).json(),
        client.get("/v1/lending/loans", headers=me).json()[0],
        client.get(f"/v1/lending/loans/{loan_id}/statement", headers=me).json(),
    ):
        assert answer["accrued_through"] == "2026-01-06", answer


# -- 2. product amounts in CNY decimal strings ------------------------------------------------------


def test_product_amounts_over_http_are_cny_strings_and_a_bare_number_is_refused(client, engine, clock):
    operator = make_staff(client, "operator")
    before = snapshot(engine)
    for key, amounts in enumerate(({"min_amount": 1000}, {"max_amount": 5000000}, {"min_amount": "1e3"})):
        answer = client.post(
            "/v1/lending/products", headers={**operator, "Idempotency-Key": f"bad{key}"}, json={**MONTHLY, **amounts}
        )
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert problem["code"] == "product_invalid" and problem["field"] == next(iter(amounts)), problem
    assert snapshot(engine) == before

    added = client.post(
        "/v1/lending/products",
        headers={**operator, "Idempotency-Key": "ok"},
        json={**MONTHLY, "min_amount": "1000", "max_amount": "50000.5"},
    )
    assert added.status_code == 201, added.text
    assert (added.json()["min_amount"], added.json()["max_amount"]) == ("1000.00", "50000.50")
    listed = client.get("/v1/lending/products", headers=operator).json()
    assert [(p["min_amount"], p["max_amount"]) for p in listed] == [("1000.00", "50000.50")]
    with reading(engine) as connection:
        assert service.list_products(connection)[0]["min_amount"] == "1000.00"


def test_the_published_product_body_takes_amounts_as_strings_only(client):
    body = client.get("/openapi.json").json()["paths"]["/v1/lending/products"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    for name in ("min_amount", "max_amount"):
        assert schema["properties"][name]["type"] == "string", schema["properties"][name]


# -- 3. the penalty rate under the cap --------------------------------------------------------------


@pytest.mark.parametrize("rate", ["0.240001", "0.27", "0.36", "1"])
def test_a_penalty_rate_above_the_cap_is_refused(engine, clock, rate):
    w = World(engine, clock)
    before = snapshot(engine)
    with pytest.raises(RateAboveCap) as error:
        w.product({**MONTHLY, "penalty_annual_rate": rate})
    assert (error.value.code, error.value.status) == ("rate_above_cap", 422)
    assert error.value.extra["field"] == "penalty_annual_rate" and error.value.extra["cap"] == "0.24"
    assert snapshot(engine) == before


def test_a_penalty_rate_at_the_cap_is_taken(engine, clock):
    w = World(engine, clock)
    assert w.product({**MONTHLY, "penalty_annual_rate": "0.24"})["penalty_annual_rate"] == "0.24"


def test_over_http_a_penalty_rate_above_the_cap_is_rate_above_cap(client, engine, clock):
    operator = make_staff(client, "operator")
    before = snapshot(engine)
    answer = client.post(
        "/v1/lending/products",
        headers={**operator, "Idempotency-Key": "p1"},
        json={**MONTHLY, "penalty_annual_rate": "0.27"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "rate_above_cap" and answer.json()["field"] == "penalty_annual_rate"
    assert snapshot(engine) == before


# -- 4. the buckets the API and the dashboard name ---------------------------------------------------


def test_the_loan_bucket_names_every_delinquency_bucket():
    published = set(typing.get_args(Loan.model_fields["bucket"].annotation))
    assert published == {name for name, _ in BUCKETS} | {"M3+"}
    assert {delinquency_bucket(days) for days in range(0, 400)} == published
    description = Loan.model_fields["bucket"].description or ""
    assert all(label in description for label in ("M1 (1–30)", "M2 (31–60)", "M3 (61–90)", "M3+ (over 90)"))


def test_dashboard_m3_plus_is_the_book_over_90_days(engine, clock):
    """The dashboard's overdue_m3_plus is the principal of loans in the book's M3+ bucket (over 90 days
    past due); a loan 61–90 days past due (bucket M3) counts in M1+ only."""
    from puhui.regtech.dashboard import overdue_and_borrowers

    w = World(engine, clock)
    w.product(MONTHLY)
    m3, m3_plus = w.loan(w.customer(), "cash-12", 6_000_00, 6), w.loan(w.customer(), "cash-12", 4_000_00, 6)
    w.loan(w.customer(), "cash-12", 10_000_00, 6)  # current
    for loan_id, days in ((m3, 90), (m3_plus, 91)):
        w.run(
            lambda uow, i=loan_id, d=days: uow.execute(
                update(loans).where(loans.c.id == i).values(days_past_due=d, bucket=delinquency_bucket(d))
            )
        )
    with reading(engine) as connection:
        figures = overdue_and_borrowers(connection)
    assert figures["overdue_m1_plus"]["value"] == "0.500000"  # (6,000 + 4,000) / 20,000
    assert figures["overdue_m3_plus"]["value"] == "0.200000"  # 4,000 / 20,000: the 90-day loan is M3
