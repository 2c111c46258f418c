"""The customer app in a real browser (Debian's chromium driven by Playwright) against a live server on
the demo world, at a phone's width: a visitor registers, is verified, binds a card, tops up, pays a
merchant's QR code, buys the money-market fund, takes a buy-now-pay-later checkout in instalments and
repays it; what the pages show is checked against the ledger,
and no page logs a console error or fails a request."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from puhui.db import reading
from puhui.demo import seed_demo_world
from puhui.identity.service import customer_wallet_id
from puhui.ledger.service import get_account
from puhui.money import format_minor

from .live import CHROMIUM, need_chromium, serving
from .world import ADMIN, card, person, settings, verify

PHONE = {"width": 375, "height": 812}


@pytest.fixture
def live(engine):  # type: ignore[no-untyped-def]
    need_chromium()
    chosen = settings(monitoring=False, fraud_checks=False, merchant_notifications=False)
    world = seed_demo_world(engine, chosen)
    with serving(engine, chosen) as url:
        yield url, world


@pytest.fixture
def browser_page(live):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    url, _ = live
    problems: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=url)
        page = context.new_page()
        page.set_default_timeout(30_000)  # a loaded 2-core CI machine: a first page can take over 10 s
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
        page.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None)
        page.on("request", lambda r: None if r.url.startswith((url, "data:")) else problems.append(f"external {r.url}"))
        yield page, problems
        context.close()
        browser.close()


def wallet_balance(engine, customer_id: str) -> str:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        account = get_account(connection, customer_wallet_id(customer_id))
    return format_minor(account.credits_posted - account.debits_posted, 2)


def api(live, method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
    import httpx

    return httpx.request(method, live[0] + path, timeout=10, **kwargs)


def test_a_customer_registers_tops_up_pays_by_qr_buys_the_fund_pays_later_repays(browser_page, live, engine) -> None:  # type: ignore[no-untyped-def]
    page, problems = browser_page
    me = person(31)
    page.goto("/app")
    assert page.url.endswith("/app/login")
    page.get_by_role("link", name="注册开户").click()
    page.get_by_label("姓名").fill(me["name"])
    page.get_by_label("身份证号").fill(me["id_number"])
    page.get_by_label("手机号").fill(me["phone"])
    page.get_by_label("密码", exact=True).fill(me["password"])
    page.get_by_label("支付服务").check()
    page.get_by_role("button", name="注册开户").click()
    page.wait_for_url("**/app")
    assert page.get_by_test_id("balance").inner_text() == "¥0.00"

    page.get_by_role("link", name="我的").click()
    customer_id = page.get_by_test_id("customer-id").inner_text()
    login = api(live, "POST", "/v1/customers/login", json={"phone": me["phone"], "password": me["password"]})
    verify(_Client(live), customer_id)  # staff verify the identity (5 checks: Class III, may invest)
    assert login.status_code == 200

    page.get_by_role("link", name="首页").click()
    page.get_by_role("link", name="银行卡").first.click()
    page.get_by_label("卡号").fill(card(31))
    page.get_by_role("button", name="绑定", exact=True).click()
    page.get_by_text("银行卡已绑定。").wait_for()

    page.goto("/app/top-up")
    page.get_by_label("金额(元)").fill("2000.00")
    page.get_by_role("button", name="充值").click()
    page.wait_for_url(re.compile(r".*/app/top-up/.+"))
    page.get_by_test_id("order-status").filter(has_text="成功").wait_for(timeout=15_000)  # the page refreshes itself
    assert wallet_balance(engine, customer_id) == "2000.00"
    page.goto("/app")
    assert page.get_by_test_id("balance").inner_text() == "¥2,000.00"

    merchant = live[1].merchants[0]
    shop = {"Authorization": f"Bearer {merchant['api_key']}"}
    qr = api(live, "POST", f"/v1/merchants/{merchant['id']}/qr-codes", headers=shop, json={"kind": "static"}).json()
    page.get_by_role("link", name="付款", exact=True).first.click()
    page.get_by_label("收款码内容").fill(f"https://pay.puhui.example/qr/{qr['id']}")
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("金额(元)").fill("128.80")
    page.get_by_role("button", name="立即付款").click()
    assert page.get_by_test_id("paid-amount").inner_text() == "¥128.80"
    assert wallet_balance(engine, customer_id) == "1871.20"

    page.get_by_role("link", name="余额理财").click()
    page.get_by_label("金额(元)").fill("1000.00")
    page.get_by_role("button", name="申购(转入)").click()
    page.get_by_text("申购已提交。").wait_for()
    assert wallet_balance(engine, customer_id) == "871.20"
    assert page.locator(".list li").filter(has_text="申购").filter(has_text="¥1,000.00").count() == 1

    page.get_by_role("link", name="首页").click()
    assert page.get_by_test_id("balance").inner_text() == "¥871.20"
    bills = page.locator(".bill")
    assert bills.count() == 3 and "−¥1,000.00" in bills.nth(0).inner_text() and "−¥128.80" in bills.nth(1).inner_text()

    pay_later_and_repay(page, live, engine, customer_id, merchant)
    assert problems == []


def pay_later_and_repay(page, live, engine, customer_id: str, merchant: dict) -> None:  # type: ignore[no-untyped-def]
    """Staff grant a credit line; the customer takes a 300.00 checkout in 3 instalments (every plan's
    rate and schedule shown first), sees the loan, and repays it in full from the wallet."""
    body = {"customer_id": customer_id, "limit": "3000.00", "annual_income": "120000.00"}  # at most a third of it
    line = api(live, "POST", "/v1/lending/lines", headers=ADMIN, json=body)
    assert line.status_code == 201, line.text
    before = wallet_balance(engine, customer_id)
    shop = {"Authorization": f"Bearer {merchant['api_key']}"}
    order = {"kind": "dynamic", "amount": "300.00"}
    qr = api(live, "POST", f"/v1/merchants/{merchant['id']}/qr-codes", headers=shop, json=order)
    page.goto("/app")
    page.get_by_role("link", name="信用额度").click()
    assert page.get_by_test_id("line-available").inner_text() == "¥3,000.00"
    page.get_by_role("link", name="扫码付款").click()
    page.get_by_label("收款码内容").fill(qr.json()["id"])
    page.get_by_role("button", name="下一步").click()
    page.get_by_role("link", name="先享后付或分期").click()
    assert page.get_by_test_id("checkout-amount").inner_text() == "¥300.00"
    three = page.get_by_test_id("plan-instalments:3")
    disclosed = api(live, "GET", "/v1/lending/plans", params={"amount": "300.00"}, headers=ADMIN).json()[1]
    assert f"{Decimal(disclosed['annualized_rate']) * 100:.2f}%" in three.inner_text()
    assert f"¥{disclosed['total_fees']}" in three.inner_text()
    three.get_by_role("radio").check()
    page.get_by_role("button", name="确认,先享后付").click()
    page.get_by_text("已用信用额度付款。").wait_for()
    assert page.get_by_test_id("loan-owed").inner_text() == "¥300.00"
    assert page.get_by_test_id("schedule").locator("tbody tr").count() == 3
    assert wallet_balance(engine, customer_id) == before  # the line paid the merchant, not the wallet

    page.get_by_label("全部(提前结清)").check()
    page.get_by_role("button", name="还款", exact=True).click()
    page.get_by_text("还款成功。").wait_for()
    assert page.get_by_test_id("loan-status").inner_text() == "已结清"
    loan_id = page.url.rsplit("/", 1)[1]
    paid = api(live, "GET", f"/v1/lending/loans/{loan_id}/statement", headers=ADMIN).json()["paid_to_date"]
    assert Decimal(before) - Decimal(paid) == Decimal(wallet_balance(engine, customer_id))
    page.get_by_role("link", name="首页").click()
    assert page.get_by_test_id("balance").inner_text() == f"¥{wallet_balance(engine, customer_id)}"


def test_the_pages_fit_a_phone_and_switch_to_english(browser_page, live) -> None:  # type: ignore[no-untyped-def]
    page, problems = browser_page
    demo = live[1].customers[0]
    page.goto("/app/login")
    page.get_by_label("手机号").fill(demo["phone"])
    page.get_by_label("密码").fill(demo["password"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/app")
    page.get_by_role("button", name="EN").click()
    page.get_by_text("Language changed.").wait_for()
    for path in ("/app", "/app/bills", "/app/fund/PH0001", "/app/me", "/app/pay", "/app/transfer", "/app/top-up"):
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == "en"
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (path, overflow)
    page.goto("/app")
    assert page.get_by_test_id("balance").inner_text().startswith("CN¥")
    assert problems == []
    page.goto("/app/nowhere")  # the 404 page, asked for on purpose: its own status is the only complaint
    assert page.get_by_role("heading").inner_text().startswith("404 · Page not found")
    assert [p.split(":")[0] for p in problems] == ["404", "console error"], problems


class _Client:
    """The few admin calls `verify` makes, over HTTP to the live server."""

    def __init__(self, live) -> None:  # type: ignore[no-untyped-def]
        self.live = live

    def post(self, path: str, headers=None, json=None):  # type: ignore[no-untyped-def]
        return api(self.live, "POST", path, headers={**ADMIN, **(headers or {})}, json=json)
