"""Query parameters are checked: a name the operation does not take, or a single-valued one given twice, is a
422 problem instead of being ignored (a misspelt filter used to answer the unfiltered list)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from puhui.api.query_guard import _is_list
from puhui.app import create_app
from puhui.settings import Settings

TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(engine, clock):
    with TestClient(create_app(engine, Settings(admin_token=TOKEN), run_expiry=False)) as c:
        yield c


def test_a_known_parameter_is_served(client):
    answer = client.get("/v1/events", params={"after": 0, "limit": 5}, headers=ADMIN)
    assert answer.status_code == 200, answer.text


def test_a_misspelt_parameter_is_a_422_naming_the_ones_taken(client):
    answer = client.get("/v1/events?limt=5", headers=ADMIN)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "unknown_query_parameter"
    assert "'limt'" in problem["detail"] and "limit" in problem["detail"] and "topic" in problem["detail"]
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_an_operation_without_parameters_takes_none(client):
    answer = client.get("/health?verbose=1")
    assert answer.status_code == 422 and answer.json()["code"] == "unknown_query_parameter", answer.text


def test_a_single_valued_parameter_given_twice_is_a_422(client):
    answer = client.get("/v1/events?limit=5&limit=500", headers=ADMIN)
    assert answer.status_code == 422 and answer.json()["code"] == "repeated_query_parameter", answer.text


def test_an_empty_name_is_unknown(client):
    answer = client.get("/v1/events?=false", headers=ADMIN)
    assert answer.status_code == 422 and answer.json()["code"] == "unknown_query_parameter", answer.text


def test_list_parameters_take_several_values():
    assert _is_list(list[str]) and _is_list(list[str] | None)
    assert not _is_list(str) and not _is_list(int | None)
