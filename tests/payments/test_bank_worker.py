"""Money never waits for an operator (issue 12, defect 2), on SQLite and PostgreSQL: the server's bank
worker delivers the sandbox bank's signed notifications and sweeps orders left pending, so a top-up or
withdrawal finishes on its own once the platform clock passes the bank's delay; the customer reads
each order's status. Each pass is called directly here; the last tests run them inside the server."""

from __future__ import annotations

import datetime as dt
import secrets
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from puhui import clock as clock_module
from puhui.app import create_app
from puhui.db import reading
from puhui.db.tables import audit_log
from puhui.ledger.models import PendingStatus
from puhui.ledger.service import get_account, get_transfers
from puhui.payments import wallets
from puhui.payments.bank import worker as bank_worker
from puhui.payments.bank.channel import (
    BankNotification,
    FailureReason,
    OrderKind,
    OrderState,
)
from puhui.payments.bank.sandbox.plan import (
    CARD_DECLINED,
    CARD_EMPTY,
    CARD_FROZEN,
    CARD_LOW,
    CARD_RICH,
    CARD_SILENT,
    CARD_SLOW,
    CARD_TWICE,
)
from puhui.payments.bank.signing import sign_notification
from puhui.settings import Settings
from tests.payments.test_payments_http import (
    ADMIN,
    ADMIN_TOKEN,
    INDEX_KEY,
    K1,
    NOTIFY_KEY,
    PEOPLE,
    assert_audit_clean,
    bind,
    customer,
    merchant,
    snapshot,
)

DELAY = dt.timedelta(seconds=30)  # the sandbox bank's default delay (settings.sandbox_bank_delay_seconds)
SWEEP_AFTER = dt.timedelta(seconds=60)


def make_settings(**changes) -> Settings:
    return Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret="j" * 48,
        merchant_notify_key=NOTIFY_KEY,
        monitoring=False,
        merchant_notifications=False,
        fraud_checks=False,
        **{"sandbox": True, **changes},
    )  # the sandbox bank pays test cards only there


SETTINGS = make_settings()


@pytest.fixture
def client(engine, clock):
    with TestClient(create_app(engine, SETTINGS, run_expiry=False)) as test_client:
        yield test_client


@pytest.fixture
def bank(client, engine):
    """The server's bank, wired as the lifespan wires it (the loops' passes are called by the tests)."""
    return bank_worker.install_bank(client.app, engine, SETTINGS)


