"""Payments over HTTP on SQLite and PostgreSQL: P2P, QR acquiring, refunds, limits under concurrency,
bad input refused with nothing changed, and the ledger audit passing afterwards."""

from __future__ import annotations

import base64
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from stdnum import luhn  # noqa: F401 - identity test numbers use the same library
from stdnum.cn import ric

from puhui.app import create_app
from puhui.db import reading, transaction
from puhui.db.tables import outbox
from puhui.ledger.audit import audit
from puhui.ledger.errors import InsufficientFunds
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers, get_account
from puhui.ledger.tables import accounts, transfers
from puhui.payments import grouping, notifications, service, wallets
from puhui.payments.bank.channel import OrderKind
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.plan import CARD_LOW, CARD_RICH, FaultPlan, OrderScript
from puhui.payments.errors import LimitExceeded
from puhui.payments.models import VerificationStrength
from puhui.payments.tables import PAYMENT_TABLES
from puhui.settings import Settings
from tests.console.world import verify

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
K1 = base64.urlsafe_b64encode(b"1" * 32).decode()
INDEX_KEY = base64.urlsafe_b64encode(b"i" * 32).decode()
PASSWORD = "correct horse battery"
NOTIFY_KEY = "merchant-notify-test-key"


def id_number(region: str, birth: str, seq: str) -> str:
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")


PEOPLE = [
    {
        "name": "张三丰",
        "id_number": id_number("110105", "19900307", "531"),
        "phone": "13812345678",
        "password": PASSWORD,
    },
    {"name": "李娜", "id_number": id_number("310104", "19851120", "246"), "phone": "13998765432", "password": PASSWORD},
    {"name": "王芳", "id_number": id_number("440305", "20000229", "067"), "phone": "15011112222", "password": PASSWORD},
]
MERCHANT = {
    "name": "兰州拉面馆",
    "credit_code": "91110000600037341L",
    "settlement_account": "110060774018010012345",
    "settlement_holder": "马晓明",
    "settlement_bank": "交通银行北京分行",
}
CHANNELS = ("public_security", "bank_card", "face", "mobile_operator", "tax")


@pytest.fixture
def client(engine, clock):
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret="j" * 48,
        jwt_ttl_seconds=900,
        merchant_fee_bp=60,
        merchant_notify_key=NOTIFY_KEY,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def customer(client, person: dict, verifications: int) -> tuple[str, dict]:
    answer = client.post("/v1/customers", json={**person, "consents": ["payments"]})
    assert answer.status_code == 201, answer.text
    customer_id = answer.json()["id"]
    if verifications:
        for channel in CHANNELS[:verifications]:
            done = client.post(
                f"/v1/customers/{customer_id}/verifications",
                headers=ADMIN,
                json={"channel": channel, "reference": f"R-{customer_id}-{channel}"},
            )
            assert done.status_code == 201, done.text
        up = client.post(f"/v1/customers/{customer_id}/tier", headers=ADMIN, json={"reason": "verified"})
        assert up.status_code == 200, up.text
    login = client.post("/v1/customers/login", json={"phone": person["phone"], "password": person["password"]})
    assert login.status_code == 200, login.text
    return customer_id, bearer(login.json()["token"])


def merchant(client) -> tuple[str, dict]:
    answer = client.post("/v1/merchants", headers=ADMIN, json=MERCHANT)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], bearer(answer.json()["api_key"])


def fund(engine, account_id: str, fen: int, ref: str) -> None:
    """Money into a wallet from the reserve (what a posted bank top-up does)."""

    def work(uow):
        results = create_transfers(
            uow, [Transfer(f"fund.{ref}", "platform.reserve_bank.CNY", account_id, fen, "CNY", "top_up")]
        )
        assert [r.value for r in results] == ["ok"]

    transaction(engine, work)


def balance(engine, account_id: str) -> int:
    with reading(engine) as connection:
        a = get_account(connection, account_id)
        return a.credits_posted - a.debits_posted


def snapshot(engine) -> dict:
    with engine.connect() as connection:
        state = {t.name: sorted(map(tuple, connection.execute(select(t)).all()), key=repr) for t in PAYMENT_TABLES}
        state["accounts"] = connection.execute(select(accounts).order_by(accounts.c.id)).all()
        state["transfers"] = connection.execute(select(func.count()).select_from(transfers)).scalar_one()
        state["outbox"] = connection.execute(select(func.count()).select_from(outbox)).scalar_one()
    return state


