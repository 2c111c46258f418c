"""The merchant portal (/merchant) over HTTP on the demo world: the merchant signs in with its API key,
draws static and dynamic QR codes (the SVG is segno's picture of the id the API gives), sees its takings
by day as its payments add up, refunds a payment through a CSRF-protected form (once, even sent twice),
and sees the T+1 settlement the API made; another merchant's QR code or payment is out of reach."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import segno

from puhui import clock as clock_module
from puhui.payments.bank import worker

from .staff_world import demo, log_in, post_form  # noqa: F401 - the fixture
from .world import ADMIN, hidden


def pay(client, world, qr_id: str, n: int = 0) -> dict:  # type: ignore[no-untyped-def]
    """A demo customer pays the QR code through the API."""
    person = world.customers[n]
    login = client.post("/v1/customers/login", json={"phone": person["phone"], "password": person["password"]})
    me = {"Authorization": f"Bearer {login.json()['token']}"}
    paid = client.post(
        f"/v1/qr-codes/{qr_id}/pay", headers=me, json={"verification": "two_factors", "password": person["password"]}
    )
    assert paid.status_code == 201, paid.text
    return paid.json()


def make_dynamic(client, amount: str, order_ref: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """A dynamic QR code for an order of its own (one open or paid code per order: `order_ref_in_use`)."""
    ref = order_ref or f"T-{amount}"
    made = post_form(client, "/merchant/qr", "/merchant/qr", kind="dynamic", amount=amount, order_ref=ref)
    assert made.status_code == 303, made.text
    return re.search(r"id=(qr_[0-9a-f]+)", made.headers["location"]).group(1)


def test_the_merchant_draws_qr_codes_from_the_ids_the_api_gives(demo) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    shop = world.merchants[0]
    assert log_in(client, shop["api_key"]).headers["location"] == "/merchant"
    qr_id = make_dynamic(client, "66.60")
    page = client.get(f"/merchant/qr?id={qr_id}")
    assert page.status_code == 200 and "收款码已生成。" in page.text and "¥66.60" in page.text
    assert "收款码已生成。" not in client.get(f"/merchant/qr?id={qr_id}").text  # the notice is shown once
    api = client.get(f"/v1/qr-codes/{qr_id}", headers={"Authorization": f"Bearer {shop['api_key']}"}).json()
    assert api["kind"] == "dynamic" and api["amount"] == "66.60"
    expected = io.BytesIO()
    segno.make(qr_id, error="m").save(expected, kind="svg", scale=6, border=2, xmldecl=False, svgns=False)
    drawn = re.search(r'<path[^>]*d="([^"]+)"', page.text).group(1)
    assert drawn == re.search(r'<path[^>]*d="([^"]+)"', expected.getvalue().decode()).group(1)
    static = post_form(client, "/merchant/qr", "/merchant/qr", kind="static")
    assert static.status_code == 303 and 'class="qr"' in client.get(static.headers["location"]).text


def test_takings_by_day_add_up_the_merchants_payments(demo) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    shop = world.merchants[1]
    log_in(client, shop["api_key"])
    before = _today_takings(client)
    for amount in ("10.05", "20.10"):
        pay(client, world, make_dynamic(client, amount))
    assert _today_takings(client) == before + Decimal("30.15")
    page = client.get("/merchant").text
    assert 'data-testid="takings"' in page and '<svg class="chart"' in page


def _today_takings(client) -> Decimal:  # type: ignore[no-untyped-def]
    page = client.get("/merchant").text
    table = page[page.index('data-testid="takings"') :]
    first_row = re.search(r"<tbody>\s*<tr><td>[^<]+</td><td>([^<]+)</td>", table).group(1)
    return Decimal(first_row.replace("¥", "").replace(",", ""))


def test_the_merchant_refunds_once_and_sees_the_settlement(demo, engine, clock) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    shop = world.merchants[2]
    key = {"Authorization": f"Bearer {shop['api_key']}"}
    log_in(client, shop["api_key"])
    payment = pay(client, world, make_dynamic(client, "100.00"))
    payment_id = payment.get("payment_id") or payment["id"]
    page = f"/merchant/refunds?payment={payment_id}"
    fields = {**hidden(client.get(page).text), "payment_id": payment_id, "amount": "30.00"}
    done = client.post("/merchant/refunds", data=fields, follow_redirects=False)
    again = client.post("/merchant/refunds", data=fields, follow_redirects=False)  # the same form sent twice
    assert done.status_code == again.status_code == 303
    assert client.get(f"/v1/payments/{payment_id}", headers=key).json()["refunded"] == "30.00"
    shown = client.get(done.headers["location"]).text
    assert "退款成功。" in shown and "¥30.00" in shown

    day = clock_module.business_date().isoformat()
    clock.advance(hours=24)
    settled = client.post("/v1/settlements", headers={**ADMIN, "Idempotency-Key": "s1"}, json={"business_date": day})
    assert settled.status_code == 200, settled.text
    worker.deliver(engine, client.app.state.bank, clock_module.now())
    mine = client.get("/v1/settlements", params={"business_date": day}, headers=key).json()["settlements"]
    assert len(mine) == 1
    table = client.get(f"/merchant/settlements?date={day}").text
    assert f"¥{Decimal(mine[0]['net']):,.2f}" in table and f"¥{Decimal(mine[0]['refunds']):,.2f}" in table
    assert {"paid": "已打款", "pending": "在途"}[mine[0]["state"]] in table


def test_a_bad_refund_or_a_missing_csrf_token_changes_nothing(demo) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    shop = world.merchants[0]
    key = {"Authorization": f"Bearer {shop['api_key']}"}
    log_in(client, shop["api_key"])
    payment = pay(client, world, make_dynamic(client, "50.00"))
    payment_id = payment.get("payment_id") or payment["id"]
    too_much = post_form(client, "/merchant/refunds", "/merchant/refunds", payment_id=payment_id, amount="50.01")
    assert too_much.status_code in (409, 422) and 'role="alert"' in too_much.text
    forged = client.post("/merchant/refunds", data={"payment_id": payment_id, "amount": "1.00"}, follow_redirects=False)
    assert forged.status_code == 403
    assert client.get(f"/v1/payments/{payment_id}", headers=key).json()["refunded"] == "0.00"


def test_a_merchant_cannot_reach_another_merchants_data(demo) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    first, second = world.merchants[0], world.merchants[1]
    log_in(client, second["api_key"])
    theirs = make_dynamic(client, "12.00")
    paid = pay(client, world, theirs)
    payment_id = paid.get("payment_id") or paid["id"]
    log_in(client, first["api_key"])
    assert client.get(f"/merchant/qr?id={theirs}").status_code == 404
    assert theirs not in client.get(f"/merchant/qr?id={theirs}").text
    assert client.get(f"/merchant/refunds?payment={payment_id}").status_code in (403, 404)
    stolen = post_form(client, "/merchant/refunds", "/merchant/refunds", payment_id=payment_id, amount="1.00")
    assert stolen.status_code in (403, 404)
    key = {"Authorization": f"Bearer {second['api_key']}"}
    assert client.get(f"/v1/payments/{payment_id}", headers=key).json()["refunded"] == "0.00"
    assert client.get("/ops").status_code == 403 and client.get("/supervision").status_code == 403
