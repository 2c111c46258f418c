"""A new user's findings on the demo, on SQLite and PostgreSQL:

1. `GET /v1/lending/products` listed `line-instalments` as free (`annual_rate` 0, `instalment_fee_rate` 0) while
   `GET /v1/lending/plans` quoted, and checkout charged, a fee a period from a table hard-coded in `bnpl`. Now the
   line's products state their plans (`instalment_plans`: plan, periods, fee rate a period, annualized rate), and
   the listing, the quote and a real checkout read the fees from that one place and agree on every plan.
2. A second offer of an application that became a loan still read `open`, yet accepting it was 409. Now accepting
   one offer supersedes the application's others (`superseded`, stored, and read so for an offer stored open
   before), accepting one is 409 `loan_application_used` saying why, and no more offers are made on it.
3. `{"plan": "nope"}` at checkout was titled "Instalments are offered in 3, 6 or 12 periods": now the problem names
   what was wrong (the plan's name, or its periods) and lists the plans offered by their names and periods.
"""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select, update

from puhui.db import reading, transaction
from puhui.lending import catalog, service
from puhui.lending.products import product_from_json, product_to_json
from puhui.lending.tables import lending_products, loan_offers

from .lending_world import MONTHLY, World
from .lending_world import snapshot as lending_snapshot
from .test_checkout_http import (
    ADMIN,
    PASSWORD,
    books_clean,
    client,
    customer,
    merchant,
    open_line,
    qr,
    snapshot,
)

__all__ = ["client"]

INCOME = 3_000_000_00


def _created(answer) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status_code == 201, answer.text
    return answer.json()


def _listed_plans(client, me: dict) -> dict[tuple[str, int], dict]:  # type: ignore[no-untyped-def]
    """Every plan the credit line's products list, by (plan, periods), each with the product listing it."""
    products = client.get("/v1/lending/products?channel=credit_line", headers=me)
    assert products.status_code == 200, products.text
    return {
        (plan["plan"], plan["periods"]): {**plan, "product_code": product["code"]}
        for product in products.json()
        for plan in product["instalment_plans"]
    }


# -- 1. the listing states the fees the quote and the checkout charge ------------------------------


def test_the_listing_the_quote_and_a_checkout_agree_on_every_plan(client, engine, clock):
    cid, me = customer(client, "13800138401", "401")
    open_line(client, cid, "10000.00")
    merchant_id, shop = merchant(client)
    listed = _listed_plans(client, me)
    assert sorted(listed) == [("instalments", 3), ("instalments", 6), ("instalments", 12), ("pay_later", 1)]
    instalments = client.get("/v1/lending/products?channel=credit_line", headers=me).json()
    assert [p["code"] for p in instalments] == ["line-instalments", "line-pay-later"]
    assert instalments[0]["instalment_fee_rate"] == "0"  # the plans carry the fees, each stated
    for (plan, periods), terms in listed.items():
        fee_rate = Decimal(terms["fee_rate_per_period"])
        assert Decimal(terms["total_fee_rate"]) == fee_rate * periods
        assert (fee_rate > 0 and Decimal(terms["annualized_rate"]) > 0) == (plan == "instalments"), terms
        assert Decimal(terms["annualized_rate"]) <= Decimal("0.24")

    # 600.00: every plan's periods and fee divide it into whole fen, so the quote's rate is the listed one
    quotes = client.get("/v1/lending/plans?amount=600.00", headers=me)
    assert quotes.status_code == 200, quotes.text
    assert sorted((q["plan"], q["periods"]) for q in quotes.json()) == sorted(listed)
    for n, quote in enumerate(quotes.json()):
        terms = listed[(quote["plan"], quote["periods"])]
        assert (quote["product_code"], quote["fee_rate_per_period"]) == (
            terms["product_code"],
            terms["fee_rate_per_period"],
        )
        assert quote["annualized_rate"] == terms["annualized_rate"], (quote, terms)
        fee = (Decimal("600.00") * Decimal(terms["fee_rate_per_period"])).quantize(Decimal("0.01"))
        assert [line["fee"] for line in quote["schedule"]] == [str(fee)] * quote["periods"]
        assert Decimal(quote["total_fees"]) == fee * quote["periods"]

        # and a real checkout of a 600.00 purchase on that plan charges exactly that
        body = {"plan": quote["plan"], "verification": "two_factors", "password": PASSWORD}
        if quote["plan"] == "instalments":
            body["periods"] = quote["periods"]
        paid = _created(
            client.post(
                f"/v1/lending/checkout/{qr(client, merchant_id, shop, '600.00')}",
                headers={**me, "Idempotency-Key": f"co-agree-{n}"},
                json=body,
            )
        )
        assert paid["loan"]["product_code"] == terms["product_code"]
        assert paid["loan"]["annualized_rate"] == paid["plan"]["annualized_rate"] == terms["annualized_rate"]
        assert paid["plan"]["schedule"] == quote["schedule"] and paid["plan"]["total_fees"] == quote["total_fees"]
        schedule = client.get(f"/v1/lending/loans/{paid['loan']['id']}/schedule", headers=me).json()
        assert [(s["due_date"], s["principal"], s["fee"]) for s in schedule] == [
            (q["due_date"], q["principal"], q["fee"]) for q in quote["schedule"]
        ]

    # 150.00 (the new user's purchase): the fen rounding can only lower a quote below the listed rate
    for quote in client.get("/v1/lending/plans?amount=150.00", headers=me).json():
        terms = listed[(quote["plan"], quote["periods"])]
        assert Decimal(quote["annualized_rate"]) <= Decimal(terms["annualized_rate"])
        total = (Decimal("150.00") * Decimal(terms["total_fee_rate"])).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
        assert Decimal(quote["total_fees"]) == total
    books_clean(engine)


