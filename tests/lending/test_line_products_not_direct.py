"""The credit line's own products (pay later `line-pay-later`, instalments `line-instalments`) are drawn only
through the line, at checkout or by a draw, on SQLite and PostgreSQL.

A new user on the demo applied for `line-instalments` directly and was disbursed 3,000.00 as a cash loan with
no interest and no fee, the line untouched, where the same plan at checkout costs its instalment fee. Now a
direct application of a line product is 422 `product_not_for_direct_application`, saying how it is used, and
changes nothing (no application, no money, no event), the refusal audited; an offer or an acceptance of one
(an application stored before the rule) is refused the same way. `GET /v1/lending/products` lists the products
applied for directly first, each product marked with its `channel`, so the README's `pick 0.code` is a cash
loan; checkout still draws the line with its fees, and a cash product still applies, offers and accepts.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from puhui import clock as puhui_clock
from puhui.db import reading, transaction
from puhui.db.tables import audit_log
from puhui.lending import catalog, service
from puhui.lending.errors import ProductNotForDirectApplication
from puhui.lending.tables import loan_applications, loan_offers

from .lending_world import MONTHLY
from .test_checkout_http import (
    ADMIN,
    balance,
    books_clean,
    client,
    customer,
    fund,
    merchant,
    open_line,
    qr,
    snapshot,
)

__all__ = ["client"]

LINE_CODES = ("line-instalments", "line-pay-later")
CASH = {**MONTHLY, "code": "sim-cash-12"}  # as the demo's `sim-cash-6`: its code sorts after the line's "line-…"


def _created(answer) -> dict:
    assert answer.status_code == 201, answer.text
    return answer.json()


def _world(client, engine) -> dict:
    """The demo's situation: a cash product, a verified customer with a credit line and money, and one pay-later
    checkout in 3 instalments made (so the line's products are stored, as after the new user's first checkout)."""
    _created(client.post("/v1/lending/products", headers={**ADMIN, "Idempotency-Key": "p1"}, json=CASH))
    cid, me = customer(client, "13800138301", "301")
    fund(engine, cid, 1_000_00)
    line_id = open_line(client, cid, "10000.00")
    merchant_id, shop = merchant(client)
    qr_id = qr(client, merchant_id, shop, "1200.00")
    paid = _created(
        client.post(
            f"/v1/lending/checkout/{qr_id}",
            headers={**me, "Idempotency-Key": "co-1"},
            json={
                "plan": "instalments",
                "periods": 3,
                "verification": "two_factors",
                "password": "correct horse battery",
            },
        )
    )
    return {"cid": cid, "me": me, "line": line_id, "merchant": merchant_id, "checkout": paid}


def _audited(engine, principal: str, action: str) -> list[tuple[str | None, int, str | None]]:
    with reading(engine) as connection:
        rows = connection.execute(
            select(audit_log.c.target, audit_log.c.status_code, audit_log.c.detail)
            .where(audit_log.c.principal == principal, audit_log.c.action == action)
            .order_by(audit_log.c.seq)
        ).all()
    return [(t, s, json.loads(d).get("error") if d else None) for t, s, d in rows]


def test_a_line_product_applied_for_directly_is_refused_and_nothing_changes(client, engine, clock):
    w = _world(client, engine)
    me = w["me"]
    line_before = client.get(f"/v1/lending/lines/{w['line']}", headers=me).json()
    wallet_before = balance(engine, f"wallet.{w['cid']}")
    before = snapshot(engine)
    for n, code in enumerate(LINE_CODES):
        body = {"product_code": code, "amount": "3000.00", "term": 6 if code == "line-instalments" else 1}
        refused = client.post(
            "/v1/lending/applications", headers={**me, "Idempotency-Key": f"direct-{n}"}, json={**body}
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert (problem["code"], problem["product_code"], problem["channel"]) == (
            "product_not_for_direct_application",
            code,
            "credit_line",
        )
        assert "credit line" in problem["detail"] and "/v1/lending/checkout/" in problem["detail"]
        # with the income declared too: still refused, nothing is stored
        again = client.post(
            "/v1/lending/applications",
            headers={**me, "Idempotency-Key": f"direct-income-{n}"},
            json={**body, "annual_income": "120000.00"},
        )
        assert (again.status_code, again.json()["code"]) == (422, "product_not_for_direct_application")
    assert snapshot(engine) == before  # no application, offer, loan, transfer or event
    assert balance(engine, f"wallet.{w['cid']}") == wallet_before
    assert client.get(f"/v1/lending/lines/{w['line']}", headers=me).json() == line_before
    assert _audited(engine, w["cid"], "lending.apply") == [
        (code, 422, "product_not_for_direct_application") for code in LINE_CODES for _ in range(2)
    ]
    books_clean(engine)


def test_the_service_refuses_a_line_product_before_it_is_stored(client, engine, clock):
    """`service.apply` (what the API, the simulator and the CLI call) holds the rule: before any checkout stored
    the line's products, an application of one is the same 422, not a 404 of an unknown product."""
    cid, _ = customer(client, "13800138302", "302")
    before = snapshot(engine)
    for code in LINE_CODES:
        with pytest.raises(ProductNotForDirectApplication) as raised:
            transaction(engine, lambda uow, code=code: service.apply(uow, cid, code, 300_000, 3, 12_000_000))
        assert raised.value.status == 422 and raised.value.extra["channel"] == "credit_line"
    assert snapshot(engine) == before


