"""Insurance in a real browser (Debian's chromium driven by Playwright) on the demo world at a phone's
width: a demo customer quotes the demo 百万医疗 product, answers the health declaration, ticks the
confirmations and buys it (the wallet down by the premium on the ledger); a month later they report an
accident claim with a document chosen in a file input (read by the page's script into base64) and see
its status, benefit and reasons, the document's size as stored; no console error or failed request."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from puhui import clock as clock_module
from puhui.db import reading
from puhui.insurance.claims import listings

from .test_browser import PHONE, browser_page, live, wallet_balance  # noqa: F401  (fixtures)

INVOICE = b"%PDF-1.4\n% hospital invoice: 10,300.00 CNY\n" * 40


def log_in(page, who: dict) -> None:  # type: ignore[no-untyped-def]
    page.goto("/app/login")
    page.get_by_label("手机号").fill(who["phone"])
    page.get_by_label("密码").fill(who["password"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/app")


def test_a_customer_buys_a_medical_policy_and_reports_a_claim(browser_page, live, engine, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page, problems = browser_page
    who = live[1].customers[0]
    log_in(page, who)
    before = Decimal(wallet_balance(engine, who["id"]))
    page.get_by_role("link", name="保险").click()
    page.get_by_role("button", name="保费试算").click()
    assert page.get_by_test_id("insured-age").inner_text() == "37"  # by the ID (born 1988-04-12), not typed
    assert page.get_by_test_id("premium").inner_text() == "¥299.00"
    assert "免赔额:每保单年度 10000.00 元" in page.get_by_test_id("disclosure").inner_text()
    for question in page.get_by_test_id("health-question").all():
        question.get_by_label("否").check()
    for box in page.get_by_role("checkbox").all():
        box.check()
    page.get_by_role("button", name="支付 ¥299.00 并投保").click()
    page.wait_for_url("**/app/insurance/policies/*")
    assert page.get_by_test_id("policy-status").inner_text() == "待生效"  # the cover starts tomorrow
    assert Decimal(wallet_balance(engine, who["id"])) == before - Decimal("299.00")

    # past the cover's first 30 days, the product's early-claim period (a claim in it goes to a person):
    # the claim is adjudicated at once; the session expired with the time
    clock.advance(days=31)
    log_in(page, who)
    page.goto("/app/insurance/claims")
    page.get_by_label("意外").check()
    page.get_by_label("诊断编码(如 J18)").fill("S52")
    page.get_by_label("出险日期").fill(clock_module.business_date().isoformat())
    page.get_by_label("医疗费用(元)").fill("10300.00")
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(INVOICE)
    page.get_by_label("理赔材料(发票、出院小结;不超过 1 MiB)").set_input_files(str(invoice))
    # the file is read into the form by the page's script: wait for it by locator (a string predicate is an
    # eval, which the console's CSP refuses once the first check fails)
    expect(page.locator("[name=document_content]")).not_to_have_value("")
    page.get_by_role("button", name="提交理赔").click()
    page.wait_for_url("**/app/insurance/claims/clm_*")
    assert page.get_by_test_id("claim-documents").inner_text() == f"invoice.pdf ({len(INVOICE)} B)"
    with reading(engine) as connection:
        stored = listings.claims_of(connection, who["id"])[0]
    assert page.get_by_test_id("claim-benefit").inner_text() == f"¥{stored['benefit']}"
    assert stored["benefit"] == "300.00" and stored["status"] == "paid"  # 10,300 - the 10,000 deductible
    assert page.get_by_test_id("claim-status").inner_text() == "已赔付"
    assert page.get_by_test_id("claim-reasons").inner_text() == "按条款赔付"
    policy = "/app/insurance/policies/" + stored["policy_id"]
    page.get_by_role("button", name="EN").click()
    # the switch posts and comes back to the claim: let that navigation finish before the next one
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.wait_for_load_state()
    for path in (
        "/app/insurance",
        "/app/insurance/claims",
        policy,
        "/app/insurance/buy?code=zunxiang-e&version=1&age=30&social=no",
    ):
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == "en"
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (path, overflow)
    assert page.get_by_test_id("premium").inner_text() == "CN¥688.00"
    assert problems == []