def test_a_line_product_stored_before_its_plans_is_listed_and_drawn_with_them(client, engine, clock):
    """A demo database holds `line-instalments` as stored before the plans were written down: it is listed with
    the fees the line charges, and the next draw brings the stored copy up to those terms (no 409)."""
    old = {code: product_to_json(product_from_json(data)) for code, data in catalog.LINE_PRODUCTS.items()}
    for data in old.values():
        del data["instalment_plans"]
        transaction(
            engine,
            lambda uow, data=data: uow.execute(
                lending_products.insert().values(
                    code=data["code"], data=json.dumps(data, sort_keys=True), status="active", created_at=0
                )
            ),
        )
    cid, me = customer(client, "13800138402", "402")
    listed = _listed_plans(client, me)
    assert listed[("instalments", 3)]["fee_rate_per_period"] == "0.0076"
    line_id = open_line(client, cid, "10000.00")
    drawn = _created(
        client.post(
            f"/v1/lending/lines/{line_id}/draws",
            headers={**me, "Idempotency-Key": "d-old"},
            json={"amount": "600.00", "plan": "instalments", "periods": 3},
        )
    )
    assert drawn["plan"]["annualized_rate"] == listed[("instalments", 3)]["annualized_rate"]
    with reading(engine) as connection:
        stored = {r.code: json.loads(r.data) for r in connection.execute(select(lending_products))}
    assert stored == {code: product_to_json(catalog.line_product(code)) for code in catalog.LINE_PRODUCTS}
    assert _listed_plans(client, me) == listed
    books_clean(engine)


def test_instalment_plans_belong_to_the_lines_products(client, engine, clock):
    before = snapshot(engine)
    plans = [{"periods": 6, "fee_rate_per_period": "0.005"}]
    for n, body in enumerate(
        (
            {**MONTHLY, "instalment_plans": plans},  # a cash loan is priced by its rates, not plans
            {**catalog.INSTALMENT_PRODUCT, "instalment_plans": [{"periods": 3, "fee_rate_per_period": "0.05"}]},
        )
    ):
        answer = client.post("/v1/lending/products", headers={**ADMIN, "Idempotency-Key": f"pp-{n}"}, json=body)
        assert answer.status_code in (409, 422), answer.text
        assert answer.json()["code"] in ("product_invalid", "loan_product_exists", "rate_above_cap"), answer.text
    assert snapshot(engine) == before


