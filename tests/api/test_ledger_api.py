"""The ledger HTTP API on both backends: contract, problems for bad input, idempotency, audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from puhui.app import create_app
from puhui.db.tables import audit_log, outbox
from puhui.ledger.audit import audit
from puhui.ledger.tables import accounts, transfers
from puhui.settings import Settings

TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RESERVE = "platform.reserve_bank.CNY"


@pytest.fixture
def client(engine, clock):
    app = create_app(engine, Settings(admin_token=TOKEN), run_expiry=False)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def wallets(client):
    for name in ("alice", "bob"):
        response = client.post(
            "/v1/ledger/accounts",
            headers=AUTH,
            json={
                "id": f"w.{name}",
                "ledger": "CNY",
                "code": "customer_wallet",
                "owner_id": name,
                "flags": ["debits_must_not_exceed_credits"],
            },
        )
        assert response.status_code == 201, response.text
    funded = post_transfers(client, [transfer("fund.alice", RESERVE, "w.alice", "100.00", code="topup")])
    assert funded.status_code == 200, funded.text
    return "w.alice", "w.bob"


def transfer(id, debit, credit, amount, ledger="CNY", code="p2p", **extra):  # type: ignore[no-untyped-def]
    return {
        "id": id,
        "debit_account_id": debit,
        "credit_account_id": credit,
        "amount": amount,
        "ledger": ledger,
        "code": code,
        **extra,
    }


def post_transfers(client, items, headers=None):  # type: ignore[no-untyped-def]
    return client.post("/v1/ledger/transfers", headers={**AUTH, **(headers or {})}, json={"transfers": items})


def snapshot(engine) -> tuple:
    """Everything a bad request must leave untouched: balances, transfers and events."""
    with engine.connect() as connection:
        balances = connection.execute(select(accounts).order_by(accounts.c.id)).all()
        count = connection.execute(select(func.count()).select_from(transfers)).scalar_one()
        events = connection.execute(select(func.count()).select_from(outbox)).scalar_one()
    return balances, count, events


def assert_audit_ok(engine) -> None:
    with engine.connect() as connection:
        report = audit(connection)
    assert report.ok, report.violations


def test_health_is_open(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["database"] == "ok"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}])
def test_ledger_api_needs_the_admin_token(client, headers):
    response = client.get(f"/v1/ledger/accounts/{RESERVE}", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "unauthorized"


def test_account_contract_and_balances(client, wallets):
    alice = client.get("/v1/ledger/accounts/w.alice", headers=AUTH).json()
    assert alice == {
        "id": "w.alice",
        "ledger": "CNY",
        "code": "customer_wallet",
        "owner_id": "alice",
        "flags": ["debits_must_not_exceed_credits"],
        "debits_pending": "0.00",
        "debits_posted": "0.00",
        "credits_pending": "0.00",
        "credits_posted": "100.00",
    }


def test_creating_an_account_twice(client, wallets):
    same = {
        "id": "w.alice",
        "ledger": "CNY",
        "code": "customer_wallet",
        "owner_id": "alice",
        "flags": ["debits_must_not_exceed_credits"],
    }
    assert client.post("/v1/ledger/accounts", headers=AUTH, json=same).status_code == 200
    other = client.post("/v1/ledger/accounts", headers=AUTH, json={**same, "code": "merchant_wallet"})
    assert other.status_code == 409 and other.json()["code"] == "exists_with_different_code"


def test_account_generated_id(client):
    body = client.post("/v1/ledger/accounts", headers=AUTH, json={"ledger": "CNY", "code": "suspense"}).json()
    assert len(body["id"]) == 32
    assert client.get(f"/v1/ledger/accounts/{body['id']}", headers=AUTH).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"ledger": "XYZ", "code": "customer_wallet"}, 422, "ledger_not_found"),
        ({"ledger": "CNY", "code": "no_such_code"}, 422, "account_code_not_found"),
        ({"ledger": "CNY", "code": "customer_wallet", "flags": ["bogus"]}, 422, "invalid_flag"),
        (
            {
                "ledger": "CNY",
                "code": "customer_wallet",
                "flags": ["debits_must_not_exceed_credits", "credits_must_not_exceed_debits"],
            },
            422,
            "invalid_account",
        ),
        ({"id": "x" * 65, "ledger": "CNY", "code": "customer_wallet"}, 422, "invalid_request"),
        ({"id": "has space", "ledger": "CNY", "code": "customer_wallet"}, 422, "invalid_request"),
        ({"ledger": "CNY"}, 422, "invalid_request"),
    ],
)
def test_bad_account_requests_change_nothing(client, engine, body, status, code):
    before = snapshot(engine)
    response = client.post("/v1/ledger/accounts", headers=AUTH, json=body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert response.headers["content-type"].startswith("application/problem+json")
    assert snapshot(engine) == before


def test_unknown_account_is_404(client):
    response = client.get("/v1/ledger/accounts/nobody", headers=AUTH)
    assert response.status_code == 404 and response.json()["code"] == "account_not_found"


def test_transfer_moves_money(client, engine, wallets):
    response = post_transfers(client, [transfer("t1", "w.alice", "w.bob", "12.34")])
    assert response.json() == {"results": [{"id": "t1", "result": "ok"}]}
    bob = client.get("/v1/ledger/accounts/w.bob", headers=AUTH).json()
    assert bob["credits_posted"] == "12.34"
    assert_audit_ok(engine)


BAD_TRANSFERS = [
    pytest.param(transfer("b1", "w.alice", "nobody", "1.00"), 422, "transfers_rejected", id="unknown-credit"),
    pytest.param(transfer("b1", "nobody", "w.bob", "1.00"), 422, "transfers_rejected", id="unknown-debit"),
    pytest.param(transfer("b1", "w.alice", "w.bob", "-1.00"), 422, "invalid_request", id="negative"),
    pytest.param(transfer("b1", "w.alice", "w.bob", "0"), 422, "invalid_amount", id="zero"),
    pytest.param(transfer("b1", "w.alice", "w.bob", "0.00"), 422, "invalid_amount", id="zero-fen"),
    pytest.param(transfer("b1", "w.alice", "w.bob", "1.001"), 422, "invalid_amount", id="over-precise"),
    pytest.param(transfer("b1", "w.alice", "w.bob", 1.5), 422, "invalid_request", id="json-number"),
    pytest.param(transfer("b1", "w.alice", "w.bob", "1e3"), 422, "invalid_request", id="exponent"),
    pytest.param(
        transfer("b1", "w.alice", "w.bob", "1.00", ledger="USD"), 422, "transfers_rejected", id="wrong-currency"
    ),
    pytest.param(
        transfer("b1", "w.alice", "w.bob", "1.00", ledger="XYZ"), 422, "ledger_not_found", id="unknown-ledger"
    ),
    pytest.param(transfer("x" * 65, "w.alice", "w.bob", "1.00"), 422, "invalid_request", id="id-too-long"),
    pytest.param(transfer("b1", "w.alice", "w.bob", "1.00", flags=["nope"]), 422, "invalid_flag", id="unknown-flag"),
    pytest.param(transfer("b1", "w.alice", "w.bob", "1.00", surprise=1), 422, "invalid_request", id="unknown-field"),
    pytest.param(transfer("b1", "w.alice", "w.bob", "100.01"), 422, "transfers_rejected", id="overdraft"),
    pytest.param(transfer("b1", "w.alice", "w.alice", "1.00"), 422, "transfers_rejected", id="same-account"),
]


@pytest.mark.parametrize(("item", "status", "code"), BAD_TRANSFERS)
def test_bad_transfers_get_a_problem_and_change_nothing(client, engine, wallets, item, status, code):
    before = snapshot(engine)
    response = post_transfers(client, [item])
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["status"] == status and body["type"].endswith(code)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert snapshot(engine) == before
    assert_audit_ok(engine)


@pytest.mark.parametrize(
    "raw",
    [b'{"transfers": [', b"not json", b'{"transfers": {}}', b"[]"],
    ids=["truncated", "garbage", "wrong-shape", "array"],
)
def test_malformed_bodies(client, engine, wallets, raw):
    before = snapshot(engine)
    response = client.post("/v1/ledger/transfers", headers={**AUTH, "Content-Type": "application/json"}, content=raw)
    assert response.status_code in (400, 422)
    assert response.json()["code"] in ("malformed_json", "invalid_request")
    assert snapshot(engine) == before


def test_batch_over_the_limit(client, engine, wallets):
    before = snapshot(engine)
    items = [transfer(f"big{i}", RESERVE, "w.bob", "0.01") for i in range(8191)]
    response = post_transfers(client, items)
    assert response.status_code == 422 and response.json()["code"] == "batch_too_large"
    assert snapshot(engine) == before


def test_mixed_batch_is_207_with_results(client, engine, wallets):
    response = post_transfers(
        client, [transfer("m1", "w.alice", "w.bob", "1.00"), transfer("m2", "w.alice", "w.bob", "500.00")]
    )
    assert response.status_code == 207
    assert response.json()["results"] == [{"id": "m1", "result": "ok"}, {"id": "m2", "result": "exceeds_credits"}]
    assert_audit_ok(engine)


def test_transfer_ids_are_idempotent(client, engine, wallets):
    item = transfer("once", "w.alice", "w.bob", "10.00")
    assert post_transfers(client, [item]).json()["results"][0]["result"] == "ok"
    before = snapshot(engine)
    again = post_transfers(client, [item])
    assert again.status_code == 200 and again.json()["results"][0]["result"] == "exists"
    changed = post_transfers(client, [{**item, "amount": "11.00"}])
    assert changed.status_code == 422
    assert changed.json()["results"][0]["result"] == "exists_with_different_amount"
    assert snapshot(engine)[:2] == before[:2]


def test_idempotency_key_replays_the_first_answer(client, engine, wallets):
    key = {"Idempotency-Key": "pay-42"}
    first = post_transfers(client, [transfer("k1", "w.alice", "w.bob", "5.00")], key)
    before = snapshot(engine)
    replay = post_transfers(client, [transfer("k1", "w.alice", "w.bob", "5.00")], key)
    assert replay.status_code == first.status_code and replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert snapshot(engine) == before
    reused = post_transfers(client, [transfer("k2", "w.alice", "w.bob", "5.00")], key)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert snapshot(engine) == before


def test_idempotency_key_on_account_creation(client, engine):
    key = {**AUTH, "Idempotency-Key": "open-1"}
    body = {"ledger": "CNY", "code": "customer_wallet"}
    first = client.post("/v1/ledger/accounts", headers=key, json=body)
    second = client.post("/v1/ledger/accounts", headers=key, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]


def test_mutations_are_audited(client, engine, wallets):
    post_transfers(client, [transfer("a1", "w.alice", "w.bob", "1.00")], {"X-Request-Id": "req-7"})
    post_transfers(client, [transfer("a2", "w.alice", "w.bob", "1.001")])
    with engine.connect() as connection:
        rows = connection.execute(select(audit_log).order_by(audit_log.c.seq)).mappings().all()
    actions = [(r["principal"], r["action"], r["status_code"]) for r in rows]
    assert ("admin", "ledger.create_transfers", 200) in actions
    assert ("admin", "ledger.create_transfers", 422) in actions
    assert any(r["request_id"] == "req-7" and r["source_ip"] for r in rows)


def test_two_phase_over_http(client, engine, wallets, clock):
    hold = transfer("h1", "w.alice", "w.bob", "30.00", flags=["pending"], timeout_seconds=60)
    assert post_transfers(client, [hold]).status_code == 200
    alice = client.get("/v1/ledger/accounts/w.alice", headers=AUTH).json()
    assert alice["debits_pending"] == "30.00"
    post = {"id": "h1.post", "pending_id": "h1", "amount": "20.00", "flags": ["post_pending"]}
    assert post_transfers(client, [post]).json()["results"][0]["result"] == "ok"
    alice = client.get("/v1/ledger/accounts/w.alice", headers=AUTH).json()
    assert (alice["debits_pending"], alice["debits_posted"]) == ("0.00", "20.00")
    again = post_transfers(client, [{"id": "h1.void", "pending_id": "h1", "flags": ["void_pending"]}])
    assert again.json()["results"][0]["result"] == "pending_transfer_already_posted"
    assert_audit_ok(engine)


def test_history_paging_and_balance_as_of(client, engine, wallets, clock):
    before_payments = clock.now()
    for n in range(5):
        clock.advance(seconds=10)
        post_transfers(client, [transfer(f"p{n}", "w.alice", "w.bob", "1.00")])
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"after": cursor} if cursor is not None else {})}
        page = client.get("/v1/ledger/accounts/w.bob/transfers", headers=AUTH, params=params).json()
        seen += [t["id"] for t in page["transfers"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [f"p{n}" for n in range(5)]
    at = (before_payments + dt.timedelta(seconds=25)).isoformat()
    then = client.get("/v1/ledger/accounts/w.bob", headers=AUTH, params={"as_of": at}).json()
    assert then["credits_posted"] == "2.00"
    naive = client.get("/v1/ledger/accounts/w.bob", headers=AUTH, params={"as_of": "2026-01-05T10:00:00"})
    assert naive.status_code == 422


def test_events_after_an_offset(client, wallets):
    first = client.get("/v1/events", headers=AUTH).json()
    assert first["events"] and first["events"][-1]["type"] == "ledger.transfers_committed"
    post_transfers(client, [transfer("e1", "w.alice", "w.bob", "1.00")])
    later = client.get("/v1/events", headers=AUTH, params={"after": first["next"]}).json()
    assert [e["payload"]["transfers"][0]["id"] for e in later["events"]] == ["e1"]
