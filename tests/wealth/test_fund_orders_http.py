"""Fund distribution over HTTP on SQLite and PostgreSQL: products and NAVs for any authenticated
caller, orders and holdings for the customer, staff loading NAV files and running the end of day;
bad input gets a clear 4xx problem and changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from puhui.app import create_app
from puhui.db import reading, transaction
from puhui.ledger.audit import audit
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers
from puhui.ledger.tables import accounts, transfers
from puhui.payments.reserve import reserve_coverage
from puhui.settings import Settings
from puhui.wealth.funds.tables import fund_navs, fund_orders, fund_products
from tests.identity.helpers import ADMIN_TOKEN, INDEX_KEY, JWT_SECRET, K1, login

from .mmf_world import at, over
from .test_suitability_http import C1_ANSWERS, C3_ANSWERS, answer, make_customer

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PRODUCT = {
    "code": "EQ0001",
    "name": "普惠成长混合",
    "risk": "R3",
    "redemption_days": 2,
    "fee_tiers": [{"min_amount": "1.00", "rate": "0.015"}, {"min_amount": "10000.00", "rate": "0.01"}],
    "redemption_fees": [{"under_days": 365, "rate": "0.005"}, {"rate": "0"}],
}
n = iter(range(10**6))


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret=JWT_SECRET,
        jwt_ttl_seconds=86_400,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def post(client, path: str, body: dict, headers: dict):  # type: ignore[no-untyped-def]
    return client.post(path, json=body, headers={**headers, "Idempotency-Key": f"k-{next(n)}"})


def investor(client, engine, i: int, answers: dict, fen: int) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    cid, headers, person = make_customer(client, i)
    assert answer(client, headers, answers, f"q-{i}").status_code in (200, 201)
    transaction(
        engine,
        lambda uow: create_transfers(
            uow, [Transfer(f"seed.{cid}", "platform.reserve_bank.CNY", f"wallet.{cid}", fen, "CNY", "top_up")]
        ),
    )
    return cid, person


def state(engine) -> tuple:  # type: ignore[no-untyped-def]
    with reading(engine) as c:
        return (
            c.execute(select(accounts).order_by(accounts.c.id)).all(),
            c.execute(select(func.count()).select_from(transfers)).scalar_one(),
            c.execute(select(fund_orders).order_by(fund_orders.c.id)).all(),
            c.execute(select(fund_navs).order_by(fund_navs.c.fund_code, fund_navs.c.nav_date)).all(),
            c.execute(select(fund_products).order_by(fund_products.c.code)).all(),
        )


def test_fund_distribution_over_http(client, engine, clock):
    clock.set(at("2026-03-02", "10:00"))  # Monday
    assert post(client, "/v1/wealth/fund-products", PRODUCT, ADMIN).status_code == 201
    closed = {**PRODUCT, "code": "EQ0002", "status": "closed"}
    assert post(client, "/v1/wealth/fund-products", closed, ADMIN).status_code == 201
    me, bold = investor(client, engine, 1, C3_ANSWERS, 2_000_000)
    cautious, careful = investor(client, engine, 2, C1_ANSWERS, 2_000_000)
    headers, c1 = login(client, bold), login(client, careful)
    assert post(client, "/v1/wealth/fund-products", PRODUCT, headers).status_code == 403  # staff only
    nav_file = {"csv": "date,fund_code,nav\n2026-03-02,EQ0001,1.2345\n2026-03-03,EQ0001,1.2400\n"}
    assert post(client, "/v1/wealth/navs", nav_file, ADMIN).json() == {"recorded": 2, "unchanged": 0}

    bought = post(client, "/v1/wealth/fund-products/EQ0001/purchases", {"amount": "10000.00"}, headers)
    assert bought.status_code == 201, bought.text
    assert (bought.json()["fee"], bought.json()["trade_date"], bought.json()["confirm_date"]) == (
        "99.01",
        "2026-03-02",
        "2026-03-03",
    )
    clock.set(over("2026-03-03"))  # Tuesday is over: its end of day runs
    headers, c1 = login(client, bold), login(client, careful)  # a new day: new sessions
    ran = post(client, "/v1/wealth/funds-eod", {"business_date": "2026-03-03"}, ADMIN)
    assert ran.status_code == 200 and ran.json()["purchases_confirmed"] == 1
    # 10,000.00 / 1.01 = 9,900.99 net; / 1.2345 = 8,020.24 units; at the latest NAV 1.2400: 9,945.10
    got = client.get("/v1/wealth/fund-holdings", headers=headers)
    assert got.status_code == 200, got.text
    [holding] = got.json()
    assert (holding["units"], holding["nav"], holding["market_value"]) == ("8020.24", "1.2400", "9945.10")
    products = client.get("/v1/wealth/fund-products", headers=c1).json()
    assert [p["code"] for p in products] == ["EQ0001", "EQ0002"] and products[0]["risk"] == "R3"
    assert [r["nav"] for r in client.get("/v1/wealth/fund-products/EQ0001/navs", headers=c1).json()] == [
        "1.2400",
        "1.2345",
    ]

    before = state(engine)
    refusals = [
        (
            post(client, "/v1/wealth/fund-products/EQ0001/purchases", {"amount": "100.00"}, c1),
            403,
            "unsuitable_product",
        ),
        (
            post(client, "/v1/wealth/fund-products/EQ0001/redemptions", {"units": "8020.25"}, headers),
            409,
            "insufficient_units",
        ),
        (post(client, "/v1/wealth/fund-products/EQ0002/purchases", {"amount": "100.00"}, headers), 409, "fund_closed"),
        (post(client, "/v1/wealth/fund-products/NOPE/purchases", {"amount": "100.00"}, headers), 404, "fund_not_found"),
        (
            post(
                client,
                "/v1/wealth/navs",
                {"csv": "date,fund_code,nav\n2026-03-04,EQ0001,1.3\n2026-03-05,EQ0001,-1.3000\n"},
                ADMIN,
            ),
            422,
            "invalid_nav_file",
        ),
        (
            post(client, "/v1/wealth/navs", {"csv": "date,fund_code,nav\n2026-03-04,ZZ9,1.3000\n"}, ADMIN),
            422,
            "invalid_nav_file",
        ),
        (post(client, "/v1/wealth/fund-products/EQ0001/purchases", {"amount": "-5.00"}, headers), 422, None),
        (post(client, "/v1/wealth/fund-products/EQ0001/purchases", {"amount": "0.50"}, headers), 422, None),
    ]
    for response, status, code in refusals:
        assert response.status_code == status, response.text
        if code:
            assert response.json()["code"] == code
    assert "R3" in refusals[0][0].json()["detail"]
    too_small = refusals[-1][0].json()  # the least the product takes, said: its lowest fee tier's
    assert (too_small["code"], too_small["minimum"]) == ("invalid_fund_order", "1.00") and "1.00 CNY" in too_small[
        "detail"
    ]
    assert state(engine) == before

    clock.set(at("2026-03-04", "10:00"))
    headers, c1 = login(client, bold), login(client, careful)
    sold = post(client, "/v1/wealth/fund-products/EQ0001/redemptions", {"units": "1000.00"}, headers)
    assert sold.status_code == 201 and sold.json()["cash_date"] == "2026-03-06"
    assert (
        post(client, "/v1/wealth/navs", {"csv": "date,fund_code,nav\n2026-03-04,EQ0001,1.3000\n"}, ADMIN).status_code
        == 200
    )
    for day in ("2026-03-04", "2026-03-05", "2026-03-06"):
        clock.set(over(day))
        assert post(client, "/v1/wealth/funds-eod", {"business_date": day}, ADMIN).status_code == 200
    again = post(client, "/v1/wealth/funds-eod", {"business_date": "2026-03-06"}, ADMIN)
    assert again.json()["already_done"] is True
    headers, c1 = login(client, bold), login(client, careful)
    orders = client.get("/v1/wealth/fund-orders", headers=headers).json()
    # 1,000.00 units held 1 day × 1.3000 = 1,300.00; under 7 days 1.5% = 19.50 to the fund → 1,280.50
    assert (orders[0]["status"], orders[0]["amount"], orders[0]["fee"], orders[0]["fee_to_fund"]) == (
        "settled",
        "1280.50",
        "19.50",
        "19.50",
    )
    assert client.get("/v1/wealth/fund-orders", headers=c1).json() == []  # only one's own
    with reading(engine) as connection:
        assert audit(connection).ok and reserve_coverage(connection).covered
    assert me != cautious