def order(client, headers: dict, path: str, card_id: str, amount: str, client_id: str) -> dict:
    answer = client.post(
        f"/v1/wallets/me/{path}",
        headers={**headers, "Idempotency-Key": client_id},
        json={"card_id": card_id, "amount": amount, "client_order_id": client_id},
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "pending"
    return answer.json()


def status_of(client, headers: dict, path: str, order_id: str) -> dict:
    answer = client.get(f"/v1/wallets/me/{path}/{order_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def wallet(client, headers: dict) -> dict:
    return client.get("/v1/wallets/me", headers=headers).json()


def assert_books_clean(engine, bank) -> None:
    assert_audit_clean(engine)
    assert bank.audit() == []


def test_a_top_up_is_credited_once_the_bank_delay_has_passed(client, engine, clock, bank):
    customer_id, me = customer(client, PEOPLE[0], 3)
    card_id = bind(client, customer_id, me, CARD_RICH)
    made = order(client, me, "top-ups", card_id, "100.00", "t1")
    assert made["card"] == "622202*********0018" and made["kind"] == "top_up"
    pending = status_of(client, me, "top-ups", made["id"])
    assert pending["status"] == "pending" and pending["amount"] == "100.00"
    assert dt.datetime.fromisoformat(pending["created_at"]) == clock.now()  # ISO 8601 with its offset
    assert wallet(client, me)["pending_in"] == "100.00"

    assert bank_worker.deliver(engine, bank) == []  # not yet: the bank answers after its delay
    assert status_of(client, me, "top-ups", made["id"])["status"] == "pending"
    clock.advance(DELAY)
    attempts = bank_worker.deliver(engine, bank)
    assert [(a.order_id, a.delivered) for a in attempts] == [(made["id"], True)]

    done = status_of(client, me, "top-ups", made["id"])
    assert done["status"] == "succeeded" and done["failure_reason"] is None and done["bank_reference"]
    assert dt.datetime.fromisoformat(done["updated_at"]) == clock.now()
    assert (wallet(client, me)["balance"], wallet(client, me)["pending_in"]) == ("100.00", "0.00")
    assert bank_worker.deliver(engine, bank) == []
    assert bank.card_balance(CARD_RICH) == 1_000_000_00 - 100_00
    listed = client.get("/v1/wallets/me/top-ups", headers=me).json()["top_ups"]
    assert [o["id"] for o in listed] == [made["id"]] and listed[0]["status"] == "succeeded"
    assert_books_clean(engine, bank)


@pytest.mark.parametrize(
    "card, amount, reason",
    [
        (CARD_EMPTY, "1.00", FailureReason.insufficient_funds),
        (CARD_LOW, "100.01", FailureReason.insufficient_funds),
        (CARD_FROZEN, "1.00", FailureReason.card_frozen),
        (CARD_DECLINED, "1.00", FailureReason.declined),
    ],
)
def test_a_failing_test_card_fails_the_top_up_and_voids_its_hold(client, engine, clock, bank, card, amount, reason):
    customer_id, me = customer(client, PEOPLE[0], 3)
    card_id = bind(client, customer_id, me, card)
    made = order(client, me, "top-ups", card_id, amount, "t1")
    clock.advance(DELAY)
    bank_worker.deliver(engine, bank)
    failed = status_of(client, me, "top-ups", made["id"])
    assert (failed["status"], failed["failure_reason"]) == ("failed", reason.value)
    assert wallet(client, me)["balance"] == "0.00" and wallet(client, me)["pending_in"] == "0.00"
    with reading(engine) as connection:
        hold = get_transfers(connection, [made["id"] + ".hold"])[made["id"] + ".hold"]
    assert hold.status == PendingStatus.voided
    assert_books_clean(engine, bank)


def test_a_withdrawal_holds_the_money_then_pays_it_out(client, engine, clock, bank):
    customer_id, me = customer(client, PEOPLE[0], 3)
    card_id = bind(client, customer_id, me, CARD_RICH)
    order(client, me, "top-ups", card_id, "500.00", "t1")
    clock.advance(DELAY)
    bank_worker.deliver(engine, bank)

    out = order(client, me, "withdrawals", card_id, "200.00", "w1")
    assert out["kind"] == "withdrawal" and wallet(client, me)["available"] == "300.00"
    assert status_of(client, me, "withdrawals", out["id"])["status"] == "pending"
    clock.advance(DELAY)
    bank_worker.deliver(engine, bank)
    assert status_of(client, me, "withdrawals", out["id"])["status"] == "succeeded"
    assert wallet(client, me)["balance"] == "300.00" and wallet(client, me)["available"] == "300.00"
    assert bank.card_balance(CARD_RICH) == 1_000_000_00 - 500_00 + 200_00
    assert [o["id"] for o in client.get("/v1/wallets/me/withdrawals", headers=me).json()["withdrawals"]] == [out["id"]]
    assert_books_clean(engine, bank)


def test_the_sweeper_finishes_an_order_whose_notification_never_comes(client, engine, clock, bank):
    customer_id, me = customer(client, PEOPLE[0], 3)
    card_id = bind(client, customer_id, me, CARD_SILENT)
    made = order(client, me, "top-ups", card_id, "80.00", "t1")
    clock.advance(DELAY)
    assert bank_worker.deliver(engine, bank) == []  # settled at the bank, never pushed
    assert bank.query(made["id"]).state == OrderState.succeeded
    assert bank_worker.sweep(engine, bank, after=SWEEP_AFTER).finished == []  # not pending long enough yet
    assert status_of(client, me, "top-ups", made["id"])["status"] == "pending"

    clock.advance(SWEEP_AFTER - DELAY)
    swept = bank_worker.sweep(engine, bank, after=SWEEP_AFTER)
    assert swept.finished == [made["id"]]
    assert status_of(client, me, "top-ups", made["id"])["status"] == "succeeded"
    assert wallet(client, me)["balance"] == "80.00" and wallet(client, me)["pending_in"] == "0.00"
    assert bank_worker.sweep(engine, bank, after=SWEEP_AFTER).finished == []  # nothing left to do
    assert_books_clean(engine, bank)


def test_a_slow_bank_keeps_the_order_pending_until_it_settles(client, engine, clock, bank):
    customer_id, me = customer(client, PEOPLE[0], 3)
    card_id = bind(client, customer_id, me, CARD_SLOW)
    made = order(client, me, "top-ups", card_id, "10.00", "t1")
    clock.advance(minutes=5)
    assert bank_worker.deliver(engine, bank) == []
    assert bank_worker.sweep(engine, bank, after=SWEEP_AFTER).processing == [made["id"]]  # asked; still working
    assert status_of(client, me, "top-ups", made["id"])["status"] == "pending"
    clock.advance(minutes=5)
    assert [a.delivered for a in bank_worker.deliver(engine, bank)] == [True]
    assert status_of(client, me, "top-ups", made["id"])["status"] == "succeeded"
    assert_books_clean(engine, bank)


def test_a_duplicated_notification_credits_once(client, engine, clock, bank):
    customer_id, me = customer(client, PEOPLE[0], 3)
    card_id = bind(client, customer_id, me, CARD_TWICE)
    made = order(client, me, "top-ups", card_id, "10.00", "t1")
    clock.advance(DELAY)
    bank_worker.deliver(engine, bank)
    clock.advance(minutes=1)
    assert [(a.order_id, a.copy, a.delivered) for a in bank_worker.deliver(engine, bank)] == [(made["id"], 1, True)]
    assert wallet(client, me)["balance"] == "10.00"
    assert_books_clean(engine, bank)


def test_the_sweeper_submits_again_an_order_the_bank_never_got(client, engine, clock, bank):
    customer_id, me = customer(client, PEOPLE[0], 3)
    card_id = bind(client, customer_id, me, CARD_RICH)
    made = order(client, me, "top-ups", card_id, "30.00", "t1")
    client.app.state.bank = None  # the server restarted: its new bank never got the order
    restarted = bank_worker.install_bank(client.app, engine, SETTINGS)
    clock.advance(SWEEP_AFTER)
    assert bank_worker.sweep(engine, restarted, after=SWEEP_AFTER).unknown == [made["id"]]  # no card: left
    cards = bank_worker.vault_cards(engine, SETTINGS)
    assert bank_worker.sweep(engine, restarted, after=SWEEP_AFTER, cards=cards).resubmitted == [made["id"]]
    assert bank_worker.sweep(engine, restarted, after=SWEEP_AFTER, cards=cards).processing == [made["id"]]
    clock.advance(DELAY)
    bank_worker.deliver(engine, restarted)
    assert status_of(client, me, "top-ups", made["id"])["status"] == "succeeded"
    assert wallet(client, me)["balance"] == "30.00"
    assert_books_clean(engine, restarted)


def test_a_customer_reads_only_their_own_orders(client, engine, clock, bank):
    owner_id, owner = customer(client, PEOPLE[0], 3)
    _, other = customer(client, PEOPLE[1], 3)
    card_id = bind(client, owner_id, owner, CARD_RICH)
    top_up = order(client, owner, "top-ups", card_id, "50.00", "t1")
    clock.advance(DELAY)
    bank_worker.deliver(engine, bank)
    out = order(client, owner, "withdrawals", card_id, "20.00", "w1")
    for headers, path, order_id, code in [
        (other, "top-ups", top_up["id"], "top_up_not_found"),  # another customer's order
        (other, "withdrawals", out["id"], "withdrawal_not_found"),
        (owner, "top-ups", "tu_" + "0" * 32, "top_up_not_found"),  # unknown
        (owner, "top-ups", out["id"], "top_up_not_found"),  # a withdrawal is not a top-up
        (owner, "withdrawals", top_up["id"], "withdrawal_not_found"),
    ]:
        answer = client.get(f"/v1/wallets/me/{path}/{order_id}", headers=headers)
        assert answer.status_code == 404, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == code
    assert client.get("/v1/wallets/me/top-ups", headers=other).json() == {"top_ups": []}
    assert client.get(f"/v1/wallets/me/top-ups/{top_up['id']}", headers=ADMIN).status_code == 403
    assert client.get(f"/v1/wallets/me/top-ups/{top_up['id']}").status_code == 401
    before = snapshot(engine)
    for query in ("limit=0", "limit=101", "limit=x"):
        bad = client.get(f"/v1/wallets/me/top-ups?{query}", headers=owner)
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"
    assert client.get("/v1/wallets/me/top-ups/bad%20id", headers=owner).status_code == 422
    assert snapshot(engine) == before
    assert_books_clean(engine, bank)


def test_a_merchant_payout_finished_by_the_bank_marks_its_settlement_paid(client, engine, clock, bank):
    """The sibling of a top-up: a T+1 payout (商户结算) is a bank order too, and its settlement row follows it."""
    customer_id, me = customer(client, PEOPLE[0], 3)
    card_id = bind(client, customer_id, me, CARD_RICH)
    order(client, me, "top-ups", card_id, "300.00", "t1")
    clock.advance(DELAY)
    bank_worker.deliver(engine, bank)
    merchant_id, shop = merchant(client)
    qr = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "100.00"}
    )
    assert (
        client.post(
            f"/v1/qr-codes/{qr.json()['id']}/pay",
            headers=me,
            json={"verification": "two_factors", "password": "correct horse battery"},
        ).status_code
        == 201
    )
    day = clock_module.business_date().isoformat()
    clock.advance(hours=24)
    settled = client.post("/v1/settlements", headers=ADMIN, json={"business_date": day})
    assert settled.status_code == 200, settled.text
    assert [(s["merchant_id"], s["state"], s["net"]) for s in settled.json()["settlements"]] == [
        (merchant_id, "pending", "99.40")
    ]  # the bank has the payout; it answers after its delay

    clock.advance(DELAY)
    assert [a.delivered for a in bank_worker.deliver(engine, bank)] == [True]
    rows = client.get(f"/v1/settlements?business_date={day}", headers=ADMIN).json()["settlements"]
    assert [(s["state"], s["net"]) for s in rows] == [("paid", "99.40")]
    assert client.get("/v1/wallets/me", headers=shop).json()["balance"] == "0.00"
    assert_books_clean(engine, bank)


