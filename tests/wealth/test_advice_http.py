"""POST /v1/wealth/advice on SQLite and PostgreSQL: the customer's stored level picks the target
portfolio over the platform's funds; no questionnaire, a low wallet class or no eligible fund is
refused with its code."""

from __future__ import annotations

import pytest

from puhui.wealth.advice import advisor
from puhui.wealth.suitability.service import CustomerLevel
from tests.identity.helpers import ADMIN
from tests.wealth.test_advice import synthetic_universe
from tests.wealth.test_suitability_http import (
    C3_ANSWERS,
    answer,
    app_client,
    make_customer,
)

UNIVERSE = synthetic_universe(seed=7, days=300)


@pytest.fixture
def client(engine, clock):
    with app_client(engine) as test_client:
        yield test_client


@pytest.fixture
def funds(monkeypatch):
    """The platform's funds: a source registered the way the funds table will register one."""
    monkeypatch.setattr(advisor, "UNIVERSE_SOURCES", [lambda connection: UNIVERSE])


def test_advice_follows_the_customers_level(client, funds):
    _, headers, _ = make_customer(client, 11)
    assert answer(client, headers, C3_ANSWERS, "q-1").json()["level"] == "C3"
    got = client.post("/v1/wealth/advice", headers=headers, json={})
    assert got.status_code == 200, got.text
    body = got.json()
    expected = advisor.target_portfolio(UNIVERSE, CustomerLevel.C3)
    assert body["level"] == "C3" and body["method"] == expected.method
    assert body["weights"] == pytest.approx(expected.weights, abs=1e-6)
    assert sorted(body["excluded"]) == ["EQ001", "EQ002", "TECH1"]  # R4 and R5 get nothing
    assert max(body["weights"].values()) <= advisor.POLICIES[CustomerLevel.C3].max_weight + 1e-6


def test_advice_refusals(client, funds, monkeypatch):
    _, unassessed, _ = make_customer(client, 12)
    refused = client.post("/v1/wealth/advice", headers=unassessed, json={})
    assert (refused.status_code, refused.json()["code"]) == (403, "questionnaire_required")

    _, class_two, _ = make_customer(client, 13, channels=3)
    answer(client, class_two, C3_ANSWERS, "q-2")
    refused = client.post("/v1/wealth/advice", headers=class_two, json={})
    assert (refused.status_code, refused.json()["code"]) == (403, "wallet_class_too_low")

    assert client.post("/v1/wealth/advice", headers=ADMIN, json={}).status_code == 403
    assert client.post("/v1/wealth/advice", headers=unassessed, json={"level": "C5"}).status_code == 422

    monkeypatch.setattr(advisor, "UNIVERSE_SOURCES", [])  # no funds registered: the universe is empty
    answer(client, unassessed, C3_ANSWERS, "q-3")
    refused = client.post("/v1/wealth/advice", headers=unassessed, json={})
    assert (refused.status_code, refused.json()["code"]) == (409, "no_eligible_funds")