def assert_audit_clean(engine) -> None:
    with reading(engine) as connection:
        report = audit(connection)
    assert report.ok, report


def test_pay_merchant_by_dynamic_qr_and_refund(client, engine, clock):
    payer, me = customer(client, PEOPLE[0], 3)  # Class II
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 2_000_00, "zhang")
    assert client.get("/v1/wallets/me", headers=me).json()["balance"] == "2000.00"

    qr = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes",
        headers=shop,
        json={"kind": "dynamic", "amount": "123.45", "expires_in_seconds": 300, "order_ref": "A-1"},
    )
    assert qr.status_code == 201, qr.text
    qr_id = qr.json()["id"]
    assert client.get(f"/v1/qr-codes/{qr_id}", headers=me).json()["status"] == "active"

    paid = client.post(
        f"/v1/qr-codes/{qr_id}/pay",
        headers={**me, "Idempotency-Key": "pay-1"},
        json={"verification": "two_factors", "password": "correct horse battery"},
    )
    assert paid.status_code == 201, paid.text
    payment = paid.json()
    assert payment["amount"] == "123.45" and payment["fee"] == "0.74"  # 12345 × 0.6% = 74.07 → 74 fen
    again = client.post(
        f"/v1/qr-codes/{qr_id}/pay",
        headers={**me, "Idempotency-Key": "pay-1"},
        json={"verification": "two_factors", "password": "correct horse battery"},
    )
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert balance(engine, f"wallet.{payer}") == 2_000_00 - 123_45
    assert balance(engine, f"wallet.{merchant_id}") == 123_45 - 74
    assert client.get(f"/v1/qr-codes/{qr_id}", headers=me).json()["status"] == "paid"
    # a second payer cannot pay the same dynamic code
    assert client.get("/v1/wallets/me", headers=shop).json()["balance"] == "122.71"

    # the payment event is in the outbox; its notification to the merchant is signed
    with reading(engine) as connection:
        events = connection.execute(select(outbox.c.type, outbox.c.payload).where(outbox.c.topic == "payments")).all()
    import json

    event = json.loads(next(p for t, p in events if t == "payment.succeeded"))
    notice = notifications.merchant_notice(event, NOTIFY_KEY)
    assert notice["payment"]["id"] == payment["id"] and service.verify_notification(notice, NOTIFY_KEY)
    assert not service.verify_notification({**notice, "payment": {**notice["payment"], "amount": "1.00"}}, NOTIFY_KEY)

    part = client.post(f"/v1/payments/{payment['id']}/refunds", headers=shop, json={"amount": "23.45"})
    assert part.status_code == 201, part.text
    assert part.json()["fee_returned"] == "0.14"  # fee on 23.45 of 123.45 = 14.06 → 14 fen
    too_much = client.post(f"/v1/payments/{payment['id']}/refunds", headers=shop, json={"amount": "100.01"})
    assert too_much.status_code == 422 and too_much.json()["code"] == "refund_exceeds_payment"
    # the API speaks decimal strings, so its refusals do too (it said "10000 fen")
    assert too_much.json()["refundable"] == "100.00" and "100.00 CNY" in too_much.json()["detail"]
    rest = client.post(f"/v1/payments/{payment['id']}/refunds", headers=shop, json={"amount": "100.00"})
    assert rest.status_code == 201 and rest.json()["fee_returned"] == "0.60"
    assert balance(engine, f"wallet.{payer}") == 2_000_00
    assert balance(engine, f"wallet.{merchant_id}") == 0
    read = client.get(f"/v1/payments/{payment['id']}", headers=me).json()
    assert read["refunded"] == "123.45"
    assert_audit_clean(engine)


