"""Group commit of payments (成组提交) over HTTP on SQLite and PostgreSQL: payments queued together
commit in one transaction, each in its own savepoint, and keep their own answers, idempotency,
audit and outbox rows; a refused payment fails alone; racing clients keep limits and single-use
QR codes; with `PUHUI_GROUP_COMMIT=off` the same calls commit one by one."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from puhui.app import create_app
from puhui.db import group_commit, reading
from puhui.db.tables import audit_log, idempotency_keys, outbox
from puhui.payments.tables import payments, qr_codes
from puhui.settings import Settings
from tests.payments.test_payments_http import (
    ADMIN,
    ADMIN_TOKEN,
    INDEX_KEY,
    K1,
    NOTIFY_KEY,
    PASSWORD,
    assert_audit_clean,
    balance,
    customer,
    fund,
    id_number,
    merchant,
)


def person(n: int) -> dict:
    return {
        "name": "测试" + "甲乙丙丁戊己庚辛壬癸"[n % 10] + "子丑寅卯辰巳午未申酉"[n // 10 % 10],
        "id_number": id_number("110105", "19900307", f"{n:03d}"),
        "phone": f"139{n:08d}",
        "password": PASSWORD,
    }


def app_client(engine, group: bool) -> TestClient:
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret="j" * 48,
        merchant_fee_bp=60,
        merchant_notify_key=NOTIFY_KEY,
        group_commit=group,
    )
    return TestClient(create_app(engine, settings, run_expiry=False))


@pytest.fixture
def client(engine, clock):
    with app_client(engine, group=True) as test_client:
        yield test_client


class Gate:
    """Holds the engine's committer inside a batch, so the calls made meanwhile queue for the next one."""

    def __init__(self, engine) -> None:
        self.committer = group_commit.committer_for(engine)
        self.open = threading.Event()
        self.inside = threading.Event()

        def wait(uow) -> None:
            self.inside.set()
            assert self.open.wait(timeout=30)

        self.done = group_commit.submit(engine, group_commit.Job(wait))
        assert self.inside.wait(timeout=30)

    def release_when_queued(self, count: int) -> None:
        deadline = time.monotonic() + 30
        while self.committer.queued() < count:
            assert time.monotonic() < deadline, f"only {self.committer.queued()} of {count} queued"
            time.sleep(0.005)
        self.open.set()
        self.done.result(timeout=30)


def test_a_batch_with_refusals_keeps_every_payment_apart(client, engine, clock):
    rich, rich_h = customer(client, person(1), 3)
    poor, poor_h = customer(client, person(2), 3)
    third, third_h = customer(client, person(3), 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{rich}", 2_000_00, "rich")
    fund(engine, f"wallet.{poor}", 10_00, "poor")
    fund(engine, f"wallet.{third}", 2_000_00, "third")
    static = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()

    def dynamic(amount: str) -> str:
        made = client.post(
            f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": amount}
        )
        return made.json()["id"]

    fresh, taken = dynamic("88.00"), dynamic("12.00")
    first = client.post(f"/v1/qr-codes/{taken}/pay", headers={**third_h, "Idempotency-Key": "before"}, json={})
    assert first.status_code == 201, first.text

    calls = {  # key: (path, headers, body, expected status, expected problem code)
        "ok-dynamic": (f"/v1/qr-codes/{fresh}/pay", rich_h, {}, 201, None),
        "short": (f"/v1/qr-codes/{static['id']}/pay", poor_h, {"amount": "60.00"}, 409, "insufficient_funds"),
        "paid-already": (f"/v1/qr-codes/{taken}/pay", rich_h, {}, 409, "qr_code_not_payable"),
        "over-limit": (f"/v1/qr-codes/{static['id']}/pay", third_h, {"amount": "600.00"}, 409, "limit_exceeded"),
        "ok-static": (f"/v1/qr-codes/{static['id']}/pay", third_h, {"amount": "20.00"}, 201, None),
        "ok-p2p": ("/v1/transfers/p2p", rich_h, {"to_customer_id": third, "amount": "5.00"}, 201, None),
    }
    before = group_commit.committer_for(engine).stats
    batches, jobs = before.batches, before.jobs
    gate = Gate(engine)

    def call(key: str):
        path, headers, body, _, _ = calls[key]
        return key, client.post(path, headers={**headers, "Idempotency-Key": key}, json=body)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call, key) for key in calls]
        gate.release_when_queued(len(calls))
        answers = dict(f.result(timeout=60) for f in futures)
    stats = group_commit.committer_for(engine).stats
    assert (stats.batches - batches, stats.jobs - jobs) == (2, 1 + len(calls))  # the gate's, then all six in one

    for key, (_, _, _, status, code) in calls.items():
        assert answers[key].status_code == status, (key, answers[key].text)
        if code is not None:
            assert answers[key].json()["code"] == code, key
    made = {key: answers[key].json()["id"] for key in calls if calls[key][3] == 201}

    with reading(engine) as connection:
        stored = set(connection.execute(select(payments.c.id)).scalars())
        keys = dict(connection.execute(select(idempotency_keys.c.key, idempotency_keys.c.status_code)).all())
        audited = {
            json.loads(detail)["idempotency_key"]: (status, json.loads(detail).get("error"))
            for status, detail in connection.execute(
                select(audit_log.c.status_code, audit_log.c.detail).where(audit_log.c.action.like("payments.%"))
            ).all()
            if detail and "idempotency_key" in json.loads(detail)
        }
        events = [
            json.loads(p)
            for p in connection.execute(select(outbox.c.payload).where(outbox.c.topic == "payments")).scalars()
        ]
        qr_status = connection.execute(select(qr_codes.c.status).where(qr_codes.c.id == fresh)).scalar_one()
    assert set(made.values()) <= stored and len(stored) == len(made) + 1  # and the one made before
    for key, (_, _, _, status, code) in calls.items():
        assert keys.get(key) == (status if code is None else None), key  # refusals are not replayed answers
        assert audited[key] == (status, code), key
    event_ids = {e["payment"]["id"] if "payment" in e else e["id"] for e in events}
    assert set(made.values()) <= event_ids
    assert qr_status == "paid"
    assert balance(engine, f"wallet.{rich}") == 2_000_00 - 88_00 - 5_00
    assert balance(engine, f"wallet.{poor}") == 10_00
    assert balance(engine, f"wallet.{third}") == 2_000_00 - 12_00 - 20_00 + 5_00
    assert_audit_clean(engine)

    for key, (path, headers, body, status, _) in calls.items():  # retries answer the same
        again = client.post(path, headers={**headers, "Idempotency-Key": key}, json=body)
        assert again.status_code == status, (key, again.text)
        if status == 201:
            assert again.json() == answers[key].json() and again.headers.get("Idempotent-Replayed") == "true"
        else:
            assert again.json()["code"] == answers[key].json()["code"]
    assert balance(engine, f"wallet.{rich}") == 2_000_00 - 88_00 - 5_00
    assert_audit_clean(engine)