# -- 2. an application's other offers are superseded when one is accepted --------------------------


def test_accepting_one_offer_supersedes_the_others(engine, clock):
    w = World(engine, clock)
    w.product(MONTHLY)
    cid = w.customer()
    application = w.run(lambda uow: service.apply(uow, cid, "cash-12", 5_000_00, 12, INCOME))
    first, second, third = (w.run(lambda uow: service.make_offer(uow, application["id"], cid)) for _ in range(3))
    assert {o["status"] for o in (first, second, third)} == {"open"}
    loan = w.run(lambda uow: service.accept(uow, second["id"], cid))

    def read(offer_id: str) -> dict:
        with reading(engine) as connection:
            return service.offer_json(service.get_offer(connection, offer_id))

    assert [(read(o["id"])["status"], read(o["id"])["loan_id"]) for o in (first, second, third)] == [
        ("superseded", None),
        ("accepted", loan["id"]),
        ("superseded", None),
    ]
    with reading(engine) as connection:  # stored so, not only read so
        stored = dict(connection.execute(select(loan_offers.c.id, loan_offers.c.status)).all())
    assert (stored[first["id"]], stored[second["id"]], stored[third["id"]]) == ("superseded", "accepted", "superseded")

    before = lending_snapshot(engine)
    for offer_id in (first["id"], third["id"]):
        try:
            w.run(lambda uow, offer_id=offer_id: service.accept(uow, offer_id, cid))
        except service.ApplicationAlreadyUsed as refused:
            assert (refused.status, refused.code) == (409, "loan_application_used")
            assert f"offer {offer_id} is superseded" in refused.detail and loan["id"] in refused.detail
            assert (refused.extra["loan_id"], refused.extra["offer_id"]) == (loan["id"], second["id"])
        else:
            raise AssertionError("a superseded offer was accepted")
    try:
        w.run(lambda uow: service.accept(uow, second["id"], cid))
    except service.OfferNotOpen as refused:
        assert (refused.status, refused.code) == (409, "loan_offer_not_open") and loan["id"] in refused.detail
    else:
        raise AssertionError("an accepted offer was accepted again")
    try:  # no more offers on an application that became a loan: one made now would read open for nothing
        w.run(lambda uow: service.make_offer(uow, application["id"], cid))
    except service.ApplicationAlreadyUsed as refused:
        assert refused.code == "loan_application_used" and loan["id"] in refused.detail
    else:
        raise AssertionError("an offer was made on an application that became a loan")
    assert lending_snapshot(engine) == before


def test_an_offer_stored_open_before_reads_superseded_over_http(client, engine, clock):
    cid, me = customer(client, "13800138403", "403")
    _created(client.post("/v1/lending/products", headers={**ADMIN, "Idempotency-Key": "p"}, json=MONTHLY))
    body = {"product_code": "cash-12", "amount": "3000.00", "term": 6, "annual_income": "120000.00"}
    application = _created(client.post("/v1/lending/applications", headers={**me, "Idempotency-Key": "a"}, json=body))
    offers = [
        _created(
            client.post(
                f"/v1/lending/applications/{application['id']}/offers", headers={**me, "Idempotency-Key": f"o{n}"}
            )
        )
        for n in range(2)
    ]
    loan = _created(client.post(f"/v1/lending/offers/{offers[0]['id']}/accept", headers={**me, "Idempotency-Key": "c"}))
    # as an offer stored before superseding was written down: still `open` in its row
    transaction(
        engine,
        lambda uow: uow.execute(update(loan_offers).where(loan_offers.c.id == offers[1]["id"]).values(status="open")),
    )
    read = client.get(f"/v1/lending/offers/{offers[1]['id']}", headers=me)
    assert (read.status_code, read.json()["status"], read.json()["loan_id"]) == (200, "superseded", None)
    assert client.get(f"/v1/lending/offers/{offers[0]['id']}", headers=me).json()["status"] == "accepted"
    before = snapshot(engine)
    refused = client.post(f"/v1/lending/offers/{offers[1]['id']}/accept", headers={**me, "Idempotency-Key": "c2"})
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == "loan_application_used" and problem["loan_id"] == loan["id"]
    assert "superseded" in problem["detail"] and application["id"] in problem["detail"]
    offer_again = client.post(
        f"/v1/lending/applications/{application['id']}/offers", headers={**me, "Idempotency-Key": "o9"}
    )
    assert (offer_again.status_code, offer_again.json()["code"]) == (409, "loan_application_used")
    assert snapshot(engine) == before
    books_clean(engine)


