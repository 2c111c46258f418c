"""The fraud checks as the server runs them, on SQLite and PostgreSQL: the app seeds the default
rules, follows the outbox and puts the check in front of every payment; a rule a risk officer
adds over the API takes effect on the next payment, decisions are logged, a block-listed payee is
declined with no money moved and a review holds the money until decided."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from puhui.app import create_app
from puhui.payments import risk_hook
from puhui.settings import Settings
from tests.payments.test_settlement import (
    ADMIN,
    INDEX_KEY,
    K1,
    assert_books_clean,
    balance,
    login,
    make_customer,
)


@pytest.fixture
def client(engine, clock):
    settings = Settings(
        admin_token="test-admin-token",
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret="j" * 48,
        jwt_ttl_seconds=900,
        merchant_fee_bp=60,
        merchant_notify_key="merchant-notify-test-key",
        fraud_checks=True,
        fraud_catch_up_seconds=0.05,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client
    assert risk_hook.check_for(engine) is None  # uninstalled with the app


def officer(client) -> dict:
    answer = client.post("/v1/staff", headers=ADMIN, json={"handle": "risk.one", "role": "risk_officer"})
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_the_server_puts_fraud_checks_in_front_of_payments(client, engine):
    assert risk_hook.check_for(engine) is client.app.state.fraud_hook
    rules = client.get("/v1/risk/rules", headers=ADMIN).json()
    assert len(rules["rules"]) >= 7  # the defaults, seeded at start
    payer_id, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    payee_id, _ = make_customer(client, engine, "13998765432", "246", 0)
    payer = login(client, phone)
    paid = client.post("/v1/transfers/p2p", headers=payer, json={"to_customer_id": payee_id, "amount": "10.00"})
    assert paid.status_code == 201, paid.text
    decisions = client.get(f"/v1/risk/decisions?payer_id={payer_id}", headers=ADMIN).json()
    assert [d["outcome"] for d in decisions["decisions"]] == ["approve"]

    risk = officer(client)
    blocked = client.post(
        "/v1/risk/blocklists/payees", headers={**risk, "Idempotency-Key": "b1"}, json={"value": payee_id}
    )
    assert blocked.status_code in (200, 201), blocked.text
    declined = client.post("/v1/transfers/p2p", headers=payer, json={"to_customer_id": payee_id, "amount": "10.00"})
    assert declined.status_code == 403 and declined.json()["code"] == "payment_declined"
    assert "blocked_payee" not in declined.text  # which rule fired is risk control's, not the payer's
    assert balance(engine, f"wallet.{payer_id}") == 990_00
    outcomes = [
        d["outcome"] for d in client.get(f"/v1/risk/decisions?payer_id={payer_id}", headers=ADMIN).json()["decisions"]
    ]
    assert sorted(outcomes) == ["approve", "decline"]  # the decline is logged although it rolled back
    assert_books_clean(engine)


def test_the_window_state_follows_the_payments(client, engine):
    payer_id, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    payee_id, _ = make_customer(client, engine, "13998765432", "246", 0)
    payer = login(client, phone)
    hook = client.app.state.fraud_hook
    for _ in range(3):
        answer = client.post("/v1/transfers/p2p", headers=payer, json={"to_customer_id": payee_id, "amount": "1.00"})
        assert answer.status_code in (201, 202), answer.text
    deadline = time.monotonic() + 10
    while payer_id not in hook.state.customers:  # the app's own loop follows the outbox
        assert time.monotonic() < deadline, "the fraud state did not catch up"
        time.sleep(0.05)


def test_a_rule_the_officer_adds_holds_the_next_payment_for_review(client, engine):
    payer_id, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    payee_id, _ = make_customer(client, engine, "13998765432", "246", 0)
    payer, risk = login(client, phone), officer(client)
    rule = {
        "rule_id": "big_p2p",
        "kind": "velocity",
        "params": {"window_seconds": 3600, "max_amount": "100.00"},
        "action": "review",
        "description": "more than 100 CNY sent within an hour",
    }
    created = client.post("/v1/risk/rules", headers={**risk, "Idempotency-Key": "r1"}, json=rule)
    assert created.status_code == 201, created.text
    held = client.post("/v1/transfers/p2p", headers=payer, json={"to_customer_id": payee_id, "amount": "150.00"})
    assert held.status_code == 202, held.text
    assert "reasons" not in held.json() and "big_p2p" not in held.text
    assert balance(engine, f"wallet.{payer_id}") == 1_000_00 and balance(engine, f"wallet.{payee_id}") == 0
    review_id = held.json()["review_id"]
    queue = client.get("/v1/risk/reviews", headers=risk).json()["reviews"]
    assert [r["review_id"] for r in queue] == [review_id]
    assert any(reason.startswith("big_p2p") for reason in queue[0]["reasons"])  # the officer sees why
    approved = client.post(f"/v1/risk/reviews/{review_id}/approve", headers=risk, json={"note": "called the payer"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert balance(engine, f"wallet.{payer_id}") == 850_00 and balance(engine, f"wallet.{payee_id}") == 150_00
    switched = client.post("/v1/risk/rules/big_p2p/disable", headers=risk)
    assert switched.status_code == 200, switched.text
    assert (
        client.post(
            "/v1/transfers/p2p", headers=payer, json={"to_customer_id": payee_id, "amount": "150.00"}
        ).status_code
        == 201
    )
    assert_books_clean(engine)
