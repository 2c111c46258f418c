"""Insurance slice 2 over HTTP on SQLite and PostgreSQL: an operator makes a partner an insurer and adds
a medical product version; a customer quotes, buys a policy from the wallet (the premium held for the
insurer on the ledger) and cancels it, fully within the cooling-off period and pro rata after it;
refusals (a short wallet, an unknown version, an uncovered age, another's policy, cancelling twice,
another product under the same version) change nothing; the sales record (回溯) is a hash chain a
tampered row breaks; an Idempotency-Key replay makes one policy; the ledger audit passes throughout."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from puhui import clock as clock_module
from puhui.app import create_app
from puhui.db import reading, transaction
from puhui.db.tables import outbox
from puhui.insurance import models, service
from puhui.insurance.tables import INSURANCE_TABLES, insurance_policies, insurance_sales
from puhui.ledger.audit import audit
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers, get_account
from puhui.ledger.tables import accounts, transfers
from puhui.settings import Settings
from tests.identity.helpers import ADMIN, ADMIN_TOKEN, INDEX_KEY, JWT_SECRET, K1, LI, ZHANG, login, make_staff, register
from tests.insurance.ages import aged

PRODUCT = {
    "code": "med-e",
    "version": 1,
    "name": "尊享e生 百万医疗",
    "min_age": 0,
    "bands": [
        {"years": 18, "with_social_insurance": "200.00", "without_social_insurance": "450.00"},
        {"years": 22, "with_social_insurance": "299.00", "without_social_insurance": "688.00"},
        {"years": 26, "with_social_insurance": "899.00", "without_social_insurance": "1999.00"},
    ],
}
DISCLOSURE = "投保须知：等待期30天，免赔额1万元，犹豫期15天内退保全额退还保费。"
CONFIRMED = ["已阅读保险条款", "已确认健康告知"]
WALLET = 100_000_00


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret=JWT_SECRET,
        jwt_ttl_seconds=900,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def fund(engine, wallet_account: str, fen: int) -> None:  # type: ignore[no-untyped-def]
    """Money into a customer's wallet from the reserve (what a bank top-up does)."""
    top_up = Transfer(f"fund.{wallet_account}", "platform.reserve_bank.CNY", wallet_account, fen, "CNY", "top_up")
    done = transaction(engine, lambda uow: create_transfers(uow, [top_up]))
    assert [r.value for r in done] == ["ok"]


def balance(engine, account_id: str) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        account = get_account(connection, account_id)
    return 0 if account is None else account.credits_posted - account.debits_posted


def snapshot(engine) -> dict:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        state = {t.name: sorted(map(tuple, connection.execute(select(t)).all()), key=repr) for t in INSURANCE_TABLES}
        state["accounts"] = connection.execute(select(accounts).order_by(accounts.c.id)).all()
        state["transfers"] = connection.execute(select(func.count()).select_from(transfers)).scalar_one()
        state["outbox"] = connection.execute(select(func.count()).select_from(outbox)).scalar_one()
    return state


def assert_audit_clean(engine) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        report = audit(connection)
    assert report.ok, report


