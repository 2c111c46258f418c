"""A payment held for a manual review (人工审核) as its payer sees it in the app: the review page reads the
review's real state (waiting, approved with its receipt, rejected, expired) and is not found for another
customer's review or a made-up id; the bills and the home page name the held payment's line by what
became of it (the statement keeps the hold's kind `payment_review_hold` once it is decided)."""

from __future__ import annotations

import re

import pytest

from puhui.db import transaction
from puhui.ledger.service import expire_pending
from puhui.payments import reviews, risk_hook
from tests.payments.test_reviews import ThresholdCheck

from .conftest import sign_up
from .staff_world import add_staff
from .test_credit_pages import _customer_with_money
from .test_customer_pages import post_form
from .world import ADMIN, MERCHANT, PASSWORD, person

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}


@pytest.fixture
def checked(engine):  # type: ignore[no-untyped-def]
    """A stand-in fraud check: payments from 300 CNY are held for review."""
    risk_hook.install(engine, ThresholdCheck())
    yield
    risk_hook.uninstall(engine)


def _merchant(client) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    made = client.post("/v1/merchants", headers=ADMIN, json=MERCHANT)
    assert made.status_code == 201, made.text
    return made.json()["id"], {"Authorization": f"Bearer {made.json()['api_key']}"}


def _held(client, shop: tuple[str, dict], amount: str) -> str:  # type: ignore[no-untyped-def]
    """Pay the merchant's dynamic QR code for `amount` from the app; the payment is held: the review page."""
    merchant_id, key = shop
    qr = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=key, json={"kind": "dynamic", "amount": amount})
    assert qr.status_code == 201, qr.text
    qr_id = qr.json()["id"]
    paid = post_form(client, f"/app/pay/{qr_id}", f"/app/pay/{qr_id}", password=PASSWORD)
    assert paid.status_code == 303 and paid.headers["location"].startswith("/app/reviews/"), paid.text
    return paid.headers["location"]


def _decide(client, officer: str, url: str, decision: str) -> None:  # type: ignore[no-untyped-def]
    review_id = url.rsplit("/", 1)[1]
    headers = {"Authorization": f"Bearer {officer}", "Idempotency-Key": f"{decision}-{review_id}"}
    done = client.post(f"/v1/risk/reviews/{review_id}/{decision}", headers=headers, json={"note": "called"})
    assert done.status_code == 200, done.text


def _status(page: str) -> str:
    return re.search(r'data-testid="review-status">([^<]+)<', page).group(1)


def _hold_lines(page: str) -> list[str]:
    """The names of the bills' lines (the `what` of each)."""
    return re.findall(r'<span class="what">([^<]*)</span>', page)


def test_the_review_page_shows_its_real_state_and_the_bills_follow_it(app, client, engine, checked, clock) -> None:  # type: ignore[no-untyped-def]
    shop = _merchant(client)
    _customer_with_money(app, client, engine, 61, "2000.00")
    officer = add_staff(client, "risk_officer", "ro.review-pages")

    rejected = _held(client, shop, "500.00")
    waiting = client.get(rejected, headers=ZH)
    assert waiting.status_code == 200 and _status(waiting.text) == "人工审核中" and "¥500.00" in waiting.text
    assert "风控审核中" in _hold_lines(client.get("/app", headers=ZH).text)
    assert "风控审核中" in _hold_lines(client.get("/app/bills", headers=ZH).text)

    _decide(client, officer, rejected, "reject")
    page = client.get(rejected, headers=ZH).text
    assert _status(page) == "审核未通过" and "人工审核中" not in page
    assert _status(client.get(rejected, headers=EN).text) == "Not approved"
    lines = _hold_lines(client.get("/app/bills", headers=ZH).text)
    assert lines == ["审核未通过，已退回", "充值"], lines

    approved = _held(client, shop, "400.00")
    _decide(client, officer, approved, "approve")
    page = client.get(approved, headers=ZH).text
    assert _status(page) == "审核通过，已付款" and "人工审核中" not in page
    receipt = re.search(r'href="(/app/payments/[^"]+)"', page).group(1)
    assert client.get(receipt, headers=ZH).status_code == 200
    for url in ("/app", "/app/bills"):
        lines = _hold_lines(client.get(url, headers=ZH).text)
        assert lines[0] == "商户付款" and "风控审核中的付款" not in lines, (url, lines)  # approved: the payment itself
    english = _hold_lines(client.get("/app/bills", headers=EN).text)
    assert english[:2] == ["Payment to a merchant", "Payment not approved: money returned"], english

    lapsed = _held(client, shop, "300.00")
    clock.advance(hours=73)  # past the 72-hour hold, before anything closed it
    client.cookies.clear()  # the session has ended too: log in again
    again = post_form(client, "/app/login", "/app/login", phone=person(61)["phone"], password=PASSWORD)
    assert again.status_code == 303
    assert _status(client.get(lapsed, headers=ZH).text) == "审核已过期"
    while transaction(engine, expire_pending) > 0:
        pass
    transaction(engine, reviews.expire_due)
    assert _status(client.get(lapsed, headers=ZH).text) == "审核已过期"
    lines = _hold_lines(client.get("/app/bills", headers=ZH).text)
    assert lines[0] == "审核已过期，已退回" and lines[1:3] == ["商户付款", "审核未通过，已退回"], lines


def test_another_customers_review_or_a_made_up_id_is_not_found(app, client, engine, checked) -> None:  # type: ignore[no-untyped-def]
    shop = _merchant(client)
    _customer_with_money(app, client, engine, 62, "1000.00")
    mine = _held(client, shop, "500.00")
    review_id = mine.rsplit("/", 1)[1]

    client.cookies.clear()
    sign_up(client, 63)
    theirs = client.get(mine, headers=ZH)
    assert theirs.status_code == 404 and "页面不存在" in theirs.text and f"未找到 {review_id}。" in theirs.text
    assert "人工审核中" not in theirs.text and "500.00" not in theirs.text
    made_up = client.get("/app/reviews/pay_0000000000000000", headers=ZH)
    assert made_up.status_code == 404 and "未找到 pay_0000000000000000。" in made_up.text
    assert "人工审核中" not in made_up.text and "not found" not in made_up.text
    english = client.get("/app/reviews/pay_0000000000000000", headers=EN)
    assert english.status_code == 404 and "pay_0000000000000000 was not found." in english.text
