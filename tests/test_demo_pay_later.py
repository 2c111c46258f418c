"""A demo customer's ordinary pay-later purchase (先买后付) goes through, on SQLite and PostgreSQL.

Seeded the moment the demo started, with two small payments at merchants opened that minute, a demo
customer's purchase of 800 or 1,500 CNY on credit was held for review (409 `checkout_needs_review`): the
fraud score rightly found it unusual for so thin a history. The demo people now have twelve weeks of
everyday spending at merchants trading as long (`puhui.demo_history`), so with the fraud checks on, as
in the served demo, a purchase of a few hundred to a couple of thousand CNY within the credit line is
approved at once — and the rules are as they were: an amount far above the customer's norm is still held.
"""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from puhui import clock as puhui_clock
from puhui.app import create_app
from puhui.demo import DEMO_LINE, seed_demo_world
from puhui.demo_history import HISTORY_WEEKS, mean_of, purchases
from puhui.identity.service import with_demo_secrets
from puhui.settings import Settings

ORDINARY = ("300.00", "450.00", "800.00", "1500.00")


def _checkout(client, world, me: dict, amount: str, key: str):
    shop = world.merchants[2]
    order = {"kind": "dynamic", "amount": amount, "order_ref": f"TRY-{key}"}
    made = client.post(
        f"/v1/merchants/{shop['id']}/qr-codes", headers={"Authorization": f"Bearer {shop['api_key']}"}, json=order
    )
    assert made.status_code == 201, made.text
    body = {"plan": "pay_later", "verification": "two_factors", "password": world.customers[0]["password"]}
    return client.post(f"/v1/lending/checkout/{made.json()['id']}", headers={**me, "Idempotency-Key": key}, json=body)


def test_a_demo_customers_ordinary_pay_later_purchases_are_approved(engine, clock):
    settings = with_demo_secrets(Settings(fraud_checks=True, monitoring=False, merchant_notifications=False))
    world = seed_demo_world(engine, settings)
    assert world.history == len(purchases(puhui_clock.business_date(), len(world.customers), len(world.merchants)))
    clock.advance(minutes=10)
    printed = str(world)
    with TestClient(create_app(engine, settings), base_url="http://demo.local") as client:
        assert client.app.state.fraud_hook is not None  # the fraud checks are on, as in `puhui serve --demo`
        first = world.customers[0]
        assert f"phone {first['phone']}  password {first['password']}" in printed  # the credentials the demo prints
        sessions = []
        for customer in world.customers:
            login = {"phone": customer["phone"], "password": customer["password"]}
            answer = client.post("/v1/customers/login", json=login)
            assert answer.status_code == 200, answer.text
            sessions.append({"Authorization": f"Bearer {answer.json()['token']}"})

        for n, (customer, me) in enumerate(zip(world.customers, sessions)):  # each one's first purchase
            amount = ORDINARY[n % len(ORDINARY)]
            paid = _checkout(client, world, me, amount, f"first-{n}")
            assert paid.status_code == 201, (customer["name"], amount, paid.text)
            assert paid.json()["payment"]["amount"] == amount

        me, spent = sessions[0], 300_00  # the printed customer buys more that morning, within the line
        for n, amount in enumerate(ORDINARY[1:]):
            clock.advance(minutes=4)
            paid = _checkout(client, world, me, amount, f"more-{n}")
            assert paid.status_code == 201, (amount, paid.text)
            spent += int(amount.replace(".", ""))
        line = client.get("/v1/lending/lines/me", headers=me).json()
        assert line["outstanding"] == f"{spent / 100:.2f}" and spent <= int(DEMO_LINE.replace(".", ""))


def test_the_rules_still_hold_an_amount_far_above_the_customers_norm(engine, clock):
    settings = with_demo_secrets(Settings(fraud_checks=True, monitoring=False, merchant_notifications=False))
    world = seed_demo_world(engine, settings)
    clock.advance(minutes=10)
    mean = mean_of(puhui_clock.business_date(), len(world.customers), len(world.merchants))[1]
    unusual = "4900.00"  # within the 5,000 CNY line, but more than ten times the customer's mean payment
    assert mean * 10 < 4900 and HISTORY_WEEKS * 7 <= 91  # the whole history is inside the norm's 91 days
    with TestClient(create_app(engine, settings), base_url="http://demo.local") as client:
        customer = world.customers[1]
        login = client.post("/v1/customers/login", json={"phone": customer["phone"], "password": customer["password"]})
        me = {"Authorization": f"Bearer {login.json()['token']}"}
        held = _checkout(client, world, me, unusual, "unusual")
        assert held.status_code == 409 and held.json()["code"] == "checkout_needs_review", held.text
        assert _checkout(client, world, me, "1500.00", "usual").status_code == 201


def test_the_history_is_daytime_regular_and_paid_for() -> None:
    until = dt.date(2026, 1, 5)
    made = purchases(until, 6, 3)
    assert all(9 <= p.at.hour < 20 for p in made)  # never the night (夜间)
    for person, mean in mean_of(until, 6, 3).items():
        mine = [p for p in made if p.person == person]
        assert 25 <= len(mine) <= 45 and 150 <= mean <= 400, (person, len(mine), mean)
