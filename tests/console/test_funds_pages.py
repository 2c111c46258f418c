"""The fund pages of the customer app over plain HTTP on both backends: distributed funds with their
risk levels (R1–R5), NAVs and fees; the risk questionnaire (风险测评) giving a level (C1–C5) and its expiry
as the wealth API holds it; purchases above the level or without a questionnaire refused as the API
refuses them, changing nothing; a purchase within the level paid from the wallet as the ledger holds it
and confirmed T+1 at the trade date's NAV; and no customer sees another's orders."""

from __future__ import annotations

import datetime as dt
import random
import re
from decimal import Decimal

from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.identity.service import customer_wallet_id
from puhui.ledger.audit import audit
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_transfers
from puhui.ledger.tables import transfers
from puhui.wealth.calendar import is_trading_day
from tests.wealth.mmf_world import at
from tests.wealth.test_suitability_http import C1_ANSWERS, C3_ANSWERS

from .conftest import customer_id_of, sign_up
from .test_customer_pages import balance, post_form
from .world import ADMIN, hidden, person, verify

GROWTH = {
    "code": "EQ0001",
    "name": "普惠成长混合",
    "risk": "R3",
    "redemption_days": 2,
    "fee_tiers": [{"min_amount": "1.00", "rate": "0.015"}, {"min_amount": "10000.00", "rate": "0.01"}],
    "redemption_fees": [{"under_days": 365, "rate": "0.005"}, {"rate": "0"}],
}
BOLD = {**GROWTH, "code": "EQ0005", "name": "普惠科技股票", "risk": "R5"}
keys = iter(range(10**6))


def _admin(client, path: str, body: dict):  # type: ignore[no-untyped-def]
    made = client.post(path, json=body, headers={**ADMIN, "Idempotency-Key": f"funds-page-{next(keys)}"})
    assert made.status_code in (200, 201), made.text
    return made.json()


def _bearer(client) -> dict:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {client.cookies.get('puhui_session')}"}


def _funds_world(client) -> None:  # type: ignore[no-untyped-def]
    _admin(client, "/v1/wealth/fund-products", GROWTH)
    _admin(client, "/v1/wealth/fund-products", BOLD)
    navs = "date,fund_code,nav\n2026-02-27,EQ0001,1.2200\n2026-03-02,EQ0001,1.2345\n"
    _admin(client, "/v1/wealth/navs", {"csv": navs})


def _investor(client, engine, n: int, fen: int) -> str:  # type: ignore[no-untyped-def]
    """A signed-up, verified (Class III) customer with `fen` in the wallet from the reserve bank."""
    sign_up(client, n)
    cid = customer_id_of(client)
    verify(client, cid)
    transfer = Transfer(f"seed.{cid}", "platform.reserve_bank.CNY", customer_wallet_id(cid), fen, "CNY", "top_up")
    transaction(engine, lambda uow: create_transfers(uow, [transfer]))
    return cid


def _answer(client, answers: dict[str, str]):  # type: ignore[no-untyped-def]
    page = client.get("/app/suitability").text
    version = re.search(r'name="version" value="([^"]+)"', page).group(1)
    fields = {f"q_{q}": choice for q, choice in answers.items()}
    return client.post("/app/suitability", data={**hidden(page), "version": version, **fields}, follow_redirects=False)


def _state(engine, client) -> tuple:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        moved = connection.execute(select(func.count()).select_from(transfers)).scalar_one()
    orders = client.get("/v1/wealth/fund-orders", headers=_bearer(client)).json()
    return moved, orders


