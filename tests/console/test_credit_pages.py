"""The credit pages of the customer app over plain HTTP: the credit line, buy-now-pay-later at a
merchant's QR code with every plan disclosed before the choice, the loan with its schedule, and
repayment from the wallet — each figure checked against the ledger; refusals change nothing and a
customer cannot open another's loan."""

from __future__ import annotations

import re
from decimal import Decimal

from puhui.db import reading, transaction
from puhui.identity.service import customer_wallet_id, merchant_wallet_id
from puhui.ledger.audit import audit
from puhui.ledger.service import get_account
from puhui.money import format_minor
from puhui.payments import reserve

from .conftest import customer_id_of, sign_up
from .test_customer_pages import balance, post_form, settle_bank
from .world import ADMIN, card, hidden, merchant_qr, verify


def _bearer(client) -> dict:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {client.cookies.get('puhui_session')}"}


def _posted(engine, account_id: str) -> str:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        account = get_account(connection, account_id)
    return format_minor(account.credits_posted - account.debits_posted, 2)


def _customer_with_money(app, client, engine, n: int, amount: str) -> str:  # type: ignore[no-untyped-def]
    sign_up(client, n)
    cid = customer_id_of(client)
    verify(client, cid)
    assert post_form(client, "/app/cards", "/app/cards", card_number=card(n)).status_code == 303
    card_id = re.search(r'<option value="(card_[0-9a-f]+)"', client.get("/app/top-up").text).group(1)
    assert post_form(client, "/app/top-up", "/app/top-up", card_id=card_id, amount=amount).status_code == 303
    settle_bank(app, engine)
    assert balance(engine, cid) == amount
    return cid


def _open_line(client, engine, customer_id: str, limit: str) -> dict:  # type: ignore[no-untyped-def]
    """Staff open a line for a customer who declared their income (a line is at most a third of it); the
    platform has the capital to lend (实缴资本, as the demo world has)."""
    transaction(engine, lambda uow: reserve.inject_capital(uow, "capital.credit-pages", 1_000_000_00))
    body = {"customer_id": customer_id, "limit": limit, "annual_income": "120000.00"}
    made = client.post("/v1/lending/lines", headers=ADMIN, json=body)
    assert made.status_code == 201, made.text
    return made.json()


def test_without_a_line_the_pages_say_so_and_a_checkout_changes_nothing(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    merchant_id, qr_id = merchant_qr(client)
    sign_up(client, 41)
    assert "您还没有信用额度" in client.get("/app/credit").text
    page = client.get(f"/app/pay/{qr_id}/later?amount=100.00")
    assert page.status_code == 200 and 'data-testid="no-line"' in page.text
    form = hidden(client.get(f"/app/pay/{qr_id}").text)
    refused = client.post(f"/app/pay/{qr_id}/later", data={**form, "plan": "pay_later", "amount": "100.00"})
    assert refused.status_code == 404 and "您还没有信用额度" in refused.text
    assert _posted(engine, merchant_wallet_id(merchant_id)) == "0.00"
    assert client.get("/v1/lending/loans", headers=_bearer(client)).json() == []


def test_instalments_at_checkout_are_disclosed_then_booked_and_repaid_as_the_ledger_holds(app, client, engine) -> None:  # type: ignore[no-untyped-def]
    merchant_id, qr_id = merchant_qr(client)
    cid = _customer_with_money(app, client, engine, 42, "1000.00")
    line = _open_line(client, engine, cid, "5000.00")
    assert "¥5,000.00" in client.get("/app/credit").text

    shown = client.get(f"/app/pay/{qr_id}/later?amount=300.00")
    disclosed = client.get("/v1/lending/plans", params={"amount": "300.00"}, headers=_bearer(client)).json()
    assert [(p["plan"], p["periods"]) for p in disclosed] == [
        ("pay_later", 1),
        ("instalments", 3),
        ("instalments", 6),
        ("instalments", 12),
    ]
    three = disclosed[1]
    percent = f"{Decimal(three['annualized_rate']) * 100:.2f}%"
    assert 'data-testid="plan-instalments:3"' in shown.text and percent in shown.text
    assert Decimal(three["total_repayment"]) == Decimal("300.00") + Decimal(three["total_fees"])

    form = hidden(shown.text)
    done = client.post(
        f"/app/pay/{qr_id}/later",
        data={**form, "plan": "instalments:3", "amount": "300.00"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    loan_url = done.headers["location"]
    loan_id = loan_url.rsplit("/", 1)[1]
    page = client.get(loan_url).text
    assert "已用信用额度付款" in page and percent in page
    assert re.search(r'data-testid="loan-owed">¥300\.00<', page)
    assert page.count("<tr><td>") == 3  # the three instalments of the schedule
    assert balance(engine, cid) == "1000.00"  # the wallet pays nothing now: the line did
    merchant_got = Decimal(_posted(engine, merchant_wallet_id(merchant_id)))
    assert Decimal("0") < merchant_got <= Decimal("300.00")  # the QR amount less the merchant's fee
    line_now = client.get(f"/v1/lending/lines/{line['id']}", headers=_bearer(client)).json()
    assert line_now["outstanding"] == "300.00"
    assert 'data-testid="line-outstanding">¥300.00<' in client.get("/app/credit").text

    nothing_due = post_form(client, loan_url, f"{loan_url}/repay", kind="scheduled")
    assert nothing_due.status_code == 422 and "尚无到期应还" in nothing_due.text
    assert balance(engine, cid) == "1000.00"
    forged = client.post(f"{loan_url}/repay", data={"kind": "early_full"}, follow_redirects=False)
    assert forged.status_code == 403 and balance(engine, cid) == "1000.00"

    repaid = post_form(client, loan_url, f"{loan_url}/repay", kind="early_full")
    assert repaid.status_code == 303
    page = client.get(loan_url).text
    statement = client.get(f"/v1/lending/loans/{loan_id}/statement", headers=_bearer(client)).json()
    assert statement["status"] == "paid_off" and "还款成功" in page and "已结清" in page
    assert Decimal(balance(engine, cid)) == Decimal("1000.00") - Decimal(statement["paid_to_date"])
    assert client.get(f"/v1/lending/lines/{line['id']}", headers=_bearer(client)).json()["outstanding"] == "0.00"

    client.cookies.clear()
    sign_up(client, 43)
    other = client.get(loan_url)
    assert other.status_code in (403, 404) and "300.00" not in other.text
    with reading(engine) as connection:
        assert audit(connection).ok
