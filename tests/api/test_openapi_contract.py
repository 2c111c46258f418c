"""The published contract (issue 13, point 3): `/openapi.json` listed no error answers but FastAPI's 422 (as
`application/json` with `HTTPValidationError`, though every error is an `application/problem+json` problem),
and no mutation documented `Idempotency-Key`. Now every operation lists the problems it can answer, every
keyed mutation its `Idempotency-Key` and `Idempotent-Replayed`, and `docs/openapi.json` is that document.
Real calls answer statuses and media types the spec lists for their operation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from puhui.api import openapi
from puhui.api.contract import PUBLISHED, spec, text
from puhui.api.mutations import KEY_MAX_LENGTH
from puhui.api.problems import MEDIA_TYPE
from puhui.app import create_app
from puhui.demo import CUSTOMERS
from puhui.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "contract-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MUTATING = {"post", "put", "patch", "delete"}
SPEC = spec()
OPERATIONS = [(method, path, operation) for path, item in SPEC["paths"].items() for method, operation in item.items()]


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    settings = Settings(
        admin_token=TOKEN,
        pii_keys="k1:" + "A" * 43 + "=",
        pii_index_key="B" * 43 + "=",
        jwt_secret="j" * 48,
        auth_rate_per_minute=3,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def listed(answer, method: str, path: str) -> dict:  # type: ignore[no-untyped-def]
    """Assert the spec lists the answer's status for the operation, with the answer's media type."""
    responses = SPEC["paths"][path][method]["responses"]
    status = str(answer.status_code)
    assert status in responses, f"{method.upper()} {path} answered {status}; the spec lists {sorted(responses)}"
    media_type = answer.headers["content-type"].split(";")[0]
    assert media_type in responses[status].get("content", {}), (status, media_type, responses[status])
    return responses[status]


# -- the published file ------------------------------------------------------------------------------------


def test_docs_openapi_json_is_the_apps_spec():
    published = (ROOT / PUBLISHED).read_text(encoding="utf-8")
    if published != text(SPEC):
        stale = json.loads(published)
        changed = sorted(
            f"{m.upper()} {p}"
            for p in set(SPEC["paths"]) | set(stale["paths"])
            for m in set(SPEC["paths"].get(p, {})) | set(stale["paths"].get(p, {}))
            if SPEC["paths"].get(p, {}).get(m) != stale["paths"].get(p, {}).get(m)
        )
        pytest.fail(
            f"{PUBLISHED} is not the app's spec ({len(changed)} operations differ, e.g. {changed[:5]}; "
            f"components differ: {SPEC.get('components') != stale.get('components')}): "
            f"run `puhui openapi --out {PUBLISHED}`"
        )


def test_the_spec_is_the_same_every_time_it_is_built(monkeypatch):
    monkeypatch.setenv("PUHUI_SANDBOX", "true")  # the environment does not reach the published document
    monkeypatch.setenv("PUHUI_MAX_BODY_BYTES", "2048")
    assert text(spec()) == text(SPEC)
    assert "POST /v1/sandbox/clock" in {f"{m.upper()} {p}" for m, p, _ in OPERATIONS}  # sandbox routes included


# -- errors are problems -------------------------------------------------------------------------------------


def test_no_error_is_documented_as_plain_json():
    assert "HTTPValidationError" not in json.dumps(SPEC)
    for method, path, operation in OPERATIONS:
        for status, answer in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert answer["content"] == {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}, (
                    method,
                    path,
                    status,
                )


def test_every_operation_lists_the_problems_it_can_answer():
    for method, path, operation in OPERATIONS:
        statuses = set(operation["responses"])
        assert {"413", "422", "500"} <= statuses, (method, path)
        if "requestBody" in operation:
            assert {"400", "404"} <= statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
        if operation.get("security"):  # the bearer token: 401 without it, 403 for the wrong role
            assert {"401", "403"} <= statuses, (method, path)


def test_the_problem_schema_names_the_members_every_problem_has():
    problem = SPEC["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "code"}
    assert {"detail", "instance", "request_id", "errors", "retry_after_seconds"} <= set(problem["properties"])
    assert problem["additionalProperties"] is True


def test_operations_behind_credentials_are_found_through_their_dependencies():
    wallet = SPEC["paths"]["/v1/wallets/me"]["get"]["responses"]
    health = SPEC["paths"]["/health"]["get"]["responses"]
    register = SPEC["paths"]["/v1/customers"]["post"]["responses"]  # optional credentials: a bad token is a 401
    assert {"401", "403"} <= set(wallet) and {"401", "403"} <= set(register)
    assert not {"401", "403"} & set(health)


def test_log_in_sign_up_and_password_checks_can_answer_429_with_retry_after():
    for path in ("/v1/customers/login", "/v1/customers", "/v1/qr-codes/{qr_id}/pay"):
        answer = SPEC["paths"][path]["post"]["responses"]["429"]
        assert "Retry-After" in answer["headers"], path
    assert "429" not in SPEC["paths"]["/v1/transfers/p2p"]["post"]["responses"]


# -- idempotency ---------------------------------------------------------------------------------------------


def test_every_mutation_documents_idempotency_key_or_says_it_takes_none():
    unkeyed = set()
    for method, path, operation in OPERATIONS:
        if method not in MUTATING:
            continue
        keys = [p for p in operation.get("parameters", []) if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        if not keys:
            assert openapi.NOT_KEYED in operation["description"], (method, path)
            unkeyed.add(f"{method.upper()} {path}")
            continue
        assert keys[0]["schema"] == {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH}
        assert not keys[0]["required"] and "Idempotent-Replayed: true" in keys[0]["description"]
        for status, answer in operation["responses"].items():
            if status.startswith("2"):
                assert "Idempotent-Replayed" in answer["headers"], (method, path, status)
    # every log-in mints a new token; quotes, scores and advice compute an answer and move nothing
    # (the robo-advisor's subscriptions, once imported under another name, were missed and left here)
    assert unkeyed == {
        "POST /v1/customers/login",
        "POST /v1/insurance/quotes",
        "POST /v1/insurance/return-shipping/quote",
        "POST /v1/risk/customers/{customer_id}/score",
        "POST /v1/risk/scores",
        "POST /v1/wealth/advice",
    }


def test_only_the_group_committed_payments_list_the_writers_503():
    for path in ("/v1/qr-codes/{qr_id}/pay", "/v1/transfers/p2p"):
        assert "503" in SPEC["paths"][path]["post"]["responses"], path
    assert "503" not in SPEC["paths"]["/v1/merchants/{merchant_id}/qr-codes"]["post"]["responses"]
    assert "503" not in SPEC["paths"]["/v1/ledger/transfers"]["post"]["responses"]


def test_a_mutation_lists_the_other_successes_its_outcomes_name():
    p2p = SPEC["paths"]["/v1/transfers/p2p"]["post"]["responses"]
    assert {"200", "201", "202"} <= set(p2p)  # paid, held, or the same client id again
    assert p2p["200"]["content"]["application/json"]["schema"] == {
        "anyOf": [{"$ref": "#/components/schemas/Payment"}, {"$ref": "#/components/schemas/HeldPayment"}]
    }
    assert "207" in SPEC["paths"]["/v1/ledger/transfers"]["post"]["responses"]  # part of a batch applied


# -- real answers are in the spec ----------------------------------------------------------------------------


def test_a_401_is_listed_as_a_problem(client):
    answer = client.get("/v1/wallets/me")
    assert answer.status_code == 401
    listed(answer, "get", "/v1/wallets/me")


def test_a_404_is_listed_as_a_problem(client):
    answer = client.get("/v1/customers/c_nobody", headers=AUTH)
    assert answer.status_code == 404
    listed(answer, "get", "/v1/customers/{customer_id}")


def test_a_409_and_its_replay_are_listed(client):
    account = {"id": "w.contract", "ledger": "CNY", "code": "customer_wallet", "owner_id": "someone"}
    created = client.post("/v1/ledger/accounts", headers={**AUTH, "Idempotency-Key": "open-1"}, json=account)
    assert created.status_code == 201, created.text
    assert "Idempotent-Replayed" in listed(created, "post", "/v1/ledger/accounts")["headers"]
    replayed = client.post("/v1/ledger/accounts", headers={**AUTH, "Idempotency-Key": "open-1"}, json=account)
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    again = client.post("/v1/ledger/accounts", headers=AUTH, json=account)  # the same id, no key: already there
    assert again.status_code == 200, again.text
    listed(again, "post", "/v1/ledger/accounts")
    other = client.post("/v1/ledger/accounts", headers=AUTH, json={**account, "owner_id": "another"})
    assert other.status_code == 409 and other.json()["code"].startswith("exists"), other.text
    listed(other, "post", "/v1/ledger/accounts")


def test_a_422_and_a_reused_or_overlong_key_are_listed(client):
    invalid = client.post("/v1/customers", json={"name": "x"})
    assert invalid.status_code == 422 and invalid.json()["code"] == "invalid_request"
    listed(invalid, "post", "/v1/customers")
    entry = "/v1/risk/blocklists/{name}"
    first = client.post(
        "/v1/risk/blocklists/devices", headers={**AUTH, "Idempotency-Key": "block-1"}, json={"value": "d1"}
    )
    assert first.status_code == 201, first.text
    reused = client.post(
        "/v1/risk/blocklists/devices", headers={**AUTH, "Idempotency-Key": "block-1"}, json={"value": "d2"}
    )
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    listed(reused, "post", entry)
    too_long = {**AUTH, "Idempotency-Key": "k" * (KEY_MAX_LENGTH + 1)}
    overlong = client.post("/v1/risk/blocklists/devices", headers=too_long, json={"value": "d3"})
    assert overlong.status_code == 422 and overlong.json()["code"] == "invalid_idempotency_key"
    already = client.post("/v1/risk/blocklists/devices", headers=AUTH, json={"value": "d1"})
    assert already.status_code == 200 and already.json()["added"] is False  # 201 declared; 200 listed too
    listed(already, "post", entry)


def test_a_log_in_is_not_replayed_and_a_flood_is_a_listed_429(client):
    name, id_number, phone, _ = CUSTOMERS[0]
    made = client.post(
        "/v1/customers",
        json={
            "name": name,
            "id_number": id_number,
            "phone": phone,
            "password": "correct horse battery",
            "consents": ["payments"],
        },
    )
    assert made.status_code == 201, made.text
    login = {"phone": phone, "password": "correct horse battery"}
    first, second = (
        client.post("/v1/customers/login", headers={"Idempotency-Key": "same"}, json=login) for _ in range(2)
    )
    assert first.status_code == second.status_code == 200, second.text
    assert first.json()["token"] != second.json()["token"]  # as the spec says: no key, a new token each time
    assert "Idempotent-Replayed" not in second.headers
    flood = client.post("/v1/customers/login", json=login)  # three calls a minute from one address
    assert flood.status_code == 429 and int(flood.headers["Retry-After"]) >= 1, flood.text
    assert "Retry-After" in listed(flood, "post", "/v1/customers/login")["headers"]
