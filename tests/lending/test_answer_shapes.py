"""Lending publishes its answers' shapes (issue 13, point 3): every lending operation's success answer in
`/openapi.json` names its model (products, statements, end of day, credit lines, draws, pay-later checkout
and funding partners were `Any` before), and real answers over HTTP — a product, a loan's statement, an
end of day, a credit line through its life, a draw, a funding partner and its payout — validate against
the published JSON schema, amounts and rates included."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from puhui.api.contract import spec

from .lending_world import day_over
from .test_joint_lending import JOINT
from .test_lending_http import ADMIN, ZHANG, _fund, client, login, make_staff, register

__all__ = ["client"]

SPEC = spec()

ANSWERS = {
    ("get", "/v1/lending/products", "200"): "LoanProduct[]",
    ("post", "/v1/lending/products", "201"): "LoanProduct",
    ("get", "/v1/lending/loans/{loan_id}/statement", "200"): "LoanStatement",
    ("get", "/v1/lending/offers", "200"): "Offer[]",
    ("post", "/v1/lending/eod", "200"): "LendingEodRun",
    ("post", "/v1/lending/lines", "201"): "CreditLine",
    ("get", "/v1/lending/lines/me", "200"): "CreditLine",
    ("get", "/v1/lending/lines/{line_id}", "200"): "CreditLine",
    ("post", "/v1/lending/lines/{line_id}/limit", "200"): "CreditLine",
    ("post", "/v1/lending/lines/{line_id}/freeze", "200"): "CreditLine",
    ("post", "/v1/lending/lines/{line_id}/unfreeze", "200"): "CreditLine",
    ("get", "/v1/lending/lines/{line_id}/draws", "200"): "CreditLineDraw[]",
    ("post", "/v1/lending/lines/{line_id}/draws", "201"): "CreditDraw",
    ("post", "/v1/lending/checkout/{qr_id}", "201"): "PayLaterCheckout",
    ("post", "/v1/lending/checkout/{qr_id}", "200"): "PayLaterCheckout",
    ("post", "/v1/lending/partners", "201"): "FundingPartner",
    ("get", "/v1/lending/partners/{partner_id}", "200"): "FundingPartner",
    ("post", "/v1/lending/partners/{partner_id}/products", "201"): "ProductFunding",
    ("post", "/v1/lending/partners/{partner_id}/payouts", "201"): "FundingPartner",
}


def published(method: str, path: str, status: str) -> dict[str, Any]:
    """The JSON schema the spec publishes for an operation's answer with `status`."""
    responses = SPEC["paths"][path][method]["responses"]
    assert status in responses, f"{method.upper()} {path} does not list {status}: {sorted(responses)}"
    return responses[status]["content"]["application/json"]["schema"]


def named(schema: dict[str, Any]) -> str:
    """`Model` for a $ref to a component, `Model[]` for a list of them, '' for an untyped answer."""
    if schema.get("type") == "array":
        return named(schema.get("items", {})) + "[]"
    return schema.get("$ref", "").removeprefix("#/components/schemas/")


@pytest.mark.parametrize(("method", "path", "status"), sorted(ANSWERS))
def test_each_lending_operation_names_its_answer(method, path, status):
    assert named(published(method, path, status)) == ANSWERS[(method, path, status)]


def test_rates_and_amounts_document_their_format():
    components = SPEC["components"]["schemas"]
    product = components["LoanProduct"]["properties"]
    assert product["min_amount"]["pattern"] == r"^-?[0-9]+\.[0-9]{2}$"
    assert product["annual_rate"]["pattern"] == product["platform_share"]["pattern"] == r"^[0-9]+(\.[0-9]+)?$"
    assert components["CreditLineDraw"]["properties"]["annualized_rate"]["pattern"] == r"^[0-9]+(\.[0-9]+)?$"
    assert components["LoanStatement"]["properties"]["as_of"]["format"] == "date"


def conforms(answer, method: str, path: str) -> dict:  # type: ignore[no-untyped-def]
    """The answer's body, after checking it against the schema the spec publishes for its status."""
    assert answer.status_code < 300, answer.text
    schema = {**published(method, path, str(answer.status_code)), "components": SPEC["components"]}
    errors = [f"{list(e.path)}: {e.message}" for e in Draft202012Validator(schema).iter_errors(answer.json())]
    assert not errors, (method, path, errors)
    return answer.json()


