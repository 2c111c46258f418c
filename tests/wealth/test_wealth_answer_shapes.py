"""The wealth API's answers match the shapes /openapi.json publishes for them (issue 13, typed responses), on
SQLite and PostgreSQL: distributed funds (products, NAVs, orders, holdings, NAV files, end of day), the
money-market fund's statement, figures and end of day, and the questionnaire, suitability and robo-advisor
(advice, invest, rebalance). Each answer is checked against its operation's declared schema, which must name
a model (a `$ref`), not an untyped object a generated client would see as `Any`."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from puhui.app import create_app
from puhui.settings import Settings
from puhui.wealth.calendar import is_trading_day
from tests.identity.helpers import ADMIN_TOKEN, INDEX_KEY, JWT_SECRET, K1, login

from .mmf_world import at, over
from .test_fund_orders_http import PRODUCT, investor, post
from .test_suitability_http import C3_ANSWERS, answer

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
BOND = {
    "code": "BD0001",
    "name": "普惠稳健债券",
    "risk": "R2",
    "redemption_days": 1,
    "fee_tiers": [{"min_amount": "0.00", "rate": "0.0000001"}, {"min_amount": "5000.00", "fixed": "5.00"}],
    "redemption_fees": [{"under_days": 7, "rate": "0.015", "to_fund_share": "1"}, {"rate": "-0"}],
}


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


class Spec:
    """The app's published spec: checks an answer against the schema its operation declares for its status."""

    def __init__(self, client: TestClient) -> None:
        self.document = client.get("/openapi.json").json()
        self.checked: set[str] = set()

    def check(self, method: str, path: str, response) -> dict:  # type: ignore[no-untyped-def]
        assert response.status_code < 300, response.text
        declared = self.document["paths"][path][method]["responses"][str(response.status_code)]
        schema = declared["content"]["application/json"]["schema"]
        assert "$ref" in schema or "$ref" in schema.get("items", {}), f"{method} {path}: {schema} names no model"
        validator = Draft202012Validator(
            {**schema, "components": self.document["components"]}, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(response.json())]
        assert not errors, f"{method} {path}: {errors}"
        self.checked.add(f"{method} {path}")
        return response.json()


def nav_file(codes: list[str], days: int) -> str:
    """NAVs on the trading days of the `days` calendar days up to 2026-03-03 for each fund (funds are valued on
    trading days only), a seeded random walk in 1/10000 yuan."""
    walk, lines = random.Random(13), ["date,fund_code,nav"]
    for code in codes:
        nav = 10_000
        for day in range(days, -1, -1):
            nav = max(5_000, nav + walk.randint(-60, 80))
            date = dt.date(2026, 3, 3) - dt.timedelta(days=day)
            if not is_trading_day(date):
                continue
            lines.append(f"{date.isoformat()},{code},{nav // 10_000}.{nav % 10_000:04d}")
    return "\n".join(lines) + "\n"