def problem(answer, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code, answer.json()


def call(client, path: str, headers: dict, key: str, json: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(path, headers={**headers, "Idempotency-Key": key}, json=json)


def insurer_with_product(client) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    operator = make_staff(client, "operator")
    partner = call(client, "/v1/partners", ADMIN, "partner-1", {"name": "众安保险"})
    assert partner.status_code == 201, partner.text
    insurer_id = partner.json()["id"]
    registered = call(client, "/v1/insurance/insurers", operator, "ins-1", {"partner_id": insurer_id})
    assert registered.status_code == 201 and registered.json()["premium_held"] == "0.00", registered.text
    added = call(client, "/v1/insurance/products", operator, "prod-1", {**PRODUCT, "insurer_id": insurer_id})
    assert added.status_code == 201, added.text
    return insurer_id, operator


def customer(client, engine, person: dict, fen: int = WALLET) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    created = register(client, person)
    if fen:
        fund(engine, created["wallet_account_id"], fen)
    return created["id"], login(client, person)


def another_product(client, operator: dict, insurer_id: str, code: str) -> None:  # type: ignore[no-untyped-def]
    """Another 百万医疗 product on med-e's terms: one person may hold it alongside med-e (not two of one product)."""
    body = {**PRODUCT, "code": code, "insurer_id": insurer_id}
    added = call(client, "/v1/insurance/products", operator, f"prod-{code}", body)
    assert added.status_code == 201, added.text


def buy(client, me: dict, key: str, age: int | None = None, social: bool = True, version: int = 1, code: str = "med-e"):  # type: ignore[no-untyped-def]
    """Buy med-e (or `code`) for the signed-in customer: priced on the age by their ID; `age`, when given, is
    sent too (and must be that age)."""
    body = {
        "product_code": code,
        "product_version": version,
        "social_insurance": social,
        "disclosure": DISCLOSURE,
        "confirmations": CONFIRMED,
    }
    return call(client, "/v1/insurance/policies", me, key, body if age is None else {**body, "age": age})


def test_product_version_is_data_and_immutable(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    again = call(client, "/v1/insurance/products", operator, "prod-2", {**PRODUCT, "insurer_id": insurer_id})
    assert again.status_code == 201, again.text
    read = client.get("/v1/insurance/products/med-e/1", headers=operator)
    assert read.status_code == 200 and read.json() == again.json()
    assert read.json()["bands"][1] == {
        "min_age": 18,
        "max_age": 39,
        "with_social_insurance": "299.00",
        "without_social_insurance": "688.00",
    }
    assert read.json()["deductible"] == "10000.00" and read.json()["ratio_without_social"] == "0.6"
    with reading(engine) as connection:
        stored = service.get_product(connection, "med-e", 1)
    assert stored.bands[2] == models.AgeBand(40, 65, 899_00, 1999_00) and stored.waiting_days == 30

    before = snapshot(engine)
    changed = {**PRODUCT, "insurer_id": insurer_id, "cooling_off_days": 20}
    problem(call(client, "/v1/insurance/products", operator, "prod-3", changed), 409, "insurance_product_exists")
    problem(client.get("/v1/insurance/products/med-e/2", headers=operator), 404, "insurance_product_not_found")
    unknown = {**PRODUCT, "insurer_id": "nobody", "version": 2}
    problem(call(client, "/v1/insurance/products", operator, "prod-4", unknown), 404, "insurer_not_found")
    assert snapshot(engine) == before


def test_buy_then_cancel_within_cooling_off_refunds_all(client, engine, clock):
    insurer_id, _ = insurer_with_product(client)
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    quoted = call(
        client,
        "/v1/insurance/quotes",
        me,
        "q1",
        {"product_code": "med-e", "product_version": 1, "age": 30, "social_insurance": False},
    )
    assert quoted.status_code == 200 and quoted.json()["premium"] == "688.00", quoted.text

    bought = buy(client, me, "buy-1", age=30, social=False)
    assert bought.status_code == 201, bought.text
    policy = bought.json()
    tomorrow = clock_module.business_date() + dt.timedelta(days=1)
    assert policy["premium"] == "688.00" and policy["status"] == "active"
    assert policy["start_date"] == tomorrow.isoformat()
    assert policy["end_date"] == tomorrow.replace(year=tomorrow.year + 1).isoformat()
    assert balance(engine, f"wallet.{zhang}") == WALLET - 688_00
    assert balance(engine, service.premium_held_account(insurer_id)) == 688_00
    assert client.get(f"/v1/insurance/policies/{policy['id']}", headers=me).json() == policy
    assert_audit_clean(engine)

    clock.advance(days=10)  # within the 15-day cooling-off period from the start of cover
    me = login(client, ZHANG)
    cancelled = call(client, f"/v1/insurance/policies/{policy['id']}/cancel", me, "cancel-1")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["refund"] == "688.00"
    assert balance(engine, f"wallet.{zhang}") == WALLET
    assert balance(engine, service.premium_held_account(insurer_id)) == 0

    before = snapshot(engine)
    problem(call(client, f"/v1/insurance/policies/{policy['id']}/cancel", me, "cancel-2"), 409, "policy_not_active")
    assert snapshot(engine) == before
    assert_audit_clean(engine)


def test_cancel_after_cooling_off_refunds_pro_rata(client, engine, clock):
    insurer_id, _ = insurer_with_product(client)
    zhang, me = customer(client, engine, aged(ZHANG, 45))
    policy = buy(client, me, "buy-1").json()
    clock.advance(days=100)
    me = login(client, ZHANG)
    cancelled = call(client, f"/v1/insurance/policies/{policy['id']}/cancel", me, "cancel-1")
    assert cancelled.status_code == 200, cancelled.text

    start = dt.date.fromisoformat(policy["start_date"])
    cover = models.Cover(start, dt.date.fromisoformat(policy["end_date"]), 899_00)
    with reading(engine) as connection:
        product = service.get_product(connection, "med-e", 1)
    expected = models.cancellation_refund(product, cover, clock_module.business_date())
    assert 0 < expected < 899_00  # past the cooling-off period: the unearned part only
    assert cancelled.json()["refund"] == f"{expected // 100}.{expected % 100:02d}"
    assert balance(engine, f"wallet.{zhang}") == WALLET - 899_00 + expected
    assert balance(engine, service.premium_held_account(insurer_id)) == 899_00 - expected
    assert_audit_clean(engine)


def test_refusals_change_nothing(client, engine, clock):
    insurer_id, _ = insurer_with_product(client)
    _, me = customer(client, engine, aged(ZHANG, 30))
    li, poor = customer(client, engine, aged(LI, 50), fen=100_00)
    _, old = customer(client, engine, aged(LI, 80, phone="13998765433"), fen=100_00)
    policy = buy(client, me, "buy-1").json()

    before = snapshot(engine)
    problem(buy(client, poor, "poor-1"), 409, "insufficient_funds")
    problem(buy(client, poor, "poor-2", version=9), 404, "insurance_product_not_found")
    problem(buy(client, old, "poor-3"), 422, "age_not_covered")
    problem(client.get(f"/v1/insurance/policies/{policy['id']}", headers=poor), 404, "policy_not_found")
    problem(call(client, f"/v1/insurance/policies/{policy['id']}/cancel", poor, "steal"), 404, "policy_not_found")
    bad_age = {"product_code": "med-e", "product_version": 1, "age": -1, "social_insurance": True}
    assert call(client, "/v1/insurance/quotes", poor, "q-bad", bad_age).status_code == 422
    assert snapshot(engine) == before
    assert balance(engine, f"wallet.{li}") == 100_00
    assert_audit_clean(engine)


def test_sales_chain_verifies_and_a_tampered_row_breaks_it(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    another_product(client, operator, insurer_id, "med-e2")
    _, me = customer(client, engine, aged(ZHANG, 30))
    _, other = customer(client, engine, aged(LI, 30))
    for key, person, code in (("s1", me, "med-e"), ("s2", other, "med-e"), ("s3", me, "med-e2")):
        assert buy(client, person, key, code=code).status_code == 201
    with reading(engine) as connection:
        assert service.verify_sales_chain(connection)
        rows = connection.execute(select(insurance_sales).order_by(insurance_sales.c.seq)).mappings().all()
    assert [r["prev_hash"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]

    def tamper(uow):  # type: ignore[no-untyped-def]
        uow.execute(
            insurance_sales.update()
            .where(insurance_sales.c.seq == rows[1]["seq"])
            .values(confirmations='["已阅读保险条款"]')
        )

    transaction(engine, tamper)
    with reading(engine) as connection:
        assert not service.verify_sales_chain(connection)


def test_idempotency_key_replay_makes_one_policy(client, engine, clock):
    insurer_id, _ = insurer_with_product(client)
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    first, second = buy(client, me, "same-key"), buy(client, me, "same-key")
    assert first.status_code == 201 and second.status_code == 201, second.text
    assert first.json() == second.json()
    with reading(engine) as connection:
        count = connection.execute(select(func.count()).select_from(insurance_policies)).scalar_one()
    assert count == 1
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00
    assert balance(engine, service.premium_held_account(insurer_id)) == 299_00
    assert_audit_clean(engine)


def test_racing_sales_keep_one_chain(engine, clock):
    """Eight customers buy at once through the service: eight policies, eight premiums held, one chain."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from puhui.identity.tables import partners
    from puhui.ledger.models import AccountFlags
    from puhui.ledger.service import create_account

    def setup(uow):  # type: ignore[no-untyped-def]
        uow.execute(partners.insert().values(id="ins-co", name="保险公司", created_by="admin", created_at=0))
        for i in range(8):
            create_account(
                uow,
                ledger="CNY",
                code="customer_wallet",
                owner_id=f"c{i}",
                flags=AccountFlags.debits_must_not_exceed_credits,
                id=f"wallet.c{i}",
            )
        service.register_insurer(uow, "ins-co")
        product = models.MedicalProduct("med-r", 1, "百万医疗", (models.AgeBand(0, 65, 300_00, 600_00),))
        service.add_medical_product(uow, "ins-co", product)

    transaction(engine, setup)
    for i in range(8):
        fund(engine, f"wallet.c{i}", 1_000_00)
    barrier = Barrier(8)

    def sell(i: int) -> dict:
        barrier.wait()
        return transaction(
            engine, lambda uow: service.buy_medical(uow, f"c{i}", "med-r", 1, 30, True, DISCLOSURE, CONFIRMED, "k")
        )

    with ThreadPoolExecutor(8) as pool:
        sold = list(pool.map(sell, range(8)))
    assert len({p["id"] for p in sold}) == 8
    assert balance(engine, service.premium_held_account("ins-co")) == 8 * 300_00
    with reading(engine) as connection:
        assert service.verify_sales_chain(connection)
        assert connection.execute(select(func.count()).select_from(insurance_sales)).scalar_one() == 8
    assert_audit_clean(engine)
