"""The money-market wallet over HTTP on SQLite and PostgreSQL: funds, subscribe, end of day, holdings,
yields, statement, redemptions, paying a merchant from the fund, and clear 4xx problems that change nothing."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from stdnum.cn import ric

from puhui.app import create_app
from puhui.db import reading, transaction
from puhui.ledger.audit import audit
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers
from puhui.ledger.tables import accounts, transfers
from puhui.settings import Settings
from puhui.wealth.mmf.tables import mmf_daily, mmf_orders

from .mmf_world import at, over

ADMIN = {"Authorization": "Bearer test-admin-token"}
K1 = base64.urlsafe_b64encode(b"1" * 32).decode()
INDEX_KEY = base64.urlsafe_b64encode(b"i" * 32).decode()
CHANNELS = ("public_security", "bank_card", "face", "mobile_operator", "tax")
HEADER = "fund_code,date,income_per_10k\n"
MERCHANT = {
    "name": "兰州拉面馆",
    "credit_code": "91110000600037341L",
    "settlement_account": "110060774018010012345",
    "settlement_holder": "马晓明",
    "settlement_bank": "交通银行北京分行",
}


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    settings = Settings(
        admin_token="test-admin-token",
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret="j" * 48,
        jwt_ttl_seconds=3600,
        merchant_fee_bp=60,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def _customer(client, engine, n: int, channels: int, fen: int) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    body = "110105199003" + f"{n + 10:02d}" + f"{n + 500:03d}"
    person = {
        "name": "张三丰",
        "id_number": body + ric.calc_check_digit(body + "0"),
        "phone": f"1381234{n:04d}",
        "password": "correct horse battery",
    }
    cid = client.post("/v1/customers", json={**person, "consents": ["payments"]}).json()["id"]
    for channel in CHANNELS[:channels]:
        assert (
            client.post(
                f"/v1/customers/{cid}/verifications",
                headers=ADMIN,
                json={"channel": channel, "reference": f"R-{cid}-{channel}"},
            ).status_code
            == 201
        )
    assert client.post(f"/v1/customers/{cid}/tier", headers=ADMIN, json={"reason": "ok"}).status_code == 200
    transaction(
        engine,
        lambda uow: create_transfers(
            uow, [Transfer(f"seed.{cid}", "platform.reserve_bank.CNY", f"wallet.{cid}", fen, "CNY", "top_up")]
        ),
    )
    return cid, _login(client, person["phone"])


def _login(client, phone: str) -> dict:  # type: ignore[no-untyped-def]
    token = client.post("/v1/customers/login", json={"phone": phone, "password": "correct horse battery"})
    return {"Authorization": f"Bearer {token.json()['token']}"}


def _state(engine) -> tuple:  # type: ignore[no-untyped-def]
    with reading(engine) as c:
        return (
            c.execute(select(accounts).order_by(accounts.c.id)).all(),
            c.execute(select(func.count()).select_from(transfers)).scalar_one(),
            c.execute(select(mmf_orders).order_by(mmf_orders.c.id)).all(),
            c.execute(select(mmf_daily).order_by(mmf_daily.c.business_date)).all(),
        )


def test_money_market_wallet_over_http(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    _, me = _customer(client, engine, 1, 5, 3_000_000)
    _, tier_one = _customer(client, engine, 2, 1, 100_000)
    funds = client.get("/v1/wealth/funds", headers=me).json()
    assert [f["code"] for f in funds] == ["PH0001"] and funds[0]["nav"] == "1.00"
    key = {**me, "Idempotency-Key": "sub-1"}
    first = client.post("/v1/wealth/funds/PH0001/subscriptions", headers=key, json={"amount": "10000.00"})
    assert first.status_code == 201, first.text
    assert (first.json()["status"], first.json()["due_date"]) == ("pending", "2026-01-06")
    again = client.post("/v1/wealth/funds/PH0001/subscriptions", headers=key, json={"amount": "10000.00"})
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"

    before = _state(engine)
    refusals = [
        (
            client.post("/v1/wealth/funds/PH0001/subscriptions", headers=tier_one, json={"amount": "10.00"}),
            403,
            "wallet_class_too_low",
        ),
        (
            client.post("/v1/wealth/funds/NOPE/subscriptions", headers=me, json={"amount": "10.00"}),
            404,
            "fund_not_found",
        ),
        (client.post("/v1/wealth/funds/PH0001/subscriptions", headers=me, json={"amount": "-5"}), 422, None),
        (client.post("/v1/wealth/funds/PH0001/subscriptions", headers=me, json={"amount": "1.001"}), 422, None),
        (
            client.post("/v1/wealth/funds/PH0001/redemptions", headers=me, json={"units": "0.01"}),
            409,
            "insufficient_units",
        ),
        (client.post("/v1/wealth/eod", headers=me, json={"business_date": "2026-01-05"}), 403, None),
        (client.post("/v1/wealth/eod", headers=ADMIN, json={"business_date": "2026-02-01"}), 422, None),
        (
            client.post(
                "/v1/wealth/figures",
                headers=ADMIN,
                json={"csv": HEADER + "PH0001,2026-01-04,0.5\nPH0001,2026-01-03,-0.0001\n"},
            ),
            422,
            "invalid_fund_figures",
        ),
        (
            client.post("/v1/wealth/figures", headers=ADMIN, json={"csv": HEADER + "ZZ01,2026-01-04,0.5\n"}),
            422,
            "invalid_fund_figures",
        ),
        (client.post("/v1/wealth/figures", headers=me, json={"csv": HEADER + "PH0001,2026-01-04,0.5\n"}), 403, None),
    ]
    for answer, status, code in refusals:
        assert answer.status_code == status, answer.text
        if code:
            assert answer.json()["code"] == code
    assert _state(engine) == before

    loaded = client.post("/v1/wealth/figures", headers=ADMIN, json={"csv": HEADER + "PH0001,2026-01-05,0.4567\n"})
    assert loaded.status_code == 200 and loaded.json() == {"loaded": 1}
    for day in ("2026-01-05", "2026-01-06"):
        clock.set(over(day))  # its end of day runs once the day is over
        run = client.post(
            "/v1/wealth/eod", headers={**ADMIN, "Idempotency-Key": f"eod-{day}"}, json={"business_date": day}
        )
        assert run.status_code == 200, run.text
    [paid] = run.json()["runs"]  # units and income on the wire as decimal strings, like every amount
    assert Decimal(paid["paid"]) + Decimal(paid["residue"]) == Decimal(paid["distributed"]) > 0
    assert paid["units"] == "10000.00"
    me = _login(client, "13812340001")  # the clock moved past the session's lifetime
    holdings = client.get("/v1/wealth/holdings", headers=me).json()
    assert isinstance(holdings, list), holdings
    [holding] = holdings
    income = holding["last_income"]
    assert holding["last_income_date"] == "2026-01-06" and holding["total_income"] == income
    assert Decimal(holding["units"]) == 10000 + Decimal(income)
    yields = client.get("/v1/wealth/funds/PH0001/yields", headers=me).json()
    assert [y["date"] for y in yields] == ["2026-01-06", "2026-01-05"] and yields[0]["seven_day_yield"] is None
    assert yields[1]["income_per_10k"] == "0.4567"  # the loaded figure, not the simulator's
    stmt = client.get("/v1/wealth/funds/PH0001/statement?from=2026-01-01&to=2026-01-31", headers=me).json()
    assert [line["kind"] for line in stmt["lines"]] == ["subscription_confirmed", "income"]
    assert stmt["closing_units"] == holding["units"] and stmt["income"] == income
    compact = client.get("/v1/wealth/funds/PH0001/statement?from=20260101&to=2026-01-31", headers=me)
    assert (compact.status_code, compact.json()["code"]) == (422, "date_invalid")  # YYYY-MM-DD only

    clock.set(at("2026-01-07", "10:00"))
    me = _login(client, "13812340001")
    fast = client.post("/v1/wealth/funds/PH0001/redemptions", headers=me, json={"units": "3000.00", "fast": True})
    assert fast.status_code == 201 and fast.json()["status"] == "settled"
    beyond_cap = client.post("/v1/wealth/funds/PH0001/redemptions", headers=me, json={"units": "7000.01", "fast": True})
    assert beyond_cap.status_code == 409 and beyond_cap.json()["code"] == "fast_redemption_cap_exceeded"
    assert beyond_cap.json()["remaining_today"] == "7000.00" and "7000.00 is left today" in beyond_cap.json()["detail"]
    merchant = client.post("/v1/merchants", headers=ADMIN, json=MERCHANT).json()
    qr = client.post(
        f"/v1/merchants/{merchant['id']}/qr-codes",
        json={"kind": "static"},
        headers={"Authorization": f"Bearer {merchant['api_key']}"},
    ).json()
    paid = client.post(
        "/v1/wealth/funds/PH0001/payments",
        headers=me,
        json={
            "qr_code_id": qr["id"],
            "amount": "25.50",
            "verification": "two_factors",
            "password": "correct horse battery",
        },
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["payment"]["amount"] == "25.50" and paid.json()["order"]["kind"] == "fast_redeem"
    orders = client.get("/v1/wealth/orders", headers=me).json()
    assert sorted(o["kind"] for o in orders) == ["fast_redeem", "fast_redeem", "subscribe"]
    wallet = client.get("/v1/wallets/me", headers=me).json()
    swept = client.post("/v1/wealth/funds/PH0001/sweep", headers=me, json={"keep": "100.00"})
    assert swept.status_code == 201, swept.text
    assert Decimal(swept.json()["order"]["amount"]) == Decimal(wallet["available"]) - 100
    idle = client.post("/v1/wealth/funds/PH0001/sweep", headers=me, json={"keep": "100.00"})
    assert idle.status_code == 200 and idle.json() == {"order": None}
    with reading(engine) as c:
        assert audit(c).ok


def test_a_late_end_of_day_dates_the_statement_by_business_date(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    """End of day for 01-05 and 01-06 run together on 01-08 (caught up): the confirmation was dated 01-08
    and listed before the income it earned, and a statement of 01-05..01-06 showed income on zero units."""
    _, me = _customer(client, engine, 3, 5, 3_000_000)
    assert client.post("/v1/wealth/funds/PH0001/subscriptions", headers=me, json={"amount": "5000.00"}).status_code in (
        200,
        201,
    )
    clock.set(at("2026-01-08", "10:00"))
    run = client.post(
        "/v1/wealth/eod", headers={**ADMIN, "Idempotency-Key": "late"}, json={"business_date": "2026-01-06"}
    )
    assert run.status_code == 200, run.text
    me = _login(client, "13812340003")
    whole = client.get("/v1/wealth/funds/PH0001/statement?from=2026-01-01&to=2026-01-31", headers=me).json()
    kinds = [(line["date"], line["kind"]) for line in whole["lines"]]
    assert kinds[0] == ("2026-01-06", "subscription_confirmed"), kinds  # its due date, not the run's
    assert [d for d, _ in kinds] == sorted(d for d, _ in kinds)
    part = client.get("/v1/wealth/funds/PH0001/statement?from=2026-01-05&to=2026-01-06", headers=me).json()
    assert Decimal(part["opening_units"]) + sum(Decimal(line["units"]) for line in part["lines"]) == Decimal(
        part["closing_units"]
    )
    assert Decimal(part["income"]) == 0 or Decimal(part["closing_units"]) > Decimal(part["income"])
    assert whole["closing_units"] == client.get("/v1/wealth/holdings", headers=me).json()[0]["units"]