def test_static_qr_p2p_and_cancel(client, engine, clock):
    payer, me = customer(client, PEOPLE[0], 3)
    friend, _ = customer(client, PEOPLE[1], 1)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 1_000_00, "zhang")

    sent = client.post(
        "/v1/transfers/p2p", headers=me, json={"to_customer_id": friend, "amount": "10.50", "client_transfer_id": "t-1"}
    )
    assert sent.status_code == 201, sent.text
    same = client.post(
        "/v1/transfers/p2p", headers=me, json={"to_customer_id": friend, "amount": "10.50", "client_transfer_id": "t-1"}
    )
    assert same.status_code == 200 and same.json()["id"] == sent.json()["id"]
    assert balance(engine, f"wallet.{friend}") == 10_50

    static = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()
    paid = client.post(f"/v1/qr-codes/{static['id']}/pay", headers=me, json={"amount": "400.00"})
    assert paid.status_code == 201, paid.text
    over = client.post(f"/v1/qr-codes/{static['id']}/pay", headers=me, json={"amount": "100.01"})
    assert over.status_code == 409 and over.json()["code"] == "limit_exceeded"  # static: 500 a day
    assert over.json()["limit"] == "500.00" and "fen" not in over.json()["detail"]

    dynamic = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "5.00"}
    ).json()
    cancelled = client.post(f"/v1/qr-codes/{dynamic['id']}/cancel", headers=shop)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    refused = client.post(f"/v1/qr-codes/{dynamic['id']}/pay", headers=me, json={})
    assert refused.status_code == 409 and refused.json()["code"] == "qr_code_not_payable"
    assert_audit_clean(engine)


def test_class_one_lifetime_limit(client, engine, clock):
    payer, me = customer(client, PEOPLE[0], 1)  # Class I: 1,000 CNY of payments since opening
    friend, _ = customer(client, PEOPLE[1], 1)
    fund(engine, f"wallet.{payer}", 2_000_00, "zhang")
    for amount, status in (("600.00", 201), ("400.00", 201), ("0.01", 409)):
        answer = client.post("/v1/transfers/p2p", headers=me, json={"to_customer_id": friend, "amount": amount})
        assert answer.status_code == status, answer.text
    assert answer.json()["code"] == "limit_exceeded"
    clock.advance(dt.timedelta(days=400))  # lifetime: a new year does not reset it
    me = customer_login(client, PEOPLE[0])
    again = client.post("/v1/transfers/p2p", headers=me, json={"to_customer_id": friend, "amount": "0.01"})
    assert again.status_code == 409
    assert balance(engine, f"wallet.{friend}") == 1_000_00


def customer_login(client, person: dict) -> dict:
    login = client.post("/v1/customers/login", json={"phone": person["phone"], "password": person["password"]})
    assert login.status_code == 200, login.text
    return bearer(login.json()["token"])


def test_bad_input_changes_nothing(client, engine, clock):
    payer, me = customer(client, PEOPLE[0], 3)
    other, other_h = customer(client, PEOPLE[1], 3)
    unverified, unverified_h = customer(client, PEOPLE[2], 0)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 100_00, "zhang")
    fund(engine, f"wallet.{unverified}", 100_00, "wang")
    expiring = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes",
        headers=shop,
        json={"kind": "dynamic", "amount": "1.00", "expires_in_seconds": 60},
    ).json()
    static = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()
    paid = client.post(f"/v1/qr-codes/{static['id']}/pay", headers=me, json={"amount": "10.00"}).json()
    clock.advance(dt.timedelta(seconds=61))
    before = snapshot(engine)

    cases = [
        (client.post, "/v1/transfers/p2p", me, {"to_customer_id": other, "amount": "-1.00"}, 422, "invalid_input"),
        (client.post, "/v1/transfers/p2p", me, {"to_customer_id": other, "amount": "1.001"}, 422, "invalid_amount"),
        (client.post, "/v1/transfers/p2p", me, {"to_customer_id": other, "amount": "0"}, 422, "invalid_input"),
        (
            client.post,
            "/v1/transfers/p2p",
            me,
            {"to_customer_id": other, "amount": "100.01"},
            409,
            "insufficient_funds",
        ),
        (
            client.post,
            "/v1/transfers/p2p",
            other_h,
            {"from_customer_id": payer, "to_customer_id": other, "amount": "1.00"},
            403,
            "forbidden",
        ),
        (client.post, "/v1/transfers/p2p", shop, {"to_customer_id": other, "amount": "1.00"}, 403, "forbidden"),
        (
            client.post,
            "/v1/transfers/p2p",
            unverified_h,
            {"to_customer_id": other, "amount": "1.00"},
            403,
            "payment_declined",
        ),
        (client.post, f"/v1/qr-codes/{expiring['id']}/pay", me, {}, 409, "qr_code_expired"),
        (
            client.post,
            f"/v1/qr-codes/{static['id']}/pay",
            other_h,
            {"from_customer_id": payer, "amount": "1.00"},
            403,
            "forbidden",
        ),
        (client.post, f"/v1/qr-codes/{static['id']}/pay", me, {"amount": "1.005"}, 422, "invalid_amount"),
        (client.post, f"/v1/payments/{paid['id']}/refunds", shop, {"amount": "10.01"}, 422, "refund_exceeds_payment"),
        (client.post, f"/v1/payments/{paid['id']}/refunds", me, {"amount": "1.00"}, 403, "forbidden"),
        (client.post, f"/v1/merchants/{merchant_id}/qr-codes", me, {"kind": "static"}, 403, "forbidden"),
        (
            client.post,
            f"/v1/merchants/{merchant_id}/qr-codes",
            shop,
            {"kind": "dynamic", "amount": "-5"},
            422,
            "invalid_input",
        ),
    ]
    for call, path, headers, body, status, code in cases:
        answer = call(path, headers=headers, json=body)
        assert (answer.status_code, answer.json()["code"]) == (status, code), (path, body, answer.text)
    assert snapshot(engine) == before
    assert_audit_clean(engine)