def test_real_answers_conform_to_the_published_shapes(client, engine, clock):
    operator = make_staff(client, "operator")

    def post(path: str, template: str, key: str, body: dict | None = None, headers: dict = operator) -> dict:
        answer = client.post(path, headers={**headers, "Idempotency-Key": key}, json=body)
        return conforms(answer, "post", template)

    def get(path: str, template: str, headers: dict = operator) -> dict:
        return conforms(client.get(path, headers=headers), "get", template)

    bank = client.post("/v1/partners", headers={**ADMIN, "Idempotency-Key": "bank"}, json={"name": "甲银行"})
    assert bank.status_code == 201, bank.text
    bank_id = bank.json()["id"]
    post("/v1/lending/partners", "/v1/lending/partners", "r1", {"partner_id": bank_id})
    product = post("/v1/lending/products", "/v1/lending/products", "p1", JOINT)
    assert (product["min_amount"], product["platform_share"]) == (JOINT["min_amount"], "0.3")
    assert [p["code"] for p in get("/v1/lending/products", "/v1/lending/products")] == ["joint-30"]
    funding = post(
        f"/v1/lending/partners/{bank_id}/products",
        "/v1/lending/partners/{partner_id}/products",
        "f1",
        {"product_code": "joint-30"},
    )
    assert (funding["platform_share"], funding["service_fee_rate"]) == ("0.3", "0")

    zhang = register(client, ZHANG)
    me = login(client, ZHANG)
    _fund(engine, clock, zhang["id"])
    applied = client.post(
        "/v1/lending/applications",
        headers={**me, "Idempotency-Key": "a1"},
        json={"product_code": "joint-30", "amount": "6000.00", "term": 6, "annual_income": "120000.00"},
    )
    offer = client.post(
        f"/v1/lending/applications/{applied.json()['id']}/offers", headers={**me, "Idempotency-Key": "o1"}
    )
    loan = client.post(f"/v1/lending/offers/{offer.json()['id']}/accept", headers={**me, "Idempotency-Key": "c1"})
    assert loan.status_code == 201, loan.text
    loan_id = loan.json()["id"]
    clock.advance(days=37)
    post("/v1/lending/eod", "/v1/lending/eod", "eod1", {"business_date": day_over(clock).isoformat()}, ADMIN)
    clock.advance(days=2)  # three days after the first run, once over: the two between are caught up
    day = day_over(clock).isoformat()
    ran = post("/v1/lending/eod", "/v1/lending/eod", "eod2", {"business_date": day}, ADMIN)
    assert ran["business_date"] == day and [d["caught_up"] for d in ran["caught_up"]] == [[], []], ran
    me = login(client, ZHANG)  # the session expired meanwhile
    statement = get(f"/v1/lending/loans/{loan_id}/statement", "/v1/lending/loans/{loan_id}/statement", me)
    assert (statement["loan_id"], statement["outstanding_principal"]) == (loan_id, "6000.00")
    [listed] = get("/v1/lending/offers", "/v1/lending/offers", me)
    assert (listed["id"], listed["status"], listed["loan_id"], listed["amount"]) == (
        offer.json()["id"],
        "accepted",
        loan_id,
        "6000.00",
    )
    repaid = client.post(f"/v1/lending/loans/{loan_id}/repayments", headers={**me, "Idempotency-Key": "rp1"}, json={})
    assert repaid.status_code == 201, repaid.text
    partner = get(f"/v1/lending/partners/{bank_id}", "/v1/lending/partners/{partner_id}")
    assert partner["payable"] != "0.00", partner
    paid = post(
        f"/v1/lending/partners/{bank_id}/payouts",
        "/v1/lending/partners/{partner_id}/payouts",
        "po1",
        {"amount": "0.01"},
    )
    assert paid["partner_id"] == bank_id

    line = post("/v1/lending/lines", "/v1/lending/lines", "l1", {"customer_id": zhang["id"], "limit": "2000.00"})
    assert (line["limit"], line["available"], line["status"]) == ("2000.00", "2000.00", "active")
    line_path = f"/v1/lending/lines/{line['id']}"
    post(f"{line_path}/limit", "/v1/lending/lines/{line_id}/limit", "l2", {"limit": "1500.00"})
    post(f"{line_path}/freeze", "/v1/lending/lines/{line_id}/freeze", "l3")
    assert post(f"{line_path}/unfreeze", "/v1/lending/lines/{line_id}/unfreeze", "l4")["status"] == "active"
    drawn = post(
        f"{line_path}/draws",
        "/v1/lending/lines/{line_id}/draws",
        "d1",
        {"amount": "600.00", "plan": "instalments", "periods": 3},
        me,
    )
    assert len(drawn["plan"]["schedule"]) == 3
    draws = get(f"{line_path}/draws", "/v1/lending/lines/{line_id}/draws", me)
    assert [(d["loan_id"], d["plan"], d["periods"]) for d in draws] == [(drawn["loan"]["id"], "instalments", 3)]
    mine = get("/v1/lending/lines/me", "/v1/lending/lines/me", me)
    assert (mine["id"], mine["outstanding"], mine["available"]) == (line["id"], "600.00", "900.00")
    assert get(line_path, "/v1/lending/lines/{line_id}", me) == mine
