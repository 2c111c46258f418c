"""A sign-up without consents, or with an empty list, answered the generic 422 `invalid_request`
("consents: Field required", "List should have at least 1 item"), which does not say which consent opens a
wallet (new-user pass). It now answers the `consent_required` problem naming `payments`, as a list lacking it
does and as the schema's description promises, and stores nothing; the schema still states the rule."""

from __future__ import annotations

import pytest

from .helpers import ZHANG, snapshot

WITHOUT = {k: v for k, v in ZHANG.items() if k != "consents"}


@pytest.mark.parametrize(
    "body", [pytest.param(WITHOUT, id="absent"), pytest.param({**WITHOUT, "consents": []}, id="empty")]
)
def test_no_consents_names_the_consent_needed(client, engine, body):
    before = snapshot(engine)
    answer = client.post("/v1/customers", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == "consent_required", problem
    assert problem["missing"] == ["payments"]
    assert "payments" in problem["detail"]
    assert snapshot(engine) == before


def test_the_schema_still_requires_a_list_holding_payments(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["RegisterIn"]
    assert "consents" in schema["required"]
    consents = schema["properties"]["consents"]
    assert consents["minItems"] == 1 and consents["contains"] == {"const": "payments"}
    assert "default" not in consents


def test_a_list_with_payments_still_opens_the_wallet(client):
    created = client.post("/v1/customers", json={**WITHOUT, "consents": ["payments"]})
    assert created.status_code == 201, created.text
