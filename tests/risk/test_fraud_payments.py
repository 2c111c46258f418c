"""The fraud hook behind real payments (SQLite and PostgreSQL): P2P transfers over HTTP write
`p2p.completed` events that the consumer takes into the window state, and with the hook among the
payment risk rules a payee put on the block list by a risk officer is declined with nothing moved."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from stdnum.cn import ric

from puhui.api.app import create_app
from puhui.db import reading, transaction
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers, get_account
from puhui.payments import risk_hook
from puhui.risk.fraud.hook import FraudHook
from puhui.settings import Settings

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
K1 = base64.urlsafe_b64encode(b"1" * 32).decode()
INDEX_KEY = base64.urlsafe_b64encode(b"i" * 32).decode()
PASSWORD = "correct horse battery"
CHANNELS = ("public_security", "bank_card", "face")


def person(region: str, birth: str, seq: str, phone: str, name: str) -> dict:
    body = region + birth + seq
    return {"name": name, "id_number": body + ric.calc_check_digit(body + "0"), "phone": phone, "password": PASSWORD}


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    settings = Settings(admin_token=ADMIN_TOKEN, pii_keys=f"k1:{K1}", pii_index_key=INDEX_KEY, jwt_secret="j" * 48,
                        jwt_ttl_seconds=900)
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def customer(client: TestClient, who: dict) -> tuple[str, dict]:
    answer = client.post("/v1/customers", json=who)
    assert answer.status_code == 201, answer.text
    customer_id = answer.json()["id"]
    for channel in CHANNELS:
        done = client.post(f"/v1/customers/{customer_id}/verifications", headers=ADMIN,
                           json={"channel": channel, "reference": f"R-{customer_id}-{channel}"})
        assert done.status_code == 201, done.text
    assert client.post(f"/v1/customers/{customer_id}/tier", headers=ADMIN, json={"reason": "ok"}).status_code == 200
    login = client.post("/v1/customers/login", json={"phone": who["phone"], "password": PASSWORD})
    return customer_id, {"Authorization": f"Bearer {login.json()['token']}"}


def balance(engine, account_id: str) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        account = get_account(connection, account_id)
        return account.credits_posted - account.debits_posted


def test_hook_declines_a_blocked_payee_and_the_state_follows_real_payments(client, engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    payer, me = customer(client, person("110105", "19900307", "531", "13812345678", "张三丰"))
    payee, _ = customer(client, person("310104", "19851120", "246", "13998765432", "李娜"))
    transaction(engine, lambda uow: create_transfers(uow, [Transfer("fund.t", "platform.reserve_bank.CNY",
                                                                    f"wallet.{payer}", 1_000_00, "CNY", "top_up")]))
    hook = FraudHook.start(engine)
    monkeypatch.setattr(risk_hook, "RULES", [*risk_hook.RULES, hook])

    sent = client.post("/v1/transfers/p2p", headers=me,
                       json={"to_customer_id": payee, "amount": "12.34", "device_id": "phone-1", "location": "110000"})
    assert sent.status_code == 201, sent.text
    assert hook.catch_up() == 1
    mine = hook.state.get(payer)
    assert mine is not None and mine.count91 == 1 and mine.sum91 == 12_34 and mine.devices == {"phone-1": mine.recent[0][0]}
    assert hook.state.get(payee).payers == {payer: mine.recent[0][0]}

    officer = client.post("/v1/staff", headers=ADMIN, json={"handle": "risk.one", "role": "risk_officer"})
    token = {"Authorization": f"Bearer {officer.json()['token']}"}
    assert client.post("/v1/risk/blocklists/payees", headers=token, json={"value": payee}).status_code == 201
    before = balance(engine, f"wallet.{payer}")
    refused = client.post("/v1/transfers/p2p", headers=me, json={"to_customer_id": payee, "amount": "1.00"})
    assert refused.status_code == 403 and refused.json()["code"] == "payment_declined", refused.text
    assert "blocked_payee" in refused.text
    assert balance(engine, f"wallet.{payer}") == before == 1_000_00 - 12_34
    assert hook.catch_up() == 0  # a declined payment writes no event
