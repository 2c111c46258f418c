"""Lending over HTTP on SQLite and PostgreSQL: an operator adds a product, a customer applies, gets
an offer with the disclosure, accepts (money in the wallet), repays; refusals are clear 4xx problems
and change nothing; customers see only their own loans."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from stdnum.cn import ric

from puhui.app import create_app
from puhui.db import reading, transaction
from puhui.ledger.audit import audit
from puhui.payments import reserve
from puhui.settings import Settings
from tests.console.world import verify

from .lending_world import MONTHLY, World, day_over, snapshot

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
K1 = base64.urlsafe_b64encode(b"1" * 32).decode()
INDEX_KEY = base64.urlsafe_b64encode(b"i" * 32).decode()
JWT_SECRET = "j" * 48
PASSWORD = "correct horse battery"


def _id_number(region: str, birth: str, seq: str) -> str:
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")


ZHANG = {
    "name": "张三丰",
    "id_number": _id_number("110105", "19900307", "531"),
    "phone": "13812345678",
    "password": PASSWORD,
}
LI = {
    "name": "李娜",
    "id_number": _id_number("310104", "19851120", "246"),
    "phone": "13998765432",
    "password": PASSWORD,
}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def register(client, person: dict, verified: bool = True) -> dict:
    """A customer who registered themselves, verified by staff on five channels (class III) unless not
    `verified`: credit is only for verified customers."""
    response = client.post("/v1/customers", json={**person, "consents": ["payments"]})
    assert response.status_code == 201, response.text
    customer = response.json()
    if verified:
        verify(client, customer["id"])
    return customer


def login(client, person: dict) -> dict:
    response = client.post("/v1/customers/login", json={"phone": person["phone"], "password": person["password"]})
    assert response.status_code == 200, response.text
    return bearer(response.json()["token"])


def make_staff(client, role: str) -> dict:
    response = client.post("/v1/staff", headers=ADMIN, json={"handle": f"{role}.one", "role": role})
    assert response.status_code == 201, response.text
    return bearer(response.json()["token"])


@pytest.fixture
def client(engine, clock):
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret=JWT_SECRET,
        jwt_ttl_seconds=900,
    )
    transaction(engine, lambda uow: reserve.inject_capital(uow, "capital.test", 100_000_000_00))
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def _fund(engine, clock, customer_id: str) -> None:
    from puhui.db import transaction
    from puhui.ledger.models import Transfer
    from puhui.ledger.service import create_transfers

    transaction(
        engine,
        lambda uow: create_transfers(
            uow,
            [
                Transfer(
                    f"fund.{customer_id}",
                    "platform.reserve_bank.CNY",
                    f"wallet.{customer_id}",
                    100_000_00,
                    "CNY",
                    "top_up",
                )
            ],
        ),
    )


def _problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.json()


def test_borrow_and_repay_over_http(client, engine, clock):
    operator = make_staff(client, "operator")
    zhang, li = register(client, ZHANG), register(client, LI)
    me, other = login(client, ZHANG), login(client, LI)
    _fund(engine, clock, zhang["id"])
    _fund(engine, clock, li["id"])

    added = client.post("/v1/lending/products", headers={**operator, "Idempotency-Key": "p1"}, json=MONTHLY)
    assert added.status_code == 201, added.text
    _problem(
        client.post("/v1/lending/products", headers={**me, "Idempotency-Key": "p2"}, json=MONTHLY), 403, "forbidden"
    )
    listed = client.get("/v1/lending/products", headers=me)
    assert [p["code"] for p in listed.json()] == ["cash-12"]

    applied = client.post(
        "/v1/lending/applications",
        headers={**me, "Idempotency-Key": "a1"},
        json={"product_code": "cash-12", "amount": "6000.00", "term": 6, "annual_income": "120000.00"},
    )
    assert applied.status_code == 201 and applied.json()["decision"] == "approved", applied.text
    offer = client.post(
        f"/v1/lending/applications/{applied.json()['id']}/offers", headers={**me, "Idempotency-Key": "o1"}
    )
    assert offer.status_code == 201, offer.text
    disclosed = offer.json()
    assert disclosed["nominal_rate"] == "0.18" and disclosed["annualized_rate"] > "0.18"
    assert len(disclosed["schedule"]) == 6 and disclosed["total_fees"] == "60.00"
    _problem(
        client.post(f"/v1/lending/offers/{disclosed['id']}/accept", headers={**other, "Idempotency-Key": "x"}),
        404,
        "loan_offer_not_found",
    )
    accepted = client.post(f"/v1/lending/offers/{disclosed['id']}/accept", headers={**me, "Idempotency-Key": "c1"})
    assert accepted.status_code == 201, accepted.text
    loan = accepted.json()
    assert loan["status"] == "active" and loan["outstanding_principal"] == "6000.00"
    assert loan["annualized_rate"] == disclosed["annualized_rate"]  # the disclosed IRR stays with the loan
    replay = client.post(f"/v1/lending/offers/{disclosed['id']}/accept", headers={**me, "Idempotency-Key": "c1"})
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json()["id"] == loan["id"]

    assert [x["id"] for x in client.get("/v1/lending/loans", headers=me).json()] == [loan["id"]]
    assert client.get("/v1/lending/loans", headers=other).json() == []
    assert len(client.get("/v1/lending/loans", headers=ADMIN).json()) == 1
    # another customer's loan answers as an unknown one would: its id tells them nothing
    hidden = client.get(f"/v1/lending/loans/{loan['id']}", headers=other)
    _problem(hidden, 404, "loan_not_found")
    unknown = client.get("/v1/lending/loans/ln_000000000000000000000000", headers=other)
    _problem(unknown, 404, "loan_not_found")
    assert hidden.json()["detail"] == f"loan {loan['id']} not found"
    for path in (f"/v1/lending/applications/{applied.json()['id']}", f"/v1/lending/offers/{disclosed['id']}"):
        assert client.get(path, headers=other).status_code == 404, path
    schedule = client.get(f"/v1/lending/loans/{loan['id']}/schedule", headers=me).json()
    assert len(schedule) == 6

    # refusals: clear 4xx, nothing changes
    before = snapshot(engine)
    refused = [
        (
            client.post(
                "/v1/lending/applications",
                headers={**me, "Idempotency-Key": "a2"},
                json={"product_code": "cash-12", "amount": "60000.00", "term": 6},
            ),
            422,
            "amount_out_of_range",
        ),
        (
            client.post(
                "/v1/lending/applications",
                headers={**me, "Idempotency-Key": "a3"},
                json={"product_code": "cash-12", "amount": "6000.00", "term": 24},
            ),
            422,
            "term_out_of_range",
        ),
        (
            client.post(
                "/v1/lending/products",
                headers={**operator, "Idempotency-Key": "p3"},
                json={**MONTHLY, "code": "usury", "annual_rate": "0.36"},
            ),
            422,
            "rate_above_cap",
        ),
        (
            client.post(
                f"/v1/lending/loans/{loan['id']}/repayments",
                headers={**me, "Idempotency-Key": "r0"},
                json={"amount": "1.00"},
            ),
            422,
            "nothing_due",
        ),
        (
            client.post(
                f"/v1/lending/loans/{loan['id']}/repayments",
                headers={**me, "Idempotency-Key": "r1"},
                json={"amount": "1.00", "from_customer_id": li["id"]},
            ),
            403,
            "forbidden",
        ),
        (
            client.post(
                f"/v1/lending/loans/{loan['id']}/repayments",
                headers={**other, "Idempotency-Key": "r2"},
                json={"kind": "early_full"},
            ),
            404,
            "loan_not_found",
        ),
    ]
    for response, status, code in refused:
        _problem(response, status, code)
    assert snapshot(engine) == before

    # on the first due date, pay what is due; then the statement agrees
    w = World(engine, clock)
    first_due = schedule[0]["due_date"]
    while w.today().isoformat() < first_due:
        w.eod()
        w.next_day()
    me = login(client, ZHANG)  # a month later: a fresh session
    before = snapshot(engine)
    _problem(
        client.post(
            f"/v1/lending/loans/{loan['id']}/repayments",
            headers={**me, "Idempotency-Key": "r9"},
            json={"amount": "5000.00"},
        ),
        422,
        "repayment_exceeds_owed",
    )
    assert snapshot(engine) == before
    paid = client.post(f"/v1/lending/loans/{loan['id']}/repayments", headers={**me, "Idempotency-Key": "r3"}, json={})
    assert paid.status_code == 201, paid.text
    assert paid.json()["principal"] == schedule[0]["principal"] and paid.json()["interest"] == schedule[0]["interest"]
    statement = client.get(f"/v1/lending/loans/{loan['id']}/statement", headers=me).json()
    assert statement["paid_principal"] == schedule[0]["principal"]
    day_over(clock)  # the due date is over: its end of day, then the payoff the next day
    ran = client.post("/v1/lending/eod", headers={**ADMIN, "Idempotency-Key": "e1"}, json={"business_date": first_due})
    assert ran.status_code == 200 and ran.json()["already_done"] is False, ran.text
    me = login(client, ZHANG)  # the next day: a fresh session
    payoff = client.post(
        f"/v1/lending/loans/{loan['id']}/repayments",
        headers={**me, "Idempotency-Key": "r4"},
        json={"kind": "early_full"},
    )
    assert payoff.status_code == 201, payoff.text
    assert client.get(f"/v1/lending/loans/{loan['id']}", headers=me).json()["status"] == "paid_off"
    with reading(engine) as connection:
        assert audit(connection).ok and reserve.reserve_coverage(connection).covered


def test_an_unverified_customer_gets_no_credit_and_the_refusals_change_nothing(client, engine, clock):
    """Credit is for verified customers (实名): a customer who registered but was never verified can
    neither apply for a loan nor be given a credit line; once verified, the same application passes."""
    operator = make_staff(client, "operator")
    added = client.post("/v1/lending/products", headers={**operator, "Idempotency-Key": "p1"}, json=MONTHLY)
    assert added.status_code == 201, added.text
    zhang = register(client, ZHANG, verified=False)
    me = login(client, ZHANG)
    application = {"product_code": "cash-12", "amount": "6000.00", "term": 6, "annual_income": "120000.00"}
    before = snapshot(engine)
    _problem(
        client.post("/v1/lending/applications", headers={**me, "Idempotency-Key": "a1"}, json=application),
        409,
        "borrower_unverified",
    )
    _problem(
        client.post(
            "/v1/lending/lines",
            headers={**ADMIN, "Idempotency-Key": "l1"},
            json={"customer_id": zhang["id"], "limit": "2000.00", "annual_income": "120000.00"},
        ),
        409,
        "borrower_unverified",
    )
    assert snapshot(engine) == before

    verify(client, zhang["id"], channels=3)
    applied = client.post("/v1/lending/applications", headers={**me, "Idempotency-Key": "a2"}, json=application)
    assert applied.status_code == 201, applied.text
    assert applied.json()["decision"] == "approved"