@pytest.fixture(params=["one_transaction_each", "group_commit"])
def commit(request):
    """How a payment's unit of work commits: alone, or in the engine's group commit (成组提交)."""
    if request.param == "one_transaction_each":
        return lambda engine, work, locks=(): transaction(engine, work)
    return grouping.commit


def _pay_static(engine, commit, payer: str, qr_id: str, amount: int | None, n: int):
    """Pay at level C in one unit of work through `commit`; the outcome as a word (a dynamic code: `amount` None)."""

    def work(uow):
        return service.pay_qr(uow, payer, qr_id, amount, VerificationStrength.one_factor, f"c-{n}", 60)

    try:
        commit(engine, work, grouping.qr_locks(payer, qr_id))
        return "ok"
    except LimitExceeded:
        return "limit"
    except InsufficientFunds:
        return "funds"


def test_concurrent_payments_never_exceed_limit_or_overdraw(client, engine, clock, commit):
    rich, _ = customer(client, PEOPLE[0], 3)
    poor, _ = customer(client, PEOPLE[1], 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{rich}", 10_000_00, "rich")
    fund(engine, f"wallet.{poor}", 250_00, "poor")
    static = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()
    jobs = [(rich, i) for i in range(16)] + [(poor, 100 + i) for i in range(16)]
    start = threading.Barrier(8)

    def run(job):
        payer, n = job
        try:
            start.wait(timeout=5)
        except threading.BrokenBarrierError:
            pass
        return payer, _pay_static(engine, commit, payer, static["id"], 60_00, n)

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(run, jobs))
    rich_ok = sum(1 for p, o in outcomes if p == rich and o == "ok")
    poor_ok = sum(1 for p, o in outcomes if p == poor and o == "ok")
    assert rich_ok == 8  # 8 × 60 = 480 ≤ 500 a day by static QR; a ninth would exceed it
    assert poor_ok == 4  # 4 × 60 = 240 ≤ 250 in the wallet
    assert balance(engine, f"wallet.{rich}") == 10_000_00 - 480_00
    assert balance(engine, f"wallet.{poor}") == 10_00
    with reading(engine) as connection:
        from puhui.payments.tables import spending

        used = connection.execute(
            select(spending.c.used).where(spending.c.subject_id == rich, spending.c.bucket == "qr_static")
        ).scalar_one()
    assert used == 480_00
    assert_audit_clean(engine)


# -- the bank channel: top-ups and withdrawals with two-phase holds -------------------------------


BANK_KEY = "puhui-sandbox-bank-notify-key"


def wire(client, bank: SandboxBank, seen: list) -> None:
    """The bank posts its notifications to the app's endpoint; every copy is remembered."""

    def callback(body: bytes, header: str) -> int:
        seen.append((body, header))
        return client.post(
            "/v1/bank/notifications",
            content=body,
            headers={"X-Bank-Signature": header, "Content-Type": "application/json"},
        ).status_code

    bank.register_callback(callback)
    client.app.state.bank = bank


