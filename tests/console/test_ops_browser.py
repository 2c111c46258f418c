"""The risk officer in a real browser on the demo world: signs in with the staff token, opens the review
queue, reads the held payment's evidence and approves it with a note; the ledger shows the money moved
once; no console error, failed request or external request."""

from __future__ import annotations

from decimal import Decimal

from puhui.payments import risk_hook
from tests.payments.test_reviews import ThresholdCheck

from .staff_browser import api, browser_page, live, sign_in  # noqa: F401 - fixtures
from .test_ops_pages import wallet


def test_the_risk_officer_approves_a_held_payment(browser_page, live, engine) -> None:  # type: ignore[no-untyped-def]
    page, problems = browser_page
    world = live[1]
    shop, person = world.merchants[1], world.customers[1]
    risk_hook.install(engine, ThresholdCheck())
    try:
        key = {"Authorization": f"Bearer {shop['api_key']}"}
        qr = api(
            live,
            "POST",
            f"/v1/merchants/{shop['id']}/qr-codes",
            headers=key,
            json={"kind": "dynamic", "amount": "400.00"},
        ).json()
        login = api(
            live, "POST", "/v1/customers/login", json={"phone": person["phone"], "password": person["password"]}
        )
        me = {"Authorization": f"Bearer {login.json()['token']}"}
        held = api(
            live,
            "POST",
            f"/v1/qr-codes/{qr['id']}/pay",
            headers=me,
            json={"verification": "two_factors", "password": person["password"]},
        )
        assert held.status_code == 202, held.text
        before = Decimal(wallet(engine, person["id"]))

        sign_in(page, next(s["token"] for s in world.staff if s["role"] == "risk_officer"))
        page.wait_for_url("**/ops")
        page.get_by_role("link", name="审核队列").first.click()
        review = page.get_by_test_id("review").filter(has_text=held.json()["review_id"])
        assert "large_for_customer" in review.inner_text() and "¥400.00" in review.inner_text()
        review.locator("form").first.get_by_label("备注").fill("confirmed with the customer by phone")
        review.get_by_role("button", name="通过").click()
        page.get_by_text("已通过:被拦截的支付已完成。").wait_for()
        assert Decimal(wallet(engine, person["id"])) == before - Decimal("400.00")
        assert page.get_by_test_id("review").filter(has_text=held.json()["review_id"]).count() == 0
    finally:
        risk_hook.uninstall(engine)
    assert problems == []
