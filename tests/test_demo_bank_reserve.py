"""The sandbox bank of a fresh `puhui serve --demo` holds on the platform's reserve account (备付金) what the
ledger says the platform holds there, so the demo's payouts are paid (a new-user pass: the bank held only the
seeded top-ups, the simulated market having booked its top-ups in the ledger alone, and 12 of 19 merchant
settlements and a customer's withdrawal of 6,297.28 failed `reserve_insufficient`, again at every retry).

The world is prepared as the server prepares it (`server._prepare_demo`: the simulated market, the seeded
world, the bank kept in the demo's directory and handed to the app), small, on a ManualClock; the bank's
deliveries are driven by hand (`bank_worker.deliver`), as the server's loop does."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from puhui import clock
from puhui.demo import DEMO_PASSWORD, RESERVE_REASON
from puhui.demo_home import prepare_home
from puhui.payments.bank import worker as bank_worker
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.shared import STATE_ENV, SharedSandboxBank
from puhui.settings import Settings
from tests.demo_served import NOW, served_demo

ZHANG = "13800000001"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with served_demo(tmp_path_factory) as world:
        yield world


def _deliver(app, manual: clock.ManualClock, seconds: float) -> None:
    """Platform time passes past the bank's delay; the bank settles and notifies, as the server's loop does."""
    manual.advance(dt.timedelta(seconds=seconds))
    bank_worker.deliver(app.state.engine, app.state.bank)


def test_the_bank_holds_the_reserve_the_ledger_says_and_its_books_balance(served):
    app, _, home, _ = served
    engine, bank = app.state.engine, app.state.bank
    assert isinstance(bank, SharedSandboxBank)
    on_ledger = bank_worker.reserve_on_ledger(engine)
    assert on_ledger > 0 and bank.reserve_balance == on_ledger
    assert bank.audit() == []
    assert bank.books().reserve_funded > 0  # the simulated market's reserve, put there once, with its reason
    kept = SandboxBank.load(home.bank_state, key=app.state.settings.bank_notify_key)
    assert kept.reserve_balance == on_ledger  # the file every `puhui` command opens says the same
    assert RESERVE_REASON in {a["reason"] for a in kept.document()["reserve_adjustments"]}


def test_the_merchants_are_paid_and_a_demo_customer_withdraws_several_thousand(served):
    app, settings, _, manual = served
    engine, delay = app.state.engine, settings.sandbox_bank_delay_seconds + 1
    client = TestClient(app, base_url="http://demo.test")  # no lifespan: the bank's loops are driven by hand
    admin = {"Authorization": f"Bearer {settings.admin_token}"}

    # the README's day: the platform moves a day on, and yesterday's merchants are settled T+1
    moved = client.post("/v1/sandbox/clock", headers=admin, json={"advance": "P1D"})
    assert moved.status_code == 200, moved.text
    yesterday = moved.json()["yesterday"]
    run = client.post(
        "/v1/settlements", headers={**admin, "Idempotency-Key": "reserve-s"}, json={"business_date": yesterday}
    )
    assert run.status_code == 200, run.text
    _deliver(app, manual, delay)
    settled = client.get("/v1/settlements", headers=admin, params={"business_date": yesterday}).json()["settlements"]
    paid_out = [s for s in settled if Decimal(s["net"]) > 0]
    assert paid_out and max(Decimal(s["net"]) for s in paid_out) >= Decimal("5000.00"), settled
    assert {s["state"] for s in paid_out} == {"paid"}, [(s["net"], s["state"]) for s in settled]

    # then a demo customer takes several thousand out of the wallet to the bound card
    login = client.post("/v1/customers/login", json={"phone": ZHANG, "password": DEMO_PASSWORD}).json()
    me = {"Authorization": f"Bearer {login['token']}"}
    wallet = client.get("/v1/wallets/me", headers=me)
    assert wallet.status_code == 200, wallet.text
    amount = Decimal("6297.28")
    assert Decimal(wallet.json()["available"]) >= amount, wallet.json()
    customer = client.get(f"/v1/customers/{login['customer_id']}", headers=me)
    assert customer.status_code == 200, customer.text
    body = {
        "card_id": customer.json()["cards"][0]["id"],
        "amount": str(amount),
        "client_order_id": "reserve-withdrawal",
    }
    made = client.post("/v1/wallets/me/withdrawals", headers={**me, "Idempotency-Key": "reserve-w"}, json=body)
    assert made.status_code == 202, made.text
    _deliver(app, manual, delay)
    done = client.get(f"/v1/wallets/me/withdrawals/{made.json()['id']}", headers=me).json()
    assert (done["status"], done.get("failure_reason")) == ("succeeded", None), done

    bank = app.state.bank
    assert bank.audit() == [] and bank.reserve_balance == bank_worker.reserve_on_ledger(engine)
    # the reserve put there is no statement line: the seeded day's orders and nothing else are on its statement
    recon = client.post(
        "/v1/reconciliation/runs", headers={**admin, "Idempotency-Key": "reserve-r"}, json={"business_date": yesterday}
    )
    assert recon.status_code == 200 and recon.json()["open"] == 0, recon.text
