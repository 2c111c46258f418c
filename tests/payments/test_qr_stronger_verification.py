"""A QR payment refused by the QR day limit at level C (银发〔2017〕296号: C ≤ 1,000 a day, B ≤ 5,000) tells the
payer that the payment password (level B) would lift it, when it would: a sentence in the detail and the
stable `stronger_verification` (with `stronger_verification_limit`), under the same code `limit_exceeded`.
Not when it would not: a refusal at level B (level A needs a certificate Puhui does not issue), a day total
over B's 5,000 too, or a static code's own 500 a day. On SQLite and PostgreSQL, alone and in a group commit."""

from __future__ import annotations

import pytest

from puhui.payments import grouping, service
from puhui.payments.errors import LimitExceeded
from puhui.payments.models import VerificationStrength
from tests.payments.test_payments_http import (  # noqa: F401 - fixtures
    PEOPLE,
    client,
    commit,
    customer,
    fund,
    merchant,
    snapshot,
)
from tests.payments.test_qr_day_limits import ONE, TWO, dynamic, used


def test_a_level_c_refusal_the_password_would_lift_says_so_and_the_password_pays(client, engine, clock):  # noqa: F811
    """600.00 at level C, then a dynamic code of 500.00 at level C: 1,100 > 1,000, refused as before
    (`limit_exceeded`, 409, the 1,000.00 cap), and now also told that `two_factors` (5,000.00) would allow it;
    paid with the password it is."""
    payer, me = customer(client, PEOPLE[0], 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 10_000_00, "zhang")
    first = client.post(f"/v1/qr-codes/{dynamic(client, merchant_id, shop, '600.00')}/pay", headers=me, json=ONE)
    assert first.status_code == 201, first.text

    qr = dynamic(client, merchant_id, shop, "500.00")
    before = snapshot(engine)
    refused = client.post(f"/v1/qr-codes/{qr}/pay", headers=me, json=ONE)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "limit_exceeded" and problem["bucket"] == "qr_day" and problem["limit"] == "1000.00"
    assert problem["stronger_verification"] == "two_factors", problem
    assert problem["stronger_verification_limit"] == "5000.00", problem
    assert "stronger verification (two_factors" in problem["detail"] and "5000.00 CNY" in problem["detail"], problem
    assert snapshot(engine) == before  # the refusal changed nothing

    paid = client.post(f"/v1/qr-codes/{qr}/pay", headers=me, json=TWO)
    assert paid.status_code == 201, paid.text
    assert used(engine, payer, "qr_day") == 1_100_00


def test_a_static_code_over_the_level_c_day_total_is_told_the_same(client, engine, clock):  # noqa: F811
    """900.00 by a dynamic code at C, then 200.00 by a static code at C: the day's 1,100 > 1,000 (its static
    total 200 ≤ 500 fits), so the password would lift it."""
    payer, me = customer(client, PEOPLE[0], 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 10_000_00, "zhang")
    assert client.post(f"/v1/qr-codes/{dynamic(client, merchant_id, shop, '900.00')}/pay", headers=me, json=ONE)
    static = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()["id"]
    refused = client.post(f"/v1/qr-codes/{static}/pay", headers=me, json={"amount": "200.00", **ONE})
    assert refused.status_code == 409 and refused.json()["stronger_verification"] == "two_factors", refused.text
    paid = client.post(f"/v1/qr-codes/{static}/pay", headers=me, json={"amount": "200.00", **TWO})
    assert paid.status_code == 201, paid.text


@pytest.mark.parametrize(
    ("paid", "then", "kind", "verification", "bucket"),
    [
        ("4000.00", "1500.00", "dynamic", TWO, "qr_day"),  # at B: level A is not to be had
        ("900.00", "4200.00", "dynamic", ONE, "qr_day"),  # 5,100 > B's 5,000 too
        ("400.00", "200.00", "static", ONE, "qr_static"),  # the static 500 a day, at any level
    ],
)
def test_no_stronger_verification_is_offered_where_none_would_lift_it(
    client,  # noqa: F811
    engine,
    clock,
    paid: str,
    then: str,
    kind: str,
    verification: dict,
    bucket: str,
):
    payer, me = customer(client, PEOPLE[0], 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 10_000_00, "zhang")
    static = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"}).json()["id"]
    if kind == "static":
        first = client.post(f"/v1/qr-codes/{static}/pay", headers=me, json={"amount": paid, **verification})
        refused = client.post(f"/v1/qr-codes/{static}/pay", headers=me, json={"amount": then, **verification})
    else:
        first = client.post(f"/v1/qr-codes/{dynamic(client, merchant_id, shop, paid)}/pay", headers=me, json=TWO)
        qr = dynamic(client, merchant_id, shop, then)
        refused = client.post(f"/v1/qr-codes/{qr}/pay", headers=me, json=verification)
    assert first.status_code == 201, first.text
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "limit_exceeded" and problem["bucket"] == bucket, problem
    assert "stronger_verification" not in problem and "stronger verification" not in problem["detail"], problem


def test_the_refusal_says_it_in_a_group_commit_too(client, engine, clock, commit):  # noqa: F811
    """The service's refusal carries it alone and in a group commit (成组提交), where the dynamic code's limits
    were counted ahead of the payment's checks."""
    payer, me = customer(client, PEOPLE[0], 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer}", 10_000_00, "zhang")
    qr = dynamic(client, merchant_id, shop, "1000.01")

    def work(uow):
        return service.pay_qr(uow, payer, qr, None, VerificationStrength.one_factor, "c-1", 60)

    with pytest.raises(LimitExceeded) as refused:
        commit(engine, work, grouping.qr_locks(payer, qr))
    assert refused.value.extra["stronger_verification"] == "two_factors", refused.value.extra
    assert refused.value.extra["stronger_verification_limit"] == "5000.00"