@pytest.mark.parametrize("group", [True, False], ids=["group_commit", "one_transaction_each"])
def test_sixteen_racing_clients_keep_limits_and_single_use(engine, clock, group):
    with app_client(engine, group) as client:
        people = [customer(client, person(10 + n), 3) for n in range(16)]
        merchant_id, shop = merchant(client)
        for n, (customer_id, _) in enumerate(people):
            fund(engine, f"wallet.{customer_id}", 1_000_00, f"r{n}")
        one = client.post(
            f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "99.00"}
        ).json()["id"]
        static = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()
        spender, spender_h = people[0]
        start = threading.Barrier(16)

        def race(n: int) -> tuple[int, int]:
            try:
                start.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
            headers = {**people[n][1], "Idempotency-Key": f"one-{n}"}
            dynamic = client.post(f"/v1/qr-codes/{one}/pay", headers=headers, json={}).status_code
            headers = {**spender_h, "Idempotency-Key": f"static-{n}"}
            paid = client.post(f"/v1/qr-codes/{static['id']}/pay", headers=headers, json={"amount": "60.00"})
            return dynamic, paid.status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            outcomes = list(pool.map(race, range(16)))
    dynamic = sorted(o[0] for o in outcomes)
    assert dynamic == [201] + [409] * 15
    assert sorted(o[1] for o in outcomes) == [201] * 8 + [409] * 8  # 8 × 60 ≤ 500 a day by static QR
    assert balance(engine, f"wallet.{merchant_id}") == 99_00 + 480_00 - 59 - 8 * 36
    paid_one = sum(balance(engine, f"wallet.{c}") for c, _ in people[1:])
    assert balance(engine, f"wallet.{spender}") + paid_one == 16 * 1_000_00 - 99_00 - 480_00
    assert_audit_clean(engine)


@pytest.mark.parametrize("group", [True, False], ids=["group_commit", "one_transaction_each"])
def test_a_dynamic_code_refused_after_its_limits_were_counted_counts_nothing(engine, clock, group):
    """A dynamic code's limits are counted in the round trip that takes the code (`service._take_qr`); a
    refusal after that (the merchant suspended, a limit over) rolls the counts and the code back."""
    from puhui.payments.tables import spending

    def used(payer: str) -> dict[str, int]:
        with reading(engine) as connection:
            rows = connection.execute(select(spending.c.bucket, spending.c.used).where(spending.c.subject_id == payer))
            return {bucket: amount for bucket, amount in rows}

    with app_client(engine, group) as test_client:
        payer, headers = customer(test_client, person(40), 3)
        merchant_id, shop = merchant(test_client)
        fund(engine, f"wallet.{payer}", 20_000_00, "early")

        def code(amount: str) -> str:
            made = test_client.post(
                f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": amount}
            )
            return made.json()["id"]

        paid = test_client.post(
            f"/v1/qr-codes/{code('10.00')}/pay", headers={**headers, "Idempotency-Key": "a"}, json={}
        )
        assert paid.status_code == 201, paid.text
        counted = used(payer)
        assert set(counted.values()) == {10_00}, counted  # the tier's and the code's limit, each counted once

        over = code("6000.00")  # over the 5,000 CNY daily limit of a password-verified dynamic code
        refused = test_client.post(f"/v1/qr-codes/{over}/pay", headers={**headers, "Idempotency-Key": "b"}, json={})
        assert refused.status_code == 409 and refused.json()["code"] == "limit_exceeded", refused.text
        assert used(payer) == counted
        assert test_client.get(f"/v1/qr-codes/{over}", headers=shop).json()["status"] == "active"

        later = code("20.00")
        suspended = test_client.put(
            f"/v1/merchants/{merchant_id}/status", headers=ADMIN, json={"status": "suspended", "reason": "complaints"}
        )
        assert suspended.status_code == 200, suspended.text
        refused = test_client.post(f"/v1/qr-codes/{later}/pay", headers={**headers, "Idempotency-Key": "c"}, json={})
        assert refused.status_code == 409 and refused.json()["code"] == "merchant_suspended", refused.text
        assert used(payer) == counted
        assert test_client.get(f"/v1/qr-codes/{later}", headers=shop).json()["status"] == "active"
    assert_audit_clean(engine)
