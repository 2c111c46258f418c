"""Signing up through the API skipped the consent the console asks for (new-user pass, defect 1): a
`POST /v1/customers` without consents opened a wallet with `consents: []`. The API now requires consent
to process personal information for payments (支付服务协议与隐私政策, PIPL; PBOC payment-account rules):
without it, 422 `consent_required` naming `payments` and nothing stored; with it, the consents given are
recorded in the sign-up's own transaction."""

from __future__ import annotations

import pytest

from .helpers import ADMIN, ZHANG, login, snapshot

WITHOUT = {k: v for k, v in ZHANG.items() if k != "consents"}


@pytest.mark.parametrize(
    "consents",
    [pytest.param(None, id="absent"), pytest.param(["marketing"], id="other-purposes-only")],
)
def test_sign_up_without_the_payments_consent_is_refused_and_nothing_stored(client, engine, consents):
    before = snapshot(engine)
    body = WITHOUT if consents is None else {**WITHOUT, "consents": consents}
    answer = client.post("/v1/customers", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == "consent_required" and problem["missing"] == ["payments"]
    assert snapshot(engine) == before


def test_the_consents_given_at_sign_up_are_recorded(client):
    created = client.post("/v1/customers", json={**ZHANG, "consents": ["payments", "risk_control", "payments"]})
    assert created.status_code == 201, created.text
    shown = {(c["purpose"], c["sensitive"], c["granted"]) for c in created.json()["consents"]}
    assert shown == {("payments", False, True), ("risk_control", False, True)}
    me = client.get("/v1/customers/me", headers=login(client, ZHANG)).json()
    assert {c["purpose"] for c in me["consents"] if c["granted"]} == {"payments", "risk_control"}


def test_the_customer_records_their_own_consent_and_staff_theirs(client):
    created = client.post("/v1/customers", json=ZHANG).json()
    export = client.get(f"/v1/customers/{created['id']}/export", headers=login(client, ZHANG)).json()
    assert [(c["purpose"], c["recorded_by"]) for c in export["consents"]] == [("payments", created["id"])]


def test_the_schema_states_the_rule(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["RegisterIn"]
    assert "consents" in schema["required"]
    assert schema["properties"]["consents"]["contains"] == {"const": "payments"}


def test_staff_at_the_counter_need_the_consent_too(client):
    answer = client.post("/v1/customers", headers=ADMIN, json={**WITHOUT, "consents": ["credit_scoring"]})
    assert answer.status_code == 422 and answer.json()["code"] == "consent_required"
