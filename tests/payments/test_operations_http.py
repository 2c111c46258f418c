"""Operations over HTTP on SQLite and PostgreSQL: per-merchant fee rates and suspension, refunds
giving back the payer's limit, T+1 settlement and reconciliation through the API (with its
resolution actions), the daily reserve-check record, and who may do each."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.db.tables import audit_log
from puhui.ledger.tables import transfers
from puhui.payments import wallets
from puhui.payments.bank.channel import OrderKind
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.plan import CARD_RICH
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    ADMIN,
    BANK_KEY,
    D,
    assert_books_clean,
    balance,
    client,
    login,
    make_customer,
    make_merchant,
    pay,
    refund,
)

SERIAL = itertools.count(1)


def staff(client, role: str) -> dict:  # noqa: F811 - the fixture
    handle = f"{role.replace('_', '-')}.{next(SERIAL)}"
    answer = client.post("/v1/staff", headers=ADMIN, json={"handle": handle, "role": role})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def count(engine, table) -> int:
    with reading(engine) as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def bank(client):
    bank = SandboxBank(BANK_KEY, reserve_balance=100_000_00, auto_open_balance=0)
    client.app.state.bank = bank
    return bank


def test_each_merchant_pays_its_own_fee_rate(client, engine):
    _, phone = make_customer(client, engine, "13812345678", "531", 3_000_00)
    cheap, cheap_shop = make_merchant(client)
    operator = staff(client, "operator")
    done = client.put(
        f"/v1/merchants/{cheap}/fee-rate", headers={**operator, "Idempotency-Key": "f1"}, json={"fee_rate_bp": 25}
    )
    assert done.status_code == 200, done.text
    assert client.get(f"/v1/merchants/{cheap}", headers=ADMIN).json()["fee_rate_bp"] == 25
    assert client.get(f"/v1/merchants/{cheap}", headers=cheap_shop).json()["effective_fee_rate_bp"] == 25
    paid = pay(client, phone, cheap, cheap_shop, "200.00")
    assert paid["fee"] == "0.50"  # 25 bp, not the platform's 60 bp
    back = client.put(f"/v1/merchants/{cheap}/fee-rate", headers=operator, json={"fee_rate_bp": None})
    assert back.status_code == 200 and back.json() == {"id": cheap, "fee_rate_bp": None, "effective_fee_rate_bp": 60}
    assert pay(client, phone, cheap, cheap_shop, "200.00")["fee"] == "1.20"  # the default again
    # the rate it pays is shown, not a null: the merchant's console said "费率 —" while it was charged 0.6%
    mine = client.get(f"/v1/merchants/{cheap}", headers=cheap_shop).json()
    assert (mine["fee_rate_bp"], mine["effective_fee_rate_bp"]) == (None, 60)
    listed = {m["id"]: m for m in client.get("/v1/merchants", headers=operator).json()["merchants"]}
    assert (listed[cheap]["fee_rate_bp"], listed[cheap]["effective_fee_rate_bp"]) == (None, 60)
    assert_books_clean(engine)


@pytest.mark.parametrize("body", [{"fee_rate_bp": -1}, {"fee_rate_bp": 1001}, {"fee_rate_bp": "38"}, {"rate": 3}, {}])
def test_bad_fee_rates_are_refused_and_change_nothing(client, engine, body):
    merchant_id, _ = make_merchant(client)
    answer = client.put(f"/v1/merchants/{merchant_id}/fee-rate", headers=ADMIN, json=body)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/v1/merchants/{merchant_id}", headers=ADMIN).json()["fee_rate_bp"] is None


def test_only_operators_set_terms(client, engine):
    merchant_id, shop = make_merchant(client)
    for who in (staff(client, "regulator"), staff(client, "risk_officer"), shop):
        answer = client.put(f"/v1/merchants/{merchant_id}/fee-rate", headers=who, json={"fee_rate_bp": 0})
        assert answer.status_code == 403
    assert client.get(f"/v1/merchants/{merchant_id}", headers=ADMIN).json()["fee_rate_bp"] is None
    assert client.get("/v1/merchants", headers=staff(client, "operator")).status_code == 200
    assert client.get("/v1/merchants", headers=shop).status_code == 403


def test_a_suspended_merchant_cannot_be_paid(client, engine):
    customer_id, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    merchant_id, shop = make_merchant(client)
    qr = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"})  # printed
    suspended = client.put(
        f"/v1/merchants/{merchant_id}/status", headers=ADMIN, json={"status": "suspended", "reason": "complaints"}
    )
    assert suspended.status_code == 200, suspended.text
    before = count(engine, transfers)
    answer = client.post(f"/v1/qr-codes/{qr.json()['id']}/pay", headers=login(client, phone), json={"amount": "10.00"})
    assert answer.status_code == 409 and answer.json()["code"] == "merchant_suspended"
    assert count(engine, transfers) == before
    assert balance(engine, f"wallet.{customer_id}") == 1_000_00
    client.put(f"/v1/merchants/{merchant_id}/status", headers=ADMIN, json={"status": "active", "reason": "ok"})
    assert (
        client.post(
            f"/v1/qr-codes/{qr.json()['id']}/pay", headers=login(client, phone), json={"amount": "10.00"}
        ).status_code
        == 201
    )


def test_a_refund_gives_back_the_payers_daily_limit(client, engine):
    _, phone = make_customer(client, engine, "13812345678", "531", 2_000_00)
    merchant_id, shop = make_merchant(client)
    qr = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()["id"]
    payer = login(client, phone)

    def pay_static(amount: str) -> int | str:
        answer = client.post(f"/v1/qr-codes/{qr}/pay", headers=payer, json={"amount": amount})
        return answer.status_code if answer.status_code < 400 else answer.json()["code"]

    first = client.post(f"/v1/qr-codes/{qr}/pay", headers=payer, json={"amount": "500.00"})
    assert first.status_code == 201  # the static-QR limit is 500 CNY a day
    assert pay_static("0.01") == "limit_exceeded"
    refund(client, shop, first.json()["id"], "200.00")
    assert pay_static("200.01") == "limit_exceeded"  # only what was refunded came back
    assert pay_static("200.00") == 201
    assert pay_static("0.01") == "limit_exceeded"
    assert_books_clean(engine)


def test_settlement_and_reconciliation_over_http(client, engine, clock, bank):
    customer_id, phone = make_customer(client, engine, "13812345678", "531", 0)
    merchant_id, shop = make_merchant(client)
    operator = staff(client, "operator")
    top_up = transaction(
        engine, lambda uow: wallets.open_order(uow, customer_id, "card_1", OrderKind.debit_card, 1_000_00, "t1")
    )
    wallets.submit(bank, top_up["id"], CARD_RICH, OrderKind.debit_card, 1_000_00)
    clock.advance(minutes=5)
    wallets.recover_pending_orders(engine, bank)
    paid = pay(client, phone, merchant_id, shop, "100.00")
    refund(client, shop, paid["id"], "40.00")

    early = client.post("/v1/settlements", headers=operator, json={"business_date": D.isoformat()})
    assert early.status_code == 409  # D is not over
    clock.advance(hours=24)
    settled = client.post(
        "/v1/settlements", headers={**operator, "Idempotency-Key": "s1"}, json={"business_date": D.isoformat()}
    )
    assert settled.status_code == 200, settled.text
    [row] = settled.json()["settlements"]
    assert (row["merchant_id"], row["gross"], row["net"], row["state"]) == (merchant_id, "100.00", "59.64", "pending")
    clock.advance(minutes=5)  # the bank pays out; running the date again only collects the outcome
    [row] = client.post("/v1/settlements", headers=operator, json={"business_date": D.isoformat()}).json()[
        "settlements"
    ]
    assert (row["net"], row["state"]) == ("59.64", "paid")
    again = client.post(
        "/v1/settlements", headers={**operator, "Idempotency-Key": "s1"}, json={"business_date": D.isoformat()}
    )
    assert again.json() == settled.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert balance(engine, f"wallet.{merchant_id}") == 0
    reused = client.post(
        "/v1/settlements", headers={**operator, "Idempotency-Key": "s1"}, json={"business_date": "2026-01-04"}
    )
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"

    own = client.get(f"/v1/settlements?business_date={D}", headers=shop)
    assert own.status_code == 200 and own.json()["settlements"][0]["net"] == "59.64"
    other, other_shop = make_merchant_two(client)
    assert (
        client.get(f"/v1/settlements?business_date={D}&merchant_id={merchant_id}", headers=other_shop).status_code
        == 403
    )
    assert client.get(f"/v1/settlements?business_date={D}", headers=login(client, phone)).status_code == 403
    assert client.get(f"/v1/settlements?business_date={D}", headers=staff(client, "regulator")).status_code == 200

    clean = client.post("/v1/reconciliation/runs", headers=operator, json={"business_date": D.isoformat()})
    assert clean.status_code == 200, clean.text
    assert clean.json()["open"] == 0
    day_after = (D + dt.timedelta(days=1)).isoformat()
    # the payout was paid on D+1; D+1 reconciles once D+1 is over
    clock.advance(hours=24)
    assert (
        client.post("/v1/reconciliation/runs", headers=operator, json={"business_date": day_after}).json()["open"] == 0
    )
    assert client.post("/v1/reconciliation/runs", headers=shop, json={"business_date": day_after}).status_code == 403
    assert (
        client.post("/v1/reconciliation/runs", headers=operator, json={"business_date": "2026-13-01"}).status_code
        == 422
    )
    assert_books_clean(engine)


def make_merchant_two(client):
    from stdnum.cn import uscc

    from tests.payments.test_settlement import MERCHANT

    body17 = "91310000MA1FL9876"
    answer = client.post(
        "/v1/merchants",
        headers=ADMIN,
        json={**MERCHANT, "name": "第二家店", "credit_code": body17 + uscc.calc_check_digit(body17)},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], {"Authorization": f"Bearer {answer.json()['api_key']}"}


def test_reserve_checks_are_recorded_daily(client, engine, clock):
    make_customer(client, engine, "13812345678", "531", 500_00)
    operator = staff(client, "operator")
    first = client.post("/v1/reserve-checks", headers=operator)
    assert first.status_code == 200 and first.json()["covered"] is True
    clock.advance(hours=24)
    client.post("/v1/reserve-checks", headers=operator)
    checks = client.get("/v1/reserve-checks", headers=staff(client, "regulator")).json()["checks"]
    assert [c["business_date"] for c in checks] == [(D + dt.timedelta(days=1)).isoformat(), D.isoformat()]
    assert checks[0]["obligations"] == "500.00" and checks[0]["reserve"] == "500.00"
    assert client.post("/v1/reserve-checks", headers=staff(client, "regulator")).status_code == 403


def test_refused_staff_calls_are_audited(client, engine):
    merchant_id, _ = make_merchant(client)
    before = count(engine, audit_log)
    client.put(f"/v1/merchants/{merchant_id}/fee-rate", headers=staff(client, "regulator"), json={"fee_rate_bp": 0})
    with reading(engine) as connection:
        rows = connection.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(1)).mappings().all()
    assert count(engine, audit_log) > before
    assert rows[0]["status_code"] == 403


def test_reconciliation_first_collects_what_the_bank_finished_before_its_notice_arrived(client, engine, clock, bank):
    """An order the bank settled whose notification has not arrived yet (the platform still shows it
    pending) is queried and finished before the date is matched (先查询后对账), not reported as missing
    on the platform's side."""
    customer_id, _ = make_customer(client, engine, "13812345679", "532", 0)
    operator = staff(client, "operator")
    top_up = transaction(
        engine, lambda uow: wallets.open_order(uow, customer_id, "card_1", OrderKind.debit_card, 500_00, "t1")
    )
    wallets.submit(bank, top_up["id"], CARD_RICH, OrderKind.debit_card, 500_00)
    clock.advance(hours=24)  # settled at the bank on D; no notification was delivered, no sweep ran
    assert [row["id"] for row in wallets.pending_orders(engine)] == [top_up["id"]]
    ran = client.post(
        "/v1/reconciliation/runs", headers={**operator, "Idempotency-Key": "r1"}, json={"business_date": D.isoformat()}
    )
    assert ran.status_code == 200, ran.text
    assert (ran.json()["open"], ran.json()["exceptions"]) == (0, [])
    assert wallets.pending_orders(engine) == []
    assert balance(engine, f"wallet.{customer_id}") == 500_00
    assert_books_clean(engine)
