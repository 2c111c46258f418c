"""Pay later at checkout over HTTP on SQLite and PostgreSQL: the merchant is paid in full at once
(less its fee), the customer's wallet is unchanged, a loan on the line carries the BNPL schedule,
and repaying through the lending repayments closes it. Refusals are 4xx and change nothing."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from stdnum.cn import ric

from puhui.app import create_app
from puhui.db import reading, transaction
from puhui.ledger.audit import audit
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers, get_account
from puhui.ledger.tables import transfers
from puhui.lending import repayments, service
from puhui.lending.lines.tables import LINE_TABLES
from puhui.payments import reserve
from puhui.settings import Settings

from .lending_world import snapshot as lending_snapshot

ADMIN = {"Authorization": "Bearer test-admin-token"}
K1 = base64.urlsafe_b64encode(b"1" * 32).decode()
INDEX_KEY = base64.urlsafe_b64encode(b"i" * 32).decode()
PASSWORD = "correct horse battery"
MERCHANT = {
    "name": "兰州拉面馆",
    "credit_code": "91110000600037341L",
    "settlement_account": "110060774018010012345",
    "settlement_holder": "马晓明",
    "settlement_bank": "交通银行北京分行",
}


def snapshot(engine) -> dict:  # type: ignore[no-untyped-def]
    """The lending snapshot plus every credit-line row."""
    state = lending_snapshot(engine)
    with engine.connect() as connection:
        for table in LINE_TABLES:
            state[table.name] = sorted(map(tuple, connection.execute(select(table)).all()), key=repr)
    return state


@pytest.fixture
def client(engine, clock):
    settings = Settings(
        admin_token="test-admin-token",
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret="j" * 48,
        jwt_ttl_seconds=900,
        merchant_fee_bp=60,
        merchant_notify_key="merchant-notify-test-key",
    )
    transaction(engine, lambda uow: reserve.inject_capital(uow, "capital.test", 100_000_000_00))
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def customer(client, phone: str, seq: str) -> tuple[str, dict]:
    body = "110105" + "19900307" + seq
    person = {
        "name": "张三丰",
        "id_number": body + ric.calc_check_digit(body + "0"),
        "phone": phone,
        "password": PASSWORD,
    }
    answer = client.post("/v1/customers", json={**person, "consents": ["payments"]})
    assert answer.status_code == 201, answer.text
    cid = answer.json()["id"]
    for channel in ("public_security", "bank_card", "face"):
        done = client.post(
            f"/v1/customers/{cid}/verifications",
            headers=ADMIN,
            json={"channel": channel, "reference": f"R-{cid}-{channel}"},
        )
        assert done.status_code == 201, done.text
    assert client.post(f"/v1/customers/{cid}/tier", headers=ADMIN, json={"reason": "ok"}).status_code == 200
    login = client.post("/v1/customers/login", json={"phone": phone, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return cid, {"Authorization": f"Bearer {login.json()['token']}"}


def merchant(client) -> tuple[str, dict]:
    answer = client.post("/v1/merchants", headers=ADMIN, json=MERCHANT)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], {"Authorization": f"Bearer {answer.json()['api_key']}"}


def qr(client, merchant_id: str, shop: dict, amount: str) -> str:
    made = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes",
        headers=shop,
        json={"kind": "dynamic", "amount": amount, "expires_in_seconds": 600},
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def balance(engine, account_id: str) -> int:
    with reading(engine) as connection:
        account = get_account(connection, account_id)
        return account.credits_posted - account.debits_posted


def books_clean(engine) -> None:
    with reading(engine) as connection:
        report = audit(connection)
        assert report.ok, report
        assert reserve.reserve_coverage(connection).covered


def open_line(client, cid: str, limit: str) -> str:
    opened = client.post(
        "/v1/lending/lines",
        headers={**ADMIN, "Idempotency-Key": f"line-{cid}"},
        json={"customer_id": cid, "limit": limit, "annual_income": "120000.00"},
    )
    assert opened.status_code == 201, opened.text
    return opened.json()["id"]


def fund(engine, cid: str, fen: int) -> None:
    transaction(
        engine,
        lambda uow: create_transfers(
            uow, [Transfer(f"fund.{cid}", "platform.reserve_bank.CNY", f"wallet.{cid}", fen, "CNY", "top_up")]
        ),
    )


@pytest.mark.parametrize("plan", [{"plan": "pay_later"}, {"plan": "instalments", "periods": 6}])
def test_checkout_pays_the_merchant_and_the_customer_owes_the_line(client, engine, clock, plan):
    cid, me = customer(client, "13800000001", "531")
    merchant_id, shop = merchant(client)
    line_id = open_line(client, cid, "2000.00")
    qr_id = qr(client, merchant_id, shop, "500.00")
    paid = client.post(
        f"/v1/lending/checkout/{qr_id}",
        headers={**me, "Idempotency-Key": "co-1"},
        json={**plan, "verification": "two_factors", "password": "correct horse battery"},
    )
    assert paid.status_code == 201, paid.text
    result = paid.json()
    assert result["payment"]["amount"] == "500.00" and result["payment"]["fee"] == "3.00"
    assert balance(engine, f"wallet.{merchant_id}") == 500_00 - 3_00
    assert balance(engine, f"wallet.{cid}") == 0
    loan_id = result["loan"]["id"]
    schedule = client.get(f"/v1/lending/loans/{loan_id}/schedule", headers=me)
    assert schedule.status_code == 200, schedule.text
    rows = schedule.json() if isinstance(schedule.json(), list) else schedule.json()["schedule"]
    assert len(rows) == plan.get("periods", 1)
    assert sum(int(r["principal"].replace(".", "")) for r in rows) == 500_00
    assert rows[0]["due_date"] == "2026-02-10"  # the repayment day of January's statement
    line = client.get(f"/v1/lending/lines/{line_id}", headers=me).json()
    assert (line["outstanding"], line["available"]) == ("500.00", "1500.00")
    draws = client.get(f"/v1/lending/lines/{line_id}/draws", headers=me).json()
    assert [(d["loan_id"], d["payment_id"], d["plan"]) for d in draws] == [
        (loan_id, result["payment"]["id"], plan["plan"])
    ]
    replay = client.post(
        f"/v1/lending/checkout/{qr_id}",
        headers={**me, "Idempotency-Key": "co-1"},
        json={**plan, "verification": "two_factors", "password": "correct horse battery"},
    )
    assert replay.json()["loan"]["id"] == loan_id
    second_qr = qr(client, merchant_id, shop, "100.00")
    body = {
        **plan,
        "verification": "two_factors",
        "password": "correct horse battery",
        "client_payment_id": "cp-1",
    }  # no Idempotency-Key
    first = client.post(f"/v1/lending/checkout/{second_qr}", headers=me, json=body)
    assert first.status_code == 201, first.text
    before = snapshot(engine)
    again = client.post(f"/v1/lending/checkout/{second_qr}", headers=me, json=body)
    assert again.status_code == 200 and again.json()["loan"]["id"] == first.json()["loan"]["id"]
    assert again.json()["payment"]["id"] == first.json()["payment"]["id"]
    assert snapshot(engine) == before
    books_clean(engine)

    fund(engine, cid, 1_000_00)
    transaction(engine, lambda uow: repayments.repay(uow, loan_id, cid, None, "early_full"))
    with reading(engine) as connection:
        assert service.get_loan(connection, loan_id)["status"] == "paid_off"
    assert client.get(f"/v1/lending/lines/{line_id}", headers=me).json()["available"] == "1900.00"  # 100.00 still owed
    books_clean(engine)


def _count(engine) -> int:
    with reading(engine) as connection:
        return connection.execute(select(func.count()).select_from(transfers)).scalar_one()


def test_bad_checkouts_are_4xx_and_change_nothing(client, engine, clock):
    cid, me = customer(client, "13800000001", "531")
    other, them = customer(client, "13800000002", "246")
    merchant_id, shop = merchant(client)
    line_id = open_line(client, cid, "3000.00")
    big, small = qr(client, merchant_id, shop, "5000.00"), qr(client, merchant_id, shop, "100.00")
    over_qr_limit = qr(client, merchant_id, shop, "1500.00")  # one factor: 1000.00 a day
    no_line = other  # `other` has no line yet
    cases = [
        (me, over_qr_limit, {"plan": "pay_later", "verification": "one_factor"}, 409, "limit_exceeded"),
        (me, small, {"plan": "someday"}, 422, "unknown_instalment_plan"),
        (me, small, {"plan": "instalments", "periods": 4}, 422, "unknown_instalment_plan"),
        (me, big, {"plan": "pay_later"}, 409, "line_limit_exceeded"),
        (them, small, {"plan": "pay_later"}, 404, "credit_line_not_found"),
    ]
    before = snapshot(engine)
    for headers, qr_id, body, status, code in cases:
        answer = client.post(f"/v1/lending/checkout/{qr_id}", headers=headers, json=body)
        assert (answer.status_code, answer.json()["code"]) == (status, code), (no_line, answer.text)
    assert snapshot(engine) == before
    # another customer's line: not readable, not drawable
    assert client.get(f"/v1/lending/lines/{line_id}", headers=them).status_code == 404  # as if there were none
    answer = client.post(f"/v1/lending/lines/{line_id}/draws", headers=them, json={"amount": "10.00"})
    assert (answer.status_code, answer.json()["code"]) == (404, "credit_line_not_found")  # as if there were none
    # a customer cannot open or freeze lines
    assert client.post("/v1/lending/lines", headers=me, json={"customer_id": cid, "limit": "1.00"}).status_code == 403
    assert client.post(f"/v1/lending/lines/{line_id}/freeze", headers=me).status_code == 403
    frozen = client.post(f"/v1/lending/lines/{line_id}/freeze", headers=ADMIN)
    assert frozen.status_code == 200 and frozen.json()["status"] == "frozen"
    before = snapshot(engine)
    answer = client.post(f"/v1/lending/checkout/{small}", headers=me, json={"plan": "pay_later"})
    assert (answer.status_code, answer.json()["code"]) == (409, "credit_line_frozen")
    assert snapshot(engine) == before
    assert client.post(f"/v1/lending/lines/{line_id}/unfreeze", headers=ADMIN).status_code == 200
    drawn = client.post(
        f"/v1/lending/lines/{line_id}/draws", headers=me, json={"amount": "100.00", "plan": "instalments", "periods": 3}
    )
    assert drawn.status_code == 201, drawn.text
    assert balance(engine, f"wallet.{cid}") == 100_00
    assert client.get("/v1/lending/lines/me", headers=me).json()["available"] == "2900.00"
    books_clean(engine)


def _checkout(client, me: dict, qr_id: str, plan: dict, key: str) -> dict:
    paid = client.post(
        f"/v1/lending/checkout/{qr_id}",
        headers={**me, "Idempotency-Key": key},
        json={**plan, "verification": "two_factors", "password": PASSWORD},
    )
    assert paid.status_code == 201, paid.text
    return paid.json()


def _refund(client, shop: dict, payment_id: str, amount: str, key: str) -> dict:
    made = client.post(
        f"/v1/payments/{payment_id}/refunds", headers={**shop, "Idempotency-Key": key}, json={"amount": amount}
    )
    assert made.status_code == 201, made.text
    return made.json()


@pytest.mark.parametrize("plan", [{"plan": "pay_later"}, {"plan": "instalments", "periods": 6}])
def test_a_refund_of_a_pay_later_purchase_goes_back_to_its_loan(client, engine, clock, plan):
    """退款退回花呗: the merchant's refund repays the loan that paid for the purchase, not the wallet. A part
    refund lowers what is owed; the rest of it closes the loan, with no instalment fee not yet due; a
    refund after the loan is paid off stays in the wallet."""
    cid, me = customer(client, "13800000002", "532")
    merchant_id, shop = merchant(client)
    line_id = open_line(client, cid, "2000.00")
    bought = _checkout(client, me, qr(client, merchant_id, shop, "300.00"), plan, "co-r1")
    loan_id, payment_id = bought["loan"]["id"], bought["payment"]["id"]
    assert balance(engine, f"wallet.{cid}") == 0

    _refund(client, shop, payment_id, "100.00", "rf-1")
    loan = client.get(f"/v1/lending/loans/{loan_id}", headers=me).json()
    assert (loan["status"], loan["outstanding_principal"]) == ("active", "200.00"), loan
    assert balance(engine, f"wallet.{cid}") == 0  # the refund went to the loan
    assert client.get(f"/v1/lending/lines/{line_id}", headers=me).json()["outstanding"] == "200.00"
    books_clean(engine)

    _refund(client, shop, payment_id, "200.00", "rf-2")
    loan = client.get(f"/v1/lending/loans/{loan_id}", headers=me).json()
    assert (loan["status"], loan["outstanding_principal"]) == ("paid_off", "0.00"), loan
    assert balance(engine, f"wallet.{cid}") == 0  # no fee of an instalment not yet due was charged
    line = client.get(f"/v1/lending/lines/{line_id}", headers=me).json()
    assert (line["outstanding"], line["available"]) == ("0.00", "2000.00")
    books_clean(engine)

    second = _checkout(client, me, qr(client, merchant_id, shop, "50.00"), plan, "co-r2")
    fund(engine, cid, 100_00)
    transaction(engine, lambda uow: repayments.repay(uow, second["loan"]["id"], cid, None, "early_full"))
    _refund(client, shop, second["payment"]["id"], "50.00", "rf-3")
    assert balance(engine, f"wallet.{cid}") == 100_00  # paid off already: the refund is the customer's again
    books_clean(engine)
