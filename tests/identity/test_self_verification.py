"""A customer's own real-name checks (自助实名认证) over HTTP, on both backends: verified on several channels
through the sandbox's provider, they take Class I, II and III themselves and their payment limit follows;
a mismatch and the sandbox's reserved values fail, are recorded and do not count; nobody verifies or upgrades
anyone else; bad input is a problem with a stable code that stores nothing; a retried key records once;
repeated failures are refused for the rest of the day; without a provider nothing is recorded."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from puhui.app import create_app
from puhui.db import reading, transaction
from puhui.identity import self_kyc
from puhui.identity.errors import VerificationProviderInvalid
from puhui.identity.sandbox_verifier import FAILING_CARD, FAILING_LIVENESS
from puhui.identity.tables import bank_cards, tier_changes, verifications
from puhui.identity.verifier import Answer, Check
from puhui.settings import Settings

from .helpers import (
    ADMIN,
    ADMIN_TOKEN,
    CARD,
    INDEX_KEY,
    JWT_SECRET,
    K1,
    LI,
    ZHANG,
    bearer,
    card_number,
    login,
    make_staff,
    register,
    snapshot,
)

VERIFY, TIER = "/v1/customers/me/verifications", "/v1/customers/me/tier"
LIVENESS = "sandbox-liveness-0001"


def _settings(**changes: object) -> Settings:
    base: dict[str, object] = {
        "admin_token": ADMIN_TOKEN,
        "pii_keys": f"k1:{K1}",
        "pii_index_key": INDEX_KEY,
        "jwt_secret": JWT_SECRET,
        "jwt_ttl_seconds": 900,
        "sandbox": True,
        "fraud_checks": False,
        "monitoring": False,
        "merchant_notifications": False,
        "bank_worker": False,
    }
    return Settings(**{**base, **changes})


@pytest.fixture
def sandbox(engine, clock):  # type: ignore[no-untyped-def]
    with TestClient(create_app(engine, _settings(), run_expiry=False)) as client:
        yield client


@pytest.fixture
def zhang(sandbox):  # type: ignore[no-untyped-def]
    """张三丰, signed up with a card bound: (customer id, session, card id)."""
    customer_id = register(sandbox, ZHANG)["id"]
    me = login(sandbox, ZHANG)
    card = sandbox.post(f"/v1/customers/{customer_id}/cards", headers=me, json={"card_number": CARD})
    assert card.status_code == 201, card.text
    return customer_id, me, card.json()["id"]


def is_problem(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def rows(engine, customer_id: str) -> list[tuple[str, bool, str]]:  # type: ignore[no-untyped-def]
    """The customer's verification rows: (channel, passed, recorded by)."""
    c = verifications.c
    with reading(engine) as connection:
        found = connection.execute(
            select(c.channel, c.passed, c.recorded_by).where(c.customer_id == customer_id).order_by(c.seq)
        )
        return [tuple(r) for r in found]


def checks(client, me: dict, *bodies: dict) -> list[dict]:  # type: ignore[no-untyped-def]
    answers = []
    for body in bodies:
        answer = client.post(VERIFY, headers=me, json=body)
        assert answer.status_code == 201, answer.text
        answers.append(answer.json())
    return answers


def own_identity() -> dict:
    return {"channel": "public_security", "name": ZHANG["name"], "id_number": ZHANG["id_number"]}


def p2p(client, me: dict, to: str, amount: str):  # type: ignore[no-untyped-def]
    return client.post("/v1/transfers/p2p", headers=me, json={"to_customer_id": to, "amount": amount})


