"""Payers chose their own QR limit (issue 19, finding 2): the request's `verification` field picked the
daily limit, and `"certificate"` meant no limit (20,000 passed where 1,500 was refused). The level is now
what the platform verified in the payment: the session alone is one factor (1,000 a day), the password
checked again makes two (5,000), and certificates, which Puhui does not issue, are refused."""

from __future__ import annotations

import pytest

from puhui.identity.throttle import MAX_FAILURES
from tests.payments.test_payments_http import (  # noqa: F401 - the client fixture
    PASSWORD,
    PEOPLE,
    client,
    customer,
    fund,
    merchant,
    snapshot,
)


@pytest.fixture
def shop_and_payer(client, engine):  # type: ignore[no-untyped-def]
    merchant_id, shop = merchant(client)
    payer_id, me = customer(client, PEOPLE[0], 5)
    fund(engine, f"wallet.{payer_id}", 50_000_00, "payer")

    def pay(amount: str, **body):  # type: ignore[no-untyped-def]
        qr = client.post(
            f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": amount}
        ).json()["id"]
        return client.post(f"/v1/qr-codes/{qr}/pay", headers=me, json=body)

    return pay


def test_a_claimed_certificate_is_refused_and_moves_nothing(shop_and_payer, engine):
    before = snapshot(engine)
    answer = shop_and_payer("20000.00", verification="certificate")
    assert answer.status_code == 422 and answer.json()["code"] == "verification_unsupported"
    unproven = shop_and_payer("1500.00", verification="two_factors")
    assert unproven.status_code == 403 and unproven.json()["code"] == "verification_not_proven"
    assert {k: v for k, v in snapshot(engine).items() if k != "qr_codes"} == {
        k: v for k, v in before.items() if k != "qr_codes"
    }


def test_the_session_alone_is_one_factor_and_the_password_makes_two(shop_and_payer):
    assert shop_and_payer("1000.00").status_code == 201
    assert shop_and_payer("0.01").json()["code"] == "limit_exceeded"  # one factor: 1,000.00 a day
    assert shop_and_payer("3000.00", verification="two_factors", password=PASSWORD).status_code == 201
    over = shop_and_payer("2000.01", verification="two_factors", password=PASSWORD)
    assert over.json()["code"] == "limit_exceeded"  # two factors: 5,000.00 a day


def test_a_wrong_password_is_refused_and_counts_towards_the_lock(shop_and_payer, client):
    for _ in range(MAX_FAILURES):
        wrong = shop_and_payer("10.00", verification="two_factors", password="not my password")
        assert wrong.status_code == 403 and wrong.json()["code"] == "payment_password_invalid"
    locked = shop_and_payer("10.00", verification="two_factors", password=PASSWORD)
    assert locked.status_code == 429, locked.text  # a stolen session cannot guess the password
    login = client.post("/v1/customers/login", json={"phone": PEOPLE[0]["phone"], "password": PASSWORD})
    assert login.status_code == 429
