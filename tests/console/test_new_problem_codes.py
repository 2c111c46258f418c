"""Problem codes other packages added that the console's pages meet, each refused by the API for real (or, where
no page of the app can reach it, the way `test_new_user_defects` fakes a refusal) and told on the Chinese page
in Chinese, never in the API's English detail: a second policy of a product already in force (with until when,
and a link to it), an order form's price and quantity (and T+1), a merchant's order reference another QR code
holds (which code, and that cancelling it frees the reference), a pay-later plan not offered (naming those
offered), an application or offer already used, and a bills filter by a kind of transaction that does not exist."""

from __future__ import annotations

import re

from puhui.console import app_credit, app_insurance, app_securities, i18n, render
from puhui.console import client as api_client
from puhui.securities import gateway

from .conftest import sign_up
from .staff_world import demo, log_in  # noqa: F401 - the fixture
from .staff_world import post_form as staff_post
from .test_credit_pages import _customer_with_money, _open_line
from .test_customer_pages import post_form
from .test_insurance_pages import buy, customer, insurer  # noqa: F401 - the fixture
from .test_merchant_pages import make_dynamic
from .test_securities_pages import HOME, THURSDAY, open_brokerage
from .world import hidden, merchant_qr

ERROR = re.compile(r'<p class="error" role="alert">([^<]*)</p>')
CJK = re.compile(r"[\u4e00-\u9fff]")


def said(page: str) -> str:
    found = ERROR.findall(page)
    assert found, page[-1500:]
    return found[0]


def test_a_second_policy_of_a_product_in_force_is_told_with_its_end_and_a_link(client, engine, insurer) -> None:  # type: ignore[no-untyped-def]
    customer(client, engine, 51)
    first = buy(client, cancer="no", diabetes="no")
    assert first.status_code == 303, first.text
    policy_id = first.headers["location"].rsplit("/", 1)[1]
    again = buy(client, cancer="no", diabetes="no")
    assert again.status_code == 409
    told = said(again.text)
    # cover starts 2026-01-06 for a year: its end date 2027-01-06 is exclusive, the last covered day 2027-01-05
    assert told.startswith(f"您已持有本产品的保单 {policy_id},保障至2027年1月5日二十四时止"), told
    assert "already has" not in again.text and "(exclusive)" not in again.text
    link = re.search(r'data-testid="policy-in-force"><a href="([^"]+)">([^<]+)<', again.text)
    assert link is not None and link.group(1) == f"/app/insurance/policies/{policy_id}"
    assert link.group(2).strip() == "查看您已持有的保单"
    client.cookies.set(i18n.COOKIE, "en")
    english = said(buy(client, cancer="no", diabetes="no").text)
    assert f"under policy {policy_id}, to 24:00 on Jan 5, 2027" in english, english


