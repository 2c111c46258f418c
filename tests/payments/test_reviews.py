"""Payments held for manual review, on SQLite and PostgreSQL, with a fraud check installed on the
engine: `review` holds the money (two-phase) until a risk officer decides; approve makes the payment
once, reject and expiry give everything back; `decline` moves nothing and is still recorded."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.ledger.service import expire_pending, get_account
from puhui.ledger.tables import transfers
from puhui.payments import reviews, risk_hook
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    ADMIN,
    assert_books_clean,
    balance,
    client,
    login,
    make_customer,
    make_merchant,
)

SERIAL = itertools.count(1)


@dataclass(frozen=True)
class Assessment:
    decision: risk_hook.Decision
    score: int


class ThresholdCheck:
    """A stand-in fraud check: review from 300 CNY, decline from 3,000 CNY; remembers what it recorded."""

    def __init__(self) -> None:
        self.recorded: list[tuple[str, str | None]] = []

    def assess(self, request: risk_hook.PaymentRequest, connection=None) -> Assessment:  # noqa: ANN001
        if request.amount >= 3_000_00:
            return Assessment(risk_hook.Decision(risk_hook.Outcome.decline, ("amount_far_above_norm",)), 900)
        if request.amount >= 300_00:
            return Assessment(risk_hook.Decision(risk_hook.Outcome.review, ("large_for_customer",)), 500)
        return Assessment(risk_hook.Decision(risk_hook.Outcome.approve), 10)

    def record(self, uow, request, assessment, payment_ref=None) -> None:  # noqa: ANN001
        self.recorded.append((assessment.decision.outcome.value, payment_ref))


@pytest.fixture
def check(engine):
    installed = ThresholdCheck()
    risk_hook.install(engine, installed)
    yield installed
    risk_hook.uninstall(engine)


def staff(client, role: str) -> dict:  # noqa: F811 - the fixture
    answer = client.post(
        "/v1/staff", headers=ADMIN, json={"handle": f"{role.replace('_', '-')}.{next(SERIAL)}", "role": role}
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def pending_debits(engine, account_id: str) -> int:
    with reading(engine) as connection:
        return get_account(connection, account_id).debits_pending


def transfer_count(engine) -> int:
    with reading(engine) as connection:
        return connection.execute(select(func.count()).select_from(transfers)).scalar_one()


def dynamic_qr(client, merchant_id: str, shop: dict, amount: str) -> str:
    answer = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes",
        headers=shop,
        json={"kind": "dynamic", "amount": amount, "expires_in_seconds": 600},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


@pytest.fixture
def world(client, engine):
    customer_id, phone = make_customer(client, engine, "13812345678", "531", 5_000_00)
    merchant_id, shop = make_merchant(client)
    return {
        "customer_id": customer_id,
        "payer": login(client, phone),
        "merchant_id": merchant_id,
        "shop": shop,
        "officer": staff(client, "risk_officer"),
    }


def test_review_holds_the_money_until_approved(client, engine, check, world):
    wallet, shop_wallet = f"wallet.{world['customer_id']}", f"wallet.{world['merchant_id']}"
    qr = dynamic_qr(client, world["merchant_id"], world["shop"], "400.00")
    held = client.post(
        f"/v1/qr-codes/{qr}/pay",
        headers={**world["payer"], "Idempotency-Key": "p1"},
        json={"verification": "two_factors", "password": "correct horse battery"},
    )
    assert held.status_code == 202, held.text
    review = held.json()
    assert review["status"] == "under_review" and "reasons" not in review
    shown = client.get(f"/v1/risk/reviews/{review['review_id']}", headers=world["officer"]).json()
    assert shown["reasons"] == ["large_for_customer"]
    assert balance(engine, wallet) == 5_000_00 and pending_debits(engine, wallet) == 400_00
    assert balance(engine, shop_wallet) == 0
    again = client.post(
        f"/v1/qr-codes/{qr}/pay",
        headers=world["payer"],
        json={"verification": "two_factors", "password": "correct horse battery", "client_payment_id": "x"},
    )
    assert again.status_code == 409  # the dynamic code is taken while the review is open
    queue = client.get("/v1/risk/reviews", headers=staff(client, "regulator")).json()["reviews"]
    assert [r["review_id"] for r in queue] == [review["review_id"]]
    assert client.get(f"/v1/risk/reviews/{review['review_id']}", headers=world["payer"]).status_code == 200

    for refused in (world["payer"], world["shop"], staff(client, "regulator"), staff(client, "operator")):
        answer = client.post(f"/v1/risk/reviews/{review['review_id']}/approve", headers=refused, json={"note": "x"})
        assert answer.status_code == 403
    approved = client.post(
        f"/v1/risk/reviews/{review['review_id']}/approve",
        headers={**world["officer"], "Idempotency-Key": "a1"},
        json={"note": "known customer"},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["payment_id"] == review["review_id"]
    assert balance(engine, wallet) == 4_600_00 and pending_debits(engine, wallet) == 0
    assert balance(engine, shop_wallet) == 400_00 - 2_40  # the fee at 60 bp
    replay = client.post(
        f"/v1/qr-codes/{qr}/pay",
        headers={**world["payer"], "Idempotency-Key": "p1"},
        json={"verification": "two_factors", "password": "correct horse battery"},
    )
    assert replay.json() == held.json()  # the stored first answer
    count = transfer_count(engine)
    twice = client.post(
        f"/v1/risk/reviews/{review['review_id']}/approve", headers=world["officer"], json={"note": "again"}
    )
    assert twice.status_code == 200 and transfer_count(engine) == count
    conflict = client.post(
        f"/v1/risk/reviews/{review['review_id']}/reject", headers=world["officer"], json={"note": "changed my mind"}
    )
    assert conflict.status_code == 409 and conflict.json()["code"] == "review_not_pending"
    assert ("review", review["review_id"]) in check.recorded
    assert_books_clean(engine)


def test_rejecting_gives_back_money_limits_and_the_qr_code(client, engine, check, world):
    wallet = f"wallet.{world['customer_id']}"
    qr = dynamic_qr(client, world["merchant_id"], world["shop"], "400.00")
    held = client.post(f"/v1/qr-codes/{qr}/pay", headers=world["payer"], json={"verification": "one_factor"}).json()
    rejected = client.post(
        f"/v1/risk/reviews/{held['review_id']}/reject",
        headers=world["officer"],
        json={"note": "customer did not recognise it"},
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert balance(engine, wallet) == 5_000_00 and pending_debits(engine, wallet) == 0
    # the one-factor dynamic QR limit (1,000 CNY a day) was given back in full: 999 goes through
    small = dynamic_qr(client, world["merchant_id"], world["shop"], "299.00")
    for _ in range(3):
        code = dynamic_qr(client, world["merchant_id"], world["shop"], "299.00")
        assert (
            client.post(
                f"/v1/qr-codes/{code}/pay", headers=world["payer"], json={"verification": "one_factor"}
            ).status_code
            == 201
        )
    assert (
        client.post(f"/v1/qr-codes/{small}/pay", headers=world["payer"], json={"verification": "one_factor"}).json()[
            "code"
        ]
        == "limit_exceeded"
    )
    assert client.get(f"/v1/qr-codes/{qr}", headers=world["payer"]).json()["status"] == "active"
    assert_books_clean(engine)


def test_an_undecided_review_expires_and_gives_everything_back(client, engine, clock, check, world):
    wallet = f"wallet.{world['customer_id']}"
    held = client.post(
        "/v1/transfers/p2p",
        headers=world["payer"],
        json={"to_customer_id": make_customer(client, engine, "13998765432", "246", 0)[0], "amount": "350.00"},
    )
    assert held.status_code == 202, held.text
    clock.advance(hours=73)
    assert transaction(engine, expire_pending) == 1
    assert transaction(engine, reviews.expire_due) == 1
    late = client.post(
        f"/v1/risk/reviews/{held.json()['review_id']}/approve", headers=world["officer"], json={"note": "too late"}
    )
    assert late.status_code == 409
    assert (
        client.get(f"/v1/risk/reviews/{held.json()['review_id']}", headers=world["officer"]).json()["status"]
        == "expired"
    )
    assert balance(engine, wallet) == 5_000_00 and pending_debits(engine, wallet) == 0
    assert_books_clean(engine)


def test_decline_moves_nothing_and_is_recorded(client, engine, check, world):
    wallet = f"wallet.{world['customer_id']}"
    qr = dynamic_qr(client, world["merchant_id"], world["shop"], "3000.00")
    count = transfer_count(engine)
    answer = client.post(
        f"/v1/qr-codes/{qr}/pay",
        headers=world["payer"],
        json={"verification": "two_factors", "password": "correct horse battery"},
    )
    assert answer.status_code == 403 and answer.json()["code"] == "payment_declined"
    assert transfer_count(engine) == count and balance(engine, wallet) == 5_000_00
    assert client.get(f"/v1/qr-codes/{qr}", headers=world["payer"]).json()["status"] == "active"
    assert [outcome for outcome, _ in check.recorded] == ["decline"]
    assert_books_clean(engine)


def test_unknown_review_and_bad_decisions_are_refused(client, engine, check, world):
    assert client.post("/v1/risk/reviews/nope/approve", headers=world["officer"], json={"note": "x"}).status_code == 404
    assert client.post("/v1/risk/reviews/nope/approve", headers=world["officer"], json={}).status_code == 422
    other = login(client, make_customer(client, engine, "13998765432", "246", 0)[1])
    held = client.post(
        "/v1/transfers/p2p", headers=world["payer"], json={"to_customer_id": "cus_nobody", "amount": "350.00"}
    )
    assert held.status_code == 404  # an unknown payee is refused before risk control
    qr = dynamic_qr(client, world["merchant_id"], world["shop"], "500.00")
    review = client.post(
        f"/v1/qr-codes/{qr}/pay",
        headers=world["payer"],
        json={"verification": "two_factors", "password": "correct horse battery"},
    )
    assert client.get(f"/v1/risk/reviews/{review.json()['review_id']}", headers=other).status_code == 403
