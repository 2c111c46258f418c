"""Every order refusal names the mistake made, on SQLite and PostgreSQL (a new user's finding: a limit order
without a price was a 422 `price_off_tick`, "The price is not a multiple of the instrument's tick").

Each input of an order (the price, the protective price, the quantity) is sent missing, zero, negative,
over-precise ("10.001"), non-numeric and of the wrong JSON type, and each rule (the lot, STAR's 200 then 1,
the tick, the band, T+1 sellable shares, the board permission, the cash) is broken on its own. Each answer
is a 4xx problem whose code and title are the rule broken (not a neighbouring one's), names the field where
one is at fault, and changes nothing. Cancels likewise."""

from __future__ import annotations

from typing import Any

import pytest

from puhui.db import transaction
from puhui.securities import errors, refusals
from puhui.securities.tables import securities_accounts
from tests.identity.helpers import LI, ZHANG
from tests.securities.test_brokerage_http import (  # noqa: F401 - `client` is a fixture
    assert_audit_clean,
    call,
    client,
    deposit,
    investor,
    snapshot,
    two_traders,
)

__all__ = ["client"]

CODES: dict[str, Any] = {  # every refusal of an order or a cancel, by code: its status and title come from here
    cls.code: cls
    for module in (errors, refusals)
    for cls in vars(module).values()
    if isinstance(cls, type) and isinstance(getattr(cls, "code", None), str) and cls.__module__ == module.__name__
}

LIMIT = {"code": "600000", "side": "buy", "quantity": 100, "price": "10.50"}  # band 9.45–11.55 on a 10.50 close
MARKET = {"code": "600000", "side": "buy", "quantity": 100, "type": "best5_ioc"}
SELL = {**LIMIT, "side": "sell"}  # of the 1,000 shares deposited, all sellable today
STAR = {**LIMIT, "code": "688981", "price": "110.00"}  # the account is granted STAR for these
ABSENT = object()