def test_an_application_of_a_line_product_stored_before_the_rule_is_never_offered_nor_disbursed(client, engine, clock):
    """Rows written before the rule (an approved application, an open offer) make no cash loan: the offer and
    the acceptance answer 422 `product_not_for_direct_application` and nothing changes."""
    w = _world(client, engine)
    me, now = w["me"], puhui_clock.now_micros()
    application = {
        "id": "la_old000000000000000000001",
        "customer_id": w["cid"],
        "product_code": "line-instalments",
        "amount": 300_000,
        "term": 6,
        "annual_income": 12_000_000,
        "decision": "approved",
        "grade": None,
        "credit_limit": None,
        "reasons": "[]",
        "created_at": now,
    }
    offer = {
        "id": "lo_old000000000000000000001",
        "application_id": application["id"],
        "customer_id": w["cid"],
        "nominal_rate": "0",
        "annualized_rate": "0",
        "total_interest": 0,
        "total_fees": 0,
        "schedule": "[]",
        "status": "open",
        "loan_id": None,
        "created_at": now,
    }
    transaction(engine, lambda uow: uow.execute(loan_applications.insert().values(**application)))
    transaction(engine, lambda uow: uow.execute(loan_offers.insert().values(**offer)))
    before = snapshot(engine)
    offered = client.post(
        f"/v1/lending/applications/{application['id']}/offers", headers={**me, "Idempotency-Key": "o"}
    )
    accepted = client.post(f"/v1/lending/offers/{offer['id']}/accept", headers={**me, "Idempotency-Key": "c"})
    for answer in (offered, accepted):
        assert (answer.status_code, answer.json()["code"]) == (422, "product_not_for_direct_application"), answer.text
    assert snapshot(engine) == before
    books_clean(engine)


def test_the_listing_puts_what_is_applied_for_directly_first_and_marks_each_channel(client, engine, clock):
    w = _world(client, engine)
    listed = client.get("/v1/lending/products", headers=w["me"])
    assert listed.status_code == 200, listed.text
    assert [(p["code"], p["channel"]) for p in listed.json()] == [
        ("sim-cash-12", "direct"),
        ("line-instalments", "credit_line"),
        ("line-pay-later", "credit_line"),
    ]  # `pick 0.code` (the README) is the cash loan, though "line-…" sorts before its code
    direct = client.get("/v1/lending/products?channel=direct", headers=w["me"]).json()
    assert [p["code"] for p in direct] == ["sim-cash-12"]
    line = client.get("/v1/lending/products?channel=credit_line", headers=w["me"]).json()
    assert [p["code"] for p in line] == ["line-instalments", "line-pay-later"]
    assert client.get("/v1/lending/products?channel=other", headers=w["me"]).status_code == 422
    # direct products among themselves by code, before the line's
    _created(client.post("/v1/lending/products", headers={**ADMIN, "Idempotency-Key": "p2"}, json=MONTHLY))
    codes = [p["code"] for p in client.get("/v1/lending/products", headers=w["me"]).json()]
    assert codes == ["cash-12", "sim-cash-12", "line-instalments", "line-pay-later"]
    with reading(engine) as connection:
        assert [p["code"] for p in service.list_products(connection, catalog.Channel.direct)] == codes[:2]


