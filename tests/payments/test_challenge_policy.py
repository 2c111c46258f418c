"""The real fraud engine deciding by cost in front of payments, on SQLite and PostgreSQL: with a
calibration saying 1 payment in 100 like this is fraud, a 10 CNY transfer is allowed (expected loss
0.10 CNY < a step-up's 1.50 CNY friction) and a 300 CNY one is challenged (3.00 CNY > 0.15 + 1.485);
the challenge is logged as the decision and passing it makes the payment."""

from __future__ import annotations

from puhui.db import reading
from puhui.payments import challenges, risk_hook
from puhui.risk.fraud import store
from puhui.risk.fraud.calibration import calibrate
from puhui.risk.fraud.decision import costs_from
from puhui.risk.fraud.hook import FraudHook, Policy
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    assert_books_clean,
    balance,
    client,
    login,
    make_customer,
)

COSTS = costs_from(
    {
        "catch": {"allow": "0", "challenge": "0.95", "hold": "0.98", "decline": "1"},
        "friction": {"allow": "0", "challenge": "1.50", "hold": "60.00", "decline": "200.00"},
    }
)


def test_the_fraud_engine_allows_small_and_challenges_larger_payments_by_cost(client, engine, clock):  # noqa: F811
    hook = FraudHook.start(engine)
    hook.policy = Policy(calibrate([(0, True)] + [(0, False)] * 99), COSTS)
    risk_hook.install(engine, hook)
    challenges.SMS_OUTBOX.clear()
    try:
        payer_id, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
        payee_id, _ = make_customer(client, engine, "13998765432", "246", 0)
        payer = login(client, phone)
        small = client.post(
            "/v1/transfers/p2p",
            headers={**payer, "Idempotency-Key": "s"},
            json={"to_customer_id": payee_id, "amount": "10.00"},
        )
        assert small.status_code == 201, small.text
        large = client.post(
            "/v1/transfers/p2p",
            headers={**payer, "Idempotency-Key": "l"},
            json={"to_customer_id": payee_id, "amount": "300.00"},
        )
        assert large.status_code == 202 and large.json()["status"] == "challenged", large.text
        assert balance(engine, f"wallet.{payee_id}") == 10_00
        with reading(engine) as connection:
            logged = [d["outcome"] for d in store.decisions_between(connection, 0, 2**62)]
        assert logged == ["approve", "challenge"]
        [code] = challenges.SMS_OUTBOX[payer_id]
        passed = client.post(
            f"/v1/payments/challenges/{large.json()['challenge_id']}",
            headers={**payer, "Idempotency-Key": "a"},
            json={"code": code},
        )
        assert passed.status_code == 200 and passed.json()["status"] == "passed", passed.text
        assert balance(engine, f"wallet.{payee_id}") == 310_00
        assert_books_clean(engine)
    finally:
        risk_hook.uninstall(engine)