def with_(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The body with fields changed; a field set to ABSENT is left out."""
    merged = {**body, **changes}
    return {k: v for k, v in merged.items() if v is not ABSENT}


CASES: list[tuple[str, dict[str, Any], str, str | None]] = [
    # the price of a limit order
    ("limit-no-price", with_(LIMIT, price=ABSENT), "price_required", "price"),
    ("limit-null-price", with_(LIMIT, price=None), "price_required", "price"),
    ("limit-empty-price", with_(LIMIT, price=""), "price_required", "price"),
    ("price-zero", with_(LIMIT, price="0"), "price_not_positive", "price"),
    ("price-zero-places", with_(LIMIT, price="0.00"), "price_not_positive", "price"),
    ("price-negative", with_(LIMIT, price="-10.50"), "price_not_positive", "price"),
    ("price-negative-whole", with_(LIMIT, price="-1"), "price_not_positive", "price"),
    ("price-three-places", with_(LIMIT, price="10.001"), "price_off_tick", "price"),
    ("price-half-fen", with_(LIMIT, price="10.505"), "price_off_tick", "price"),
    ("price-five-places", with_(LIMIT, price="10.00001"), "price_off_tick", "price"),
    ("price-overlong-zeros", with_(LIMIT, price="10.50000"), "price_invalid", "price"),
    ("price-word", with_(LIMIT, price="abc"), "price_invalid", "price"),
    ("price-exponent", with_(LIMIT, price="1e1"), "price_invalid", "price"),
    ("price-comma", with_(LIMIT, price="10,50"), "price_invalid", "price"),
    ("price-spaces", with_(LIMIT, price=" 10.50"), "price_invalid", "price"),
    ("price-newline", with_(LIMIT, price="10.50\n"), "price_invalid", "price"),
    ("price-json-number", with_(LIMIT, price=10.5), "price_invalid", "price"),
    ("price-json-bool", with_(LIMIT, price=True), "price_invalid", "price"),
    ("price-leading-zero", with_(LIMIT, price="010.50"), "price_invalid", "price"),
    ("price-eight-digits", with_(LIMIT, price="12345678.00"), "price_invalid", "price"),
    ("price-above-band", with_(LIMIT, price="11.56"), "price_outside_band", "price"),
    ("price-below-band", with_(SELL, price="9.44"), "price_outside_band", "price"),
    # a market order's prices
    ("market-with-price", with_(MARKET, price="10.50"), "price_not_allowed", "price"),
    ("market-with-bad-price", with_(MARKET, price="abc"), "price_invalid", "price"),
    ("limit-with-protect", with_(LIMIT, protect="11.00"), "protect_not_allowed", "protect"),
    ("protect-zero", with_(MARKET, protect="0"), "price_not_positive", "protect"),
    ("protect-negative", with_(MARKET, protect="-11.00"), "price_not_positive", "protect"),
    ("protect-three-places", with_(MARKET, protect="11.001"), "price_off_tick", "protect"),
    ("protect-word", with_(MARKET, protect="lots"), "price_invalid", "protect"),
    ("protect-above-band", with_(MARKET, protect="12.00"), "price_outside_band", "protect"),
    # the quantity
    ("no-quantity", with_(LIMIT, quantity=ABSENT), "quantity_required", "quantity"),
    ("null-quantity", with_(LIMIT, quantity=None), "quantity_required", "quantity"),
    ("quantity-zero", with_(LIMIT, quantity=0), "quantity_not_positive", "quantity"),
    ("quantity-negative", with_(LIMIT, quantity=-100), "quantity_not_positive", "quantity"),
    ("sell-quantity-zero", with_(SELL, quantity=0), "quantity_not_positive", "quantity"),
    ("quantity-fraction", with_(LIMIT, quantity=100.5), "quantity_invalid", "quantity"),
    ("quantity-string", with_(LIMIT, quantity="100"), "quantity_invalid", "quantity"),
    ("quantity-word", with_(LIMIT, quantity="abc"), "quantity_invalid", "quantity"),
    ("quantity-bool", with_(LIMIT, quantity=True), "quantity_invalid", "quantity"),
    ("quantity-odd-lot", with_(LIMIT, quantity=150), "lot_size_invalid", "quantity"),
    ("quantity-below-lot", with_(LIMIT, quantity=50), "lot_size_invalid", "quantity"),
    ("quantity-above-largest", with_(LIMIT, quantity=2_000_000), "order_too_large", "quantity"),
    ("quantity-above-any-board", with_(LIMIT, quantity=20_000_000), "order_too_large", "quantity"),
    # ChiNext's largest market order, 150,000 (a sell: no permission needed)
    (
        "market-above-largest",
        with_(MARKET, side="sell", code="300750", quantity=150_100),
        "order_too_large",
        "quantity",
    ),
    # STAR (permitted in these cases): at least 200, then any whole number
    ("star-below-200", with_(STAR, quantity=100), "lot_size_invalid", "quantity"),
    ("star-199", with_(STAR, quantity=199), "lot_size_invalid", "quantity"),
    ("star-zero", with_(STAR, quantity=0), "quantity_not_positive", "quantity"),
    ("star-above-largest", with_(STAR, quantity=100_001), "order_too_large", "quantity"),
    ("star-no-price", with_(STAR, price=ABSENT, quantity=200), "price_required", "price"),
    # selling: T+1 sellable shares before the lot
    ("sell-more-than-held", with_(SELL, quantity=1100), "shares_not_sellable", "quantity"),
    ("sell-more-than-held-odd", with_(SELL, quantity=1050), "shares_not_sellable", "quantity"),
    ("sell-odd-lot", with_(SELL, quantity=150), "lot_size_invalid", "quantity"),
    ("sell-unheld", with_(SELL, code="000001", price="11.50"), "shares_not_sellable", "quantity"),
    # the instrument, the board permission and the cash
    ("unknown-instrument", with_(LIMIT, code="600001"), "unknown_instrument", None),
    ("chinext-not-permitted", with_(LIMIT, code="300750", price="380.00"), "board_not_permitted", None),
    ("cash-short", with_(LIMIT, quantity=100_000), "insufficient_cash", None),
]


@pytest.mark.parametrize(("body", "code", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_order_refusal_names_its_own_rule_and_changes_nothing(client, engine, clock, body, code, field):
    zhang, z = investor(client, engine, ZHANG, 50_000_00)
    deposit(engine, zhang, "600000", 1000)
    if body["code"] == "688981":
        with engine.begin() as connection:  # staff's grant, as data: the rules of STAR lots are the question here
            connection.execute(
                securities_accounts.update().where(securities_accounts.c.customer_id == zhang).values(star=True)
            )
    before = snapshot(engine)
    answer = call(client, "/v1/securities/orders", z, "bad", body)
    refusal = CODES[code]
    assert answer.status_code == refusal.status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    got = answer.json()
    assert (got["code"], got["title"]) == (code, refusal.title), got
    assert got.get("field") == field, got
    assert snapshot(engine) == before


def test_a_missing_price_is_not_called_off_the_tick(client, engine, clock):
    """The finding itself: the answer says what to send, and nothing in it speaks of a tick."""
    zhang, z = investor(client, engine, ZHANG, 50_000_00)
    answer = call(client, "/v1/securities/orders", z, "no-price", with_(LIMIT, price=ABSENT))
    assert answer.status_code == 422, answer.text
    got = answer.json()
    assert (got["code"], got["title"], got["field"]) == ("price_required", "A limit order needs a price", "price")
    assert "tick" not in f"{got['title']} {got['detail']}"


def test_shares_bought_today_are_not_sellable_whatever_the_lot(client, engine, clock):
    """T+1 before the lot rule: selling 150 of 500 shares bought today is `shares_not_sellable`, not a lot."""
    zhang, z, li, lee = two_traders(client, engine)
    assert call(client, "/v1/securities/orders", lee, "s1", with_(SELL, quantity=500)).status_code == 201
    assert call(client, "/v1/securities/orders", z, "b1", with_(LIMIT, quantity=500)).json()["status"] == "filled"
    before = snapshot(engine)
    for quantity in (150, 500, 100):
        answer = call(client, "/v1/securities/orders", z, f"s-{quantity}", with_(SELL, quantity=quantity))
        assert (answer.status_code, answer.json()["code"]) == (409, "shares_not_sellable"), answer.text
    assert snapshot(engine) == before
    assert_audit_clean(engine)


def test_a_sell_without_cash_for_the_minimum_commission_is_short_of_cash(client, engine, clock):
    li, lee = investor(client, engine, LI, 4_99)  # below the 5.00 minimum commission a sell freezes
    deposit(engine, li, "600000", 100)
    before = snapshot(engine)
    answer = call(client, "/v1/securities/orders", lee, "s1", with_(SELL, quantity=100))
    assert (answer.status_code, answer.json()["code"]) == (409, "insufficient_cash"), answer.text
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        ("so_000000000000000000000000", 404, "order_not_found"),  # no such order
        ("theirs", 404, "order_not_found"),  # another customer's
        ("filled", 409, "order_not_cancellable"),
        ("cancelled", 409, "order_not_cancellable"),
    ],
)
def test_each_cancel_refusal_names_its_own_rule_and_changes_nothing(client, engine, clock, target, status, code):
    zhang, z, li, lee = two_traders(client, engine)
    assert call(client, "/v1/securities/orders", lee, "s1", with_(SELL, quantity=100)).status_code == 201
    filled = call(client, "/v1/securities/orders", z, "b1", with_(LIMIT, quantity=100)).json()
    theirs = call(client, "/v1/securities/orders", lee, "s2", with_(SELL, quantity=100, price="11.00")).json()
    gone = call(client, "/v1/securities/orders", z, "b2", with_(LIMIT, quantity=100, price="10.00")).json()
    assert call(client, f"/v1/securities/orders/{gone['id']}/cancel", z, "c0").status_code == 200
    assert filled["status"] == "filled"
    order_id = {"theirs": theirs["id"], "filled": filled["id"], "cancelled": gone["id"]}.get(target, target)
    before = snapshot(engine)
    answer = call(client, f"/v1/securities/orders/{order_id}/cancel", z, "c1")
    assert answer.status_code == status, answer.text
    assert (answer.json()["code"], answer.json()["title"]) == (code, CODES[code].title)
    assert snapshot(engine) == before
