"""QR daily limits on the customer's whole day (条码支付, 银发〔2017〕296号 §13), on SQLite and PostgreSQL: a
level's cap is on the day's total of every QR payment, static and dynamic, however each was verified
(B ≤ 5,000, C ≤ 1,000, A by agreement but counted), and static codes keep their own ≤ 500 a day. One
payer could pay 6,000 in a day by counting each level apart; racing payments still hold the caps."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from puhui.db import reading, transaction
from puhui.ledger.errors import InsufficientFunds
from puhui.payments import grouping, service
from puhui.payments.errors import LimitExceeded
from puhui.payments.models import VerificationStrength
from puhui.payments.tables import qr_codes, spending
from tests.payments.test_payments_http import (  # noqa: F401 - fixtures
    PASSWORD,
    PEOPLE,
    _pay_static,
    assert_audit_clean,
    balance,
    client,
    commit,
    customer,
    fund,
    merchant,
    snapshot,
)

ONE = {"verification": "one_factor"}
TWO = {"verification": "two_factors", "password": PASSWORD}


def dynamic(client, merchant_id: str, shop: dict, amount: str) -> str:  # noqa: F811 - the fixture
    made = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes",
        headers=shop,
        json={"kind": "dynamic", "amount": amount, "expires_in_seconds": 600},
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def used(engine, payer: str, bucket: str) -> int:
    with reading(engine) as connection:
        found = connection.execute(
            select(spending.c.used).where(spending.c.subject_id == payer, spending.c.bucket == bucket)
        ).scalar()
    return int(found or 0)


def test_one_day_of_qr_payments_is_one_total_across_verification_levels(client, engine, clock):  # noqa: F811
    """The report: 1,000.00 at level C, then 0.01 and 4,999.99 at level B all passed (6,000 in a day). The
    third makes the day's total 6,000.00 > 5,000 (B's cap): refused, naming the cap, and nothing moves."""
    payer, me = customer(client, PEOPLE[0], 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 10_000_00, "zhang")
    first = client.post(f"/v1/qr-codes/{dynamic(client, merchant_id, shop, '1000.00')}/pay", headers=me, json=ONE)
    assert first.status_code == 201, first.text
    second = client.post(f"/v1/qr-codes/{dynamic(client, merchant_id, shop, '0.01')}/pay", headers=me, json=TWO)
    assert second.status_code == 201, second.text  # 1,000.01 ≤ 5,000 at level B

    third_qr = dynamic(client, merchant_id, shop, "4999.99")
    before = snapshot(engine)
    third = client.post(f"/v1/qr-codes/{third_qr}/pay", headers=me, json=TWO)
    assert third.status_code == 409, third.text
    problem = third.json()
    assert problem["code"] == "limit_exceeded" and problem["limit"] == "5000.00"
    assert "5000.00 CNY" in problem["detail"] and "two_factors" in problem["detail"], problem
    assert snapshot(engine) == before  # the code is still open, nothing counted, nothing moved
    assert balance(engine, f"wallet.{payer}") == 10_000_00 - 1_000_01
    assert used(engine, payer, "qr_day") == 1_000_01

    # what still fits the day's total at level B is paid; at level C nothing more is (1,000.01 > 1,000)
    fits = client.post(f"/v1/qr-codes/{dynamic(client, merchant_id, shop, '3999.99')}/pay", headers=me, json=TWO)
    assert fits.status_code == 201, fits.text
    at_c = client.post(f"/v1/qr-codes/{dynamic(client, merchant_id, shop, '0.01')}/pay", headers=me, json=ONE)
    assert (at_c.status_code, at_c.json()["code"], at_c.json()["limit"]) == (409, "limit_exceeded", "1000.00")
    assert used(engine, payer, "qr_day") == 5_000_00

    # a new business day starts a new total
    clock.advance(hours=24)
    me = customer_session(client, PEOPLE[0])
    again = client.post(f"/v1/qr-codes/{third_qr}/pay", headers=me, json=TWO)
    assert again.status_code == 409 and again.json()["code"] == "qr_code_expired"  # its 10 minutes are over
    next_day = client.post(f"/v1/qr-codes/{dynamic(client, merchant_id, shop, '4999.99')}/pay", headers=me, json=TWO)
    assert next_day.status_code == 201, next_day.text
    assert_audit_clean(engine)


def customer_session(client, person: dict) -> dict:  # noqa: F811 - the fixture
    answer = client.post("/v1/customers/login", json={"phone": person["phone"], "password": person["password"]})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_static_payments_count_on_the_day_total_and_keep_their_own_cap(client, engine, clock):  # noqa: F811
    """500.00 by the static code, then a dynamic code of 600.00 at level C: 1,100 > 1,000, refused. At level
    B it fits (1,100 ≤ 5,000). More by the static code is refused at any level: 500 a day."""
    payer, me = customer(client, PEOPLE[0], 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 10_000_00, "zhang")
    static = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()["id"]
    paid = client.post(f"/v1/qr-codes/{static}/pay", headers=me, json={"amount": "500.00", **ONE})
    assert paid.status_code == 201, paid.text

    code = dynamic(client, merchant_id, shop, "600.00")
    before = snapshot(engine)
    refused = client.post(f"/v1/qr-codes/{code}/pay", headers=me, json=ONE)
    assert refused.status_code == 409, refused.text
    assert (refused.json()["code"], refused.json()["limit"]) == ("limit_exceeded", "1000.00")
    assert "1000.00 CNY" in refused.json()["detail"]
    assert snapshot(engine) == before

    assert client.post(f"/v1/qr-codes/{code}/pay", headers=me, json=TWO).status_code == 201  # 1,100 ≤ 5,000
    for verification, cap in ((ONE, "1000.00"), (TWO, "500.00")):  # at C both are over: the day's is named
        more = client.post(f"/v1/qr-codes/{static}/pay", headers=me, json={"amount": "0.01", **verification})
        assert (more.status_code, more.json()["code"], more.json()["limit"]) == (409, "limit_exceeded", cap)
    assert (used(engine, payer, "qr_day"), used(engine, payer, "qr_static")) == (1_100_00, 500_00)

    # a refund gives the amount back to both totals
    back = client.post(f"/v1/payments/{paid.json()['id']}/refunds", headers=shop, json={"amount": "100.00"})
    assert back.status_code == 201, back.text
    assert (used(engine, payer, "qr_day"), used(engine, payer, "qr_static")) == (1_000_00, 400_00)
    assert client.post(f"/v1/qr-codes/{static}/pay", headers=me, json={"amount": "100.00", **TWO}).status_code == 201
    assert_audit_clean(engine)


def test_level_a_is_counted_on_the_day_total_without_a_cap(client, engine, clock):  # noqa: F811
    """Level A (by agreement; the platform offers it to no HTTP caller) keeps no cap of the platform's, but
    what it pays counts: a level C payment after 6,000.00 at level A is over C's 1,000."""
    payer, _ = customer(client, PEOPLE[0], 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 10_000_00, "zhang")

    def pay(qr_id: str, strength: VerificationStrength, n: int) -> dict:
        return transaction(engine, lambda uow: service.pay_qr(uow, payer, qr_id, None, strength, f"a-{n}", 60)[0])

    assert pay(dynamic(client, merchant_id, shop, "6000.00"), VerificationStrength.certificate, 1)["amount"] == 6_000_00
    assert used(engine, payer, "qr_day") == 6_000_00
    with pytest.raises(LimitExceeded) as refused:
        pay(dynamic(client, merchant_id, shop, "0.01"), VerificationStrength.one_factor, 2)
    assert refused.value.extra["limit"] == "1000.00"
    assert_audit_clean(engine)


