"""A payment to a payee that can no longer be paid, on SQLite and PostgreSQL: a P2P transfer to a closed
customer (注销), or a QR payment to a merchant whose wallet is closed, is refused with the stable code
`payee_closed` (409) — not the ledger's own words — and nothing changes: no money, no payment, no review,
the dynamic code still open. A suspended merchant keeps its own code, `merchant_suspended`."""

from __future__ import annotations

from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.ledger.service import set_account_closed
from puhui.payments.tables import payment_reviews, payments
from tests.payments.test_reviews import check, dynamic_qr, pending_debits  # noqa: F401 - fixtures
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    ADMIN,
    PASSWORD,
    assert_books_clean,
    balance,
    client,
    login,
    make_customer,
    make_merchant,
    transfer_count,
)

TWO = {"verification": "two_factors", "password": PASSWORD}


def rows(engine) -> tuple[int, int]:
    with reading(engine) as connection:
        made = connection.execute(select(func.count()).select_from(payments)).scalar_one()
        held = connection.execute(select(func.count()).select_from(payment_reviews)).scalar_one()
    return made, held


def world(client, engine) -> dict:
    payer, phone = make_customer(client, engine, "13812345678", "531", 5_000_00)
    friend, _ = make_customer(client, engine, "13912345678", "620", 0)
    merchant_id, shop = make_merchant(client)
    return {"payer": payer, "me": login(client, phone), "friend": friend, "merchant_id": merchant_id, "shop": shop}


def assert_refused(answer, code: str) -> None:
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert problem["code"] == code and answer.headers["content-type"].startswith("application/problem+json")
    assert "ledger" not in problem["detail"] and "credit_account" not in problem["detail"], problem


def test_a_transfer_to_a_closed_customer_is_refused_and_moves_nothing(client, engine, clock, check):  # noqa: F811
    w = world(client, engine)
    closed = client.post(f"/v1/customers/{w['friend']}/close", headers=ADMIN, json={"reason": "asked to"})
    assert closed.status_code == 200, closed.text
    before = (transfer_count(engine), rows(engine), balance(engine, f"wallet.{w['payer']}"))
    for amount in ("1.00", "400.00"):  # paid at once, or held for a review (人工审核): refused alike, first
        answer = client.post(
            "/v1/transfers/p2p",
            headers={**w["me"], "Idempotency-Key": f"to-closed-{amount}"},
            json={"to_customer_id": w["friend"], "amount": amount},
        )
        assert_refused(answer, "payee_closed")
        assert "closed" in answer.json()["detail"] and answer.json()["payee_id"] == w["friend"]
    assert (transfer_count(engine), rows(engine), balance(engine, f"wallet.{w['payer']}")) == before
    assert pending_debits(engine, f"wallet.{w['payer']}") == 0 and check.recorded == []
    assert_books_clean(engine)


def test_a_qr_payment_to_a_closed_merchant_wallet_is_refused_and_moves_nothing(client, engine, clock, check):  # noqa: F811
    w = world(client, engine)
    codes = {amount: dynamic_qr(client, w["merchant_id"], w["shop"], amount) for amount in ("10.00", "400.00")}
    transaction(engine, lambda uow: set_account_closed(uow, f"wallet.{w['merchant_id']}", True))
    before = (transfer_count(engine), rows(engine), balance(engine, f"wallet.{w['payer']}"))
    for qr in codes.values():  # paid at once, or held for a review: the hold is refused alike
        assert_refused(client.post(f"/v1/qr-codes/{qr}/pay", headers=w["me"], json=TWO), "payee_closed")
        assert client.get(f"/v1/qr-codes/{qr}", headers=w["me"]).json()["status"] == "active"
    static = client.post(f"/v1/merchants/{w['merchant_id']}/qr-codes", headers=w["shop"], json={"kind": "static"})
    paid = client.post(f"/v1/qr-codes/{static.json()['id']}/pay", headers=w["me"], json={**TWO, "amount": "5.00"})
    assert_refused(paid, "payee_closed")
    assert (transfer_count(engine), rows(engine), balance(engine, f"wallet.{w['payer']}")) == before
    assert pending_debits(engine, f"wallet.{w['payer']}") == 0
    assert_books_clean(engine)


def test_a_suspended_merchant_keeps_its_own_code_and_moves_nothing(client, engine, clock):
    w = world(client, engine)
    qr = dynamic_qr(client, w["merchant_id"], w["shop"], "10.00")
    suspended = client.put(
        f"/v1/merchants/{w['merchant_id']}/status",
        headers=ADMIN,
        json={"status": "suspended", "reason": "fraud inquiry"},
    )
    assert suspended.status_code == 200, suspended.text
    before = (transfer_count(engine), rows(engine), balance(engine, f"wallet.{w['payer']}"))
    assert_refused(client.post(f"/v1/qr-codes/{qr}/pay", headers=w["me"], json=TWO), "merchant_suspended")
    assert (transfer_count(engine), rows(engine), balance(engine, f"wallet.{w['payer']}")) == before
    assert client.get(f"/v1/qr-codes/{qr}", headers=w["me"]).json()["status"] == "active"
    assert_books_clean(engine)
