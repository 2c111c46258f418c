"""Lenders' related parties (关联方) over HTTP: registered, listed, refused when duplicate or malformed
(changing nothing), only by risk officers and admin, removed; and the monitor sees a party registered
between two of its batches."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from puhui.regtech.monitor import Monitor
from puhui.regtech.rules import DEFAULT_RULES
from puhui.regtech.tables import related_parties
from tests.identity.helpers import ADMIN, ZHANG, login, make_staff, register
from tests.regtech.streams import Stream, alerts_of, app_client

URL = "/v1/regtech/related-parties"
AFFILIATE = {"lender": "platform", "party": "cus_aff", "relation": "shareholder"}


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    with app_client(engine) as test_client:
        yield test_client


def _post(client, body, headers, key: str):  # type: ignore[no-untyped-def]
    return client.post(URL, json=body, headers={**headers, "Idempotency-Key": key})


def _stored(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(related_parties)).scalar_one()


def test_register_list_and_refuse_a_duplicate(client, engine) -> None:  # type: ignore[no-untyped-def]
    officer = make_staff(client, "risk_officer")
    created = _post(client, AFFILIATE, officer, "rp1")
    assert created.status_code == 201, created.text
    assert created.json() == AFFILIATE
    partner = _post(client, {"lender": "ptn_1", "party": "cus_aff"}, ADMIN, "rp2")
    assert partner.status_code == 201 and partner.json()["relation"] == "affiliate"

    listed = client.get(URL, headers=officer).json()["related_parties"]
    assert [(r["lender"], r["party"], r["relation"]) for r in listed] == [
        ("platform", "cus_aff", "shareholder"),
        ("ptn_1", "cus_aff", "affiliate"),
    ]
    assert listed[0]["created_by"] != listed[1]["created_by"]  # who registered each
    only = client.get(URL, params={"lender": "ptn_1"}, headers=make_staff(client, "regulator")).json()
    assert [r["lender"] for r in only["related_parties"]] == ["ptn_1"]

    again = _post(client, {**AFFILIATE, "relation": "staff"}, officer, "rp3")
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "related_party_exists"
    assert _stored(engine) == 2
    assert client.get(URL, headers=officer).json()["related_parties"][0]["relation"] == "shareholder"


@pytest.mark.parametrize(
    "body",
    [
        {**AFFILIATE, "colour": "red"},
        {"lender": "platform", "party": ""},
        {"lender": "platform", "party": "platform"},
        {"lender": "platform"},
        {"lender": "platform", "party": "cus aff"},
        {"lender": "platform", "party": "x" * 65},
        {"lender": "platform", "party": "cus_aff", "relation": ""},
        ["platform", "cus_aff"],
    ],
)
def test_bad_bodies_are_422_and_store_nothing(client, engine, body) -> None:  # type: ignore[no-untyped-def]
    response = _post(client, body, make_staff(client, "risk_officer"), "bad1")
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "related_party_invalid"
    assert _stored(engine) == 0
    assert client.get(URL, headers=ADMIN).json()["related_parties"] == []


def test_only_officers_and_admin_register_or_remove(client, engine) -> None:  # type: ignore[no-untyped-def]
    register(client, ZHANG)
    customer = login(client, ZHANG)
    assert _post(client, AFFILIATE, make_staff(client, "regulator"), "r1").status_code == 403
    assert _post(client, AFFILIATE, customer, "r2").status_code == 403
    assert _post(client, AFFILIATE, {}, "r3").status_code == 401
    assert client.get(URL, headers=customer).status_code == 403
    assert _stored(engine) == 0
    assert _post(client, AFFILIATE, ADMIN, "r4").status_code == 201
    gone = client.delete(f"{URL}/platform/cus_aff", headers={**customer, "Idempotency-Key": "d1"})
    assert gone.status_code == 403 and _stored(engine) == 1


def test_remove_then_not_found(client, engine) -> None:  # type: ignore[no-untyped-def]
    officer = make_staff(client, "risk_officer")
    assert _post(client, AFFILIATE, officer, "a1").status_code == 201
    removed = client.delete(f"{URL}/platform/cus_aff", headers={**officer, "Idempotency-Key": "d1"})
    assert removed.status_code == 200, removed.text
    assert removed.json() == {"lender": "platform", "party": "cus_aff", "removed": True}
    assert _stored(engine) == 0
    replay = client.delete(f"{URL}/platform/cus_aff", headers={**officer, "Idempotency-Key": "d1"})
    assert replay.status_code == 200  # the same key: the stored answer, not a second removal
    missing = client.delete(f"{URL}/platform/cus_aff", headers={**officer, "Idempotency-Key": "d2"})
    assert missing.status_code == 404, missing.text
    assert missing.json()["code"] == "related_party_not_found"


def _self_financing(engine) -> list[dict]:  # type: ignore[no-untyped-def]
    return [a for a in alerts_of(engine) if a["typology"] == "self_financing"]


@pytest.mark.parametrize("fixed_rules", [False, True], ids=["stored_rules", "fixed_rules"])
def test_monitor_sees_a_party_registered_between_batches(client, engine, clock, fixed_rules) -> None:  # type: ignore[no-untyped-def]
    s = Stream(engine, clock)
    monitor = Monitor(engine, rules=list(DEFAULT_RULES) if fixed_rules else None)
    s.at_china(0, 10)
    s.loan("cus_m1", "20000.00")
    s.later(hours=1)
    s.p2p("cus_m1", "cus_aff", "12000.37")  # 60% of the loan, to someone not (yet) related
    assert monitor.run()[0] > 0
    assert _self_financing(engine) == []

    assert _post(client, AFFILIATE, make_staff(client, "risk_officer"), "a1").status_code == 201
    s.later(hours=1)
    s.p2p("cus_m1", "cus_m9", "100.19")  # any flow of the borrower's: the payment to the party is re-read
    s.p2p("cus_m1", "cus_aff", "100.23")
    monitor.run()
    [alert] = _self_financing(engine)
    assert alert["party"] == "cus_m1"
