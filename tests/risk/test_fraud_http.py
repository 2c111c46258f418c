"""Fraud rules over HTTP on SQLite and PostgreSQL: a risk officer creates, changes and switches rules
(each a new version, history readable), staff read, customers and regulators may not change
anything, bad rules are 422 with a stable code and store nothing; block lists; the decisions log."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from stdnum.cn import ric

from puhui import clock as time_source
from puhui.app import create_app
from puhui.db import transaction
from puhui.payments.risk_hook import Outcome, PaymentRequest
from puhui.risk.fraud import store
from puhui.risk.fraud.hook import FraudHook
from puhui.risk.fraud.state import WindowState
from puhui.risk.fraud.tables import risk_blocklists, risk_rules
from puhui.settings import Settings

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
K1 = base64.urlsafe_b64encode(b"1" * 32).decode()
INDEX_KEY = base64.urlsafe_b64encode(b"i" * 32).decode()
RULE = {
    "rule_id": "vel_1h",
    "kind": "velocity",
    "params": {"window_seconds": 3600, "max_count": 20},
    "action": "review",
    "description": "more than 20 payments in an hour",
}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    settings = Settings(
        admin_token=ADMIN_TOKEN, pii_keys=f"k1:{K1}", pii_index_key=INDEX_KEY, jwt_secret="j" * 48, jwt_ttl_seconds=900
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def staff(client: TestClient, role: str) -> dict:
    answer = client.post("/v1/staff", headers=ADMIN, json={"handle": f"{role.replace('_', '-')}.one", "role": role})
    assert answer.status_code == 201, answer.text
    return bearer(answer.json()["token"])


def customer(client: TestClient) -> dict:
    body = "110105" + "19900307" + "531"
    person = {
        "name": "张三丰",
        "id_number": body + ric.calc_check_digit(body + "0"),
        "phone": "13812345678",
        "password": "correct horse battery",
    }
    assert client.post("/v1/customers", json={**person, "consents": ["payments"]}).status_code == 201
    login = client.post("/v1/customers/login", json={"phone": person["phone"], "password": person["password"]})
    assert login.status_code == 200, login.text
    return bearer(login.json()["token"])


def stored(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        rules = connection.execute(select(func.count()).select_from(risk_rules)).scalar_one()
        lists = connection.execute(select(func.count()).select_from(risk_blocklists)).scalar_one()
    return rules, lists


def test_risk_officer_versions_rules_and_staff_read_the_history(client, engine) -> None:  # type: ignore[no-untyped-def]
    officer, regulator = staff(client, "risk_officer"), staff(client, "regulator")
    created = client.post("/v1/risk/rules", headers={**officer, "Idempotency-Key": "r1"}, json=RULE)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1 and created.json()["enabled"] is True
    replay = client.post("/v1/risk/rules", headers={**officer, "Idempotency-Key": "r1"}, json=RULE)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"

    changed = client.put(
        "/v1/risk/rules/vel_1h", headers=officer, json={"params": {"window_seconds": 3600, "max_count": 30}}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2 and changed.json()["params"]["max_count"] == 30
    off = client.post("/v1/risk/rules/vel_1h/disable", headers=officer)
    assert off.status_code == 200 and off.json()["version"] == 3 and off.json()["enabled"] is False
    on = client.post("/v1/risk/rules/vel_1h/enable", headers=ADMIN)
    assert on.status_code == 200 and on.json()["version"] == 4 and on.json()["enabled"] is True

    history = client.get("/v1/risk/rules/vel_1h/versions", headers=regulator)
    assert history.status_code == 200
    versions = history.json()["versions"]
    assert [v["version"] for v in versions] == [1, 2, 3, 4]
    assert [v["enabled"] for v in versions] == [True, True, False, True]
    assert [v["params"]["max_count"] for v in versions] == [20, 30, 30, 30]
    assert versions[0]["created_by"] != "admin" and versions[3]["created_by"] == "admin"
    current = client.get("/v1/risk/rules", headers=regulator).json()["rules"]
    assert [(r["rule_id"], r["version"]) for r in current] == [("vel_1h", 4)]
    assert client.post("/v1/risk/rules", headers=officer, json=RULE).json()["code"] == "rule_exists"
    assert client.put("/v1/risk/rules/nope", headers=officer, json={"enabled": False}).json()["code"] == "unknown_rule"
    assert client.get("/v1/risk/rules/nope/versions", headers=regulator).status_code == 404


@pytest.mark.parametrize("role", ["customer", "regulator", "operator"])
def test_only_risk_officers_and_admins_change_rules(client, engine, role: str) -> None:  # type: ignore[no-untyped-def]
    officer = staff(client, "risk_officer")
    assert client.post("/v1/risk/rules", headers=officer, json=RULE).status_code == 201
    assert client.post("/v1/risk/blocklists/payees", headers=officer, json={"value": "m1"}).status_code == 201
    who = customer(client) if role == "customer" else staff(client, role)
    before = stored(engine)
    calls = [
        client.post("/v1/risk/rules", headers=who, json={**RULE, "rule_id": "other"}),
        client.put("/v1/risk/rules/vel_1h", headers=who, json={"enabled": False}),
        client.post("/v1/risk/rules/vel_1h/disable", headers=who),
        client.post("/v1/risk/rules/vel_1h/enable", headers=who),
        client.post("/v1/risk/blocklists/payees", headers=who, json={"value": "m2"}),
        client.delete("/v1/risk/blocklists/payees/m1", headers=who),
    ]
    assert [c.status_code for c in calls] == [403] * len(calls)
    assert {c.json()["code"] for c in calls} == {"forbidden"}
    assert stored(engine) == before
    reads = [client.get("/v1/risk/rules", headers=who), client.get("/v1/risk/decisions", headers=who)]
    assert [r.status_code for r in reads] == ([403, 403] if role == "customer" else [200, 200])
    assert client.get("/v1/risk/rules").status_code == 401


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**RULE, "kind": "teleport"}, "malformed_rule"),
        ({**RULE, "action": "maybe"}, "malformed_rule"),
        ({**RULE, "params": {"window_seconds": -1, "max_count": 3}}, "malformed_rule"),
        ({**RULE, "params": {"window_seconds": 60}}, "malformed_rule"),
        ({k: v for k, v in RULE.items() if k != "params"}, "malformed_rule"),
        (["not", "an", "object"], "malformed_rule"),
        ({**RULE, "params": {"window_seconds": 60, "max_count": 3, "feature": "nope"}}, "unknown_feature"),
        (
            {"rule_id": "s", "kind": "model_score", "action": "review", "params": {"weights": {"nope": 1.0}}},
            "unknown_feature",
        ),
    ],
)
def test_bad_rules_are_422_and_store_nothing(client, engine, body, code: str) -> None:  # type: ignore[no-untyped-def]
    officer = staff(client, "risk_officer")
    assert client.post("/v1/risk/rules", headers=officer, json=RULE).status_code == 201
    before = stored(engine)
    answer = client.post("/v1/risk/rules", headers=officer, json=body)
    assert answer.status_code == 422 and answer.json()["code"] == code, answer.text
    if isinstance(body, dict) and "params" in body:  # a change without params keeps the current ones
        change = {k: v for k, v in body.items() if k != "rule_id"}
        answer = client.put("/v1/risk/rules/vel_1h", headers=officer, json=change)
        assert answer.status_code == 422 and answer.json()["code"] == code, answer.text
    assert stored(engine) == before
    versions = client.get("/v1/risk/rules/vel_1h/versions", headers=officer).json()["versions"]
    assert [v["version"] for v in versions] == [1]


def test_blocklist_entries_and_decisions_log(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    officer, regulator = staff(client, "risk_officer"), staff(client, "regulator")
    assert transaction(engine, store.seed_defaults) == len(store.default_rules())
    assert transaction(engine, store.seed_defaults) == 0  # only into an empty table
    added = client.post("/v1/risk/blocklists/payees", headers=officer, json={"value": "mule-1"})
    assert added.status_code == 201 and added.json()["added"] is True
    assert client.post("/v1/risk/blocklists/payees", headers=officer, json={"value": "mule-1"}).status_code == 200
    assert client.post("/v1/risk/blocklists/payees", headers=officer, json={"value": "bad value!"}).status_code == 422
    entries = client.get("/v1/risk/blocklists/payees", headers=regulator).json()["entries"]
    assert [e["value"] for e in entries] == ["mule-1"]

    hook = FraudHook(engine, WindowState())
    at = time_source.now_micros()
    request = PaymentRequest("p2p", "payer-1", "mule-1", 12_345, 2, None, None, at)
    assessment = hook.assess(request)
    assert assessment.decision.outcome == Outcome.decline
    assert hook(request) == assessment.decision
    assert hook(PaymentRequest("p2p", "payer-1", "someone", 12_345, 2, None, None, at)) is None
    transaction(engine, lambda uow: hook.record(uow, request, assessment, "pay-1"))

    gone = client.delete("/v1/risk/blocklists/payees/mule-1", headers=officer)
    assert gone.status_code == 200
    assert client.delete("/v1/risk/blocklists/payees/mule-1", headers=officer).json()["code"] == "not_on_blocklist"
    assert hook.assess(request).decision.outcome == Outcome.approve  # reloaded after the change

    logged = client.get("/v1/risk/decisions", params={"payer_id": "payer-1"}, headers=regulator).json()["decisions"]
    assert len(logged) == 1 and logged[0]["outcome"] == "decline" and logged[0]["payment_ref"] == "pay-1"
    assert logged[0]["amount"] == "123.45" and logged[0]["rule_versions"]["blocked_payee"] == 1
    assert any(r.startswith("blocked_payee:") for r in logged[0]["reasons"])
    assert client.get("/v1/risk/decisions", params={"payer_id": "other"}, headers=regulator).json()["decisions"] == []