def bind(client, customer_id: str, headers: dict, card: str) -> str:
    answer = client.post(f"/v1/customers/{customer_id}/cards", headers=headers, json={"card_number": card})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_top_up_pay_refund_withdraw_with_a_faulty_bank(client, engine, clock):
    payer, me = customer(client, PEOPLE[0], 3)
    merchant_id, shop = merchant(client)
    card_id = bind(client, payer, me, CARD_RICH)
    late_twice = wallets.order_id_for(payer, OrderKind.debit_card, "top-1")
    lost = wallets.order_id_for(payer, OrderKind.debit_card, "top-2")
    declined = wallets.order_id_for(payer, OrderKind.debit_card, "top-3")
    plan = (
        FaultPlan.reliable()
        .with_script(late_twice, OrderScript(notify_delay=dt.timedelta(seconds=40), copies=3))
        .with_script(lost, OrderScript(copies=0))
        .with_script(declined, OrderScript(decline=True, copies=2))
    )
    bank = SandboxBank(BANK_KEY, plan=plan)
    seen: list = []
    wire(client, bank, seen)

    for client_id, amount in (("top-1", "1500.00"), ("top-2", "500.00"), ("top-3", "77.00")):
        answer = client.post(
            "/v1/wallets/me/top-ups",
            headers={**me, "Idempotency-Key": client_id},
            json={"card_id": card_id, "amount": amount, "client_order_id": client_id},
        )
        assert answer.status_code == 202 and answer.json()["status"] == "pending", answer.text
    again = client.post(
        "/v1/wallets/me/top-ups",
        headers={**me, "Idempotency-Key": "top-1"},
        json={"card_id": card_id, "amount": "1500.00", "client_order_id": "top-1"},
    )
    assert again.status_code == 202 and again.headers.get("Idempotent-Replayed") == "true"
    wallet = client.get("/v1/wallets/me", headers=me).json()
    assert wallet["balance"] == "0.00" and wallet["pending_in"] == "2077.00"

    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))  # late, duplicated, declined
    assert balance(engine, f"wallet.{payer}") == 1_500_00
    assert wallets.recover_pending_orders(engine, bank) == 1  # the lost notification, found by query
    assert wallets.recover_pending_orders(engine, bank) == 0
    assert balance(engine, f"wallet.{payer}") == 2_000_00
    assert len(seen) >= 5

    # a replayed copy and a forged one are refused and move nothing
    before = snapshot(engine)
    body, header = seen[0]
    replay = client.post("/v1/bank/notifications", content=body, headers={"X-Bank-Signature": header})
    assert replay.status_code == 401
    forged = client.post(
        "/v1/bank/notifications", content=body.replace(b"1500.00", b"9500.00"), headers={"X-Bank-Signature": header}
    )
    assert forged.status_code == 401
    unsigned = client.post("/v1/bank/notifications", content=body, headers={})
    assert unsigned.status_code == 401
    assert snapshot(engine) == before

    qr = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "800.00"}
    ).json()
    paid = client.post(
        f"/v1/qr-codes/{qr['id']}/pay",
        headers=me,
        json={"verification": "two_factors", "password": "correct horse battery"},
    )
    assert paid.status_code == 201, paid.text
    part = client.post(f"/v1/payments/{paid.json()['id']}/refunds", headers=shop, json={"amount": "300.00"})
    assert part.status_code == 201, part.text
    assert balance(engine, f"wallet.{payer}") == 2_000_00 - 800_00 + 300_00

    out = client.post(
        "/v1/wallets/me/withdrawals",
        headers=me,
        json={"card_id": card_id, "amount": "1000.00", "client_order_id": "wd-1"},
    )
    assert out.status_code == 202, out.text
    # the hold is taken first: the held money cannot be spent again meanwhile
    assert client.get("/v1/wallets/me", headers=me).json()["available"] == "500.00"
    friend, _ = customer(client, PEOPLE[1], 1)
    too_much = client.post("/v1/transfers/p2p", headers=me, json={"to_customer_id": friend, "amount": "500.01"})
    assert too_much.status_code == 409 and too_much.json()["code"] == "insufficient_funds"
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    assert balance(engine, f"wallet.{payer}") == 500_00
    assert bank.card_balance(CARD_RICH) == 1_000_000_00 - 2_000_00 + 1_000_00
    assert_audit_clean(engine)