def test_a_customer_verifies_themself_and_takes_class_i_ii_and_iii_and_the_limit_follows(sandbox, engine, zhang):
    customer_id, me, card_id = zhang
    friend = register(sandbox, LI)["id"]
    first = checks(sandbox, me, own_identity())[0]
    assert first["verification"]["passed"] is True and first["reason"] is None
    assert first["verification"]["reference"].startswith("SBX-GA-") and first["eligible_tier"] == "I"
    assert first["checked"]["id_number"] == ZHANG["id_number"][:3] + "*" * 11 + ZHANG["id_number"][-4:]
    taken = sandbox.post(TIER, headers=me)
    assert taken.status_code == 200, taken.text
    assert taken.json()["from"] is None and taken.json()["to"] == "I" and taken.json()["by"] == customer_id

    funded = sandbox.post(
        "/v1/ledger/transfers",
        headers=ADMIN,
        json={
            "transfers": [
                {
                    "id": "self-kyc.fund",
                    "debit_account_id": "platform.reserve_bank.CNY",
                    "credit_account_id": f"wallet.{customer_id}",
                    "amount": "5000.00",
                    "ledger": "CNY",
                    "code": "top_up",
                }
            ]
        },
    )
    assert funded.status_code == 200, funded.text
    is_problem(p2p(sandbox, me, friend, "1200.00"), 409, "limit_exceeded")  # Class I: 1,000.00 since opening

    bank, mobile = checks(
        sandbox,
        me,
        {"channel": "bank_card", "card_id": card_id},
        {"channel": "mobile_operator", "phone": ZHANG["phone"]},
    )
    assert bank["checked"] == {"card_number": CARD[:6] + "*" * (len(CARD) - 10) + CARD[-4:]}
    assert mobile["eligible_tier"] == "II"
    assert sandbox.post(TIER, headers=me, json={"tier": "II"}).json()["tier"]["class"] == "II"
    assert p2p(sandbox, me, friend, "1200.00").status_code == 201  # Class II: 100,000.00 a year

    face = {"channel": "face", "liveness_token": LIVENESS, "biometrics_consent": True}  # 单独同意, given with it
    checks(sandbox, me, face, {**own_identity(), "channel": "tax"})
    top = sandbox.post(TIER, headers=me, json={})
    assert top.status_code == 200 and top.json()["tier"] == {
        "class": "III",
        "limit": "200000.00",
        "period": "year",
        "may_invest": True,
    }
    assert [r[2] for r in rows(engine, customer_id)] == [customer_id] * 5  # each recorded by the customer
    shown = sandbox.get("/v1/customers/me", headers=me).json()
    assert shown["tier"]["class"] == "III" and len(shown["verifications"]) == 5
    with reading(engine) as connection:
        roles = connection.execute(
            select(tier_changes.c.changed_by_role).where(tier_changes.c.customer_id == customer_id)
        )
        assert [r[0] for r in roles] == ["customer"] * 3


def test_a_mismatch_and_the_reserved_values_fail_are_recorded_and_do_not_count(sandbox, engine, zhang):
    customer_id, me, _ = zhang
    biometrics = {"purpose": "biometrics", "granted": True, "sensitive": True}  # the face check's separate consent
    assert sandbox.post(f"/v1/customers/{customer_id}/consents", headers=me, json=biometrics).status_code == 201
    failing = sandbox.post(f"/v1/customers/{customer_id}/cards", headers=me, json={"card_number": FAILING_CARD})
    assert failing.status_code == 201
    answers = checks(
        sandbox,
        me,
        {**own_identity(), "name": "张三"},  # not the name on the account
        {"channel": "mobile_operator", "phone": LI["phone"]},  # someone else's phone
        {"channel": "bank_card", "card_id": failing.json()["id"]},  # the sandbox's failing card
        {"channel": "face", "liveness_token": FAILING_LIVENESS},
    )
    assert [a["verification"]["passed"] for a in answers] == [False] * 4
    assert [a["reason"] for a in answers] == ["details_mismatch"] * 2 + ["not_confirmed"] * 2
    assert answers[0]["verification"]["reference"].startswith("PUHUI-PUBLIC-SECURITY-")  # no provider asked
    assert answers[2]["verification"]["reference"].startswith("SBX-UP-")
    assert all(a["passed_channels"] == [] and a["eligible_tier"] is None for a in answers)
    assert LI["phone"] not in str(answers) and answers[1]["checked"]["phone"] == "139****5432"  # masked
    assert rows(engine, customer_id) == [
        (ch, False, customer_id) for ch in ("public_security", "mobile_operator", "bank_card", "face")
    ]
    is_problem(sandbox.post(TIER, headers=me), 409, "insufficient_verifications")

    again = checks(sandbox, me, own_identity())[0]  # a failure does not close the channel
    assert again["passed_channels"] == ["public_security"] and again["eligible_tier"] == "I"
    before = snapshot(engine)
    is_problem(sandbox.post(VERIFY, headers=me, json=own_identity()), 409, "channel_already_verified")
    assert snapshot(engine) == before  # a channel counts once: not run again


