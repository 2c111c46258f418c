"""The insured's age comes from the birth date in their verified ID, never from the age typed in (SQLite and
PostgreSQL): a typed age that differs is refused (insured_age_mismatch) and nothing is stored or moved; an
omitted age is priced on the ID's age; a renewal across a band boundary is priced on the ID's age at the
renewal's start; a customer with no birth date on file is refused (409); the ledger audit passes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from puhui.identity.tables import customers
from tests.identity.helpers import ZHANG, id_number, login
from tests.insurance.ages import aged
from tests.insurance.test_insurance_http import (
    CONFIRMED,
    DISCLOSURE,
    assert_audit_clean,
    call,
    client,
    customer,
    insurer_with_product,
    problem,
    snapshot,
)

QUOTE = {"product_code": "med-e", "product_version": 1, "social_insurance": True}


def policy_body(age: int | None = None) -> dict:
    body = {
        "product_code": "med-e",
        "product_version": 1,
        "social_insurance": True,
        "disclosure": DISCLOSURE,
        "confirmations": CONFIRMED,
    }
    return body if age is None else {**body, "age": age}


def test_a_typed_age_other_than_the_ids_is_refused_and_changes_nothing(client, engine, clock):
    insurer_with_product(client)
    _, me = customer(client, engine, aged(ZHANG, 35))
    before = snapshot(engine)
    problem(call(client, "/v1/insurance/policies", me, "young", policy_body(17)), 422, "insured_age_mismatch")
    assert snapshot(engine) == before
    bought = call(client, "/v1/insurance/policies", me, "right", policy_body(35))
    assert bought.status_code == 201, bought.text
    assert (bought.json()["insured_age"], bought.json()["premium"]) == (35, "299.00")
    assert_audit_clean(engine)


def test_an_omitted_age_is_priced_on_the_ids_age(client, engine, clock):
    insurer_with_product(client)
    _, me = customer(client, engine, aged(ZHANG, 35))
    quoted = call(client, "/v1/insurance/quotes", me, "q", {**QUOTE, "age": 17})
    assert quoted.json()["premium"] == "200.00"  # a quote is for anyone's age
    bought = call(client, "/v1/insurance/policies", me, "no-age", policy_body())
    assert bought.status_code == 201, bought.text
    assert (bought.json()["insured_age"], bought.json()["premium"]) == (35, "299.00")
    assert_audit_clean(engine)


def test_renewal_across_a_band_boundary_is_priced_on_the_ids_age(client, engine, clock):
    insurer_with_product(client)
    born = dt.date(1986, 3, 1)  # 39 on the cover start 2026-01-06, 40 on the renewal's start 2027-01-06
    person = {**ZHANG, "id_number": id_number(ZHANG["id_number"][:6], f"{born:%Y%m%d}", ZHANG["id_number"][14:17])}
    _, me = customer(client, engine, person)
    first = call(client, "/v1/insurance/policies", me, "buy", policy_body())
    assert (first.json()["insured_age"], first.json()["premium"]) == (39, "299.00"), first.text
    clock.advance(days=340)  # within the renewal window
    me = login(client, person)
    renewal = call(
        client,
        f"/v1/insurance/policies/{first.json()['id']}/renew",
        me,
        "renew",
        {"disclosure": DISCLOSURE, "confirmations": CONFIRMED},
    )
    assert renewal.status_code == 201, renewal.text
    assert (renewal.json()["insured_age"], renewal.json()["premium"]) == (40, "899.00")
    assert_audit_clean(engine)


def test_no_birth_date_on_file_is_refused(client, engine, clock):
    insurer_with_product(client)
    zhang, me = customer(client, engine, ZHANG)
    with engine.begin() as connection:
        connection.execute(update(customers).where(customers.c.id == zhang).values(id_number_sealed=None))
    before = snapshot(engine)
    problem(call(client, "/v1/insurance/policies", me, "none", policy_body()), 409, "insured_birth_date_unknown")
    assert snapshot(engine) == before
    assert_audit_clean(engine)