def signed(bank_key: str, order_id: str, amount: int) -> tuple[bytes, str]:
    from puhui import clock as platform_clock

    now = platform_clock.now()
    notice = BankNotification(
        order_id,
        "SBX-REF-1",
        OrderKind.debit_card,
        OrderState.succeeded,
        None,
        amount,
        "CNY",
        now,
        now,
        secrets.token_hex(16),
    )
    return sign_notification(notice, bank_key, "k1")


def test_in_process_delivery_checks_signatures_and_shares_the_replay_guard(client, engine, clock, bank):
    customer_id, me = customer(client, PEOPLE[0], 3)
    card_id = bind(client, customer_id, me, CARD_RICH)
    made = order(client, me, "top-ups", card_id, "40.00", "t1")
    nonces = bank_worker.nonces_of(client.app.state)
    before = snapshot(engine)
    forged = signed("another-key-that-is-long-enough", made["id"], 40_00)
    assert bank_worker.receive(engine, SETTINGS.bank_notify_key, nonces, *forged) == 401
    assert snapshot(engine) == before
    with reading(engine) as connection:
        refused = connection.execute(
            select(audit_log.c.status_code, audit_log.c.detail).where(audit_log.c.principal == "bank")
        ).all()
    assert [row[0] for row in refused] == [401] and "forged_notification" in refused[0][1]

    genuine = signed(SETTINGS.bank_notify_key, made["id"], 40_00)
    assert bank_worker.receive(engine, SETTINGS.bank_notify_key, nonces, *genuine) == 200
    assert wallet(client, me)["balance"] == "40.00"
    replay = client.post("/v1/bank/notifications", content=genuine[0], headers={"X-Bank-Signature": genuine[1]})
    assert replay.status_code == 401 and replay.json()["code"] == "replayed_notification"
    assert wallet(client, me)["balance"] == "40.00"
    assert_audit_clean(engine)


