"""The risk questionnaire over HTTP on SQLite and PostgreSQL: answering stores a level with its date,
the level decides what may be bought, it expires after a year, only Class III wallets may invest,
and bad answers get a 422 and store nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from puhui.app import create_app
from puhui.db import reading
from puhui.db.tables import outbox
from puhui.identity.models import VerificationChannel
from puhui.settings import Settings
from puhui.wealth.errors import QuestionnaireRequired, UnsuitableProduct
from puhui.wealth.suitability import service as suitability
from puhui.wealth.suitability.service import ProductRisk, WalletClassTooLow
from puhui.wealth.suitability.tables import risk_assessments
from tests.identity.helpers import (
    ADMIN,
    ADMIN_TOKEN,
    INDEX_KEY,
    JWT_SECRET,
    K1,
    PASSWORD,
    id_number,
    login,
)

# The age from the ID (the test customers are born in 1990: 31–45, "E", 5), "A" for the goal (1) and "C"
# elsewhere: 5+3+3+3+4+5+1+3 = 27 → C3 (band 22–28).
C3_ANSWERS = {
    "age": "E",
    "income": "C",
    "share": "C",
    "experience": "C",
    "knowledge": "C",
    "horizon": "C",
    "goal": "A",
    "loss": "C",
}
# Choice "A" everywhere but the age, read from the ID (31–45: 5): 5 + 7 × 1 = 12 → C1.
C1_ANSWERS = {q: "A" for q in C3_ANSWERS}


def app_client(engine) -> TestClient:
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret=JWT_SECRET,
        jwt_ttl_seconds=900,
    )
    return TestClient(create_app(engine, settings, run_expiry=False))


@pytest.fixture
def client(engine, clock):
    with app_client(engine) as test_client:
        yield test_client


def make_customer(client, n: int, channels: int = 5, born: str = "19900307") -> tuple[str, dict, dict]:
    """A customer (born on `born`, YYYYMMDD, by their ID) verified on `channels` channels and upgraded
    (5 → Class III, 3 → Class II)."""
    person = {
        "name": "张三丰",
        "id_number": id_number(birth=born, seq=f"{n:03d}"),
        "phone": f"138000000{n:02d}",
        "password": PASSWORD,
    }
    created = client.post("/v1/customers", json={**person, "consents": ["payments"]})
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    for channel in list(VerificationChannel)[:channels]:
        done = client.post(
            f"/v1/customers/{customer_id}/verifications",
            headers=ADMIN,
            json={"channel": channel.value, "reference": f"R-{customer_id}-{channel.value}"},
        )
        assert done.status_code == 201, done.text
    upgraded = client.post(f"/v1/customers/{customer_id}/tier", headers=ADMIN, json={"reason": "verified"})
    assert upgraded.status_code == 200, upgraded.text
    return customer_id, login(client, person), person


def answer(client, headers: dict, answers: dict, key: str, version: str | None = None):
    body = {"version": version or suitability.CURRENT.version, "answers": answers}
    return client.post("/v1/wealth/questionnaire/answers", json=body, headers={**headers, "Idempotency-Key": key})


def stored(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            connection.execute(select(func.count()).select_from(risk_assessments)).scalar_one(),
            connection.execute(select(func.count()).select_from(outbox)).scalar_one(),
        )


def require(engine, customer_id: str, risk: ProductRisk):
    with reading(engine) as connection:
        return suitability.require_suitable(connection, customer_id, risk)


def test_answers_store_the_level_which_decides_and_expires(client, engine, clock):
    customer_id, headers, person = make_customer(client, 1)
    shown = client.get("/v1/wealth/questionnaire", headers=headers)
    assert shown.status_code == 200 and shown.json()["version"] == suitability.CURRENT.version

    before = client.get(f"/v1/wealth/suitability/{customer_id}", headers=headers).json()
    assert before["level"] is None and before["refusal"] == "questionnaire_required"
    with pytest.raises(QuestionnaireRequired):
        require(engine, customer_id, ProductRisk.R1)

    done = answer(client, headers, C3_ANSWERS, "q-1")
    assert done.status_code == 201, done.text
    body = done.json()
    assert (body["score"], body["level"], body["business_date"]) == (27, "C3", clock.now().date().isoformat())
    expires = dt.datetime.fromisoformat(body["expires_at"]) - dt.datetime.fromisoformat(body["assessed_at"])
    assert expires == dt.timedelta(days=365)
    replay = answer(client, headers, C3_ANSWERS, "q-1")
    assert replay.headers.get("Idempotent-Replayed") == "true" and stored(engine)[0] == 1

    now = client.get(f"/v1/wealth/suitability/{customer_id}", headers=headers).json()
    assert (now["level"], now["valid"], now["max_product_risk"], now["refusal"]) == ("C3", True, "R3", None)
    assert [require(engine, customer_id, r).name for r in ProductRisk if r <= 3] == ["C3"] * 3
    for risk in (ProductRisk.R4, ProductRisk.R5):
        with pytest.raises(UnsuitableProduct) as refused:
            require(engine, customer_id, risk)
        assert refused.value.code == "unsuitable_product" and risk.name in refused.value.detail

    clock.advance(days=364)
    headers = login(client, person)  # sessions last minutes, the questionnaire a year
    assert client.get(f"/v1/wealth/suitability/{customer_id}", headers=headers).json()["valid"] is True
    clock.advance(days=1)  # exactly 365 days after: expired
    headers = login(client, person)
    expired = client.get(f"/v1/wealth/suitability/{customer_id}", headers=headers).json()
    assert (expired["valid"], expired["level"], expired["refusal"]) == (False, None, "questionnaire_required")
    assert expired["assessment"]["level"] == "C3"  # the old result is kept, just no longer valid
    with pytest.raises(QuestionnaireRequired):
        require(engine, customer_id, ProductRisk.R1)

    retaken = answer(client, headers, C1_ANSWERS, "q-2")
    assert retaken.status_code == 201 and retaken.json()["level"] == "C1"
    assert require(engine, customer_id, ProductRisk.R1).name == "C1"
    with pytest.raises(UnsuitableProduct):
        require(engine, customer_id, ProductRisk.R2)


def test_the_questionnaire_is_taken_at_most_three_times_a_day(client, engine, clock):
    """Retaking it until the level unlocks a riskier product (反复测评) went unchecked: four in a row
    moved a customer from C3 up. The fourth of a day is refused and stores nothing; the next day is open."""
    customer_id, headers, person = make_customer(client, 1)
    for n, answers in enumerate((C1_ANSWERS, C3_ANSWERS, C1_ANSWERS), start=1):
        assert answer(client, headers, answers, f"day-1-{n}").status_code == 201
        clock.advance(seconds=1)
    before = stored(engine)
    fourth = answer(client, headers, C3_ANSWERS, "day-1-4")
    assert (fourth.status_code, fourth.json()["code"], fourth.json()["limit"]) == (409, "assessment_limit_reached", 3)
    assert stored(engine) == before
    level = client.get(f"/v1/wealth/suitability/{customer_id}", headers=headers).json()["level"]
    assert level == "C1"
    clock.advance(days=1)
    retaken = answer(client, login(client, person), C3_ANSWERS, "day-2-1")
    assert retaken.status_code == 201 and retaken.json()["level"] == "C3"


def test_class_two_wallet_may_not_invest_even_with_a_questionnaire(client, engine):
    customer_id, headers, _ = make_customer(client, 2, channels=3)
    assert answer(client, headers, C3_ANSWERS, "q-1").status_code == 201
    seen = client.get(f"/v1/wealth/suitability/{customer_id}", headers=headers).json()
    assert (seen["wallet_tier"], seen["level"], seen["max_product_risk"], seen["refusal"]) == (
        "II",
        "C3",
        None,
        "wallet_class_too_low",
    )
    with pytest.raises(WalletClassTooLow) as refused:
        require(engine, customer_id, ProductRisk.R1)
    assert refused.value.code == "wallet_class_too_low"


BAD = [
    ("unknown question", {"answers": {**C3_ANSWERS, "zodiac": "A"}}, "invalid_answers"),
    ("missing answer", {"answers": {k: v for k, v in C3_ANSWERS.items() if k != "goal"}}, "invalid_answers"),
    ("no answers", {"answers": {}}, "invalid_answers"),
    ("out-of-range choice", {"answers": {**C3_ANSWERS, "horizon": "E"}}, "invalid_answers"),
    ("old version", {"version": "2019.1", "answers": C3_ANSWERS}, "invalid_answers"),
    ("not a string", {"answers": {**C3_ANSWERS, "age": 3}}, None),
    ("extra field", {"answers": C3_ANSWERS, "level": "C5"}, None),
]


def test_bad_answers_get_422_and_store_nothing(client, engine):
    customer_id, headers, _ = make_customer(client, 3)
    before = stored(engine)
    for i, (name, body, code) in enumerate(BAD):
        sent = {"version": suitability.CURRENT.version, **body}
        refused = client.post(
            "/v1/wealth/questionnaire/answers", json=sent, headers={**headers, "Idempotency-Key": f"bad-{i}"}
        )
        assert refused.status_code == 422, (name, refused.text)
        if code:
            assert refused.json()["code"] == code, name
        assert stored(engine) == before, name
    assert client.get(f"/v1/wealth/suitability/{customer_id}", headers=headers).json()["assessment"] is None


def test_who_may_answer_and_read(client):
    first, _, _ = make_customer(client, 4)
    _, second_headers, _ = make_customer(client, 5)
    assert client.get(f"/v1/wealth/suitability/{first}", headers=second_headers).status_code == 403
    assert client.get(f"/v1/wealth/suitability/{first}", headers=ADMIN).status_code == 200
    assert client.get("/v1/wealth/suitability/nobody", headers=ADMIN).status_code == 404
    assert client.get("/v1/wealth/questionnaire").status_code == 401
    staff_answer = answer(client, ADMIN, C3_ANSWERS, "q-admin")
    assert staff_answer.status_code == 403
