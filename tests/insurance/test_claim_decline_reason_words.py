"""A blank decline reason over the API answered "String should match pattern '\\S'" (new-user pass): it now
answers 422 `claim_reason_required` saying a decline states its reason, on SQLite and PostgreSQL, and changes
nothing; the schema still states the rule (not empty, a non-blank character)."""

from __future__ import annotations

import pytest

from tests.identity.helpers import make_staff
from tests.insurance.test_claim_decision_words import _review
from tests.insurance.test_claims_http import claims_snapshot
from tests.insurance.test_insurance_http import (
    call,
    client,  # noqa: F401 - the fixture
)


@pytest.mark.parametrize("reason", ["", "   ", "\n\t "])
def test_a_blank_reason_is_refused_in_words(client, engine, clock, reason):  # type: ignore[no-untyped-def]
    _, no_docs, _ = _review(client, engine, clock)
    officer = make_staff(client, "risk_officer")
    before = claims_snapshot(engine)
    answer = call(client, f"/v1/insurance/claims/{no_docs['id']}/decline", officer, "blank", {"reason": reason})
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "claim_reason_required", problem
    assert "pattern" not in problem["detail"] and "reason" in problem["detail"]
    assert claims_snapshot(engine) == before


def test_the_schema_states_the_reason_is_not_blank(client):  # type: ignore[no-untyped-def]
    reason = client.get("/openapi.json").json()["components"]["schemas"]["DeclineIn"]["properties"]["reason"]
    assert (reason["minLength"], reason["maxLength"], reason["pattern"]) == (1, 1000, r"\S")
