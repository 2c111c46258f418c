"""Sessions that can be ended, and keys that stop acting (issue 19, finding 6): customers could not
log out or change their password, a token stayed good until it expired whatever happened, and a
suspended merchant's API key kept working for its own calls."""

from __future__ import annotations

from sqlalchemy import select

from puhui.db import reading
from puhui.db.tables import audit_log
from puhui.identity.throttle import MAX_FAILURES
from tests.payments.test_payments_http import (  # noqa: F401 - the client fixture
    ADMIN,
    PASSWORD,
    PEOPLE,
    bearer,
    client,
    customer,
    fund,
    merchant,
    snapshot,
)

PERSON = PEOPLE[0]


def log_in(client, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/v1/customers/login", json={"phone": PERSON["phone"], "password": password})


def test_logging_out_ends_that_session_only(client):
    customer_id, phone_a = customer(client, PERSON, 0)
    laptop = bearer(log_in(client).json()["token"])
    assert client.get("/v1/wallets/me", headers=phone_a).status_code == 200
    shown = client.get(f"/v1/customers/{customer_id}/sessions", headers=laptop).json()
    assert len(shown["sessions"]) == 2 and shown["current"] in {s["id"] for s in shown["sessions"]}

    out = client.post(f"/v1/customers/{customer_id}/logout", headers=phone_a)
    assert out.status_code == 200 and out.json()["sessions_ended"] == 1
    refused = client.get("/v1/wallets/me", headers=phone_a)
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    assert client.get("/v1/wallets/me", headers=laptop).status_code == 200
    assert len(client.get(f"/v1/customers/{customer_id}/sessions", headers=laptop).json()["sessions"]) == 1


def test_logging_out_everywhere_keeps_only_the_callers_session(client):
    customer_id, first = customer(client, PERSON, 0)
    others = [bearer(log_in(client).json()["token"]) for _ in range(3)]
    ended = client.post(f"/v1/customers/{customer_id}/sessions/end", headers=first)
    assert ended.status_code == 200 and ended.json()["sessions_ended"] == 3
    assert all(client.get("/v1/wallets/me", headers=h).status_code == 401 for h in others)
    assert client.get("/v1/wallets/me", headers=first).status_code == 200

    lost_phone = bearer(log_in(client).json()["token"])  # operations end every session of a lost phone
    operator = client.post("/v1/staff", headers=ADMIN, json={"handle": "ops.one", "role": "operator"}).json()
    by_ops = client.post(f"/v1/customers/{customer_id}/sessions/end", headers=bearer(operator["token"]))
    assert by_ops.status_code == 200 and by_ops.json()["sessions_ended"] == 2
    assert client.get("/v1/wallets/me", headers=lost_phone).status_code == 401
    assert client.get("/v1/wallets/me", headers=first).status_code == 401


def test_an_ended_session_pays_nothing(client, engine):
    """Payments check the session inside their own group-commit batch, not before it: an ended
    session is refused there (401, audited) and moves nothing, and its guesses at the payment
    password do not count towards the customer's lock."""
    customer_id, ended = customer(client, PERSON, 3)
    other_id, _ = customer(client, PEOPLE[1], 0)
    live = bearer(log_in(client).json()["token"])
    fund(engine, f"wallet.{customer_id}", 100_00, "ended-session")
    merchant_id, shop = merchant(client)
    qr = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "5.00"})
    pay = f"/v1/qr-codes/{qr.json()['id']}/pay"
    assert client.post(f"/v1/customers/{customer_id}/logout", headers=ended).status_code == 200

    before = snapshot(engine)
    attempts = [
        client.post(pay, headers={**ended, "Idempotency-Key": "after-logout"}, json={}),
        client.post("/v1/transfers/p2p", headers=ended, json={"to_customer_id": other_id, "amount": "1.00"}),
    ] + [
        client.post(pay, headers=ended, json={"verification": "two_factors", "password": f"guess {n}"})
        for n in range(MAX_FAILURES + 1)
    ]
    assert [a.status_code for a in attempts] == [401] * len(attempts), [a.text for a in attempts]
    assert {a.json()["code"] for a in attempts} == {"unauthorized"}
    assert snapshot(engine) == before
    with reading(engine) as connection:
        refused = connection.execute(
            select(audit_log.c.action, audit_log.c.status_code).where(audit_log.c.principal == customer_id)
        ).all()
    assert ("payments.pay_qr", 401) in refused and ("payments.p2p", 401) in refused

    paid = client.post(pay, headers=live, json={"verification": "two_factors", "password": PASSWORD})
    assert paid.status_code == 201, paid.text  # the wrong guesses of the ended session locked nothing


def test_changing_the_password_ends_every_other_session(client, engine):
    customer_id, mine = customer(client, PERSON, 0)
    thief = bearer(log_in(client).json()["token"])
    url = f"/v1/customers/{customer_id}/password"
    new = "a much longer passphrase"

    before = snapshot(engine)
    weak = client.post(url, headers=mine, json={"current_password": PASSWORD, "new_password": "        x"})
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    wrong = client.post(url, headers=mine, json={"current_password": "not the password", "new_password": new})
    assert wrong.status_code == 403 and wrong.json()["code"] == "current_password_invalid"
    assert snapshot(engine) == before and client.get("/v1/wallets/me", headers=thief).status_code == 200

    changed = client.post(url, headers=mine, json={"current_password": PASSWORD, "new_password": new})
    assert changed.status_code == 200 and changed.json()["sessions_ended"] == 1, changed.text
    assert client.get("/v1/wallets/me", headers=thief).status_code == 401
    assert client.get("/v1/wallets/me", headers=mine).status_code == 200
    assert log_in(client).status_code == 401 and log_in(client, new).status_code == 200


def test_a_stolen_session_cannot_guess_the_password_to_change_it(client):
    customer_id, stolen = customer(client, PERSON, 0)
    url = f"/v1/customers/{customer_id}/password"
    for n in range(MAX_FAILURES):
        guess = client.post(
            url, headers=stolen, json={"current_password": f"guess number {n}", "new_password": "the thief's password"}
        )
        assert guess.status_code == 403, guess.text
    locked = client.post(
        url, headers=stolen, json={"current_password": PASSWORD, "new_password": "the thief's password"}
    )
    assert locked.status_code == 429 and locked.json()["code"] == "too_many_login_attempts"


def test_a_suspended_merchants_key_reads_but_does_not_act(client):
    merchant_id, shop = merchant(client)
    made = client.post(f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "static"})
    assert made.status_code == 201
    suspend = client.put(
        f"/v1/merchants/{merchant_id}/status",
        headers=ADMIN,
        json={"status": "suspended", "reason": "fraud investigation"},
    )
    assert suspend.status_code == 200, suspend.text

    refused = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "9.00"}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "merchant_suspended"
    new_key = client.post(f"/v1/merchants/{merchant_id}/api-keys", headers=shop)
    assert new_key.status_code == 409 and new_key.json()["code"] == "merchant_suspended"
    assert client.get(f"/v1/merchants/{merchant_id}", headers=shop).status_code == 200  # it can still read
    assert client.get("/v1/wallets/me", headers=shop).status_code == 200

    client.put(f"/v1/merchants/{merchant_id}/status", headers=ADMIN, json={"status": "active", "reason": "cleared"})
    again = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes", headers=shop, json={"kind": "dynamic", "amount": "9.00"}
    )
    assert again.status_code == 201
