"""The identity HTTP API on both backends: the customer journey, masking and logged reveal, bad input
(a clear 4xx that changes nothing), idempotency, secrets shown once, and an unconfigured vault."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from puhui.app import create_app
from puhui.db import reading, transaction
from puhui.db.tables import audit_log, idempotency_keys
from puhui.identity.tables import credentials, pii_access_log
from puhui.ledger import service as ledger
from puhui.ledger.models import Transfer
from puhui.settings import Settings

from .helpers import (
    ADMIN,
    ADMIN_TOKEN,
    CARD,
    LI,
    MERCHANT,
    PASSWORD,
    ZHANG,
    bearer,
    card_number,
    id_number,
    login,
    make_staff,
    register,
    snapshot,
)

RESERVE = "platform.reserve_bank.CNY"


def is_problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def test_customer_journey(client, engine):
    body = register(client, ZHANG)
    customer_id = body["id"]
    assert body["name"] == "*三丰" and body["phone"] == "138****5678"
    assert body["id_number"] == ZHANG["id_number"][:3] + "*" * 11 + ZHANG["id_number"][-4:]
    assert body["tier"] is None and body["wallet_account_id"] == f"wallet.{customer_id}"
    me = login(client, ZHANG)
    assert client.get(f"/v1/customers/{customer_id}", headers=me).json() == body

    card = client.post(f"/v1/customers/{customer_id}/cards", headers=me, json={"card_number": CARD, "bank": "ICBC"})
    assert card.status_code == 201 and card.json()["card_number"] == CARD[:6] + "******" + CARD[-4:]

    operator = make_staff(client, "operator")
    for channel in ("public_security", "bank_card", "face"):
        answer = client.post(
            f"/v1/customers/{customer_id}/verifications",
            headers=operator,
            json={"channel": channel, "reference": f"REF-{channel}"},
        )
        assert answer.status_code == 201, answer.text
    assert answer.json()["eligible_tier"] == "II" and answer.json()["tier"] is None
    upgraded = client.post(f"/v1/customers/{customer_id}/tier", headers=operator, json={"reason": "three channels"})
    assert upgraded.status_code == 200
    assert upgraded.json()["tier"] == {"class": "II", "limit": "100000.00", "period": "year", "may_invest": False}

    consent = client.post(
        f"/v1/customers/{customer_id}/consents", headers=me, json={"purpose": "credit_scoring", "granted": True}
    )
    assert consent.status_code == 201 and consent.json()["consents"][0]["granted"] is True

    exported = client.get(f"/v1/customers/{customer_id}/export", headers=me)
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    data = exported.json()
    assert data["customer"]["id_number"] == ZHANG["id_number"] and data["customer"]["cards"][0]["card_number"] == CARD
    assert data["tier_changes"][0]["to"] == "II" and data["wallet"]["balance"] == "0.00"

    closed = client.post(f"/v1/customers/{customer_id}/close", headers=me, json={"reason": "moving abroad"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["name"].startswith("已注销用户-") and closed.json()["phone"] is None
    is_problem(client.get(f"/v1/customers/{customer_id}", headers=me), 401, "unauthorized")  # session ended
    is_problem(
        client.post("/v1/customers/login", json={"phone": ZHANG["phone"], "password": PASSWORD}),
        401,
        "invalid_credentials",
    )
    assert client.get(f"/v1/customers/{customer_id}", headers=operator).json()["status"] == "closed"


def test_reveal_is_for_clear_roles_only_and_is_logged(client, engine):
    customer_id = register(client, ZHANG)["id"]
    risk, operator, regulator = (make_staff(client, r) for r in ("risk_officer", "operator", "regulator"))
    for who in (operator, regulator, login(client, ZHANG)):
        is_problem(
            client.get(f"/v1/customers/{customer_id}?reveal=true&purpose=curious", headers=who),
            403,
            "reveal_not_allowed",
        )
    is_problem(client.get(f"/v1/customers/{customer_id}?reveal=true", headers=risk), 422, "purpose_required")
    with reading(engine) as connection:
        assert connection.execute(select(pii_access_log)).all() == []
    clear = client.get(f"/v1/customers/{customer_id}?reveal=true&purpose=AML case 7", headers=risk).json()
    assert clear["revealed"] and clear["name"] == ZHANG["name"] and clear["id_number"] == ZHANG["id_number"]
    log = client.get("/v1/pii-access-log", headers=regulator).json()["entries"]
    assert len(log) == 1
    assert log[0]["role"] == "risk_officer" and log[0]["subject"] == customer_id and log[0]["purpose"] == "AML case 7"
    assert set(log[0]["fields"]) == {"name", "id_number", "phone", "address"}


def test_login_and_session_expiry(client, clock):
    customer_id = register(client, ZHANG)["id"]
    wrong = client.post("/v1/customers/login", json={"phone": ZHANG["phone"], "password": "wrong password"})
    unknown = client.post("/v1/customers/login", json={"phone": "13700000000", "password": PASSWORD})
    is_problem(wrong, 401, "invalid_credentials")
    is_problem(unknown, 401, "invalid_credentials")
    assert wrong.json()["detail"] == unknown.json()["detail"]  # no hint which one was wrong
    answer = client.post("/v1/customers/login", json={"phone": "+86 138 1234 5678", "password": PASSWORD}).json()
    assert answer["customer_id"] == customer_id and answer["token_type"] == "Bearer"
    me = bearer(answer["token"])
    assert client.get(f"/v1/customers/{customer_id}", headers=me).status_code == 200
    clock.advance(seconds=901)
    is_problem(client.get(f"/v1/customers/{customer_id}", headers=me), 401, "token_expired")


def test_login_attempts_are_audited_without_the_phone(client, engine):
    register(client, ZHANG)
    client.post("/v1/customers/login", json={"phone": ZHANG["phone"], "password": "nope nope"})
    login(client, ZHANG)
    with reading(engine) as connection:
        rows = connection.execute(select(audit_log).where(audit_log.c.action == "identity.login")).mappings().all()
    assert [r["status_code"] for r in rows] == [401, 200]
    assert all(ZHANG["phone"] not in str(dict(r)) for r in rows)


BAD_REGISTRATIONS = [
    pytest.param(
        {**ZHANG, "id_number": ZHANG["id_number"][:-1] + ("0" if ZHANG["id_number"][-1] != "0" else "1")},
        422,
        "invalid_id_number",
        id="id-check-digit",
    ),
    pytest.param({**ZHANG, "id_number": "11010519491231002"}, 422, "invalid_id_number", id="id-17-digits"),
    pytest.param({**ZHANG, "phone": "12345"}, 422, "invalid_phone", id="phone"),
    pytest.param({**ZHANG, "name": "张3"}, 422, "invalid_name", id="name-digit"),
    pytest.param({**ZHANG, "password": "short"}, 422, "weak_password", id="password"),
    pytest.param({**ZHANG, "address": "\x07"}, 422, "invalid_address", id="address"),  # a NUL: nul_character
    pytest.param({**ZHANG, "extra": 1}, 422, "invalid_request", id="unknown-field"),
    pytest.param({k: v for k, v in ZHANG.items() if k != "phone"}, 422, "invalid_request", id="missing-phone"),
    pytest.param({**ZHANG, "id_number": 110105194912310021}, 422, "invalid_request", id="id-as-number"),
    # a self sign-up is not told whether the person or the phone is taken (enumeration)
    pytest.param({**LI, "id_number": ZHANG["id_number"]}, 409, "registration_refused", id="same-person"),
    pytest.param({**LI, "phone": ZHANG["phone"]}, 409, "registration_refused", id="same-phone"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_REGISTRATIONS)
def test_bad_registrations_change_nothing(client, engine, body, status, code):
    register(client, ZHANG)
    before = snapshot(engine)
    response = client.post("/v1/customers", json=body)
    is_problem(response, status, code)
    for value in (body.get("id_number"), body.get("phone")):
        assert not isinstance(value, str) or value not in response.text  # problems never echo personal values
    assert snapshot(engine) == before


def test_staff_at_the_counter_are_told_which_detail_is_taken(client, engine):
    register(client, ZHANG)
    operator = make_staff(client, "operator")
    before = snapshot(engine)
    is_problem(
        client.post("/v1/customers", headers=operator, json={**LI, "id_number": ZHANG["id_number"]}),
        409,
        "id_number_already_registered",
    )
    is_problem(
        client.post("/v1/customers", headers=operator, json={**LI, "phone": ZHANG["phone"]}),
        409,
        "phone_already_registered",
    )
    anonymous = [
        client.post("/v1/customers", json=body).json()
        for body in ({**LI, "id_number": ZHANG["id_number"]}, {**LI, "phone": ZHANG["phone"]})
    ]
    assert anonymous[0] | {"request_id": ""} == anonymous[1] | {"request_id": ""}  # the same answer either way
    assert snapshot(engine) == before


def test_malformed_json_changes_nothing(client, engine):
    before = snapshot(engine)
    response = client.post("/v1/customers", content=b'{"name": ', headers={"Content-Type": "application/json"})
    is_problem(response, 400, "malformed_json")
    assert snapshot(engine) == before


@pytest.fixture
def zhang(client):
    customer_id = register(client, ZHANG)["id"]
    return customer_id, login(client, ZHANG), make_staff(client, "operator")


@pytest.mark.parametrize(
    ("path", "who", "body", "status", "code"),
    [
        ("cards", "me", {"card_number": CARD[:-1] + str((int(CARD[-1]) + 1) % 10)}, 422, "invalid_card_number"),
        ("cards", "me", {"card_number": "1234"}, 422, "invalid_card_number"),
        ("cards", "me", {"card_number": CARD, "cvv": "123"}, 422, "invalid_request"),
        ("verifications", "op", {"channel": "astrology", "reference": "R1"}, 422, "invalid_request"),
        ("verifications", "op", {"channel": "face", "reference": "has space"}, 422, "invalid_request"),
        ("verifications", "op", {"channel": "face", "reference": "R1", "passed": "yes"}, 422, "invalid_request"),
        ("tier", "op", {"reason": "no verifications yet"}, 409, "insufficient_verifications"),
        ("tier", "op", {"tier": "IV", "reason": "x"}, 422, "invalid_request"),
        ("tier", "op", {"tier": "I"}, 422, "invalid_request"),
        ("consents", "me", {"purpose": "selling_data", "granted": True}, 422, "invalid_request"),
        ("consents", "me", {"purpose": "marketing"}, 422, "invalid_request"),
    ],
)
def test_bad_customer_requests_change_nothing(client, engine, zhang, path, who, body, status, code):
    customer_id, me, operator = zhang
    before = snapshot(engine)
    response = client.post(f"/v1/customers/{customer_id}/{path}", headers=me if who == "me" else operator, json=body)
    is_problem(response, status, code)
    assert snapshot(engine) == before


def test_closing_with_money_in_the_wallet_is_refused(client, engine, zhang):
    customer_id, me, _ = zhang
    transaction(
        engine,
        lambda uow: ledger.create_transfers(
            uow, [Transfer("topup.1", RESERVE, f"wallet.{customer_id}", 10_00, "CNY", "topup")]
        ),
    )
    before = snapshot(engine)
    response = client.post(f"/v1/customers/{customer_id}/close", headers=me)
    is_problem(response, 409, "wallet_not_empty")
    assert snapshot(engine) == before
    assert client.get(f"/v1/customers/{customer_id}", headers=me).json()["status"] == "active"


def test_unknown_customer_and_closed_customer(client, engine, zhang):
    customer_id, me, operator = zhang
    is_problem(client.get("/v1/customers/cus_0000000000000000", headers=operator), 404, "customer_not_found")
    client.post(f"/v1/customers/{customer_id}/close", headers=operator, json={"reason": "at the counter"})
    before = snapshot(engine)
    is_problem(
        client.post(
            f"/v1/customers/{customer_id}/verifications",
            headers=operator,
            json={"channel": "face", "reference": "late"},
        ),
        409,
        "customer_closed",
    )
    is_problem(client.post(f"/v1/customers/{customer_id}/close", headers=operator), 409, "customer_closed")
    assert snapshot(engine) == before


def test_registration_is_idempotent(client, engine):
    key = {"Idempotency-Key": "signup-1"}
    first = client.post("/v1/customers", json=ZHANG, headers=key)
    before = snapshot(engine)
    again = client.post("/v1/customers", json=ZHANG, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert snapshot(engine) == before
    is_problem(client.post("/v1/customers", json=LI, headers=key), 422, "idempotency_key_reused")
    with reading(engine) as connection:
        stored = connection.execute(select(idempotency_keys.c.response_body)).scalars().all()
    assert all(ZHANG["id_number"] not in body and ZHANG["phone"] not in body for body in stored)


def test_secrets_are_shown_once_and_never_stored(client, engine):
    key = {**ADMIN, "Idempotency-Key": "staff-1"}
    first = client.post("/v1/staff", headers=key, json={"handle": "ops.wang", "role": "operator"})
    assert first.status_code == 201 and first.json()["token"].startswith("puhui_st_")
    replay = client.post("/v1/staff", headers=key, json={"handle": "ops.wang", "role": "operator"})
    assert replay.status_code == 201 and replay.json()["token"] is None and replay.json()["id"] == first.json()["id"]
    merchant = client.post("/v1/merchants", headers=bearer(first.json()["token"]), json=MERCHANT)
    assert merchant.status_code == 201 and merchant.json()["api_key"].startswith("puhui_mk_")
    assert merchant.json()["settlement"]["account"] == "*" * 17 + MERCHANT["settlement_account"][-4:]
    with reading(engine) as connection:
        everything = repr(connection.execute(select(idempotency_keys)).all()) + repr(
            connection.execute(select(credentials)).all()
        )
    for secret in (first.json()["token"], merchant.json()["api_key"]):
        assert secret not in everything and secret.split("_", 3)[3] not in everything
    mine = client.get(f"/v1/merchants/{merchant.json()['id']}", headers=bearer(merchant.json()["api_key"]))
    assert mine.status_code == 200 and mine.json()["name"] == MERCHANT["name"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**MERCHANT, "credit_code": "91110000600037341X"}, 422, "invalid_credit_code"),
        ({**MERCHANT, "settlement_account": "12ab"}, 422, "invalid_bank_account"),
        ({**MERCHANT, "settlement_holder": ""}, 422, "invalid_request"),
        ({k: v for k, v in MERCHANT.items() if k != "settlement_bank"}, 422, "invalid_request"),
    ],
)
def test_bad_merchants_change_nothing(client, engine, body, status, code):
    before = snapshot(engine)
    is_problem(client.post("/v1/merchants", headers=ADMIN, json=body), status, code)
    assert snapshot(engine) == before


def test_a_second_merchant_with_the_same_credit_code_is_refused(client, engine):
    assert client.post("/v1/merchants", headers=ADMIN, json=MERCHANT).status_code == 201
    before = snapshot(engine)
    is_problem(
        client.post("/v1/merchants", headers=ADMIN, json={**MERCHANT, "name": "copy"}),
        409,
        "credit_code_already_registered",
    )
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"handle": "Bad Handle", "role": "operator"}, "invalid_staff_handle"),
        ({"handle": "x.y", "role": "customer"}, "invalid_request"),
    ],
)
def test_bad_staff_changes_nothing(client, engine, body, code):
    before = snapshot(engine)
    is_problem(client.post("/v1/staff", headers=ADMIN, json=body), 422, code)
    assert snapshot(engine) == before


def test_without_keys_pii_calls_fail_closed_and_change_nothing(engine, clock):
    """A server started without PUHUI_PII_KEYS refuses, never invents keys; the admin API still works."""
    app = create_app(engine, Settings(admin_token=ADMIN_TOKEN), run_expiry=False)
    with TestClient(app) as client:
        before = snapshot(engine)
        is_problem(client.post("/v1/customers", json=ZHANG), 500, "vault_not_configured")
        is_problem(client.post("/v1/merchants", headers=ADMIN, json=MERCHANT), 500, "vault_not_configured")
        is_problem(
            client.post("/v1/customers/login", json={"phone": ZHANG["phone"], "password": PASSWORD}),
            500,
            "vault_not_configured",
        )
        assert snapshot(engine) == before
        assert client.get(f"/v1/ledger/accounts/{RESERVE}", headers=ADMIN).status_code == 200


def test_many_customers_each_their_own(client):
    people = [
        {
            "name": f"客户{chr(0x4E00 + n)}",
            "id_number": id_number(seq=f"{n:03d}"),
            "phone": f"1390000{n:04d}",
            "password": PASSWORD,
            "consents": ["payments"],
        }
        for n in range(3)
    ]
    ids = [register(client, p)["id"] for p in people]
    for person, customer_id in zip(people, ids):
        headers = login(client, person)
        assert client.get(f"/v1/customers/{customer_id}", headers=headers).status_code == 200
        for other in set(ids) - {customer_id}:
            is_problem(client.get(f"/v1/customers/{other}", headers=headers), 403, "forbidden")
    second_card = card_number("622848000000000")
    assert (
        client.post(
            f"/v1/customers/{ids[0]}/cards", headers=login(client, people[0]), json={"card_number": second_card}
        ).status_code
        == 201
    )


def test_me_is_the_calling_customer_and_only_a_customer(client, engine):
    body = register(client, ZHANG)
    me = login(client, ZHANG)
    assert client.get("/v1/customers/me", headers=me).json() == body  # masked, as under their own id
    other = register(client, LI)
    assert client.get("/v1/customers/me", headers=login(client, LI)).json()["id"] == other["id"]
    is_problem(client.get("/v1/customers/me"), 401, "unauthorized")
    is_problem(client.get("/v1/customers/me", headers=bearer(ADMIN_TOKEN)), 403, "forbidden")
    client.post(f"/v1/customers/{body['id']}/logout", headers=me)
    is_problem(client.get("/v1/customers/me", headers=me), 401, "unauthorized")  # a closed session is no one