def test_fund_and_advice_answers_match_their_published_shapes(client, engine, clock):  # type: ignore[no-untyped-def]
    spec = Spec(client)
    clock.set(at("2026-03-02", "10:00"))  # Monday
    equity = spec.check("post", "/v1/wealth/fund-products", post(client, "/v1/wealth/fund-products", PRODUCT, ADMIN))
    bond = spec.check("post", "/v1/wealth/fund-products", post(client, "/v1/wealth/fund-products", BOND, ADMIN))
    assert (equity["nav"], bond["fee_tiers"][1]["fixed"]) == (None, "5.00")
    assert bond["fee_tiers"][0]["rate"] == "0.0000001"  # plain digits, as written (stored as Decimal's "1E-7")
    assert bond["redemption_fees"][1]["rate"] == "0"  # sent as "-0", stored so, answered "0"
    listed = client.get("/v1/wealth/fund-products", headers=ADMIN).json()
    assert [p["fee_tiers"][0]["rate"] for p in listed] == ["0.0000001", "0.015"]
    navs_sent = nav_file(["BD0001", "EQ0001"], 90)
    loaded = post(client, "/v1/wealth/navs", {"csv": navs_sent}, ADMIN)
    assert spec.check("post", "/v1/wealth/navs", loaded) == {"recorded": navs_sent.count("\n") - 1, "unchanged": 0}
    spec.check("get", "/v1/wealth/fund-products", client.get("/v1/wealth/fund-products", headers=ADMIN))
    spec.check("get", "/v1/wealth/fund-products/{code}", client.get("/v1/wealth/fund-products/BD0001", headers=ADMIN))
    navs = client.get("/v1/wealth/fund-products/EQ0001/navs?limit=5", headers=ADMIN)
    assert len(spec.check("get", "/v1/wealth/fund-products/{code}/navs", navs)) == 5

    customer_id, person = investor(client, engine, 41, C3_ANSWERS, 3_000_000)
    me = login(client, person)
    spec.check("get", "/v1/wealth/questionnaire", client.get("/v1/wealth/questionnaire", headers=me))
    assessed = spec.check("post", "/v1/wealth/questionnaire/answers", answer(client, me, C3_ANSWERS, "again"))
    assert (assessed["customer_id"], assessed["level"]) == (customer_id, "C3")
    suitability = client.get(f"/v1/wealth/suitability/{customer_id}", headers=me)
    assert spec.check("get", "/v1/wealth/suitability/{customer_id}", suitability)["max_product_risk"] == "R3"
    target = spec.check("post", "/v1/wealth/advice", client.post("/v1/wealth/advice", headers=me, json={}))
    assert sorted(target["weights"]) == ["BD0001", "EQ0001"]
    invested = post(client, "/v1/wealth/advice/invest", {"amount": "10000.00"}, me)
    orders = spec.check("post", "/v1/wealth/advice/invest", invested)["orders"]
    assert sorted(o["fund_code"] for o in orders) == ["BD0001", "EQ0001"]

    clock.set(over("2026-03-03"))  # Tuesday is over: its end of day runs
    ran = post(client, "/v1/wealth/funds-eod", {"business_date": "2026-03-03"}, ADMIN)
    assert spec.check("post", "/v1/wealth/funds-eod", ran)["purchases_confirmed"] == 2
    me = login(client, person)
    holdings = spec.check("get", "/v1/wealth/fund-holdings", client.get("/v1/wealth/fund-holdings", headers=me))
    assert all(h["market_value"] is not None for h in holdings)
    rebalanced = post(client, "/v1/wealth/advice/rebalance", {"threshold": 0.0001}, me)
    assert spec.check("post", "/v1/wealth/advice/rebalance", rebalanced)["orders"]  # drifted by the fees
    sold = post(client, "/v1/wealth/fund-products/EQ0001/redemptions", {"units": "1.00"}, me)
    spec.check("post", "/v1/wealth/fund-products/{code}/redemptions", sold)
    bought = post(client, "/v1/wealth/fund-products/BD0001/purchases", {"amount": "6000.00"}, me)
    assert spec.check("post", "/v1/wealth/fund-products/{code}/purchases", bought)["fee"] == "5.00"
    assert len(spec.check("get", "/v1/wealth/fund-orders", client.get("/v1/wealth/fund-orders", headers=me))) > 3
    closed = post(client, "/v1/wealth/fund-products/BD0001/status", {"status": "closed"}, ADMIN)
    assert spec.check("post", "/v1/wealth/fund-products/{code}/status", closed)["status"] == "closed"
    assert len(spec.checked) == 17


def test_money_market_answers_match_their_published_shapes(client, engine, clock):  # type: ignore[no-untyped-def]
    spec = Spec(client)
    clock.set(at("2026-01-05", "10:00"))  # Monday
    _, person = investor(client, engine, 42, C3_ANSWERS, 3_000_000)
    me = login(client, person)
    bought = post(client, "/v1/wealth/funds/PH0001/subscriptions", {"amount": "10000.00"}, me)
    assert bought.status_code == 201, bought.text
    figures = {"csv": "fund_code,date,income_per_10k\nPH0001,2026-01-05,0\nPH0001,2026-01-06,0.4567\n"}
    loaded = post(client, "/v1/wealth/figures", figures, ADMIN)
    assert spec.check("post", "/v1/wealth/figures", loaded) == {"loaded": 2}
    runs = {}
    for day in ("2026-01-05", "2026-01-06"):
        clock.set(over(day))
        runs[day] = spec.check("post", "/v1/wealth/eod", post(client, "/v1/wealth/eod", {"business_date": day}, ADMIN))[
            "runs"
        ]
    [zero], [paid] = runs["2026-01-05"], runs["2026-01-06"]
    assert (zero["income_per_10k"], zero["units"], zero["distributed"]) == ("0.0000", "0.00", "0.00")
    assert (paid["income_per_10k"], paid["units"], paid["paid"]) == ("0.4567", "10000.00", "0.45")

    clock.set(at("2026-01-07", "10:00"))
    me = login(client, person)
    fast = post(client, "/v1/wealth/funds/PH0001/redemptions", {"units": "3000.00", "fast": True}, me)
    assert fast.status_code == 201, fast.text
    statement = client.get("/v1/wealth/funds/PH0001/statement?from=2026-01-01&to=2026-01-31", headers=me)
    shown = spec.check("get", "/v1/wealth/funds/{code}/statement", statement)
    assert [(line["kind"], line["units"]) for line in shown["lines"]] == [
        ("subscription_confirmed", "10000.00"),
        ("income", "0.45"),
        ("redemption", "-3000.00"),
    ]
    assert (shown["from"], shown["closing_units"]) == ("2026-01-01", "7000.45")
    [holding] = spec.check("get", "/v1/wealth/holdings", client.get("/v1/wealth/holdings", headers=me))
    assert holding["units"] == "7000.45"