# -- inside the server: the lifespan runs the loops -----------------------------------------------------


def test_the_server_credits_a_top_up_after_the_sandbox_clock_moves(engine, clock):
    settings = make_settings(sandbox=True, bank_delivery_interval_seconds=0.05, bank_sweep_interval_seconds=0.05)
    with TestClient(create_app(engine, settings)) as client:
        bank = client.app.state.bank  # made once at start-up, before any request
        customer_id, me = customer(client, PEOPLE[0], 3)
        card_id = bind(client, customer_id, me, CARD_RICH)
        made = order(client, me, "top-ups", card_id, "66.00", "t1")
        time.sleep(0.3)  # the loops run, but the platform clock has not passed the bank's delay
        assert status_of(client, me, "top-ups", made["id"])["status"] == "pending"
        moved = client.post("/v1/sandbox/clock", headers=ADMIN, json={"advance": "PT1M"})
        assert moved.status_code == 200, moved.text
        deadline, seen = time.monotonic() + 5, "pending"
        while time.monotonic() < deadline and seen == "pending":
            time.sleep(0.05)
            seen = status_of(client, me, "top-ups", made["id"])["status"]
        assert seen == "succeeded"
        assert client.app.state.bank is bank
        assert wallet(client, me)["balance"] == "66.00" and wallet(client, me)["pending_in"] == "0.00"
        with reading(engine) as connection:
            reserve = get_account(connection, wallets.RESERVE)
        assert reserve.debits_posted - reserve.credits_posted == bank.reserve_balance == 66_00
    assert_books_clean(engine, bank)


