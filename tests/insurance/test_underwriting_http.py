"""Health-declaration underwriting (健康告知/核保) and renewal (续保) over HTTP on SQLite and PostgreSQL:
a "yes" that declines refuses the sale and moves nothing, a "yes" that excludes keeps the condition on
the policy, the answers and outcome are in the hash-chained sales record; a policy renews only from 30
days before its end, at the version's premium for the insured's age on the new start; a guaranteed
renewal keeps exclusions without asking, a plain one underwrites again."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from puhui.db import reading
from puhui.insurance import service
from puhui.insurance.tables import insurance_sales
from tests.identity.helpers import LI, ZHANG, login
from tests.insurance.ages import aged
from tests.insurance.test_insurance_http import (
    CONFIRMED,
    DISCLOSURE,
    PRODUCT,
    WALLET,
    assert_audit_clean,
    balance,
    call,
    client,  # noqa: F401 - the fixture
    customer,
    insurer_with_product,
    problem,
    snapshot,
)

QUESTIONS = [
    {"id": "diabetes", "text": "是否患有糖尿病？", "on_yes": "exclude", "condition": "E11"},
    {"id": "cancer", "text": "是否患有或曾患恶性肿瘤？", "on_yes": "decline"},
    {"id": "glasses", "text": "是否佩戴眼镜？", "on_yes": "accept"},
]
NO = {"diabetes": False, "cancer": False, "glasses": False}


def add_product(client, operator: dict, insurer_id: str, code: str, **terms) -> None:  # type: ignore[no-untyped-def]
    body = {**PRODUCT, "code": code, "insurer_id": insurer_id, "questionnaire": QUESTIONS, **terms}
    added = call(client, "/v1/insurance/products", operator, f"prod-{code}", body)
    assert added.status_code == 201, added.text


def buy(client, me: dict, key: str, code: str, answers: dict):  # type: ignore[no-untyped-def]
    """Buy `code` for the signed-in customer, priced on the age by their ID."""
    body = {
        "product_code": code,
        "product_version": 1,
        "social_insurance": True,
        "disclosure": DISCLOSURE,
        "confirmations": CONFIRMED,
        "health_answers": answers,
    }
    return call(client, "/v1/insurance/policies", me, key, body)


def renew(client, me: dict, key: str, policy_id: str, answers: dict | None = None):  # type: ignore[no-untyped-def]
    body = {"disclosure": DISCLOSURE, "confirmations": CONFIRMED, "health_answers": answers or {}}
    return call(client, f"/v1/insurance/policies/{policy_id}/renew", me, key, body)


def test_underwriting_accepts_excludes_and_declines(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    add_product(client, operator, insurer_id, "med-q")
    read = client.get("/v1/insurance/products/med-q/1", headers=operator).json()
    assert [q["id"] for q in read["questionnaire"]] == ["diabetes", "cancer", "glasses"]
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    li, other = customer(client, engine, aged(LI, 30))  # one policy of a product per person at a time

    accepted = buy(client, me, "buy-1", "med-q", {**NO, "glasses": True})
    assert accepted.status_code == 201 and accepted.json()["exclusions"] == [], accepted.text
    excluded = buy(client, other, "buy-2", "med-q", {**NO, "diabetes": True})
    assert excluded.status_code == 201 and excluded.json()["exclusions"] == ["E11"], excluded.text
    assert balance(engine, f"wallet.{zhang}") == balance(engine, f"wallet.{li}") == WALLET - 299_00

    before = snapshot(engine)
    problem(buy(client, me, "buy-3", "med-q", {**NO, "diabetes": True, "cancer": True}), 422, "underwriting_declined")
    problem(buy(client, me, "buy-4", "med-q", {"diabetes": False}), 422, "health_answers_invalid")
    problem(buy(client, me, "buy-5", "med-q", {**NO, "smoker": True}), 422, "health_answers_invalid")
    assert snapshot(engine) == before
    # a product without questions sells as before, and refuses answers to questions it does not ask
    plain = buy(client, me, "buy-6", "med-e", {})
    assert plain.status_code == 201 and plain.json()["exclusions"] == [], plain.text
    problem(buy(client, me, "buy-7", "med-e", {"cancer": False}), 422, "health_answers_invalid")
    assert_audit_clean(engine)


def test_answers_and_outcome_are_in_the_sales_chain(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    add_product(client, operator, insurer_id, "med-q")
    _, me = customer(client, engine, aged(ZHANG, 30))
    policy = buy(client, me, "buy-1", "med-q", {**NO, "diabetes": True}).json()
    with reading(engine) as connection:
        stored = connection.execute(
            select(insurance_sales.c.underwriting).where(insurance_sales.c.policy_id == policy["id"])
        ).scalar_one()
        assert service.verify_sales_chain(connection)
    assert json.loads(stored) == {
        "answers": {**NO, "diabetes": True},
        "verdict": "exclude",
        "exclusions": ["E11"],
    }
    forged = json.dumps({"answers": NO, "verdict": "accept", "exclusions": []})
    with engine.begin() as connection:
        connection.execute(
            update(insurance_sales).where(insurance_sales.c.policy_id == policy["id"]).values(underwriting=forged)
        )
    with reading(engine) as connection:
        assert not service.verify_sales_chain(connection)


def test_renewal_window_and_price_at_the_new_age(client, engine, clock):
    insurer_with_product(client)
    zhang, me = customer(client, engine, aged(ZHANG, 39))
    body = {
        "product_code": "med-e",
        "product_version": 1,
        "age": 39,  # the age by the ID, sent too
        "social_insurance": True,
        "disclosure": DISCLOSURE,
        "confirmations": CONFIRMED,
    }
    policy = call(client, "/v1/insurance/policies", me, "buy-1", body).json()
    assert (policy["start_date"], policy["end_date"], policy["premium"]) == ("2026-01-06", "2027-01-06", "299.00")

    clock.advance(days=335)  # 2026-12-06: 31 days before the end, the window is not open
    me = login(client, ZHANG)
    before = snapshot(engine)
    problem(renew(client, me, "renew-0", policy["id"]), 409, "renewal_not_open")
    assert snapshot(engine) == before

    clock.advance(days=1)  # 2026-12-07: 30 days before 2027-01-06
    me = login(client, ZHANG)
    renewed = renew(client, me, "renew-1", policy["id"])
    assert renewed.status_code == 201, renewed.text
    got = renewed.json()
    # 39 at the start of the first year, 40 on 2027-01-06: the 40-65 band's 899.00
    assert (got["start_date"], got["end_date"], got["insured_age"], got["premium"]) == (
        "2027-01-06",
        "2028-01-06",
        40,
        "899.00",
    )
    assert got["renewed_from"] == policy["id"]
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 - 899_00
    again = renew(client, me, "renew-2", policy["id"])
    assert again.status_code == 201 and again.json()["id"] == got["id"]
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00 - 899_00
    assert_audit_clean(engine)


def test_guaranteed_renewal_keeps_exclusions_and_a_plain_one_underwrites_again(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    add_product(client, operator, insurer_id, "med-g", guaranteed_renewal_years=6)
    add_product(client, operator, insurer_id, "med-q")
    _, me = customer(client, engine, aged(ZHANG, 30))
    guaranteed = buy(client, me, "buy-1", "med-g", {**NO, "diabetes": True}).json()
    plain = buy(client, me, "buy-2", "med-q", NO).json()
    clock.advance(days=340)
    me = login(client, ZHANG)

    ill = {**NO, "cancer": True}
    kept = renew(client, me, "renew-1", guaranteed["id"], ill)
    assert kept.status_code == 201 and kept.json()["exclusions"] == ["E11"], kept.text
    before = snapshot(engine)
    problem(renew(client, me, "renew-2", plain["id"], ill), 422, "underwriting_declined")
    assert snapshot(engine) == before
    now_excluded = renew(client, me, "renew-3", plain["id"], {**NO, "diabetes": True})
    assert now_excluded.status_code == 201 and now_excluded.json()["exclusions"] == ["E11"], now_excluded.text
    with reading(engine) as connection:
        assert service.verify_sales_chain(connection)
    assert_audit_clean(engine)