def test_repeated_failures_are_refused_for_the_rest_of_the_day(sandbox, engine, zhang, clock):
    customer_id, me, _ = zhang
    wrong = {"channel": "mobile_operator", "phone": LI["phone"]}
    checks(sandbox, me, *[wrong] * self_kyc.MAX_FAILURES_PER_DAY)
    before = snapshot(engine)
    refused = sandbox.post(VERIFY, headers=me, json=own_identity())
    is_problem(refused, 429, "too_many_verification_attempts")
    assert 0 < int(refused.headers["Retry-After"]) <= 86_400
    assert snapshot(engine) == before
    clock.advance(dt.timedelta(seconds=int(refused.headers["Retry-After"])))  # the next China day
    me = login(sandbox, ZHANG)
    assert checks(sandbox, me, own_identity())[0]["verification"]["passed"] is True
    assert len(rows(engine, customer_id)) == self_kyc.MAX_FAILURES_PER_DAY + 1


def test_nobody_verifies_or_upgrades_anyone_else_and_staff_routes_are_unchanged(sandbox, engine, zhang):
    customer_id, me, _ = zhang
    li = register(sandbox, LI)["id"]
    operator = make_staff(sandbox, "operator")
    before = snapshot(engine)
    staff_body = {"channel": "face", "reference": "R-1"}
    for path, body in (
        (f"/v1/customers/{li}/verifications", staff_body),
        (f"/v1/customers/{li}/tier", {"reason": "x"}),
    ):
        is_problem(sandbox.post(path, headers=me, json=body), 403, "forbidden")  # another customer
    is_problem(
        sandbox.post(f"/v1/customers/{customer_id}/verifications", headers=me, json=staff_body), 403, "forbidden"
    )
    for who in (operator, ADMIN, bearer("not-a-token")):
        assert sandbox.post(VERIFY, headers=who, json=own_identity()).status_code in (401, 403)
        assert sandbox.post(TIER, headers=who).status_code in (401, 403)
    is_problem(sandbox.post(VERIFY, headers=operator, json=own_identity()), 403, "forbidden")
    is_problem(sandbox.post(VERIFY, json=own_identity()), 401, "unauthorized")
    assert snapshot(engine) == before

    recorded = sandbox.post(f"/v1/customers/{li}/verifications", headers=operator, json=staff_body)
    assert recorded.status_code == 201 and recorded.json()["verification"]["reference"] == "R-1"
    assert sandbox.post(f"/v1/customers/{li}/tier", headers=operator, json={"reason": "counter"}).status_code == 200
    [(channel, passed, by)] = rows(engine, li)
    assert (channel, passed) == ("face", True) and by not in (li, customer_id)  # the operator's record
    assert rows(engine, customer_id) == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"channel": "astrology", "name": "张三丰"}, 422, "invalid_request"),
        ({"channel": "in_person", "name": ZHANG["name"], "id_number": ZHANG["id_number"]}, 422, "invalid_request"),
        ({"channel": "public_security", "name": ZHANG["name"]}, 422, "invalid_request"),
        ({"channel": "bank_card"}, 422, "invalid_request"),
        ({"channel": "face", "liveness_token": "short"}, 422, "invalid_request"),
        ({"channel": "face", "liveness_token": LIVENESS, "biometrics_consent": "yes"}, 422, "invalid_request"),
        ({**own_identity(), "biometrics_consent": True}, 422, "invalid_request"),  # the face check's alone
        ({"channel": "face", "liveness_token": LIVENESS}, 422, "biometric_consent_required"),
        (
            {"channel": "face", "liveness_token": LIVENESS, "biometrics_consent": False},
            422,
            "biometric_consent_required",
        ),
        ({**own_identity(), "reference": "mine"}, 422, "invalid_request"),
        ({**own_identity(), "id_number": ZHANG["id_number"][:-1] + "0"}, 422, "invalid_id_number"),
        ({**own_identity(), "name": "张3丰"}, 422, "invalid_name"),
        ({"channel": "mobile_operator", "phone": "12345"}, 422, "invalid_phone"),
        ({"channel": "bank_card", "card_id": "card_0000000000000000"}, 404, "card_not_found"),
        ({"channel": "bank_card", "card_id": "LI"}, 404, "card_not_found"),  # someone else's
        ({"channel": "bank_card", "card_id": "ERASED"}, 404, "card_not_found"),  # no longer bound
    ],
)
def test_bad_input_is_a_problem_and_stores_nothing(sandbox, engine, zhang, body, status, code):
    customer_id, me, card_id = zhang
    if body.get("card_id") == "LI":
        li = register(sandbox, LI)["id"]
        other = sandbox.post(
            f"/v1/customers/{li}/cards",
            headers=login(sandbox, LI),
            json={"card_number": card_number("622202987654321")},
        )
        body = {**body, "card_id": other.json()["id"]}
    if body.get("card_id") == "ERASED":
        transaction(
            engine,
            lambda uow: uow.execute(update(bank_cards).where(bank_cards.c.id == card_id).values(status="erased")),
        )
        body = {**body, "card_id": card_id}
    before = snapshot(engine)
    answer = sandbox.post(VERIFY, headers=me, json=body)
    is_problem(answer, status, code)
    assert ZHANG["id_number"] not in answer.text and CARD not in answer.text
    assert snapshot(engine) == before and rows(engine, customer_id) == []
    assert sandbox.post(VERIFY, headers=me, json=own_identity()).status_code == 201  # refused for its input alone


