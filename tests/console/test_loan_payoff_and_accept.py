"""New-user findings on the customer's loans: the payoff amount of an early repayment in full — with its early
repayment fee (提前还款违约金) — is shown on the loan's page before confirming and is exactly what is charged; an
offer discloses the fee and an open one can be accepted from /app/loans (refusals in the customer's language);
and a pay-later checkout over the QR day limit says so as the wallet's pay page does."""

from __future__ import annotations

import re
from decimal import Decimal

from puhui.db import transaction
from puhui.demo_risk import ensure_model
from puhui.payments import reserve

from .test_credit_pages import _bearer, _customer_with_money, _open_line, _posted
from .test_loan_offers_page import PRODUCT
from .world import ADMIN, hidden, merchant_qr

FEE_PRODUCT = {**PRODUCT, "code": "cash-fee", "early_repayment_fee_rate": "0.01"}


def _testid(page: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}">([^<]*)<', page)
    assert found is not None, name
    return found.group(1)


def _offer(client, engine, n: int) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    """A verified customer with 100.00 in the wallet and an open offer of 3,000.00 over 6 months (the platform's
    credit model approves it): (customer id, offer)."""
    transaction(engine, lambda uow: reserve.inject_capital(uow, "capital.payoff", 1_000_000_00))
    ensure_model(engine)
    made = client.post("/v1/lending/products", headers={**ADMIN, "Idempotency-Key": "p"}, json=FEE_PRODUCT)
    assert made.status_code == 201, made.text
    cid = _customer_with_money(client.app, client, engine, n, "100.00")
    me = _bearer(client)
    body = {"product_code": "cash-fee", "amount": "3000.00", "term": 6, "annual_income": "120000.00"}
    applied = client.post("/v1/lending/applications", headers={**me, "Idempotency-Key": "a"}, json=body).json()
    assert applied["decision"] == "approved" and applied["grade"] is not None, applied
    offer = client.post(f"/v1/lending/applications/{applied['id']}/offers", headers={**me, "Idempotency-Key": "o"})
    assert offer.status_code == 201, offer.text
    return cid, offer.json()


def test_an_open_offer_is_accepted_from_the_loans_page_with_its_fee_disclosed(client, engine) -> None:  # type: ignore[no-untyped-def]
    cid, offer = _offer(client, engine, 71)
    assert offer["early_repayment_fee_rate"] == "0.01"
    page = client.get("/app/loans").text
    assert "提前还款违约金：提前归还本金的 1.00%" in _testid(page, "offer-early-fee")
    form = re.search(rf'action="/app/loans/offers/{offer["id"]}/accept".*?</form>', page, re.S)
    assert form is not None
    accepted = client.post(
        f"/app/loans/offers/{offer['id']}/accept", data=hidden(form.group(0)), follow_redirects=False
    )
    assert accepted.status_code == 303, accepted.text
    loans = client.get("/v1/lending/loans", headers=_bearer(client)).json()
    assert [loan["principal"] for loan in loans] == ["3000.00"]
    assert accepted.headers["location"] == f"/app/loans/{loans[0]['id']}"
    assert _posted(engine, f"wallet.{cid}") == "3100.00"
    # accepted again (a new form, a new key): refused in the customer's words, nothing changes
    again = client.post(f"/app/loans/offers/{offer['id']}/accept", data=hidden(form.group(0)) | {"key": "k2"})
    assert again.status_code == 409 and "这份借款方案已被接受" in again.text
    english = client.post(f"/app/loans/offers/{offer['id']}/accept?lang=en", data=hidden(form.group(0)) | {"key": "k3"})
    assert english.status_code == 409 and "This offer was already accepted" in english.text
    unknown = client.post("/app/loans/offers/lo_nobody/accept", data=hidden(form.group(0)) | {"key": "k4"})
    assert unknown.status_code == 404 and "该借款方案不存在或不属于您" in unknown.text
    assert len(client.get("/v1/lending/loans", headers=_bearer(client)).json()) == 1
    assert _posted(engine, f"wallet.{cid}") == "3100.00"


def test_the_payoff_with_its_fee_is_shown_before_and_charged_exactly(client, engine) -> None:  # type: ignore[no-untyped-def]
    cid, offer = _offer(client, engine, 72)
    me = _bearer(client)
    loan = client.post(f"/v1/lending/offers/{offer['id']}/accept", headers={**me, "Idempotency-Key": "c"}).json()
    quote = client.get(f"/v1/lending/loans/{loan['id']}/payoff", headers=me).json()
    assert (quote["principal"], quote["early_repayment_fee"], quote["early_repayment_fee_rate"]) == (
        "3000.00",
        "30.00",
        "0.01",
    )
    parts = ("principal", "interest", "fees", "penalty", "early_repayment_fee")
    assert Decimal(quote["total"]) == sum(Decimal(quote[p]) for p in parts)
    page = client.get(f"/app/loans/{loan['id']}").text
    assert _testid(page, "payoff-early-fee") == "¥30.00"
    assert _testid(page, "payoff-total") == f"¥{Decimal(quote['total']):,.2f}"
    assert "提前全部还款须按页面显示的结清金额还款" in page
    repay_form = re.search(r'<form method="post" action="/app/loans/[^"]+/repay".*?</form>', page, re.S)
    assert repay_form is not None
    form = hidden(repay_form.group(0))
    assert f'name="payoff" value="{quote["total"]}"' in repay_form.group(0)
    form["payoff"] = quote["total"]
    # a stale payoff is refused and nothing is charged
    stale = client.post(f"/app/loans/{loan['id']}/repay", data={**form, "kind": "early_full", "payoff": "1.00"})
    assert stale.status_code == 422 and "结清金额已变化" in stale.text
    assert _posted(engine, f"wallet.{cid}") == "3100.00"
    done = client.post(f"/app/loans/{loan['id']}/repay", data={**form, "kind": "early_full"}, follow_redirects=False)
    assert done.status_code == 303, done.text
    left = Decimal("3100.00") - Decimal(quote["total"])
    assert _posted(engine, f"wallet.{cid}") == f"{left:.2f}"
    assert client.get(f"/v1/lending/loans/{loan['id']}", headers=me).json()["status"] == "paid_off"


def test_a_pay_later_checkout_over_the_qr_day_limit_says_so_as_the_pay_page_does(client, engine) -> None:  # type: ignore[no-untyped-def]
    _, qr_id = merchant_qr(client)
    cid = _customer_with_money(client.app, client, engine, 73, "100.00")
    _open_line(client, engine, cid, "5000.00")
    form = hidden(client.get(f"/app/pay/{qr_id}/later?amount=1200.00").text)
    refused = client.post(f"/app/pay/{qr_id}/later", data={**form, "plan": "pay_later", "amount": "1200.00"})
    assert refused.status_code == 409, refused.text
    assert "超出今日扫码付款限额 ¥1,000.00。" in refused.text
    assert "超出账户限额" not in refused.text
    assert client.get("/v1/lending/loans", headers=_bearer(client)).json() == []
