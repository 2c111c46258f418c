"""The reserve reports over HTTP with return-shipping cover sold and claimed through the API, on SQLite and
PostgreSQL: after the reserve end of day the regulator reads each line of business and the totals, figures
by hand; a malformed date or a date not run is a problem that changes nothing; the ledger audit passes."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from puhui import clock as clock_module
from puhui.app import create_app
from puhui.insurance.reserves import service
from puhui.settings import Settings
from tests.identity.helpers import ADMIN_TOKEN, INDEX_KEY, JWT_SECRET, K1, make_staff
from tests.insurance.test_reserves import assert_audit_clean, over, transfer_count
from tests.insurance.test_return_shipping_http import (  # noqa: F401 - client: the fixture
    checkout,
    client,
    customer,
    fund,
    insurer_with_product,
    merchant,
    post,
    problem,
    qr,
)

D = dt.date
ZERO = {
    "policies": 0,
    "written": "0.00",
    "refunded": "0.00",
    "earned": "0.00",
    "upr": "0.00",
    "paid": "0.00",
    "case_reserve": "0.00",
    "ibnr": "0.00",
    "ibnr_bf": "0.00",
}


def test_the_reports_show_the_return_shipping_line_beside_medical(client, engine, clock):
    insurer_id = insurer_with_product(client, engine)
    fund(engine, f"insurer.{insurer_id}.premium_held", 100_00, "insurer-float")
    _, me = customer(client, engine, "13800000001", "531", 1000_00)
    merchant_id, shop = merchant(client)
    first = checkout(client, me, qr(client, merchant_id, shop, "100.00"), "co-1").json()["policy"]
    second = checkout(client, me, qr(client, merchant_id, shop, "50.00"), "co-2").json()["policy"]
    assert (first["premium"], second["premium"], second["return_probability"]) == ("1.72", "1.56", "0.090703")
    returned = post(client, f"/v1/insurance/return-shipping/policies/{first['id']}/return", shop, "ret-1")
    assert returned.status_code == 200, returned.text
    day = clock_module.business_date()  # the day of the orders and the return
    over(clock, day)
    service.run_reserves(engine, day)

    regulator = make_staff(client, "regulator")
    query = {"insurer": insurer_id, "business_date": day.isoformat()}
    answer = client.get("/v1/insurance/reserves", params=query, headers=regulator)
    assert answer.status_code == 200, answer.text
    # the claimed cover is all earned (1.72); the other earns 1/15 of 1.56 on its first day (0.10);
    # IBNR (BF, one month of history): 0.090703 × 12.00 × 10/156 = 0.0698 → 0.07
    return_shipping = {
        "policies": 2,
        "written": "3.28",
        "refunded": "0.00",
        "earned": "1.82",
        "upr": "1.46",
        "paid": "12.00",
        "case_reserve": "0.00",
        "ibnr": "0.07",
        "ibnr_bf": "0.07",
        "ibnr_method": "bornhuetter_ferguson",
    }
    assert answer.json() == {
        "insurer_id": insurer_id,
        "business_date": day.isoformat(),
        **return_shipping,
        "lines": [
            {"line": "medical", **ZERO, "ibnr_method": "chain_ladder"},
            {"line": "return_shipping", **return_shipping},
        ],
    }
    ratios = client.get("/v1/insurance/reports/ratios", params=query, headers=make_staff(client, "operator", "op.2"))
    assert ratios.status_code == 200, ratios.text
    # (12.00 + 0.07) ÷ 1.82 = 6.6319; the combined ratio adds 0.10 commission and 0.05 expenses
    line = {"earned": "1.82", "incurred": "12.07", "loss_ratio": "6.6319", "combined_ratio": "6.7819"}
    assert ratios.json() == {
        "insurer_id": insurer_id,
        "business_date": day.isoformat(),
        **line,
        "commission_ratio": "0.10",
        "expense_ratio": "0.05",
        "lines": [
            {"line": "medical", "earned": "0.00", "incurred": "0.00", "loss_ratio": None, "combined_ratio": None},
            {"line": "return_shipping", **line},
        ],
    }

    moved = transfer_count(engine)
    for path in ("/v1/insurance/reserves", "/v1/insurance/reports/ratios"):
        problem(
            client.get(path, params={**query, "business_date": "2026-02-30"}, headers=regulator), 422, "date_invalid"
        )
        later = (day + dt.timedelta(days=1)).isoformat()
        problem(
            client.get(path, params={**query, "business_date": later}, headers=regulator), 404, "reserve_run_not_found"
        )
    assert transfer_count(engine) == moved
    assert_audit_clean(engine)
