"""Step-up challenges (核身) on SQLite and PostgreSQL, with a fraud check that asks for one: the payment
is parked and nothing moves until its payer passes; passing makes it exactly once; wrong answers,
expiry and abandonment decline it and give everything back; the refusals have stable codes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.payments import challenges, risk_hook
from puhui.payments.tables import payments
from tests.payments.test_reviews import dynamic_qr, pending_debits, transfer_count
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    PASSWORD,
    assert_books_clean,
    balance,
    client,
    login,
    make_customer,
    make_merchant,
)


@dataclass(frozen=True)
class Assessment:
    decision: risk_hook.Decision
    score: int


class ChallengeCheck:
    """A stand-in fraud check: a challenge from 200 CNY, by password from 800 CNY (else SMS)."""

    def assess(self, request: risk_hook.PaymentRequest, connection=None) -> Assessment:  # noqa: ANN001
        if request.amount >= 200_00:
            factor = "password" if request.amount >= 800_00 else "sms"
            return Assessment(risk_hook.Decision(risk_hook.Outcome.challenge, ("odd_device",), factor), 400)
        return Assessment(risk_hook.Decision(risk_hook.Outcome.approve), 10)

    def record(self, uow, request, assessment, payment_ref=None) -> None:  # noqa: ANN001
        pass


@pytest.fixture
def world(client, engine):  # noqa: F811 - the fixture
    risk_hook.install(engine, ChallengeCheck())
    challenges.SMS_OUTBOX.clear()
    customer_id, phone = make_customer(client, engine, "13812345678", "531", 5_000_00)
    other_id, other_phone = make_customer(client, engine, "13912345678", "542", 100_00)
    merchant_id, shop = make_merchant(client)
    yield {
        "customer_id": customer_id,
        "wallet": f"wallet.{customer_id}",
        "shop_wallet": f"wallet.{merchant_id}",
        "payer": login(client, phone),
        "other": login(client, other_phone),
        "merchant_id": merchant_id,
        "shop": shop,
    }
    risk_hook.uninstall(engine)


def payment_count(engine) -> int:
    with reading(engine) as connection:
        return connection.execute(select(func.count()).select_from(payments)).scalar_one()


def challenged(client, world, amount: str, key: str) -> dict:  # noqa: F811
    qr = dynamic_qr(client, world["merchant_id"], world["shop"], amount)
    parked = client.post(f"/v1/qr-codes/{qr}/pay", headers={**world["payer"], "Idempotency-Key": key}, json={})
    assert parked.status_code == 202, parked.text
    body = parked.json()
    assert body["status"] == "challenged" and body["attempts_left"] == challenges.MAX_ATTEMPTS
    assert "reasons" not in body and "code" not in body
    return body


def answer(client, world, challenge_id: str, key: str, **factor):  # noqa: F811
    headers = {**world["payer"], "Idempotency-Key": key}
    return client.post(f"/v1/payments/challenges/{challenge_id}", headers=headers, json=factor)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_nothing_moves_until_the_sms_code_is_given_then_the_payment_is_made_once(client, engine, world):  # noqa: F811
    moved_before = transfer_count(engine)
    body = challenged(client, world, "300.00", "c1")
    assert body["method"] == "sms"
    [code] = challenges.SMS_OUTBOX[world["customer_id"]]
    assert balance(engine, world["wallet"]) == 5_000_00 and balance(engine, world["shop_wallet"]) == 0
    assert pending_debits(engine, world["wallet"]) == 300_00 and payment_count(engine) == 0
    with reading(engine) as connection:
        stored = challenges.find_for(connection, body["challenge_id"], world["customer_id"])
    assert code not in str(stored) and stored["code_hash"] != code

    refused = answer(client, world, body["challenge_id"], "a1", code=wrong(code))
    assert refused.status_code == 422 and refused.json()["code"] == "challenge_failed"
    assert refused.json()["attempts_left"] == 2
    assert payment_count(engine) == 0 and balance(engine, world["shop_wallet"]) == 0

    passed = answer(client, world, body["challenge_id"], "a2", code=code)
    assert passed.status_code == 200, passed.text
    assert passed.json()["status"] == "passed" and passed.json()["payment_id"] == body["challenge_id"]
    assert balance(engine, world["wallet"]) == 4_700_00 and pending_debits(engine, world["wallet"]) == 0
    assert balance(engine, world["shop_wallet"]) > 0 and payment_count(engine) == 1

    for key in ("a2", "a3"):  # the same call replayed, and the code given again
        again = answer(client, world, body["challenge_id"], key, code=code)
        assert again.status_code == 200 and again.json()["status"] == "passed"
    assert balance(engine, world["wallet"]) == 4_700_00 and payment_count(engine) == 1
    assert transfer_count(engine) > moved_before
    assert_books_clean(engine)


def test_too_many_wrong_codes_decline_the_payment_and_give_everything_back(client, engine, world):  # noqa: F811
    body = challenged(client, world, "300.00", "c1")
    [code] = challenges.SMS_OUTBOX[world["customer_id"]]
    for attempt in range(challenges.MAX_ATTEMPTS):
        refused = answer(client, world, body["challenge_id"], f"w{attempt}", code=wrong(code))
        assert refused.json()["code"] == "challenge_failed"
    assert refused.json()["attempts_left"] == 0
    late = answer(client, world, body["challenge_id"], "late", code=code)
    assert late.status_code == 409 and late.json()["code"] == "challenge_not_pending"
    shown = client.get(f"/v1/payments/challenges/{body['challenge_id']}", headers=world["payer"]).json()
    assert shown["status"] == "failed" and shown["payment_id"] is None
    assert balance(engine, world["wallet"]) == 5_000_00 and pending_debits(engine, world["wallet"]) == 0
    assert balance(engine, world["shop_wallet"]) == 0 and payment_count(engine) == 0
    assert_books_clean(engine)


def test_an_expired_challenge_declines_and_an_abandoned_one_is_swept(client, engine, clock, world):  # noqa: F811
    first = challenged(client, world, "300.00", "c1")
    second = challenged(client, world, "250.00", "c2")
    code = challenges.SMS_OUTBOX[world["customer_id"]][0]
    clock.advance(seconds=challenges.CHALLENGE_SECONDS)
    expired = answer(client, world, first["challenge_id"], "a1", code=code)
    assert expired.status_code == 422 and expired.json()["code"] == "challenge_expired"
    assert transaction(engine, challenges.expire_due) == 1  # the second, never answered
    for parked in (first, second):
        shown = client.get(f"/v1/payments/challenges/{parked['challenge_id']}", headers=world["payer"]).json()
        assert shown["status"] == "expired"
    assert pending_debits(engine, world["wallet"]) == 0 and payment_count(engine) == 0
    assert balance(engine, world["wallet"]) == 5_000_00
    assert_books_clean(engine)


def test_a_password_challenge_is_passed_with_the_log_in_password(client, engine, world):  # noqa: F811
    body = challenged(client, world, "900.00", "c1")
    assert body["method"] == "password" and world["customer_id"] not in challenges.SMS_OUTBOX
    refused = answer(client, world, body["challenge_id"], "a1", password="not the password")
    assert refused.status_code == 422 and refused.json()["code"] == "challenge_failed"
    assert payment_count(engine) == 0
    passed = answer(client, world, body["challenge_id"], "a2", password=PASSWORD)
    assert passed.status_code == 200 and passed.json()["status"] == "passed"
    assert balance(engine, world["wallet"]) == 4_100_00 and payment_count(engine) == 1
    assert_books_clean(engine)


def test_bad_answers_and_other_peoples_challenges_change_nothing(client, engine, world):  # noqa: F811
    body = challenged(client, world, "300.00", "c1")
    path = f"/v1/payments/challenges/{body['challenge_id']}"
    [code] = challenges.SMS_OUTBOX[world["customer_id"]]
    for bad in ({"code": "12ab56"}, {"code": 123456}, {"pin": "1"}):
        refused = client.post(path, headers={**world["payer"], "Idempotency-Key": "bad"}, json=bad)
        assert refused.status_code == 422, refused.text
    stolen = client.post(path, headers={**world["other"], "Idempotency-Key": "s"}, json={"code": code})
    assert stolen.status_code == 404 and stolen.json()["code"] == "challenge_not_found"
    assert client.get(path, headers=world["other"]).status_code == 404
    missing = answer(client, world, "qrp_nothing", "m", code=code)
    assert missing.status_code == 404
    shown = client.get(path, headers=world["payer"]).json()
    assert shown["status"] == "challenged" and shown["attempts_left"] == challenges.MAX_ATTEMPTS
    assert payment_count(engine) == 0 and pending_debits(engine, world["wallet"]) == 300_00


def test_a_p2p_transfer_is_challenged_like_a_qr_payment(client, engine, world):  # noqa: F811
    other = client.get("/v1/wallets/me", headers=world["other"]).json()["account_id"].removeprefix("wallet.")
    parked = client.post(
        "/v1/transfers/p2p",
        headers={**world["payer"], "Idempotency-Key": "t1"},
        json={"to_customer_id": other, "amount": "500.00"},
    )
    assert parked.status_code == 202 and parked.json()["status"] == "challenged", parked.text
    assert balance(engine, f"wallet.{other}") == 100_00
    [code] = challenges.SMS_OUTBOX[world["customer_id"]]
    passed = answer(client, world, parked.json()["challenge_id"], "a1", code=code)
    assert passed.status_code == 200, passed.text
    assert balance(engine, f"wallet.{other}") == 600_00 and balance(engine, world["wallet"]) == 4_500_00
    assert_books_clean(engine)