def test_the_servers_bank_opens_with_the_ledgers_reserve(engine, clock):
    settings = make_settings(sandbox=True, bank_delivery_interval_seconds=0.05)
    with TestClient(create_app(engine, settings)) as client:
        customer_id, me = customer(client, PEOPLE[0], 3)
        card_id = bind(client, customer_id, me, CARD_RICH)
        order(client, me, "top-ups", card_id, "90.00", "t1")
        client.post("/v1/sandbox/clock", headers=ADMIN, json={"advance": "PT1M"})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and wallet(client, me)["balance"] != "90.00":
            time.sleep(0.05)
        assert wallet(client, me)["balance"] == "90.00"
    with TestClient(create_app(engine, settings)) as restarted:  # a new bank: it holds what the ledger says
        assert restarted.app.state.bank.reserve_balance == 90_00
        out = order(restarted, me, "withdrawals", card_id, "90.00", "w1")
        restarted.post("/v1/sandbox/clock", headers=ADMIN, json={"advance": "PT1M"})
        deadline, seen = time.monotonic() + 5, "pending"
        while time.monotonic() < deadline and seen == "pending":
            time.sleep(0.05)
            seen = status_of(restarted, me, "withdrawals", out["id"])["status"]
        assert seen == "succeeded"  # paid from the reserve, not refused reserve_insufficient
    assert_audit_clean(engine)


def test_an_order_the_bank_refuses_outright_fails_at_once_and_frees_the_money(client, engine, clock, bank, monkeypatch):
    """A refusal of the order itself (not a card's failure) can never turn into success: the order fails
    with `order_refused` and its hold is voided, instead of the sweeper retrying it for ever."""
    from puhui.payments.errors import InvalidBankOrder

    customer_id, me = customer(client, PEOPLE[0], 3)
    card_id = bind(client, customer_id, me, CARD_RICH)
    funded = order(client, me, "top-ups", card_id, "50.00", "t0")
    clock.advance(DELAY)
    bank_worker.deliver(engine, bank)

    def refuse(order):  # type: ignore[no-untyped-def]
        raise InvalidBankOrder(f"{order.order_id}: refused")

    monkeypatch.setattr(bank, "submit", refuse)
    top_up = order(client, me, "top-ups", card_id, "10.00", "t1")
    withdrawal = order(client, me, "withdrawals", card_id, "20.00", "w1")
    for path, made in (("top-ups", top_up), ("withdrawals", withdrawal)):
        seen = status_of(client, me, path, made["id"])
        assert (seen["status"], seen["failure_reason"]) == ("failed", "order_refused"), seen
    assert status_of(client, me, "top-ups", funded["id"])["status"] == "succeeded"
    assert wallet(client, me) == {**wallet(client, me), "balance": "50.00", "available": "50.00", "pending_in": "0.00"}
    clock.advance(SWEEP_AFTER * 2)
    assert bank_worker.sweep(engine, bank, after=SWEEP_AFTER).failed == []  # nothing left pending to retry
    assert_audit_clean(engine)
