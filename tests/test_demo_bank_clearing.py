"""While `puhui serve --demo` runs, the sandbox bank's reserve (备付金) stays what the ledger says without aligning it
again: a loan funded with the platform's own money, a money-market subscription and an insurer's claims funding move
the ledger's reserve account without a bank order, and the reserve's clearing (`bank_worker.clear_reserve`, run by
the server after each sweep) sends them to the bank as orders netted per counterparty, which settle and reconcile
like any other (before it, the bank held only what the demo aligned at seeding, and payouts and withdrawals larger
than it failed `reserve_insufficient`).

The world is prepared as the server prepares it (`server._prepare_demo`: the simulated market, the seeded world, the
bank kept in the demo's directory and handed to the app), small, on a ManualClock; the bank's passes are driven by
hand, as the server's loops do."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from puhui import clock
from puhui.db import reading
from puhui.demo import DEMO_PASSWORD
from puhui.demo_home import prepare_home
from puhui.insurance.settlement.service import list_insurers
from puhui.ledger.audit import audit
from puhui.payments.bank import worker as bank_worker
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.shared import STATE_ENV
from puhui.payments.queries import posted_bank_orders_between
from puhui.settings import Settings
from tests.demo_served import NOW, served_demo

ZHANG = "13800000001"
LOAN, SUBSCRIPTION, FUNDING = 3000_00, 1000_00, 20_000_00


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with served_demo(tmp_path_factory) as world:
        yield world


def _ok(answer, status: int = 201) -> dict:
    assert answer.status_code == status, answer.text
    return answer.json()


def _the_days_flows(client, admin: dict, insurer: str) -> str:
    """张伟 borrows (the platform's own money behind it) and subscribes the money-market fund; the insurer funds
    its claims float. Returns the fund's code."""
    login = _ok(client.post("/v1/customers/login", json={"phone": ZHANG, "password": DEMO_PASSWORD}), 200)
    me = {"Authorization": f"Bearer {login['token']}"}
    direct = [p for p in _ok(client.get("/v1/lending/products", headers=me), 200) if p.get("channel") != "credit_line"]
    body = {"product_code": direct[0]["code"], "amount": "3000.00", "term": 6, "annual_income": "120000.00"}
    applied = _ok(client.post("/v1/lending/applications", headers={**me, "Idempotency-Key": "dc-a"}, json=body))
    offers = f"/v1/lending/applications/{applied['id']}/offers"
    offer = _ok(client.post(offers, headers={**me, "Idempotency-Key": "dc-o"}, json={}))
    _ok(client.post(f"/v1/lending/offers/{offer['id']}/accept", headers={**me, "Idempotency-Key": "dc-l"}, json={}))
    fund = _ok(client.get("/v1/wealth/funds", headers=me), 200)[0]["code"]
    subscribe = {"amount": "1000.00"}
    _ok(
        client.post(f"/v1/wealth/funds/{fund}/subscriptions", headers={**me, "Idempotency-Key": "dc-s"}, json=subscribe)
    )
    funding = {"amount": "20000.00"}
    path = f"/v1/insurance/insurers/{insurer}/funding"
    _ok(client.post(path, headers={**admin, "Idempotency-Key": "dc-f"}, json=funding))
    return fund


def test_the_simulated_markets_bank_orders_are_on_the_banks_statements(served):
    """The simulated market books its top-ups and withdrawals as the bank's answers at once, with no bank behind
    them; the seeding puts them on the demo bank's statements, so reconciling a simulated day (the date
    /ops/actions offers) matches every one of them instead of listing each missing at the bank."""
    app, settings, _, _ = served
    engine, client = app.state.engine, TestClient(app, base_url="http://demo.test")
    admin = {"Authorization": f"Bearer {settings.admin_token}"}
    with reading(engine) as connection:
        booked = posted_bank_orders_between(connection, 0, clock.now_micros())
    days = Counter(clock.china_date(clock.from_micros(o["created_at"])) for o in booked)
    busiest, count = max(((d, n) for d, n in days.items() if d < clock.business_date()), key=lambda dn: dn[1])
    assert count > 0
    body = {"business_date": busiest.isoformat()}
    recon = _ok(client.post("/v1/reconciliation/runs", headers={**admin, "Idempotency-Key": "dc-past"}, json=body), 200)
    assert (recon["exceptions"], recon["open"]) == ([], 0), recon


def test_the_reserve_the_demos_flows_move_reaches_the_bank_and_reconciles_without_any_align(served):
    app, settings, home, manual = served
    engine, bank = app.state.engine, app.state.bank
    client = TestClient(app, base_url="http://demo.test")  # no lifespan: the bank's passes are driven by hand
    admin = {"Authorization": f"Bearer {settings.admin_token}"}
    assert bank.reserve_balance == bank_worker.reserve_on_ledger(engine)
    aligned = bank.books().reserve_funded  # the simulated market's past, put there once at seeding
    with reading(engine) as connection:
        insurer = list_insurers(connection)[0]["partner_id"]

    today = clock.business_date()
    fund = _the_days_flows(client, admin, insurer)
    assert bank_worker.reserve_on_ledger(engine) - bank.reserve_balance == LOAN - SUBSCRIPTION + FUNDING

    made = bank_worker.clear_reserve(engine, bank)
    sent = {o["card_id"]: (o["kind"], o["amount"]) for o in made}
    assert sent["platform.operating_bank.CNY"] == ("debit_card", LOAN)
    assert sent[f"mmf.{fund}.portfolio"] == ("credit_card", SUBSCRIPTION)
    assert sent[f"insurer.{insurer}.premium_held"] == ("debit_card", FUNDING)
    manual.advance(dt.timedelta(seconds=settings.sandbox_bank_delay_seconds + 1))
    bank_worker.deliver(engine, bank)

    assert bank.reserve_balance == bank_worker.reserve_on_ledger(engine)
    assert bank.books().reserve_funded == aligned and bank.audit() == []  # no align since the seeding
    assert bank_worker.clear_reserve(engine, bank) == []
    kept = SandboxBank.load(home.bank_state, key=settings.bank_notify_key)
    assert kept.reserve_balance == bank.reserve_balance  # what every `puhui` command sees
    with reading(engine) as connection:
        report = audit(connection)
    assert report.ok, report.violations

    moved = _ok(client.post("/v1/sandbox/clock", headers=admin, json={"advance": "P1D"}), 200)
    assert moved["yesterday"] == today.isoformat()
    body = {"business_date": today.isoformat()}
    recon = _ok(client.post("/v1/reconciliation/runs", headers={**admin, "Idempotency-Key": "dc-r"}, json=body), 200)
    assert recon["open"] == 0, recon
    statement = bank.statement(today)
    assert all(o["id"] in statement for o in made)
