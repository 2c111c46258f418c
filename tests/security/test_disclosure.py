"""What each party may learn (issue 19, finding 6): a merchant does not see its payers' device and
location (not in the API, not in its signed notifications); a payer whom risk control declines or
holds is not told which rule fired, its score or its weights, only a reference that staff can look
up in the decision log."""

from __future__ import annotations

import json

from sqlalchemy import select

from puhui.db import reading
from puhui.payments import notifications
from puhui.payments.tables import merchant_notifications
from tests.payments.test_payments_http import NOTIFY_KEY, PASSWORD, id_number, merchant
from tests.payments.test_settlement import (
    ADMIN,
    assert_books_clean,
    balance,
    login,
    make_customer,
)
from tests.risk.test_fraud_in_payments import client, officer  # noqa: F401 - the client fixture

PAYER_CONTEXT = {"device_id": "phone-7f3a", "location": "310104"}


def paid_by_qr(client, engine):  # type: ignore[no-untyped-def]
    payer_id, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    merchant_id, shop = merchant(client)
    url = client.put(
        f"/v1/merchants/{merchant_id}/notify-url", headers=shop, json={"url": "https://shop.example.com/puhui"}
    )
    assert url.status_code == 200, url.text
    static = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()
    me = login(client, phone)
    paid = client.post(f"/v1/qr-codes/{static['id']}/pay", headers=me, json={"amount": "12.00", **PAYER_CONTEXT})
    assert paid.status_code == 201, paid.text
    return paid.json(), me, shop


def test_a_merchant_does_not_see_where_its_payer_paid_from(client, engine):
    payment, me, shop = paid_by_qr(client, engine)
    assert {k: payment[k] for k in PAYER_CONTEXT} == PAYER_CONTEXT  # the payer's own answer keeps them
    mine = client.get(f"/v1/payments/{payment['id']}", headers=me).json()
    theirs = client.get(f"/v1/payments/{payment['id']}", headers=shop).json()
    staff = client.get(f"/v1/payments/{payment['id']}", headers=ADMIN).json()
    assert mine["device_id"] == staff["device_id"] == "phone-7f3a" and staff["location"] == "310104"
    assert theirs["id"] == payment["id"] and theirs["amount"] == "12.00"
    assert not set(PAYER_CONTEXT) & set(theirs)

    assert notifications.collect(engine, NOTIFY_KEY) >= 1
    with reading(engine) as connection:
        bodies = [json.loads(b) for b in connection.execute(select(merchant_notifications.c.body)).scalars()]
    notice = next(b for b in bodies if b.get("payment", {}).get("id") == payment["id"])
    assert notifications.verify(notice, NOTIFY_KEY) and not set(PAYER_CONTEXT) & set(notice["payment"])
    assert "phone-7f3a" not in json.dumps(bodies)


def test_a_declined_payer_learns_no_rule_score_or_weight(client, engine):
    payer_id, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    payee_id, _ = make_customer(client, engine, "13998765432", "246", 0)
    risk = officer(client)
    rule = {
        "rule_id": "score_everything",
        "kind": "model_score",
        "action": "decline",
        "params": {"weights": {"new_device": 3.5}, "bias": 19.0, "review_at": 10, "decline_at": 20},
        "description": "a model that declines every payment",
    }
    assert client.post("/v1/risk/rules", headers=risk, json=rule).status_code == 201
    declined = client.post(
        "/v1/transfers/p2p",
        headers=login(client, phone),
        json={"to_customer_id": payee_id, "amount": "10.00", **PAYER_CONTEXT},
    )
    assert declined.status_code == 403 and declined.json()["code"] == "payment_declined", declined.text
    told = declined.text
    for secret in ("score", "score_everything", "new_device", "3.5", "19.0", "bias", ">="):
        assert secret not in told, secret
    assert declined.json()["reasons"] == ["risk_control"] and declined.json()["reference"]

    logged = client.get(f"/v1/risk/decisions?payer_id={payer_id}", headers=risk).json()["decisions"]
    assert [d["outcome"] for d in logged] == ["decline"]
    assert any("score" in r for r in logged[0]["reasons"])  # staff see why, under the same payment
    assert logged[0]["payment_ref"] == declined.json()["reference"]
    assert balance(engine, f"wallet.{payer_id}") == 1_000_00
    assert_books_clean(engine)


def test_a_reason_the_payer_can_act_on_is_still_given(client, engine):
    person = {
        "name": "王芳",
        "id_number": id_number("440305", "20000229", "067"),
        "phone": "15011112222",
        "password": PASSWORD,
        "consents": ["payments"],
    }
    assert client.post("/v1/customers", json=person).status_code == 201  # registered, never verified
    payee_id, _ = make_customer(client, engine, "13998765432", "246", 0)
    refused = client.post(
        "/v1/transfers/p2p", headers=login(client, person["phone"]), json={"to_customer_id": payee_id, "amount": "1.00"}
    )
    assert refused.status_code == 403 and refused.json()["reasons"] == ["payer_unverified"]


def test_a_held_payer_reading_the_review_is_not_told_the_rule(client, engine):
    payer_id, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    payee_id, _ = make_customer(client, engine, "13998765432", "246", 0)
    risk = officer(client)
    rule = {
        "rule_id": "hold_everything",
        "kind": "velocity",
        "action": "review",
        "params": {"window_seconds": 3600, "max_amount": "1.00"},
        "description": "holds every payment",
    }
    assert client.post("/v1/risk/rules", headers=risk, json=rule).status_code == 201
    me = login(client, phone)
    held = client.post("/v1/transfers/p2p", headers=me, json={"to_customer_id": payee_id, "amount": "10.00"})
    assert held.status_code == 202, held.text
    review_id = held.json()["review_id"]
    mine = client.get(f"/v1/risk/reviews/{review_id}", headers=me)
    assert mine.status_code == 200 and mine.json()["status"] == "under_review"
    assert "reasons" not in mine.json() and "hold_everything" not in mine.text
    theirs = client.get(f"/v1/risk/reviews/{review_id}", headers=risk).json()
    assert any(r.startswith("hold_everything") for r in theirs["reasons"])