def test_withdrawal_hold_and_decline_return_the_money(client, engine, clock):
    payer, me = customer(client, PEOPLE[1], 1)
    card_id = bind(client, payer, me, CARD_LOW)
    fund(engine, f"wallet.{payer}", 50_00, "li")
    bank = SandboxBank(
        BANK_KEY,
        plan=FaultPlan.reliable().with_script(
            wallets.order_id_for(payer, OrderKind.credit_card, "w1"), OrderScript(decline=True)
        ),
    )
    wire(client, bank, [])
    over = client.post(
        "/v1/wallets/me/withdrawals", headers=me, json={"card_id": card_id, "amount": "50.01", "client_order_id": "w0"}
    )
    assert over.status_code == 409 and over.json()["code"] == "insufficient_funds"
    held = client.post(
        "/v1/wallets/me/withdrawals", headers=me, json={"card_id": card_id, "amount": "50.00", "client_order_id": "w1"}
    )
    assert held.status_code == 202, held.text
    assert client.get("/v1/wallets/me", headers=me).json()["available"] == "0.00"
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    assert client.get("/v1/wallets/me", headers=me).json()["available"] == "50.00"
    bad = client.post(
        "/v1/wallets/me/top-ups", headers=me, json={"card_id": card_id, "amount": "-1", "client_order_id": "t"}
    )
    assert bad.status_code == 422
    assert_audit_clean(engine)


def test_risk_review_and_roles(client, engine, clock, monkeypatch):
    from puhui.payments import risk_hook

    payer, me = customer(client, PEOPLE[0], 3)
    _, other_h = customer(client, PEOPLE[1], 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 1_000_00, "zhang")
    static = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()
    assert (
        client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()["id"]
        == static["id"]
    )  # one static code per merchant

    def big(p):  # type: ignore[no-untyped-def]
        return risk_hook.Decision(risk_hook.Outcome.review, ("large_amount",)) if p.amount > 100_00 else None

    monkeypatch.setattr(risk_hook, "RULES", [*risk_hook.RULES, big])
    held = client.post(f"/v1/qr-codes/{static['id']}/pay", headers=me, json={"amount": "100.01"})
    assert held.status_code == 202 and held.json()["status"] == "under_review"  # held, not paid
    assert "reasons" not in held.json()  # the payer is not told which rule held it
    with reading(engine) as connection:
        wallet = get_account(connection, f"wallet.{payer}")
    assert (wallet.credits_posted - wallet.debits_posted, wallet.debits_pending) == (1_000_00, 100_01)
    paid = client.post(f"/v1/qr-codes/{static['id']}/pay", headers=me, json={"amount": "100.00"})
    assert paid.status_code == 201
    payment_id = paid.json()["id"]

    regulator = client.post("/v1/staff", headers=ADMIN, json={"handle": "reg.one", "role": "regulator"})
    staff = bearer(regulator.json()["token"])
    assert client.get(f"/v1/payments/{payment_id}", headers=staff).status_code == 200
    assert client.get(f"/v1/payments/{payment_id}", headers=shop).status_code == 200
    assert client.get(f"/v1/payments/{payment_id}", headers=other_h).status_code == 404
    assert client.post(f"/v1/payments/{payment_id}/refunds", headers=staff, json={"amount": "1.00"}).status_code == 403
    assert client.get("/v1/wallets/me", headers=staff).status_code == 403
    assert client.get("/v1/wallets/me").status_code == 401
    second = client.post("/v1/merchants", headers=ADMIN, json={**MERCHANT, "credit_code": "91350100M000100Y43"})
    assert second.status_code == 201, second.text
    second_shop = bearer(second.json()["api_key"])
    assert (
        client.post(f"/v1/payments/{payment_id}/refunds", headers=second_shop, json={"amount": "1.00"}).status_code
        == 403
    )
    dynamic = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "1.00"}
    ).json()
    assert client.post(f"/v1/qr-codes/{dynamic['id']}/cancel", headers=second_shop).status_code == 404
    assert (
        client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=second_shop, json={"kind": "static"}).status_code
        == 403
    )
    assert "/v1/qr-codes/{qr_id}/pay" in client.get("/openapi.json").json()["paths"]


