"""What a new user is told, on SQLite and PostgreSQL: the console keeps a problem's extra fields (a page reads
a figure from its field, never out of the API's English words); a QR payment over the level-C day limit
says the payment password would lift it; the merchant overview lists its refund-fund top-ups and
withdrawals; the payer sees the merchant's name on the pay page, the receipt and the bills."""

from __future__ import annotations

import re

from starlette.requests import Request

from puhui import clock as clock_module
from puhui.console import client as console_client
from puhui.console import merchant as merchant_console
from puhui.payments.bank import worker
from tests.payments.test_settlement import fund

from .conftest import customer_id_of, sign_up
from .staff_world import demo, log_in, post_form  # noqa: F401 - the fixture
from .world import ADMIN, MERCHANT, verify


def _page_request(lang: str = "zh-CN") -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/merchant/refunds",
            "query_string": b"",
            "headers": [(b"accept-language", lang.encode())],
            "path_params": {},
        }
    )


def test_a_problem_keeps_its_extra_fields() -> None:
    body = {
        "type": "https://puhui.dev/problems/merchant_balance_insufficient",
        "title": "The merchant's available balance cannot pay this refund",
        "status": 409,
        "code": "merchant_balance_insufficient",
        "detail": "…",
        "instance": "/v1/payments/p/refunds",
        "top_up_at_least": "99.40",
        "available": "0.00",
        "needed": "99.40",
    }
    extra = console_client.extras(body)
    assert extra == {"top_up_at_least": "99.40", "available": "0.00", "needed": "99.40"}
    problem = console_client.ApiProblem(409, body["code"], body["detail"], extra)
    assert (problem.status, problem.code, problem.detail, problem.extra) == (409, body["code"], "…", extra)
    assert console_client.ApiProblem(413, "form_too_large", "the form is too large").extra == {}


def test_the_merchant_is_told_the_top_up_from_the_field_not_the_words() -> None:
    """The amount comes from `top_up_at_least`, whatever the detail says; 0.00 means wait for the bank."""
    words = "the API's words, which may change"
    short = console_client.ApiProblem(409, "merchant_balance_insufficient", words, {"top_up_at_least": "99.40"})
    said = merchant_console._balance_short(_page_request(), short)
    assert "钱包余额和退款资金不足以支付此笔退款" in said and "请在概览页至少充值 ¥99.40 后再退款" in said, said
    covered = console_client.ApiProblem(409, "merchant_balance_insufficient", words, {"top_up_at_least": "0.00"})
    waiting = merchant_console._balance_short(_page_request(), covered)
    assert "请等待银行处理中的充值完成后再退款" in waiting and "至少充值" not in waiting, waiting


def _shop(client) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    made = client.post("/v1/merchants", headers=ADMIN, json=MERCHANT)
    assert made.status_code == 201, made.text
    return made.json()["id"], {"Authorization": f"Bearer {made.json()['api_key']}"}


def _dynamic(client, merchant_id: str, shop: dict, amount: str) -> str:  # type: ignore[no-untyped-def]
    made = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": amount}
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def test_the_pay_page_says_the_password_would_lift_the_qr_day_limit(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    merchant_id, shop = _shop(client)
    sign_up(client, 31)
    cid = customer_id_of(client)
    verify(client, cid)
    fund(engine, f"wallet.{cid}", 10_000_00, cid)

    first = _dynamic(client, merchant_id, shop, "600.00")
    page = client.get(f"/app/pay/{first}").text
    assert f'data-testid="merchant-name">{MERCHANT["name"]}<' in page and merchant_id not in page
    paid = post_form(client, f"/app/pay/{first}", f"/app/pay/{first}")
    assert paid.status_code == 303, paid.text
    receipt = client.get(paid.headers["location"]).text
    assert f'data-testid="payee-name">{MERCHANT["name"]}<' in receipt and merchant_id not in receipt
    bills = client.get("/app/bills").text
    assert f'data-testid="bill-merchant">{MERCHANT["name"]}<' in bills

    second = _dynamic(client, merchant_id, shop, "500.00")
    refused = post_form(client, f"/app/pay/{second}", f"/app/pay/{second}")
    assert refused.status_code == 409, refused.text
    assert "超出今日扫码付款限额 ¥1,000.00。" in refused.text, refused.text
    assert "请输入支付密码后再次付款：验证支付密码后，每日扫码付款限额为 ¥5,000.00。" in refused.text
    with_password = post_form(client, f"/app/pay/{second}", f"/app/pay/{second}", password="correct horse battery")
    assert with_password.status_code == 303 and with_password.headers["location"].startswith("/app/payments/")

    static = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()["id"]
    over = post_form(client, f"/app/pay/{static}", f"/app/pay/{static}", amount="500.01")  # over both at C
    assert over.status_code == 409 and "超出今日扫码付款限额 ¥1,000.00。" in over.text, over.text
    assert "请输入支付密码" not in over.text  # the password lifts no static code's 500 a day
    over = post_form(
        client, f"/app/pay/{static}", f"/app/pay/{static}", amount="500.01", password="correct horse battery"
    )
    assert over.status_code == 409 and "超出今日静态码付款限额 ¥500.00。" in over.text, over.text
    assert "请输入支付密码" not in over.text


def _section(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</section>", start)]


def test_the_merchant_overview_lists_its_refund_fund_orders(demo, engine) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, world = demo
    shop = world.merchants[0]
    log_in(client, shop["api_key"])
    page = client.get("/merchant").text
    assert "退款资金充值记录" in page and "退款资金提现记录" in page
    assert "暂无订单。" in _section(page, "refund-fund-withdrawals")

    sent = post_form(client, "/merchant", "/merchant/refund-funds/top-ups", amount="12.34")
    assert sent.status_code == 303, sent.text
    top_ups = _section(client.get("/merchant").text, "refund-fund-top-ups")
    assert re.search(r"<td>¥12\.34</td><td>处理中</td>", top_ups), top_ups

    worker.deliver(engine, client.app.state.bank, clock_module.now())
    top_ups = _section(client.get("/merchant").text, "refund-fund-top-ups")
    assert re.search(r"<td>¥12\.34</td><td>成功</td>", top_ups), top_ups
    withdrawn = post_form(client, "/merchant", "/merchant/refund-funds/withdrawals", amount="2.00")
    assert withdrawn.status_code == 303, withdrawn.text
    withdrawals = _section(client.get("/merchant").text, "refund-fund-withdrawals")
    assert re.search(r"<td>¥2\.00</td><td>(处理中|成功)</td>", withdrawals), withdrawals
