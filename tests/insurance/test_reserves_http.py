"""Reserve reports over HTTP on SQLite and PostgreSQL: the regulator and operators read an insurer's
reserves, ratios and claims ageing for a date the reserve end of day ran; a customer may not; a
malformed or unknown date, an unknown run or a future date is a 4xx problem that changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from puhui.app import create_app
from puhui.db import transaction
from puhui.insurance.reserves import claims_source, service
from puhui.insurance.reserves.seed import seed_policies
from puhui.settings import Settings
from tests.identity.helpers import ADMIN_TOKEN, INDEX_KEY, JWT_SECRET, K1, ZHANG, login, make_staff, register
from tests.insurance.test_reserves import INSURER, assert_audit_clean, policy, transfer_count

D = dt.date


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret=JWT_SECRET,
        jwt_ttl_seconds=900,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def problem(answer, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code, answer.json()


def test_reports_for_readers_and_refusals(client, engine, clock):
    rows = [
        policy(INSURER, 36500, D(2026, 1, 1), D(2025, 12, 31)),
        policy(INSURER, 73000, D(2026, 1, 2), D(2026, 1, 1)),
    ]
    transaction(engine, lambda uow: seed_policies(uow.connection, rows))
    service.run_reserves(engine, D(2026, 1, 2))
    regulator, operator = make_staff(client, "regulator"), make_staff(client, "operator")
    query = {"insurer": INSURER, "business_date": "2026-01-02"}
    answer = client.get("/v1/insurance/reserves", params=query, headers=regulator)
    assert answer.status_code == 200, answer.text
    medical = {
        "policies": 2,
        "written": "1095.00",
        "refunded": "0.00",
        "earned": "4.00",  # 2 days of 1.00 and a day of 2.00
        "upr": "1091.00",
        "paid": "0.00",
        "case_reserve": "0.00",
        "ibnr": "0.00",
        "ibnr_bf": "0.00",
        "ibnr_method": "chain_ladder",
    }
    nothing = {name: "0.00" for name in medical if name not in ("policies", "ibnr_method")}
    assert answer.json() == {
        "insurer_id": INSURER,
        "business_date": "2026-01-02",
        **medical,  # the totals: no return-shipping cover sold
        "lines": [
            {"line": "medical", **medical},
            {"line": "return_shipping", "policies": 0, **nothing, "ibnr_method": "bornhuetter_ferguson"},
        ],
    }
    ratios = client.get("/v1/insurance/reports/ratios", params=query, headers=operator)
    assert ratios.status_code == 200, ratios.text
    assert ratios.json()["loss_ratio"] == "0.0000" and ratios.json()["combined_ratio"] == "0.1500"
    assert [(r["line"], r["loss_ratio"]) for r in ratios.json()["lines"]] == [
        ("medical", "0.0000"),
        ("return_shipping", None),
    ]
    ageing = client.get("/v1/insurance/reports/claims-ageing", params=query, headers=regulator)
    assert ageing.status_code == 200, ageing.text
    assert ageing.json()["claims_present"] is claims_source.claims_present()
    assert [b["bucket"] for b in ageing.json()["buckets"]] == ["0-30", "31-90", "91-180", ">180"]

    moved = transfer_count(engine)
    register(client, ZHANG)
    customer = login(client, ZHANG)
    problem(client.get("/v1/insurance/reserves", params=query, headers=customer), 403, "forbidden")
    problem(
        client.get("/v1/insurance/reserves", params={**query, "business_date": "2026-02-30"}, headers=regulator),
        422,
        "date_invalid",
    )
    problem(
        client.get("/v1/insurance/reserves", params={**query, "business_date": "2026-01-03"}, headers=regulator),
        404,
        "reserve_run_not_found",
    )
    problem(
        client.get("/v1/insurance/reserves", params={**query, "insurer": "ptn_nobody"}, headers=regulator),
        404,
        "reserve_run_not_found",
    )
    problem(
        client.get(
            "/v1/insurance/reports/claims-ageing", params={**query, "business_date": "2027-01-01"}, headers=regulator
        ),
        422,
        "business_date_in_future",
    )
    assert client.get("/v1/insurance/reserves", params={"insurer": INSURER}, headers=regulator).status_code == 422
    assert transfer_count(engine) == moved
    assert_audit_clean(engine)


REPORTS = ("/v1/insurance/reserves", "/v1/insurance/reports/ratios", "/v1/insurance/reports/claims-ageing")


def test_the_reports_take_business_date_and_date_as_its_deprecated_alias(client, engine, clock):
    """The reports took `date` and answered `date`; every end-of-day request and answer says `business_date`.
    They take it now and answer it; `date` is still accepted, its description naming it a deprecated alias (the
    document lists `business_date` alone, required); exactly one is sent, else 422 `invalid_request`."""
    from puhui.api.contract import spec

    transaction(
        engine, lambda uow: seed_policies(uow.connection, [policy(INSURER, 36500, D(2026, 1, 1), D(2026, 1, 1))])
    )
    service.run_reserves(engine, D(2026, 1, 2))
    regulator = make_staff(client, "regulator")
    moved = transfer_count(engine)
    for path in REPORTS:
        new = client.get(path, params={"insurer": INSURER, "business_date": "2026-01-02"}, headers=regulator)
        assert new.status_code == 200, (path, new.text)
        assert new.json()["business_date"] == "2026-01-02" and "date" not in new.json(), new.json()
        old = client.get(path, params={"insurer": INSURER, "date": "2026-01-02"}, headers=regulator)
        assert (old.status_code, old.json()) == (200, new.json()), (path, old.text)
        for params in (
            {"insurer": INSURER},
            {"insurer": INSURER, "business_date": "2026-01-02", "date": "2026-01-02"},
            {"insurer": INSURER, "business_date": "2026-01-02", "date": "2026-01-01"},
        ):
            refused = client.get(path, params=params, headers=regulator)
            problem(refused, 422, "invalid_request")
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert "business_date" in refused.json()["detail"], refused.json()
        for name in ("business_date", "date"):  # a bad date names the field it was sent in
            bad = client.get(path, params={"insurer": INSURER, name: "2026-02-30"}, headers=regulator)
            problem(bad, 422, "date_invalid")
            assert bad.json()["field"] == name, bad.json()
    assert transfer_count(engine) == moved

    document = spec()
    for path in REPORTS:
        parameters = {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}
        assert set(parameters) == {"insurer", "business_date"} and parameters["business_date"]["required"] is True
        assert (
            "`date`" in parameters["business_date"]["description"]
            and "deprecated alias" in (parameters["business_date"]["description"])
        )
    for name in ("Reserves", "Ratios", "ClaimsAgeing"):
        properties = document["components"]["schemas"][name]["properties"]
        assert "business_date" in properties and "date" not in properties, name
