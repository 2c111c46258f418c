"""The merchant in a real browser on the demo world: signs in with its API key, draws a dynamic QR code,
refunds part of the payment made on it, and, once the business date has ended and the platform settled
T+1, sees the settlement the API reports; no console error, failed request or external request."""

from __future__ import annotations

from decimal import Decimal

from puhui import clock as clock_module

from .staff_browser import api, browser_page, live, sign_in  # noqa: F401 - fixtures
from .world import ADMIN


def test_the_merchant_refunds_and_sees_the_settlement(browser_page, live, clock) -> None:  # type: ignore[no-untyped-def]
    page, problems = browser_page
    shop, person = live[1].merchants[0], live[1].customers[0]
    key = {"Authorization": f"Bearer {shop['api_key']}"}
    sign_in(page, shop["api_key"])
    page.wait_for_url("**/merchant")
    page.get_by_role("link", name="收款码").first.click()
    page.get_by_label("金额(元)").fill("88.00")
    page.get_by_role("button", name="生成动态码").click()
    page.get_by_text("收款码已生成。").wait_for()
    assert page.locator("svg.qr").count() == 1 and "¥88.00" in page.get_by_test_id("qr").inner_text()
    qr_id = page.url.split("id=")[1]

    login = api(live, "POST", "/v1/customers/login", json={"phone": person["phone"], "password": person["password"]})
    me = {"Authorization": f"Bearer {login.json()['token']}"}
    paid = api(
        live,
        "POST",
        f"/v1/qr-codes/{qr_id}/pay",
        headers=me,
        json={"verification": "two_factors", "password": person["password"]},
    )
    assert paid.status_code == 201, paid.text
    payment_id = paid.json().get("payment_id") or paid.json()["id"]

    page.get_by_role("link", name="退款").first.click()
    page.get_by_role("link", name=payment_id).click()
    page.get_by_label("金额(元)").fill("20.00")
    page.get_by_role("button", name="退款", exact=True).click()
    page.get_by_text("退款成功。").wait_for()
    assert api(live, "GET", f"/v1/payments/{payment_id}", headers=key).json()["refunded"] == "20.00"
    assert "¥20.00" in page.get_by_test_id("payment").inner_text()

    day = clock_module.business_date().isoformat()
    clock.advance(hours=24)
    settled = api(
        live, "POST", "/v1/settlements", headers={**ADMIN, "Idempotency-Key": "b-s1"}, json={"business_date": day}
    )
    assert settled.status_code == 200, settled.text
    mine = api(live, "GET", "/v1/settlements", params={"business_date": day}, headers=key).json()["settlements"][0]
    page.get_by_role("link", name="结算").first.click()
    page.get_by_label("营业日").fill(day)
    page.get_by_role("button", name="查看").click()
    shown = page.get_by_test_id("settlements").inner_text()
    assert f"¥{Decimal(mine['net']):,.2f}" in shown and f"¥{Decimal(mine['refunds']):,.2f}" in shown
    assert Decimal(mine["refunds"]) >= Decimal("20.00")
    assert problems == []
