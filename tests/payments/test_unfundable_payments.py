"""A payment its payer cannot fund is refused for that, on SQLite and PostgreSQL, even when the fraud check
would decline it: 409 `insufficient_funds` (or the wallet class / QR limit it exceeds, by its own code), with
nothing changed and no risk decline recorded against the payer. A real decline still comes, with a reason
(`risk_control`) and recorded: a decline never has empty reasons.

The fraud engine decides by cost here (a calibration saying 1 payment in 10 like these is fraud): a 100,000
CNY transfer costs less declined (200 CNY of friction) than held (2% of an expected 10,000 CNY loss + 60),
so the engine declines it before the ledger is asked whether the payer holds the money. That decline used to
be the answer, with `"reasons": []`, and was logged against the customer."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from puhui.db import reading
from puhui.ledger.errors import InsufficientFunds
from puhui.payments import grouping, risk_hook, service
from puhui.payments.errors import LimitExceeded, PaymentDeclined
from puhui.payments.models import VerificationStrength
from puhui.risk.fraud import store
from puhui.risk.fraud.calibration import calibrate
from puhui.risk.fraud.decision import costs_from
from puhui.risk.fraud.hook import FraudHook, Policy
from puhui.risk.fraud.tables import risk_decisions
from tests.payments.test_payments_http import (  # noqa: F401 - fixtures
    PEOPLE,
    assert_audit_clean,
    balance,
    client,
    commit,
    customer,
    fund,
    merchant,
    snapshot,
)

COSTS = costs_from(
    {
        "catch": {"allow": "0", "challenge": "0.95", "hold": "0.98", "decline": "1"},
        "friction": {"allow": "0", "challenge": "1.50", "hold": "60.00", "decline": "200.00"},
    }
)
BALANCE = 5_322_78  # what the new user held


@pytest.fixture
def fraud(engine):  # type: ignore[no-untyped-def]
    """The real fraud engine in front of the engine's payments, deciding by cost: 1 in 10 is fraud."""
    hook = FraudHook.start(engine)
    hook.policy = Policy(calibrate([(0, True)] + [(0, False)] * 9), COSTS)
    risk_hook.install(engine, hook)
    yield hook
    risk_hook.uninstall(engine)


def _decisions(engine) -> list[dict]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return store.decisions_between(connection, 0, 2**62)


def _everything(engine) -> dict:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        logged = connection.execute(select(func.count()).select_from(risk_decisions)).scalar_one()
    return {**snapshot(engine), "risk_decisions": logged}


def _send(client, headers: dict, payee_id: str, amount: str, key: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/v1/transfers/p2p",
        headers={**headers, "Idempotency-Key": key},
        json={"to_customer_id": payee_id, "amount": amount},
    )


def test_a_transfer_the_payer_cannot_fund_is_insufficient_funds_not_a_decline(client, engine, fraud) -> None:  # noqa: F811
    payer_id, payer = customer(client, PEOPLE[0], 3)  # class II: 100,000 CNY a year
    payee_id, _ = customer(client, PEOPLE[1], 0)
    fund(engine, f"wallet.{payer_id}", BALANCE, "new-user")
    before = _everything(engine)
    for amount in ("100000.00", "6000.00"):
        refused = _send(client, payer, payee_id, amount, f"short-{amount}")
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert problem["code"] == "insufficient_funds", refused.text
        assert "reasons" not in problem and "reference" not in problem
        assert _everything(engine) == before  # nothing moved, nothing counted, no decision logged
    assert _decisions(engine) == []
    over = _send(client, payer, payee_id, "100000.01", "over-class")  # over the class's year limit itself
    assert (over.status_code, over.json()["code"], over.json()["bucket"]) == (409, "limit_exceeded", "tier_year")
    assert _everything(engine) == before and _decisions(engine) == []
    assert balance(engine, f"wallet.{payer_id}") == BALANCE
    assert_audit_clean(engine)


def test_a_fundable_payment_declined_by_risk_control_says_so_and_is_recorded(client, engine, fraud) -> None:  # noqa: F811
    payer_id, payer = customer(client, PEOPLE[0], 3)
    payee_id, _ = customer(client, PEOPLE[1], 0)
    fund(engine, f"wallet.{payer_id}", 100_000_00, "rich")
    before = snapshot(engine)
    declined = _send(client, payer, payee_id, "100000.00", "declined")
    assert declined.status_code == 403, declined.text
    problem = declined.json()
    assert problem["code"] == "payment_declined" and problem["reasons"] == [risk_hook.RISK_CONTROL], declined.text
    assert problem["reference"] and "cost_model" not in declined.text  # the rule stays with risk control
    assert snapshot(engine) == before
    [logged] = _decisions(engine)
    assert (logged["outcome"], logged["payment_ref"], logged["amount"]) == ("decline", problem["reference"], 100_000_00)
    small = _send(client, payer, payee_id, "10.00", "small")
    assert small.status_code == 201, small.text  # an ordinary transfer goes through as before
    assert balance(engine, f"wallet.{payee_id}") == 10_00
    assert_audit_clean(engine)


def test_a_qr_payment_the_payer_cannot_fund_is_insufficient_funds(client, engine, fraud, commit) -> None:  # noqa: F811
    """A dynamic code taken with the payer's limits counted early (`_take_qr`), alone and in a group commit:
    the code stays open, the counts and the decision are undone or never made."""
    payer_id, _ = customer(client, PEOPLE[0], 3)
    merchant_id, shop = merchant(client)
    fund(engine, f"wallet.{payer_id}", BALANCE, "qr")
    qr = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "90000.00"}
    ).json()
    before = _everything(engine)

    def pay(uow):  # type: ignore[no-untyped-def]
        return service.pay_qr(uow, payer_id, qr["id"], None, VerificationStrength.certificate, "qr-short", 60)

    with pytest.raises(InsufficientFunds):
        commit(engine, pay, grouping.qr_locks(payer_id, qr["id"]))
    assert _everything(engine) == before and _decisions(engine) == []
    assert client.get(f"/v1/qr-codes/{qr['id']}", headers=shop).json()["status"] == "active"

    def pay_at_level_c(uow):  # type: ignore[no-untyped-def]
        return service.pay_qr(uow, payer_id, qr["id"], None, VerificationStrength.one_factor, "qr-c", 60)

    with pytest.raises(LimitExceeded):  # the QR day limit of level C comes first, as without the fraud check
        commit(engine, pay_at_level_c, grouping.qr_locks(payer_id, qr["id"]))
    assert _everything(engine) == before and _decisions(engine) == []
    assert_audit_clean(engine)


def test_a_payment_with_no_reason_the_payer_may_be_told_still_names_one() -> None:
    for reasons in ((), ("cost_model.decline: expected loss 10000.00 CNY",), ("fraud_score: score 950 >= 900",)):
        with pytest.raises(PaymentDeclined) as refused:
            risk_hook.enforce(risk_hook.Decision(risk_hook.Outcome.decline, reasons), "p2p_ref")
        assert refused.value.extra["reasons"] == [risk_hook.RISK_CONTROL]
        assert "p2p_ref" in refused.value.detail
    with pytest.raises(PaymentDeclined) as told:
        risk_hook.enforce(risk_hook.Decision(risk_hook.Outcome.decline, ("payer_unverified", "fraud_score: x")), "r")
    assert told.value.extra["reasons"] == ["payer_unverified"]