def test_the_order_forms_price_and_quantity_are_refused_with_what_to_enter(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(THURSDAY)
    gateway._cache.clear()
    open_brokerage(client, engine, 52, "10000.00")
    for fields, code in (
        ({"quantity": "100", "price": ""}, "price_required"),
        ({"quantity": "100", "price": "ten"}, "price_invalid"),
        ({"quantity": "100", "price": "0"}, "price_not_positive"),
        ({"quantity": "", "price": "10.50"}, "quantity_required"),
        ({"quantity": "1.5", "price": "10.50"}, "quantity_invalid"),
        ({"quantity": "0", "price": "10.50"}, "quantity_not_positive"),
        ({"quantity": "100", "price": "10.50", "side": "sell"}, "shares_not_sellable"),
    ):
        body = {"code": "600000", "side": "buy", **fields}
        refused = post_form(client, HOME, f"{HOME}/order", **body)
        expected = i18n.Formatter("zh_CN").gettext(app_securities.REFUSALS[code])
        assert refused.status_code in (409, 422) and said(refused.text) == expected, (code, refused.status_code)
        assert CJK.search(expected) and expected != app_securities.REFUSALS[code], code
        assert "decimal string" not in refused.text and "whole number" not in refused.text, code
    assert "请填写委托价格" in i18n.Formatter("zh_CN").gettext(app_securities.REFUSALS["price_required"])


def test_an_order_reference_another_code_holds_names_it_and_cancelling_frees_it(demo) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    log_in(client, world.merchants[0]["api_key"])
    holder = make_dynamic(client, "18.80", "ORD-7")
    again = staff_post(client, "/merchant/qr", "/merchant/qr", kind="dynamic", amount="18.80", order_ref="ORD-7")
    assert again.status_code == 409
    told = said(again.text)
    assert told.startswith(f"订单 ORD-7 已有收款码 {holder}(可付款):请在下方取消该收款码以释放这个订单号"), told
    assert "already has QR code" not in again.text
    assert f'action="/merchant/qr/{holder}/cancel"' in again.text and 'value="ORD-7"' in again.text
    cancelled = staff_post(client, f"/merchant/qr?id={holder}", f"/merchant/qr/{holder}/cancel")
    assert cancelled.status_code == 303
    page = client.get(cancelled.headers["location"]).text
    assert "收款码已取消" in page and "已取消" in page and f"/merchant/qr/{holder}/cancel" not in page
    assert make_dynamic(client, "18.80", "ORD-7") != holder  # the reference is free again


def test_a_pay_later_plan_not_offered_names_the_plans_offered(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    _merchant, qr_id = merchant_qr(client)
    cid = _customer_with_money(app, client, engine, 53, "100.00")
    _open_line(client, engine, cid, "5000.00")
    form = hidden(client.get(f"/app/pay/{qr_id}/later?amount=300.00").text)
    refused = client.post(f"/app/pay/{qr_id}/later", data={**form, "plan": "instalments:5", "amount": "300.00"})
    assert refused.status_code == 422
    told = said(refused.text)
    assert told.startswith("请从提供的方案中选择一个:还款日一次还清,免息 / 分 3 期,每月还款"), told
    assert "分 12 期,每月还款" in told and "periods" not in refused.text


def test_an_application_or_offer_already_used_is_told_in_chinese(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """No page of the app lists applications or offers; should a lending form meet these codes, it says them."""
    _merchant, qr_id = merchant_qr(client)
    sign_up(client, 54)
    real = api_client.call
    for code in ("loan_application_used", "loan_offer_not_open"):
        detail = f"English detail of {code}: offer off_1 was already accepted"

        async def call(request, method, path, _code=code, _detail=detail, **kwargs):  # type: ignore[no-untyped-def]
            if method == "POST" and path.startswith("/v1/lending/"):
                raise api_client.ApiProblem(409, _code, _detail)
            return await real(request, method, path, **kwargs)

        with monkeypatch.context() as patched:
            patched.setattr(api_client, "call", call)
            refused = post_form(client, f"/app/pay/{qr_id}/later", f"/app/pay/{qr_id}/later", plan="pay_later")
        assert refused.status_code == 409 and "English detail" not in refused.text, code
        assert said(refused.text) == i18n.Formatter("zh_CN").gettext(app_credit.PROBLEMS[code]), code
        assert CJK.search(said(refused.text)), code


def test_a_bills_filter_by_a_kind_that_does_not_exist_is_told_in_chinese(client) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 55)
    page = client.get("/app/bills", params={"kind": "no_such_kind"})
    assert page.status_code == 422 and said(page.text) == "没有这种交易类型:请从列表中选择一种类型。"
    assert "no transfer code" not in page.text
    assert client.get("/app/bills", params={"kind": "top_up"}).status_code == 200
    client.cookies.set(i18n.COOKIE, "en")
    english = client.get("/app/bills", params={"kind": "no_such_kind"})
    assert said(english.text) == render.PROBLEMS["unknown_transaction_kind"]


def test_every_new_message_has_its_chinese() -> None:
    zh = i18n.translations("zh_CN")
    kept = [
        app_insurance.PROBLEMS["policy_already_in_force"],
        *app_securities.REFUSALS.values(),
        app_credit.PROBLEMS["loan_application_used"],
        app_credit.PROBLEMS["loan_offer_not_open"],
        render.PROBLEMS["unknown_transaction_kind"],
    ]
    assert [m for m in kept if zh.gettext(m) == m] == []
