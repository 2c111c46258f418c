"""The merchant portal's refund funds (退款资金): the overview shows what is available and what is pending at
the bank, tops up from and withdraws to the settlement account through the API (CSRF-protected forms), tells
a refused order in Chinese, and a refund its balance cannot pay is told in Chinese with the amount to top
up, the typed payment id kept in the form."""

from __future__ import annotations

import re

from puhui import clock as clock_module
from puhui.payments.bank import worker

from .staff_world import demo, log_in, post_form  # noqa: F401 - the fixture
from .test_merchant_pages import make_dynamic, pay
from .world import ADMIN


def _funds(page: str) -> str:
    return page[page.index('data-testid="refund-funds"') : page.index('data-testid="takings"')]


def test_the_overview_shows_tops_up_and_withdraws_the_refund_funds(demo) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    shop = world.merchants[0]
    key = {"Authorization": f"Bearer {shop['api_key']}"}
    log_in(client, shop["api_key"])
    page = client.get("/merchant").text
    assert "退款资金" in _funds(page) and "银行处理中的充值" in _funds(page)
    before = client.get("/v1/wallets/me", headers=key).json()["refund_funds"]

    big = post_form(client, "/merchant", "/merchant/refund-funds/top-ups", amount="99999999999.00")
    assert big.status_code == 422 and "单笔银行订单上限" in big.text
    sent = post_form(client, "/merchant", "/merchant/refund-funds/top-ups", amount="12.34")
    assert sent.status_code == 303 and sent.headers["location"] == "/merchant?sent=top_up"
    after = client.get("/v1/wallets/me", headers=key).json()["refund_funds"]
    assert after["pending_in"] != before["pending_in"] or after["available"] != before["available"]
    shown = _funds(client.get(sent.headers["location"]).text)
    assert "充值已提交银行" in shown

    available = after["available"]
    too_much = post_form(client, "/merchant", "/merchant/refund-funds/withdrawals", amount="4999999.00")
    assert too_much.status_code == 409 and "退款资金的可用余额不足" in too_much.text, available
    forged = client.post("/merchant/refund-funds/withdrawals", data={"amount": "1.00"}, follow_redirects=False)
    assert forged.status_code == 403


def test_a_refund_the_balance_cannot_pay_says_how_much_to_top_up(demo, engine, clock) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    shop = world.merchants[3 if len(world.merchants) > 3 else 1]
    key = {"Authorization": f"Bearer {shop['api_key']}"}
    log_in(client, shop["api_key"])
    payment = pay(client, world, make_dynamic(client, "100.00"))
    payment_id = payment.get("payment_id") or payment["id"]
    day = clock_module.business_date().isoformat()
    clock.advance(hours=24)
    settled = client.post("/v1/settlements", headers={**ADMIN, "Idempotency-Key": "s-rf"}, json={"business_date": day})
    assert settled.status_code == 200, settled.text
    worker.deliver(engine, client.app.state.bank, clock_module.now())
    wallet = client.get("/v1/wallets/me", headers=key).json()
    assert wallet["available"] == "0.00" and wallet["refund_funds"]["available"] == "0.00", wallet

    refused = post_form(client, "/merchant/refunds", "/merchant/refunds", payment_id=payment_id, amount="100.00")
    assert refused.status_code == 409, refused.text
    assert (
        "钱包余额和退款资金不足以支付此笔退款" in refused.text and "请在概览页至少充值 ¥99.40 后再退款" in refused.text
    )
    assert re.search(rf'name="payment_id"[^>]*value="{payment_id}"', refused.text), refused.text
    assert client.get(f"/v1/payments/{payment_id}", headers=key).json()["refunded"] == "0.00"
