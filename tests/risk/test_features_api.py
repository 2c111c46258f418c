"""GET /v1/risk/profiles/{customer_id}: who may read, as_of parsing, decimal strings, 404 and 422."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from stdnum.cn import ric

from puhui import clock as clock_module
from puhui.app import create_app
from puhui.db import reading
from puhui.db.tables import outbox
from puhui.risk import features as F
from puhui.risk.features_api import parse_as_of
from puhui.risk.features_tables import risk_profiles
from puhui.settings import Settings

ADMIN = {"Authorization": "Bearer test-admin-token"}
PASSWORD = "correct horse battery"
MERCHANT = {
    "name": "兰州拉面馆",
    "credit_code": "91110000600037341L",
    "settlement_account": "110060774018010012345",
    "settlement_holder": "马晓明",
    "settlement_bank": "交通银行北京分行",
}


def _id_number(seq: str) -> str:
    body = "11010519900307" + seq
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    settings = Settings(
        admin_token="test-admin-token",
        pii_keys="k1:" + base64.urlsafe_b64encode(b"1" * 32).decode(),
        pii_index_key=base64.urlsafe_b64encode(b"i" * 32).decode(),
        jwt_secret="j" * 48,
        jwt_ttl_seconds=900,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def customer(client, seq: str, phone: str) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    person = {"name": "张三丰", "id_number": _id_number(seq), "phone": phone, "password": PASSWORD}
    cid = client.post("/v1/customers", json={**person, "consents": ["payments"]}).json()["id"]
    token = client.post("/v1/customers/login", json={"phone": phone, "password": PASSWORD}).json()["token"]
    return cid, {"Authorization": f"Bearer {token}"}


def staff(client, role: str) -> dict:  # type: ignore[no-untyped-def]
    made = client.post("/v1/staff", headers=ADMIN, json={"handle": role.replace("_", "-") + ".one", "role": role})
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


def test_who_may_read_a_profile(client, engine, clock) -> None:
    me, mine = customer(client, "531", "13812345678")
    other, theirs = customer(client, "246", "13998765432")
    shop = client.post("/v1/merchants", headers=ADMIN, json=MERCHANT).json()
    own = client.get(f"/v1/risk/profiles/{me}", headers=mine)
    assert own.status_code == 200, own.text
    body = own.json()
    assert body["customer_id"] == me and set(body["features"]) == set(F.FEATURES)
    assert body["features"]["payments_amount_30d"] == "0.00" and body["features"]["payments_count_30d"] == 0
    denied = client.get(f"/v1/risk/profiles/{me}", headers=theirs)
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    # a customer probing an unknown id learns nothing: 403 as for any other id
    assert client.get("/v1/risk/profiles/cus_nobody", headers=theirs).status_code == 403
    merchant = {"Authorization": f"Bearer {shop['api_key']}"}
    assert client.get(f"/v1/risk/profiles/{me}", headers=merchant).status_code == 403
    assert client.get(f"/v1/risk/profiles/{me}").status_code == 401
    for role in ("risk_officer", "regulator", "operator"):
        assert client.get(f"/v1/risk/profiles/{other}", headers=staff(client, role)).status_code == 200
    assert client.get(f"/v1/risk/profiles/{other}", headers=ADMIN).status_code == 200
    assert client.get("/v1/risk/features", headers=ADMIN).json()[0]["name"] == "tenure_days"
    assert client.get("/v1/risk/features", headers=mine).status_code == 403


def test_unknown_customer_and_malformed_as_of(client, engine, clock) -> None:
    me, mine = customer(client, "531", "13812345678")
    with reading(engine) as connection:
        events = connection.execute(select(func.count()).select_from(outbox)).scalar_one()
    missing = client.get("/v1/risk/profiles/cus_nobody", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_customer"
    before = (clock_module.now() - dt.timedelta(days=1)).isoformat()
    early = client.get(f"/v1/risk/profiles/{me}", headers=mine, params={"as_of": before})
    assert early.status_code == 404 and early.json()["code"] == "unknown_customer"  # not registered yet
    for bad in ("yesterday", "2026-01-05T10:00:00", "2026-13-01", "9" * 30, "-5", "2026-01-05T10:00:00+25:00"):
        answer = client.get(f"/v1/risk/profiles/{me}", headers=mine, params={"as_of": bad})
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["code"] == "malformed_as_of", answer.text
    with reading(engine) as connection:  # reading changed nothing
        assert connection.execute(select(func.count()).select_from(outbox)).scalar_one() == events
        assert connection.execute(select(func.count()).select_from(risk_profiles)).scalar_one() == 0


def test_as_of_forms(client, engine, clock) -> None:
    me, _ = customer(client, "531", "13812345678")
    clock.advance(dt.timedelta(days=3, hours=2))
    now = clock_module.now_micros()
    iso = client.get(f"/v1/risk/profiles/{me}", headers=ADMIN, params={"as_of": clock_module.now().isoformat()})
    micros = client.get(f"/v1/risk/profiles/{me}", headers=ADMIN, params={"as_of": str(now)})
    zulu = client.get(
        f"/v1/risk/profiles/{me}", headers=ADMIN, params={"as_of": clock_module.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    )
    assert iso.json() == micros.json() == zulu.json(), (iso.text, micros.text)
    assert iso.status_code == 200, iso.text
    assert (
        iso.json()["as_of"] == clock_module.iso(now)
        and "as_of_micros" not in iso.json()
        and iso.json()["features"]["tenure_days"] == 3
    )


def test_parse_as_of_dates_are_the_end_of_the_china_day() -> None:
    end = parse_as_of("2026-01-05")
    assert (
        clock_module.from_micros(end).astimezone(clock_module.CHINA).isoformat() == "2026-01-05T23:59:59.999999+08:00"
    )
    assert parse_as_of("2026-01-05T00:00:00+08:00") == parse_as_of("2026-01-04T16:00:00Z")
