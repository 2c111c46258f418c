"""Funds in a real browser (Debian's chromium driven by Playwright) on the demo world: an operator uploads
a NAV file chosen from disk at /ops/actions (the page reads it, the API loads it), then a Class III
customer takes the risk questionnaire, is told a fund above their level is not for them and buys one
within it; what the pages show is checked against the wealth API and the ledger, and no page logs a
console error, fails a request or asks another origin."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from puhui import clock as clock_module

from .staff_browser import api, browser_page, live, sign_in  # noqa: F401 - fixtures
from .test_browser import wallet_balance
from .test_funds_pages import BOLD, GROWTH
from .world import ADMIN


def _admin(live, path: str, body: dict, key: str) -> dict:  # type: ignore[no-untyped-def]
    made = api(live, "POST", path, headers={**ADMIN, "Idempotency-Key": key}, json=body)
    assert made.status_code in (200, 201), made.text
    return made.json()


def test_an_operator_uploads_navs_then_a_customer_is_assessed_and_buys_a_fund(browser_page, live, engine) -> None:  # type: ignore[no-untyped-def]
    page, problems = browser_page
    _admin(live, "/v1/wealth/fund-products", GROWTH, "browser-growth")
    _admin(live, "/v1/wealth/fund-products", BOLD, "browser-bold")
    operator = _admin(live, "/v1/staff", {"handle": "ops.funds", "role": "operator"}, "browser-operator")
    today = clock_module.business_date()  # 2026-01-05, a Monday

    sign_in(page, operator["token"])
    page.get_by_role("link", name="运营操作").click()
    page.wait_for_url("**/ops/actions")
    nav_file = f"date,fund_code,nav\n2025-12-31,EQ0001,1.0120\n{today},EQ0001,1.0250\n{today},EQ0005,2.1000\n"
    page.get_by_label("净值文件(CSV)").set_input_files(
        files=[{"name": "navs.csv", "mimeType": "text/csv", "buffer": nav_file.encode()}]
    )
    expect(page.locator("input[name=document_content]")).not_to_have_value("")  # read in by the page's script
    page.get_by_role("button", name="导入净值文件").click()
    page.get_by_test_id("navs-result").wait_for()
    assert "已记录净值 3 条" in page.get_by_test_id("navs-result").inner_text()
    navs = api(live, "GET", "/v1/wealth/fund-products/EQ0001/navs", headers=ADMIN).json()
    assert [n["nav"] for n in navs] == ["1.0250", "1.0120"]

    demo = live[1].customers[0]  # 张伟, Class III, with money from the demo top-up
    before = wallet_balance(engine, demo["id"])
    page.goto("/app/login")
    page.get_by_label("手机号").fill(demo["phone"])
    page.get_by_label("密码").fill(demo["password"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/app")
    page.get_by_role("link", name="基金", exact=True).last.click()
    page.wait_for_url("**/app/funds")
    assert page.get_by_test_id("nav-EQ0001").inner_text() == "1.0250"
    assert "您尚未完成风险测评" in page.get_by_test_id("my-level").inner_text()

    page.get_by_role("link", name="风险测评").first.click()
    page.wait_for_url("**/app/suitability")
    assert page.locator('input[name="q_age"]').count() == 0  # the age is read from the ID, not asked
    for question in ("income", "share", "experience", "knowledge", "horizon", "goal", "loss"):
        page.locator(f'input[name="q_{question}"][value="C"]').check()
    page.get_by_role("button", name="提交").click()
    page.get_by_test_id("level").wait_for()
    # all C (24 points: 27 with the age's C, 3 of them) and the ID's age: 张伟, born 1988-04-12, is 37 on
    # 2026-01-05, "31–45岁", 5 points: 29, C4, still below the R5 fund
    assert page.get_by_test_id("level").inner_text() == "C4" and page.get_by_test_id("score").inner_text() == "29"

    page.get_by_role("link", name="基金", exact=True).last.click()
    assert page.get_by_test_id("verdict-EQ0005").inner_text() == "高于您的风险等级,不能购买"
    page.get_by_role("link", name=GROWTH["name"]).click()
    assert page.get_by_test_id("fund-risk").inner_text() == "R3"
    page.get_by_label("金额(元)").fill("1000.00")
    page.get_by_role("button", name="买入").click()
    page.get_by_role("status").wait_for()
    assert "待确认" in page.get_by_test_id("fund-orders").inner_text()
    assert Decimal(before) - Decimal(wallet_balance(engine, demo["id"])) == Decimal("1000.00")
    page.set_viewport_size({"width": 375, "height": 812})  # the customer app fits a phone
    for path in ("/app/funds", "/app/funds/EQ0001", "/app/suitability", "/app/advice"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (path, overflow)
    assert problems == []
