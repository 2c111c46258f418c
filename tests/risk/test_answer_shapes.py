"""The risk API publishes the shape of every answer (issue 13, typed responses), and what it sends keeps
to that shape and is what the services built: no field added, dropped or turned null by the models."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from fastapi.testclient import TestClient

from puhui import clock as clock_module
from puhui.app import create_app
from puhui.db import reading, transaction
from puhui.risk import features as F
from puhui.risk.features_api import AS_OF_PATTERN, MalformedTime, parse_as_of
from puhui.risk.fraud import store
from puhui.risk.scoring import registry, service
from puhui.settings import Settings
from tests.identity.helpers import ADMIN, ADMIN_TOKEN, INDEX_KEY, JWT_SECRET, K1, ZHANG, register
from tests.risk.test_scoring_registry import applicant, small  # noqa: F401  (small is a fixture)

pytestmark = pytest.mark.filterwarnings("ignore:Setting an item of incompatible dtype")
WRITE = {**ADMIN, "Idempotency-Key": "shape-1"}
VELOCITY = {  # no max_amount: the stored rule leaves it out, and so must every answer
    "rule_id": "vel_1h",
    "kind": "velocity",
    "params": {"window_seconds": 3600, "max_count": 20},
    "action": "review",
    "description": "more than 20 payments in an hour",
}


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret=JWT_SECRET,
        jwt_ttl_seconds=900,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def keyed(key: str) -> dict:
    return {**ADMIN, "Idempotency-Key": key}


def conforms(client: TestClient, method: str, path: str, answer) -> dict:  # type: ignore[no-untyped-def]
    """The answer's body, checked against the schema the spec publishes for its operation and status."""
    spec = client.app.openapi()
    response = spec["paths"][path][method]["responses"][str(answer.status_code)]
    schema = response["content"]["application/json"]["schema"]
    jsonschema.validate(answer.json(), {**schema, "components": spec["components"]})
    return answer.json()


def _typed(schema: dict) -> bool:
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _typed(schema.get("items", {}))
    if "anyOf" in schema:
        return all(_typed(s) for s in schema["anyOf"])
    return "properties" in schema


def test_every_risk_operation_publishes_its_answer(client) -> None:
    spec = client.app.openapi()
    untyped = [
        f"{method.upper()} {path} {status}"
        for path, item in spec["paths"].items()
        if path.startswith("/v1/risk/")
        for method, operation in item.items()
        for status, response in operation["responses"].items()
        if status.startswith("2") and not _typed(response["content"]["application/json"]["schema"])
    ]
    assert untyped == []
    assert len([p for p in spec["paths"] if p.startswith("/v1/risk/")]) >= 14


def test_rules_block_lists_and_decisions_keep_their_wire_shape(client, engine) -> None:
    created = client.post("/v1/risk/rules", headers=keyed("r1"), json=VELOCITY)
    assert created.status_code == 201, created.text
    rule = conforms(client, "post", "/v1/risk/rules", created)
    assert rule == {**VELOCITY, "version": 1, "enabled": True}
    listed = conforms(client, "get", "/v1/risk/rules", client.get("/v1/risk/rules", headers=ADMIN))
    with reading(engine) as connection:
        assert listed == {"rules": json.loads(json.dumps([r.as_json() for r in store.current_rules(connection)]))}
    assert next(r for r in listed["rules"] if r["rule_id"] == "vel_1h")["params"] == VELOCITY["params"]

    switched = client.post("/v1/risk/rules/vel_1h/disable", headers=keyed("r2"))
    assert conforms(client, "post", "/v1/risk/rules/{rule_id}/disable", switched)["enabled"] is False
    changed = client.put(
        "/v1/risk/rules/vel_1h", headers=keyed("r3"), json={"params": {"window_seconds": 60, "max_amount": "500"}}
    )
    assert conforms(client, "put", "/v1/risk/rules/{rule_id}", changed)["params"] == {
        "window_seconds": 60,
        "max_amount": "500",
    }
    history = client.get("/v1/risk/rules/vel_1h/versions", headers=ADMIN)
    versions = conforms(client, "get", "/v1/risk/rules/{rule_id}/versions", history)["versions"]
    assert [v["version"] for v in versions] == [1, 2, 3] and "max_amount" not in versions[0]["params"]
    with reading(engine) as connection:
        assert versions == store.rule_history(connection, "vel_1h")

    added = client.post("/v1/risk/blocklists/payees", headers=keyed("b1"), json={"value": "cus_mule"})
    assert conforms(client, "post", "/v1/risk/blocklists/{name}", added) == {
        "list": "payees",
        "value": "cus_mule",
        "added": True,
    }
    entries = conforms(
        client, "get", "/v1/risk/blocklists/{name}", client.get("/v1/risk/blocklists/payees", headers=ADMIN)
    )
    assert entries["list"] == "payees" and [e["value"] for e in entries["entries"]] == ["cus_mule"]
    assert isinstance(entries["entries"][0]["added_at"], int)
    removed = client.delete("/v1/risk/blocklists/payees/cus_mule", headers=keyed("b2"))
    assert conforms(client, "delete", "/v1/risk/blocklists/{name}/{value}", removed) == {
        "list": "payees",
        "value": "cus_mule",
        "removed": True,
    }
    assert conforms(client, "get", "/v1/risk/decisions", client.get("/v1/risk/decisions", headers=ADMIN)) == {
        "decisions": []
    }


