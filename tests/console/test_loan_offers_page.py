"""The customer app shows the customer's loan offers (借款方案) on /app/loans, read through the API (GET
/v1/lending/offers): each with what it is for, its status in the viewer's language (open, accepted, superseded) and
what can follow — an accepted offer leads to its loan, a superseded one to the loan its application became, an open
one says it can still be accepted. Another customer's offers are never shown."""

from __future__ import annotations

import re

from puhui.console import i18n
from puhui.db import transaction
from puhui.demo_risk import ensure_model
from puhui.payments import reserve

from .conftest import customer_id_of, sign_up
from .world import ADMIN, verify

PRODUCT = {
    "code": "cash-12",
    "name": "现金贷 12期",
    "min_amount": "1000.00",
    "max_amount": "50000.00",
    "min_term": 6,
    "max_term": 12,
    "method": "equal_instalments",
    "annual_rate": "0.18",
    "penalty_annual_rate": "0.24",
}
OFFER = re.compile(r'<li data-testid="offer" data-offer="([^"]+)">(.*?)</li>', re.S)
STATUS = re.compile(r'data-testid="offer-status">([^<]+)<')
NEXT = re.compile(r'data-testid="offer-next">(.*?)</span>', re.S)
LOAN = re.compile(r'<a href="(/app/loans/[^"]+)" data-testid="offer-loan">')


def _bearer(client) -> dict:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {client.cookies.get('puhui_session')}"}


def _created(answer) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status_code == 201, answer.text
    return answer.json()


def _shown(page: str) -> dict[str, tuple[str, str, str | None, str]]:
    """Each offer on the page by id: (status tag, next step in plain words, loan link or None, the offer's line)."""
    shown = {}
    for offer_id, line in OFFER.findall(page):
        status, step, link = STATUS.search(line), NEXT.search(line), LOAN.search(line)
        assert status and step, line
        words = " ".join(re.sub(r"<[^>]+>", " ", step.group(1)).split())
        shown[offer_id] = (status.group(1).strip(), words, link.group(1) if link else None, line)
    return shown


def _borrower_with_offers(client, engine) -> tuple[dict, dict, dict, dict]:  # type: ignore[no-untyped-def]
    """A verified customer with two offers on one application, the second accepted (a loan), and an open offer on
    another application: (first, second, open, loan)."""
    transaction(engine, lambda uow: reserve.inject_capital(uow, "capital.offers-page", 1_000_000_00))
    ensure_model(engine)  # the platform credit model: no application is approved without one
    assert client.post("/v1/lending/products", headers={**ADMIN, "Idempotency-Key": "p"}, json=PRODUCT).is_success
    sign_up(client, 61)
    verify(client, customer_id_of(client))
    me = _bearer(client)

    def apply(key: str, amount: str, term: int) -> dict:
        body = {"product_code": "cash-12", "amount": amount, "term": term, "annual_income": "120000.00"}
        return _created(client.post("/v1/lending/applications", headers={**me, "Idempotency-Key": key}, json=body))

    def offer(application: dict, key: str) -> dict:
        path = f"/v1/lending/applications/{application['id']}/offers"
        return _created(client.post(path, headers={**me, "Idempotency-Key": key}))

    used, waiting = apply("a1", "3000.00", 6), apply("a2", "2000.00", 12)
    first, second, open_one = offer(used, "o1"), offer(used, "o2"), offer(waiting, "o3")
    loan = _created(client.post(f"/v1/lending/offers/{second['id']}/accept", headers={**me, "Idempotency-Key": "c"}))
    return first, second, open_one, loan


def test_the_loans_page_shows_each_offer_with_its_status_and_what_follows(client, engine) -> None:  # type: ignore[no-untyped-def]
    first, second, open_one, loan = _borrower_with_offers(client, engine)
    listed = client.get("/v1/lending/offers", headers=_bearer(client)).json()
    page = client.get("/app/loans")
    assert page.status_code == 200
    shown = _shown(page.text)
    assert set(shown) == {o["id"] for o in listed} == {first["id"], second["id"], open_one["id"]}
    loan_page = f"/app/loans/{loan['id']}"
    assert shown[first["id"]][:3] == (
        "已失效",
        "同一申请的另一份借款方案已被接受并成为您的借款,因此这份方案不能再接受。如需再借,请重新申请。 查看这笔借款",
        loan_page,
    )
    assert shown[second["id"]][:3] == (
        "已接受",
        "您已接受这份借款方案,它已成为一笔借款。请在借款页面查看还款计划并还款。 查看这笔借款",
        loan_page,
    )
    assert shown[open_one["id"]][0] == "待接受" and shown[open_one["id"]][2] is None
    assert shown[open_one["id"]][1].startswith("这份借款方案尚待接受")
    assert "¥2,000.00" in shown[open_one["id"]][3] and "12 个月" in shown[open_one["id"]][3]
    assert "¥3,000.00" in shown[first["id"]][3] and "6 个月" in shown[first["id"]][3]
    assert "现金贷 12期" in shown[first["id"]][3]  # the product by its name
    assert client.get(loan_page).status_code == 200  # the link leads to the loan

    client.cookies.set(i18n.COOKIE, "en")
    english = _shown(client.get("/app/loans").text)
    assert {english[o["id"]][0] for o in (first, second, open_one)} == {"superseded", "accepted", "open"}
    assert english[first["id"]][0] == "superseded" and english[open_one["id"]][0] == "open"
    assert english[first["id"]][1].startswith("Another offer of the same application was accepted")
    assert english[open_one["id"]][1].startswith("This offer is open: it can still be accepted")
    assert "CN¥2,000.00" in english[open_one["id"]][3]


def test_another_customer_sees_none_of_the_offers(client, engine) -> None:  # type: ignore[no-untyped-def]
    first, second, open_one, _ = _borrower_with_offers(client, engine)
    sign_up(client, 62)  # now signed in as someone else
    page = client.get("/app/loans")
    assert page.status_code == 200
    assert 'data-testid="offers"' not in page.text and _shown(page.text) == {}
    assert not any(o["id"] in page.text for o in (first, second, open_one))
    assert client.get("/v1/lending/offers", headers=_bearer(client)).json() == []