def test_after_the_questionnaire_a_fund_within_the_level_is_bought_and_confirmed_t1(app, client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(at("2026-03-02", "10:00"))  # a Monday
    _funds_world(client)
    cid = _investor(client, engine, 61, 2_000_000)

    listing = client.get("/app/funds").text
    assert 'data-testid="risk-EQ0001">风险等级 R3<' in listing and 'data-testid="risk-EQ0005">风险等级 R5<' in listing
    assert 'data-testid="nav-EQ0001">1.2345<' in listing and "您尚未完成风险测评" in listing
    page = client.get("/app/funds/EQ0001").text
    assert "<svg" in page and "<polyline" in page and "1.50%" in page and "1.00%" in page

    before = _state(engine, client)
    untested = post_form(client, "/app/funds/EQ0001", "/app/funds/EQ0001/buy", amount="100.00")
    assert untested.status_code == 403 and "购买基金前请先完成风险测评" in untested.text
    assert _state(engine, client) == before and balance(engine, cid) == "20000.00"

    incomplete = _answer(client, {"age": "C"})
    assert incomplete.status_code == 422 and "请回答全部问题" in incomplete.text
    assert client.get(f"/v1/wealth/suitability/{cid}", headers=_bearer(client)).json()["assessment"] is None
    assert _answer(client, C3_ANSWERS).status_code == 303
    held = client.get(f"/v1/wealth/suitability/{cid}", headers=_bearer(client)).json()
    assert (held["level"], held["max_product_risk"], held["assessment"]["score"]) == ("C3", "R3", 27)
    shown = client.get("/app/suitability").text
    assert 'data-testid="level">C3<' in shown and 'data-testid="score">27<' in shown
    assert 'data-testid="expires">2027年3月2日<' in shown  # a year of validity, as the API says

    listing = client.get("/app/funds").text
    assert 'data-testid="verdict-EQ0005">高于您的风险等级,不能购买<' in listing and "verdict-EQ0001" not in listing
    before = _state(engine, client)
    too_bold = post_form(client, "/app/funds/EQ0005", "/app/funds/EQ0005/buy", amount="100.00")
    assert too_bold.status_code == 403 and "该基金风险等级高于您的风险承受能力,不能购买" in too_bold.text
    assert _state(engine, client) == before and balance(engine, cid) == "20000.00"

    bought = post_form(client, "/app/funds/EQ0001", "/app/funds/EQ0001/buy", amount="10000.00")
    assert bought.status_code == 303 and bought.headers["location"] == "/app/funds/EQ0001"
    assert balance(engine, cid) == "10000.00"
    [order] = client.get("/v1/wealth/fund-orders", headers=_bearer(client)).json()
    page = client.get("/app/funds/EQ0001").text
    assert f'data-testid="fund-order-{order["id"]}"' in page and "待确认" in page

    clock.set(at("2026-03-04", "00:05"))  # 03-03 is over: its NAV is in and its end of day may run
    _admin(client, "/v1/wealth/navs", {"csv": "date,fund_code,nav\n2026-03-03,EQ0001,1.2400\n"})
    assert _admin(client, "/v1/wealth/funds-eod", {"business_date": "2026-03-03"})["purchases_confirmed"] == 1
    client.cookies.clear()
    me = person(61)
    assert post_form(client, "/app/login", "/app/login", phone=me["phone"], password=me["password"]).status_code == 303
    # 10,000.00 / 1.01 = 9,900.99 net of the 1% fee; / 1.2345 = 8,020.24 units; at 1.2400: 9,945.10
    [holding] = client.get("/v1/wealth/fund-holdings", headers=_bearer(client)).json()
    assert (holding["units"], holding["market_value"]) == ("8020.24", "9945.10")
    listing = client.get("/app/funds").text
    assert 'data-testid="value-EQ0001">¥9,945.10<' in listing and "8,020.24" in listing and "已确认" in listing
    assert "¥99.01" in listing  # the fee, as the order holds it

    before = _state(engine, client)
    too_many = post_form(client, "/app/funds/EQ0001", "/app/funds/EQ0001/redeem", units="8020.25")
    assert too_many.status_code == 409 and "持有份额不足" in too_many.text and _state(engine, client) == before
    sold = post_form(client, "/app/funds/EQ0001", "/app/funds/EQ0001/redeem", units="1000.00")
    assert sold.status_code == 303
    redemption = client.get("/v1/wealth/fund-orders", headers=_bearer(client)).json()[0]
    assert (redemption["kind"], redemption["units"], redemption["status"]) == ("redeem", "1000.00", "pending")
    page = client.get("/app/funds/EQ0001").text
    assert f'data-testid="fund-order-{redemption["id"]}"' in page and "1,000.00 份" in page
    [holding] = client.get("/v1/wealth/fund-holdings", headers=_bearer(client)).json()
    assert (holding["units"], holding["pending_redemption_units"]) == ("7020.24", "1000.00")  # set aside until T+1
    assert 'data-testid="fund-units">7,020.24<' in page and "赎回中 1,000.00 份" in client.get("/app/funds").text
    with reading(engine) as connection:
        assert audit(connection).ok


def test_a_cautious_customer_is_refused_and_sees_none_of_anothers_orders(app, client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(at("2026-03-02", "10:00"))
    _funds_world(client)
    _investor(client, engine, 62, 500_000)
    assert _answer(client, C3_ANSWERS).status_code == 303
    assert post_form(client, "/app/funds/EQ0001", "/app/funds/EQ0001/buy", amount="1000.00").status_code == 303
    [order] = client.get("/v1/wealth/fund-orders", headers=_bearer(client)).json()

    client.cookies.clear()
    other = _investor(client, engine, 63, 500_000)
    assert _answer(client, C1_ANSWERS).status_code == 303
    listing = client.get("/app/funds").text
    assert order["id"] not in listing and "暂无基金交易" in listing and "您还没有持有基金" in listing
    assert 'data-testid="verdict-EQ0001">高于您的风险等级,不能购买<' in listing
    before = _state(engine, client)
    refused = post_form(client, "/app/funds/EQ0001", "/app/funds/EQ0001/buy", amount="1000.00")
    assert refused.status_code == 403 and balance(engine, other) == "5000.00" and _state(engine, client) == before
    forged = client.post("/app/funds/EQ0001/buy", data={"amount": "1.00"}, follow_redirects=False)
    assert forged.status_code == 403 and _state(engine, client) == before

    client.cookies.clear()
    for path in ("/app/funds", "/app/funds/EQ0001", "/app/suitability"):
        assert client.get(path, follow_redirects=False).headers["location"] == "/app/login"
    with reading(engine) as connection:
        assert audit(connection).ok


def test_a_customer_below_class_iii_is_told_and_refused(app, client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(at("2026-03-02", "10:00"))
    _funds_world(client)
    sign_up(client, 65)
    cid = customer_id_of(client)
    assert _answer(client, C3_ANSWERS).status_code == 303
    held = client.get(f"/v1/wealth/suitability/{cid}", headers=_bearer(client)).json()
    assert (held["level"], held["refusal"]) == ("C3", "wallet_class_too_low")
    page = client.get("/app/funds/EQ0001").text
    assert "仅Ⅲ类账户可购买基金" in page and "disabled" in page
    before = _state(engine, client)
    refused = post_form(client, "/app/funds/EQ0001", "/app/funds/EQ0001/buy", amount="10.00")
    assert refused.status_code == 403 and "您的账户类别暂不支持此业务" in refused.text
    assert _state(engine, client) == before


def test_the_pages_speak_english_when_asked(app, client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(at("2026-03-02", "10:00"))
    _funds_world(client)
    _investor(client, engine, 64, 100_000)
    client.cookies.set("puhui_lang", "en")
    listing = client.get("/app/funds").text
    assert "Risk level R3" in listing and "Take the risk questionnaire first" in listing
    assert "Risk questionnaire" in client.get("/app/suitability").text


def _history(days: int = 90) -> str:
    """A NAV file over `days` calendar days, its trading days only (a fund is valued on those), for a steady
    bond fund (R2) and a livelier mixed fund (R3)."""
    rows, rng = ["date,fund_code,nav"], random.Random(14)
    bond, mixed, day = Decimal("1.0000"), Decimal("1.0000"), dt.date(2026, 3, 2) - dt.timedelta(days=days - 1)
    for _ in range(days):
        if not is_trading_day(day):
            day += dt.timedelta(days=1)
            continue
        bond *= 1 + Decimal(rng.gauss(0.0002, 0.001))
        mixed *= 1 + Decimal(rng.gauss(0.0006, 0.008))
        rows += [f"{day},BD0002,{bond:.4f}", f"{day},EQ0001,{mixed:.4f}"]
        day += dt.timedelta(days=1)
    return "\n".join(rows) + "\n"


def test_robo_advice_shows_the_apis_target_portfolio_and_invests_it(app, client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(at("2026-03-02", "10:00"))
    _admin(client, "/v1/wealth/fund-products", GROWTH)
    _admin(client, "/v1/wealth/fund-products", {**GROWTH, "code": "BD0002", "name": "普惠纯债", "risk": "R2"})
    _admin(client, "/v1/wealth/fund-products", BOLD)
    _admin(client, "/v1/wealth/navs", {"csv": _history()})
    cid = _investor(client, engine, 66, 1_000_000)
    assert "请先完成风险测评" in client.get("/app/advice").text
    assert _answer(client, C3_ANSWERS).status_code == 303

    target = client.post("/v1/wealth/advice", headers=_bearer(client), json={}).json()
    page = client.get("/app/advice").text
    assert 'data-testid="advice-level">为风险等级 C3' in page and "weight-EQ0005" not in page
    for code, weight in target["weights"].items():
        if weight > 0:
            assert f'data-testid="weight-{code}"' in page and f"{Decimal(str(weight)) * 100:.2f}%" in page
    assert abs(sum(target["weights"].values()) - 1) < 1e-6

    before = _state(engine, client)
    broke = post_form(client, "/app/advice", "/app/advice/invest", amount="20000.00")
    assert broke.status_code == 409 and _state(engine, client) == before and balance(engine, cid) == "10000.00"
    invested = post_form(client, "/app/advice", "/app/advice/invest", amount="1000.00")
    assert invested.status_code == 303 and invested.headers["location"] == "/app/funds"
    orders = client.get("/v1/wealth/fund-orders", headers=_bearer(client)).json()
    assert sorted(o["fund_code"] for o in orders) == sorted(c for c, w in target["weights"].items() if w > 0)
    assert sum(Decimal(o["amount"]) for o in orders) == Decimal("1000.00") and balance(engine, cid) == "9000.00"
    with reading(engine) as connection:
        assert audit(connection).ok