# -- 3. an unknown plan names what was wrong and the plans offered ---------------------------------


def test_a_refused_plan_names_its_cause_and_the_plans_offered(client, engine, clock):
    cid, me = customer(client, "13800138404", "404")
    line_id = open_line(client, cid, "3000.00")
    merchant_id, shop = merchant(client)
    code = qr(client, merchant_id, shop, "150.00")
    offered = [{"plan": "pay_later", "periods": [1]}, {"plan": "instalments", "periods": [3, 6, 12]}]
    cases = [
        ({"plan": "nope"}, "plan", ["'nope'", "pay_later", "instalments", "3, 6 or 12"]),
        ({"plan": "instalments", "periods": 4}, "periods", ["instalments", "3, 6, 12 periods, not 4"]),
        ({"plan": "instalments"}, "periods", ["instalments needs `periods`", "3, 6, 12"]),
        ({"plan": "pay_later", "periods": 3}, "periods", ["pay_later", "not 3", "instalments (3, 6 or 12 periods)"]),
    ]
    before = snapshot(engine)
    titles = set()
    for n, (body, field, named) in enumerate(cases):
        answer = client.post(f"/v1/lending/checkout/{code}", headers={**me, "Idempotency-Key": f"bad-{n}"}, json=body)
        assert answer.status_code == 422 and answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert (problem["code"], problem["field"], problem["plans"]) == ("unknown_instalment_plan", field, offered)
        assert all(word in problem["detail"] for word in named), problem
        assert "3, 6 or 12 periods" not in problem["title"]
        titles.add(problem["title"])
        drawn = client.post(
            f"/v1/lending/lines/{line_id}/draws",
            headers={**me, "Idempotency-Key": f"bad-draw-{n}"},
            json={"amount": "150.00", **body},
        )
        assert (drawn.status_code, drawn.json()["code"], drawn.json()["detail"]) == (
            422,
            "unknown_instalment_plan",
            problem["detail"],
        )
    assert len(titles) == 1  # one title for the code; the detail names the cause
    assert snapshot(engine) == before
    # the plan offered as the listing names it goes through
    ok = client.post(
        f"/v1/lending/checkout/{code}",
        headers={**me, "Idempotency-Key": "good"},
        json={"plan": "pay_later", "periods": 1, "verification": "two_factors", "password": PASSWORD},
    )
    assert ok.status_code == 201, ok.text


def test_other_checkout_refusals_name_their_cause(client, engine, clock):
    cid, me = customer(client, "13800138405", "405")
    line_id = open_line(client, cid, "100.00")
    merchant_id, shop = merchant(client)
    fixed, big = qr(client, merchant_id, shop, "50.00"), qr(client, merchant_id, shop, "150.00")
    before = snapshot(engine)
    wrong = client.post(f"/v1/lending/checkout/{fixed}", headers=me, json={"plan": "pay_later", "amount": "40.00"})
    assert (wrong.status_code, wrong.json()["field"]) == (422, "amount")
    assert "50.00" in wrong.json()["detail"] and "40.00" in wrong.json()["detail"]
    over = client.post(f"/v1/lending/checkout/{big}", headers=me, json={"plan": "pay_later"})
    assert (over.status_code, over.json()["code"]) == (409, "line_limit_exceeded")
    assert "150.00" in over.json()["detail"] and "100.00 available" in over.json()["detail"]
    assert line_id in over.json()["detail"] and over.json()["available"] == "100.00"
    assert snapshot(engine) == before