def test_one_dynamic_code_is_paid_once_under_concurrency(client, engine, clock, commit):
    a, _ = customer(client, PEOPLE[0], 3)
    b, _ = customer(client, PEOPLE[1], 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{a}", 1_000_00, "a")
    fund(engine, f"wallet.{b}", 1_000_00, "b")
    qr = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "99.00"}
    ).json()

    def run(n: int) -> str:
        payer = (a, b)[n % 2]

        def work(uow):
            return service.pay_qr(uow, payer, qr["id"], None, VerificationStrength.one_factor, f"d-{n}", 60)

        try:
            commit(engine, work, grouping.qr_locks(payer, qr["id"]))
            return "ok"
        except service.QrNotPayable:
            return "taken"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(run, range(12)))
    assert outcomes.count("ok") == 1
    assert balance(engine, f"wallet.{a}") + balance(engine, f"wallet.{b}") == 2_000_00 - 99_00
    assert balance(engine, f"wallet.{merchant_id}") == 99_00 - 59  # fee 0.594 → 0.59
    assert_audit_clean(engine)


def test_risk_decisions_combine():
    from puhui.payments import risk_hook as r

    ok = r.PaymentRequest("p2p", "a", "b", 100, 2)
    assert r.decide(ok) == r.Decision(r.Outcome.approve, ())
    assert r.decide(r.PaymentRequest("p2p", "a", "b", 100, None)) == r.Decision(
        r.Outcome.decline, ("payer_unverified",)
    )
    assert r.decide(r.PaymentRequest("p2p", "a", "b", 0, None)).reasons == ("amount_not_positive", "payer_unverified")


def test_a_payment_commits_in_the_server_when_its_writer_is_not_there(client, engine, clock, tmp_path):
    """SQLite under `puhui serve` sends a grouped payment to its writer process (`puhui.db.writer`); when
    the writer cannot be reached the call was never sent, so the server commits it itself."""
    from puhui.db.writer import WriterClient

    payer, me = customer(client, PEOPLE[0], 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 100_00, "writerless")
    qr_id = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "9.99"}
    ).json()["id"]
    client.app.state.writer = WriterClient(str(tmp_path / "no-writer.sock"))
    paid = client.post(f"/v1/qr-codes/{qr_id}/pay", headers={**me, "Idempotency-Key": "writerless-1"}, json={})
    assert paid.status_code == 201, paid.text
    assert client.app.state.writer.gone
    assert balance(engine, f"wallet.{payer}") == 100_00 - 9_99
    again = client.post(f"/v1/qr-codes/{qr_id}/pay", headers={**me, "Idempotency-Key": "writerless-1"}, json={})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert_audit_clean(engine)


def test_an_unverified_wallet_cannot_withdraw_and_the_refusal_changes_nothing(client, engine, clock):
    """Money moves between a wallet and a bank only once its customer has a payment account class (实名): a
    customer who registered but was never verified, with money in the wallet (a loan's, a transfer's), can
    neither withdraw it nor top up."""
    payer, me = customer(client, PEOPLE[2], 0)
    card_id = bind(client, payer, me, CARD_LOW)
    fund(engine, f"wallet.{payer}", 900_00, "unverified")
    wire(client, SandboxBank(BANK_KEY, plan=FaultPlan.reliable()), [])
    before = snapshot(engine)
    refused = client.post(
        "/v1/wallets/me/withdrawals",
        headers={**me, "Idempotency-Key": "w-unverified"},
        json={"card_id": card_id, "amount": "900.00", "client_order_id": "w1"},
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "wallet_unverified"
    topped = client.post(
        "/v1/wallets/me/top-ups",
        headers={**me, "Idempotency-Key": "t-unverified"},
        json={"card_id": card_id, "amount": "10.00", "client_order_id": "t1"},
    )
    assert topped.status_code == 403 and topped.json()["code"] == "wallet_unverified", topped.text
    assert snapshot(engine) == before
    assert client.get("/v1/wallets/me", headers=me).json()["available"] == "900.00"

    verify(client, payer, channels=1)  # class I is enough to withdraw one's own money
    held = client.post(
        "/v1/wallets/me/withdrawals",
        headers={**me, "Idempotency-Key": "w-verified"},
        json={"card_id": card_id, "amount": "900.00", "client_order_id": "w1"},
    )
    assert held.status_code == 202, held.text
    assert client.get("/v1/wallets/me", headers=me).json()["available"] == "0.00"
    assert_audit_clean(engine)
