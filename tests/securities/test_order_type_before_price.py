"""A new user's finding, over HTTP on SQLite and PostgreSQL: `{"code": "600000", "type": "ioc", "price": "10.51"}`
was refused 422 `price_not_allowed`, though immediate-or-cancel is SZSE's and 600000 trades on SSE: the same order
without a price was `order_type_not_on_exchange`. A kind the share's exchange does not take is the first thing
wrong with the order, so it is reported first, price or not; on its own exchange a market order with a price is
still `price_not_allowed`, and a limit order without one `price_required`. A refusal changes nothing."""

from __future__ import annotations

import pytest

from tests.securities.test_brokerage_http import (  # noqa: F401 - `client` is a fixture
    assert_audit_clean,
    call,
    client,
    problem,
    snapshot,
    two_traders,
)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"code": "600000", "type": "ioc", "price": "10.51"}, "order_type_not_on_exchange", "type"),
        ({"code": "600000", "type": "fok", "price": "10.51", "side": "sell"}, "order_type_not_on_exchange", "type"),
        ({"code": "600000", "type": "ioc", "price": "10.511"}, "order_type_not_on_exchange", "type"),  # off tick too
        ({"code": "000001", "type": "best5_limit", "price": "11.50"}, "order_type_not_on_exchange", "type"),
        ({"code": "600000", "type": "best5_ioc", "price": "10.51"}, "price_not_allowed", "price"),
        ({"code": "000001", "type": "ioc", "price": "11.50"}, "price_not_allowed", "price"),
        ({"code": "600000", "type": "limit", "protect": "10.60"}, "price_required", "price"),
        ({"code": "999999", "type": "ioc", "price": "10.51"}, "price_not_allowed", "price"),  # no such share
    ],
)
def test_the_kind_on_the_wrong_exchange_is_reported_before_the_price(client, engine, clock, body, code, field):
    zhang, z, li, lee = two_traders(client, engine)
    before = snapshot(engine)
    answer = call(client, "/v1/securities/orders", z, "bad", {"side": "buy", "quantity": 100, **body})
    problem(answer, 422, code)
    assert answer.json()["field"] == field, answer.json()
    if code == "order_type_not_on_exchange":
        venue = "SSE" if body["code"] == "600000" else "SZSE"
        assert f"{body['code']} trades on {venue}" in answer.json()["detail"], answer.json()
    assert snapshot(engine) == before
    assert_audit_clean(engine)