def test_a_retry_with_the_same_key_replays_the_answer_and_records_once(sandbox, engine, zhang):
    customer_id, me, _ = zhang
    for body, key in ((own_identity(), "kyc-1"), ({"channel": "mobile_operator", "phone": LI["phone"]}, "kyc-2")):
        first = sandbox.post(VERIFY, headers={**me, "Idempotency-Key": key}, json=body)
        again = sandbox.post(VERIFY, headers={**me, "Idempotency-Key": key}, json=body)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert rows(engine, customer_id) == [
        ("public_security", True, customer_id),
        ("mobile_operator", False, customer_id),
    ]
    taken = [sandbox.post(TIER, headers={**me, "Idempotency-Key": "tier-1"}, json={"tier": "I"}) for _ in range(2)]
    assert taken[0].json() == taken[1].json() and taken[1].headers["Idempotent-Replayed"] == "true"
    with reading(engine) as connection:
        assert connection.execute(select(func.count()).select_from(tier_changes)).scalar_one() == 1


def test_without_a_provider_nothing_is_recorded(engine, clock):
    with TestClient(create_app(engine, _settings(sandbox=False), run_expiry=False)) as client:
        register(client, ZHANG)
        me = login(client, ZHANG)
        before = snapshot(engine)
        refused = client.post(VERIFY, headers={**me, "Idempotency-Key": "k"}, json=own_identity())
        is_problem(refused, 503, "verification_provider_unavailable")
        assert snapshot(engine) == before
    with pytest.raises(VerificationProviderInvalid):  # the sandbox's confirms anyone: never outside it
        create_app(engine, _settings(sandbox=False, verification_provider="puhui.identity.sandbox_verifier:sandbox"))
    with pytest.raises(VerificationProviderInvalid):
        create_app(engine, _settings(sandbox=False, verification_provider="puhui.nowhere:provider"))


class Declining:
    """A configured provider outside the sandbox that confirms no one."""

    name = "declining"

    def verify(self, check: Check) -> Answer:
        return Answer(False, "DECLINED-1", "not_confirmed")


def declining(settings: Settings) -> Declining:
    return Declining()


def test_a_configured_provider_answers_outside_the_sandbox(engine, clock):
    named = f"{__name__}:declining"
    with TestClient(
        create_app(engine, _settings(sandbox=False, verification_provider=named), run_expiry=False)
    ) as client:
        customer_id = register(client, ZHANG)["id"]
        answer = client.post(VERIFY, headers=login(client, ZHANG), json=own_identity())
        assert answer.status_code == 201 and answer.json()["verification"]["reference"] == "DECLINED-1"
        assert rows(engine, customer_id) == [("public_security", False, customer_id)]