def test_a_replayed_rule_is_the_answer_first_sent(client) -> None:
    first = client.post("/v1/risk/rules", headers=keyed("same"), json=VELOCITY)
    again = client.post("/v1/risk/rules", headers=keyed("same"), json=VELOCITY)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert "max_amount" not in again.json()["params"]


def test_a_profile_publishes_each_feature_with_its_type(client) -> None:
    spec = client.app.openapi()
    fields = spec["components"]["schemas"]["ProfileFeatures"]
    assert list(fields["properties"]) == list(F.FEATURES) and set(fields["required"]) == set(F.FEATURES)
    amount = fields["properties"]["payments_amount_30d"]
    assert amount["type"] == "string" and amount["pattern"] == r"^-?[0-9]+\.[0-9]{2}$"
    assert fields["properties"]["payments_count_30d"]["type"] == "integer"
    share = fields["properties"]["night_payment_share_30d"]["anyOf"]
    assert {"type": "null"} in share and any(s.get("pattern") == r"^[0-9]+\.[0-9]{4}$" for s in share)

    customer = register(client, ZHANG)["id"]
    answer = client.get(f"/v1/risk/profiles/{customer}", headers=ADMIN)
    profile = conforms(client, "get", "/v1/risk/profiles/{customer_id}", answer)
    assert profile["features"]["payments_amount_30d"] == "0.00" and profile["features"]["kyc_tier"] is None
    registry_answer = client.get("/v1/risk/features", headers=ADMIN)
    assert conforms(client, "get", "/v1/risk/features", registry_answer)[0]["name"] == "tenure_days"


def test_a_trained_model_its_card_and_a_score_keep_their_wire_shape(client, engine, small) -> None:  # noqa: F811
    trained = service.train(engine, small, "scorecard", folds=2)
    model_id = trained.record.id
    read = client.get(f"/v1/risk/models/{model_id}", headers=ADMIN)
    card = conforms(client, "get", "/v1/risk/models/{model_id}", read)
    assert card == json.loads(json.dumps(trained.record.as_json(with_card=True)))
    assert card["card"]["scorecard"] and card["card"]["validation"]["folds"] == 2

    promoted = client.post(f"/v1/risk/models/{model_id}/promote", headers=keyed("m1"))
    assert conforms(client, "post", "/v1/risk/models/{model_id}/promote", promoted)["status"] == "champion"
    models = conforms(client, "get", "/v1/risk/models", client.get("/v1/risk/models", headers=ADMIN))
    with reading(engine) as connection:
        assert models == {"models": json.loads(json.dumps([r.as_json() for r in registry.list_models(connection)]))}

    scored = client.post("/v1/risk/scores", headers=ADMIN, json={"features": applicant(small), "name": "credit"})
    body = conforms(client, "post", "/v1/risk/scores", scored)
    with reading(engine) as connection:
        assert body == json.loads(json.dumps(service.score(connection, applicant(small), name="credit")))


def test_a_model_registered_with_a_bare_card_reads_without_nulls(client, engine, small) -> None:  # noqa: F811
    from puhui.risk.scoring.scorecard import fit_scorecard

    model = fit_scorecard(small.X, small.y, small.schema)
    record = transaction(
        engine,
        lambda uow: registry.register(uow, "bare", model, {"auc": {"mean": 0.7, "std": 0.01}}, {"kind": "scorecard"}),
    )
    read = conforms(
        client, "get", "/v1/risk/models/{model_id}", client.get(f"/v1/risk/models/{record.id}", headers=ADMIN)
    )
    assert read["card"] == {"kind": "scorecard", "name": "bare", "version": 1}
    assert read["metrics"] == {"auc": {"mean": 0.7, "std": 0.01}}


def test_as_of_publishes_the_forms_it_takes(client) -> None:
    """The spec's pattern for `as_of` is what the server takes: a schema-valid value is never refused for
    its form, and one outside it is a 422 `malformed_as_of` (a day off the calendar is refused too)."""
    spec = client.app.openapi()
    operation = spec["paths"]["/v1/risk/profiles/{customer_id}"]["get"]
    published = next(p for p in operation["parameters"] if p["name"] == "as_of")["schema"]
    pattern = published.get("pattern") or next(s["pattern"] for s in published["anyOf"] if "pattern" in s)
    assert pattern == AS_OF_PATTERN
    for taken in ("2026-01-05", "2026-01-05T08:00+08:00", "2026-01-05T00:00:00.5Z", "0", "1767196800000000"):
        assert re.match(pattern, taken) and parse_as_of(taken) >= 0
    last = clock_module.from_micros(parse_as_of("9999-12-31")).astimezone(clock_module.CHINA)
    assert last.isoformat() == "9999-12-31T23:59:59.999999+08:00"  # the calendar's last day ends, it is no error
    for refused in (" 2026-01-05", "2026-01-05T10:00:00", "0000-01-01", "2026-02-30", "1" * 17):
        with pytest.raises(MalformedTime):
            parse_as_of(refused)
    customer = register(client, ZHANG)["id"]
    answer = client.get(f"/v1/risk/profiles/{customer}", headers=ADMIN, params={"as_of": " 2026-01-05"})
    assert answer.status_code == 422 and answer.json()["code"] == "malformed_as_of"