def test_racing_static_and_dynamic_payments_hold_the_day_total(client, engine, clock, commit):  # noqa: F811
    """16 clients at once: 8 by the static code and 8 by dynamic codes, 125.00 each at level C. Whatever the
    order, exactly 8 are paid (the day's 1,000), at most 4 of them static (500): never more."""
    payer, _ = customer(client, PEOPLE[0], 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 10_000_00, "zhang")
    static = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()["id"]
    jobs = [("static", static, 125_00, n) for n in range(8)]
    jobs += [("dynamic", dynamic(client, merchant_id, shop, "125.00"), None, 100 + n) for n in range(8)]
    start = threading.Barrier(16)

    def run(job):
        kind, qr_id, amount, n = job
        try:
            start.wait(timeout=5)
        except threading.BrokenBarrierError:
            pass
        return kind, _pay_static(engine, commit, payer, qr_id, amount, n)

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(run, jobs))
    paid = [kind for kind, outcome in outcomes if outcome == "ok"]
    assert all(outcome in ("ok", "limit") for _, outcome in outcomes), outcomes
    assert len(paid) == 8 and paid.count("static") <= 4, outcomes
    assert used(engine, payer, "qr_day") == 1_000_00
    assert used(engine, payer, "qr_static") == 125_00 * paid.count("static")
    assert balance(engine, f"wallet.{payer}") == 10_000_00 - 1_000_00
    assert balance(engine, f"wallet.{merchant_id}") == 1_000_00 - 8 * 75  # 0.6% of each 125.00
    with reading(engine) as connection:
        taken = connection.execute(
            select(qr_codes.c.status).where(qr_codes.c.kind == "dynamic", qr_codes.c.status == "paid")
        ).all()
    assert len(taken) == paid.count("dynamic")  # a refused payment left its code open
    assert_audit_clean(engine)