def test_a_lines_products_are_listed_once_a_line_is_open_before_any_draw(client, engine, clock):
    cid, me = customer(client, "13800138302", "302")
    assert client.get("/v1/lending/products?channel=credit_line", headers=me).json() == []
    open_line(client, cid, "10000.00")
    line = client.get("/v1/lending/products?channel=credit_line", headers=me).json()
    assert [p["code"] for p in line] == ["line-instalments", "line-pay-later"]


def test_the_openapi_documents_the_channel(client):
    spec = client.get("/openapi.json").json()
    product = spec["components"]["schemas"]["LoanProduct"]
    assert "channel" in product["required"]
    assert product["properties"]["channel"]["enum"] == ["direct", "credit_line"]
    listing = spec["paths"]["/v1/lending/products"]["get"]
    assert [p["name"] for p in listing["parameters"]] == ["channel"]
    assert "product_not_for_direct_application" in spec["paths"]["/v1/lending/applications"]["post"]["description"]


def test_a_line_products_code_is_not_taken_by_another_product(client, engine, clock):
    """An operator's product under a line product's code (a cash loan the line would then draw on) is refused;
    the line's own terms again are the product as it is."""
    taken = client.post(
        "/v1/lending/products",
        headers={**ADMIN, "Idempotency-Key": "p-line"},
        json={**MONTHLY, "code": "line-instalments"},
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "loan_product_exists"), taken.text
    same = client.post(
        "/v1/lending/products", headers={**ADMIN, "Idempotency-Key": "p-line-2"}, json=catalog.INSTALMENT_PRODUCT
    )
    assert same.status_code == 201 and same.json()["channel"] == "credit_line", same.text


def test_checkout_still_draws_the_line_with_its_fees(client, engine, clock):
    w = _world(client, engine)
    paid = w["checkout"]
    assert paid["loan"]["product_code"] == "line-instalments"
    assert paid["plan"]["total_fees"] == "27.36"  # 0.76% of 1,200.00 a period over 3 instalments
    assert paid["plan"]["annualized_rate"] != "0" and float(paid["plan"]["annualized_rate"]) > 0.1
    line = client.get(f"/v1/lending/lines/{w['line']}", headers=w["me"]).json()
    assert (line["outstanding"], line["available"]) == ("1200.00", "8800.00")
    drawn = _created(
        client.post(
            f"/v1/lending/lines/{w['line']}/draws",
            headers={**w["me"], "Idempotency-Key": "d1"},
            json={"amount": "300.00", "plan": "instalments", "periods": 6},
        )
    )
    assert drawn["loan"]["product_code"] == "line-instalments" and drawn["plan"]["total_fees"] == "13.50"
    line = client.get(f"/v1/lending/lines/{w['line']}", headers=w["me"]).json()
    assert line["available"] == "8500.00"
    books_clean(engine)


def test_the_first_listed_product_applies_offers_and_accepts_as_the_readme_does(client, engine, clock):
    w = _world(client, engine)
    me = w["me"]
    code = client.get("/v1/lending/products", headers=me).json()[0]["code"]
    assert code == "sim-cash-12"
    body = {"product_code": code, "amount": "3000.00", "term": 6, "annual_income": "120000.00"}
    application = _created(client.post("/v1/lending/applications", headers={**me, "Idempotency-Key": "a"}, json=body))
    assert application["decision"] == "approved"
    offer = _created(
        client.post(f"/v1/lending/applications/{application['id']}/offers", headers={**me, "Idempotency-Key": "o"})
    )
    assert float(offer["annualized_rate"]) > 0.18 and offer["total_fees"] == "30.00"
    wallet = balance(engine, f"wallet.{w['cid']}")
    loan = _created(client.post(f"/v1/lending/offers/{offer['id']}/accept", headers={**me, "Idempotency-Key": "c"}))
    assert loan["product_code"] == "sim-cash-12" and loan["principal"] == "3000.00"
    assert balance(engine, f"wallet.{w['cid']}") == wallet + 3000_00 - 30_00  # less the 1% upfront fee
    line = client.get(f"/v1/lending/lines/{w['line']}", headers=me).json()
    assert line["outstanding"] == "1200.00"  # a cash loan is not drawn on the line
    books_clean(engine)
