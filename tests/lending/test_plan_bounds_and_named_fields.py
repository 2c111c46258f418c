"""A new user's findings on lending over HTTP, on SQLite and PostgreSQL:

1. `GET /v1/lending/plans?amount=9999999999999999.99` quoted every plan (a total repayment of
   9999999999999999.99) although the line's products lend at most 200,000.00. The plans are a disclosure before a
   checkout or a draw (any caller, with or without a line), so they are bounded by the products that price them:
   outside their range is a 422 `amount_out_of_range`, as an application's amount is, with the range.
2. An application with `"annual_income": "-1"` was refused with "amount must be greater than zero": a refused
   amount in a lending request now names its own field, in the detail and in the problem's `field`.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from puhui.lending import catalog

from .test_checkout_http import client, customer, open_line, snapshot

__all__ = ["client"]

PRODUCT_MAX = catalog.PAY_LATER_PRODUCT["max_amount"]


def _problem(answer, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code, answer.json()
    return answer.json()


# -- 1. the plans are quoted only for what the products lend -------------------------------------------


@pytest.mark.parametrize("amount", ["9999999999999999.99", "200000.01"])
def test_plans_above_what_the_products_lend_are_refused(client, engine, clock, amount):
    assert catalog.INSTALMENT_PRODUCT["max_amount"] == PRODUCT_MAX == "200000.00"
    cid, me = customer(client, "13800138501", "501")
    open_line(client, cid, "5000.00")
    before = snapshot(engine)
    refused = _problem(client.get(f"/v1/lending/plans?amount={amount}", headers=me), "amount_out_of_range")
    assert (refused["min_amount"], refused["max_amount"]) == ("0.01", PRODUCT_MAX)
    assert PRODUCT_MAX in refused["detail"]
    assert snapshot(engine) == before


def test_plans_up_to_the_products_maximum_are_quoted_and_never_exceed_it(client, engine, clock):
    """The quote is an illustration before the draw: it is not bounded by the caller's line (a draw above the
    line's room is refused when it is made, 409 `line_limit_exceeded`), only by the products."""
    cid, me = customer(client, "13800138502", "502")
    open_line(client, cid, "5000.00")
    for amount in (PRODUCT_MAX, "6000.00"):  # the product's maximum; above the line's limit
        quoted = client.get(f"/v1/lending/plans?amount={amount}", headers=me)
        assert quoted.status_code == 200, quoted.text
        plans = quoted.json()
        assert [(p["plan"], p["periods"]) for p in plans] == [
            ("pay_later", 1),
            ("instalments", 3),
            ("instalments", 6),
            ("instalments", 12),
        ]
        for plan in plans:
            principal = sum(Decimal(i["principal"]) for i in plan["schedule"])
            assert principal == Decimal(amount) <= Decimal(PRODUCT_MAX)


# -- 2. a refused amount names its field ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "code", "says"),
    [
        ("annual_income", "-1", "invalid_input", "annual_income must be greater than zero"),
        ("annual_income", "0", "invalid_input", "annual_income must be greater than zero"),
        ("annual_income", "1.001", "invalid_amount", "annual_income"),
        ("annual_income", "1e5", "invalid_amount", "annual_income"),
        ("amount", "-1", "invalid_input", "amount must be greater than zero"),
        ("amount", "3000.001", "invalid_amount", "amount"),
    ],
)
def test_a_refused_application_amount_names_its_field(client, engine, clock, field, value, code, says):
    cid, me = customer(client, "13800138503", "503")
    body = {"product_code": "sim-cash-6", "amount": "3000.00", "term": 6, "annual_income": "120000.00", field: value}
    before = snapshot(engine)
    answer = client.post("/v1/lending/applications", headers={**me, "Idempotency-Key": "a1"}, json=body)
    refused = _problem(answer, code)
    assert refused["field"] == field
    assert refused["detail"].startswith(says), refused
    other = "amount" if field == "annual_income" else "annual_income"
    assert not refused["detail"].startswith(other), refused
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/lending/lines", {"limit": "5000.00", "annual_income": "-1"}, "annual_income"),
        ("/v1/lending/lines", {"limit": "0", "annual_income": "120000.00"}, "limit"),
    ],
)
def test_a_refused_line_amount_names_its_field(client, engine, clock, path, body, field):
    cid, _ = customer(client, "13800138504", "504")
    before = snapshot(engine)
    answer = client.post(
        path,
        headers={"Authorization": "Bearer test-admin-token", "Idempotency-Key": "l1"},
        json={"customer_id": cid, **body},
    )
    refused = _problem(answer, "invalid_input")
    assert refused["field"] == field and refused["detail"] == f"{field} must be greater than zero"
    assert snapshot(engine) == before
