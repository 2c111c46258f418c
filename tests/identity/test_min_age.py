"""No minimum age (issue 12, defect 4): a six-year-old registered alone and got a payment account.
Natural persons under 18 full years (周岁, from the ID number's birth date, on the platform's business
date) are refused with `customer_under_age` and nothing is stored; the limit is a setting."""

from __future__ import annotations

import datetime as dt

import pytest
from dateutil.relativedelta import relativedelta
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from puhui import clock as clock_module
from puhui.app import create_app
from puhui.identity.models import age_on

from .helpers import ZHANG, id_number, snapshot

TODAY = dt.date(2026, 1, 5)  # the clock fixture's business date


def person(born: str, phone: str = "13700000001") -> dict:
    return {**ZHANG, "id_number": id_number("110105", born, "318"), "phone": phone}


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
)
def test_full_years_of_age_agree_with_dateutil(born, day):
    if born <= day:
        assert age_on(born, day) == relativedelta(day, born).years


@pytest.mark.parametrize("born", ["20190601", "20080106"])  # six years old; eighteen only tomorrow
def test_a_minor_is_refused_and_nothing_is_stored(client, engine, born):
    before = snapshot(engine)
    answer = client.post("/v1/customers", json=person(born))
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "customer_under_age" and problem["min_age"] == 18
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert snapshot(engine) == before


def test_eighteen_today_may_register(client):
    assert client.post("/v1/customers", json=person("20080105")).status_code == 201


def test_born_on_29_february_is_eighteen_on_1_march(client, clock):
    clock.set(dt.datetime(2026, 2, 28, 10, tzinfo=clock_module.CHINA))
    assert client.post("/v1/customers", json=person("20080229")).json()["code"] == "customer_under_age"
    clock.set(dt.datetime(2026, 3, 1, 10, tzinfo=clock_module.CHINA))
    assert client.post("/v1/customers", json=person("20080229")).status_code == 201


def test_the_age_limit_is_a_setting(engine, clock, settings):
    sixteen = settings.model_copy(update={"min_customer_age": 16})
    with TestClient(create_app(engine, sixteen, run_expiry=False)) as client:
        assert client.post("/v1/customers", json=person("20090101")).status_code == 201  # seventeen
        refused = client.post("/v1/customers", json=person("20100106", "13700000002"))  # fifteen
        assert refused.status_code == 422 and refused.json()["min_age"] == 16
