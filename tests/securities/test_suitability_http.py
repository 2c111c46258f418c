"""Investor suitability at the brokerage (投资者适当性管理), on SQLite and PostgreSQL. The gap: a customer who
had never taken the risk questionnaire (风险测评) opened a brokerage account and bought shares. Now opening
needs a current assessment (409 `suitability_assessment_required`, naming the questionnaire's endpoint; an
expired one is none; nothing is written), and so does a buy; a buy above the customer's level is 403
`unsuitable_product` under the platform's one rule (C_n buys R1..R_n: a share is R3, so a C1 customer buys
no share but may buy the R1 money-market ETF). Selling is never refused for suitability; a robo-advice
portfolio's orders follow the level the portfolio was matched to as a whole; a liquidity provider bids only
where its level allows."""

from __future__ import annotations

import datetime as dt

from puhui.db import transaction
from puhui.securities import liquidity, models, orders, suitability
from puhui.securities.robo import service as robo
from puhui.wealth.suitability.service import ProductRisk
from tests.identity.helpers import LI, ZHANG, login, register
from tests.securities.test_brokerage_http import (  # noqa: F401 - `client` is a fixture
    answers,
    assert_audit_clean,
    at,
    call,
    client,
    deposit,
    expire_assessment,
    investor,
    order,
    problem,
    snapshot,
    take_questionnaire,
)


def scored(high_questions: int) -> dict[str, str]:
    """The questionnaire answered highest on the first `high_questions` questions (5 points each: age and
    income come first) and lowest on the rest (1 point each): 2 gives 16 points, C2; 4 gives 24, C3."""
    highest, lowest = answers(highest=True), answers(highest=False)
    return {qid: highest[qid] if n < high_questions else lowest[qid] for n, qid in enumerate(lowest)}


def test_no_account_opens_without_a_current_assessment(client, engine, clock):  # noqa: F811
    created = register(client, ZHANG)
    me = login(client, ZHANG)
    before = snapshot(engine)
    refused = call(client, "/v1/securities/accounts", me, "open-1", {})
    problem(refused, 409, "suitability_assessment_required")
    assert "POST /v1/wealth/questionnaire/answers" in refused.json()["detail"]
    assert snapshot(engine) == before  # no account, no ledger account, no event
    problem(client.get("/v1/securities/account", headers=me), 404, "securities_account_not_found")

    expire_assessment(engine, clock, created["id"])  # a questionnaire on record, but expired: none current
    before = snapshot(engine)
    problem(call(client, "/v1/securities/accounts", me, "open-2", {}), 409, "suitability_assessment_required")
    assert snapshot(engine) == before

    clock.advance(seconds=1)
    take_questionnaire(client, me, "c1", answers(highest=False))  # C1: any current level opens
    opened = call(client, "/v1/securities/accounts", me, "open-3", {})
    assert opened.status_code == 201, opened.text
    assert opened.json()["suitability_level"] == "C1"
    assert_audit_clean(engine)


def test_a_buy_needs_a_current_level_that_covers_the_security(client, engine, clock):  # noqa: F811
    zhang, z = investor(client, engine, ZHANG, 50_000_00)
    li, lee = investor(client, engine, LI, 10_00)
    deposit(engine, li, "600000", 1_000)
    deposit(engine, li, "511880", 1_000)
    deposit(engine, zhang, "600000", 100)
    assert order(client, lee, "s1", "sell", 1_000, "10.50").status_code == 201
    assert order(client, lee, "s2", "sell", 1_000, "101.000", code="511880").status_code == 201
    clock.advance(seconds=1)
    take_questionnaire(client, z, "c1", answers(highest=False))  # the latest questionnaire: C1

    before = snapshot(engine)
    refused = order(client, z, "b1", "buy", 100, "10.50")
    problem(refused, 403, "unsuitable_product")
    assert "600000" in refused.json()["detail"] and (refused.json()["level"], refused.json()["product_risk"]) == (
        "C1",
        "R3",
    )
    assert snapshot(engine) == before
    money_market = order(client, z, "b2", "buy", 100, "101.000", code="511880")  # R1: within C1
    assert (money_market.status_code, money_market.json()["status"]) == (201, "filled"), money_market.text
    assert order(client, z, "s3", "sell", 100, "10.60").status_code == 201  # selling takes risk off

    at(clock, 10, 0, days=1)  # the next trading day: three questionnaires a day at most
    z = login(client, ZHANG)
    take_questionnaire(client, z, "c3", scored(4))  # C3: shares are R3
    bought = order(client, z, "b3", "buy", 100, "10.50")  # placed: yesterday's offers expired at the close
    assert (bought.status_code, bought.json()["status"]) == (201, "open"), bought.text

    expire_assessment(engine, clock, zhang)
    before = snapshot(engine)
    lapsed = order(client, z, "b4", "buy", 100, "10.50")
    problem(lapsed, 409, "suitability_assessment_required")
    assert "POST /v1/wealth/questionnaire/answers" in lapsed.json()["detail"]
    assert snapshot(engine) == before
    assert order(client, z, "s4", "sell", 100, "101.000", code="511880").status_code == 201
    assert_audit_clean(engine)


def test_a_robo_portfolio_is_matched_as_a_whole_not_each_etf(client, engine, clock):  # noqa: F811
    customer, me = investor(client, engine, ZHANG, 150_000_00)
    maker, _ = investor(client, engine, LI, 10_000_00)
    closes = {"511880": 101_000, "511010": 140_000, "510300": 3_900, "518880": 6_500}
    for code, price in closes.items():
        deposit(engine, maker, code, 10_000)
        offer = orders.OrderRequest(code, models.Side.sell, 10_000, price)
        transaction(engine, lambda uow, r=offer: orders.place(uow, maker, r, f"offer.{r.code}"))
    clock.advance(seconds=1)
    take_questionnaire(client, me, "c2", scored(2))  # C2: its model portfolio holds 510300 and 518880, R3
    problem(order(client, me, "own", "buy", 100, "3.900", code="510300"), 403, "unsuitable_product")
    status = transaction(engine, lambda uow: robo.subscribe(uow, customer, 100_000_00, "sub-c2"))
    assert status["level"] == "C2"
    held = {h["code"]: h["units"] for h in status["holdings"]}
    assert held["510300"] > 0 and held["518880"] > 0 and held["511880"] > 0
    assert_audit_clean(engine)


def test_a_liquidity_provider_bids_only_where_its_level_allows(client, engine, clock):  # noqa: F811
    maker, me = investor(client, engine, LI, 50_000_00)
    at(clock, 10, 0)
    clock.advance(seconds=1)
    take_questionnaire(client, me, "c1", answers(highest=False))
    assert transaction(engine, lambda uow: liquidity.refresh(uow, maker, "600000")) == 0  # C1: no bid on a share
    assert transaction(engine, lambda uow: liquidity.refresh(uow, maker, "511880")) == 3  # R1: three bids
    deposit(engine, maker, "600000", 1_000)
    assert transaction(engine, lambda uow: liquidity.refresh(uow, maker, "600000")) == 3  # offers only
    assert_audit_clean(engine)


def test_each_security_has_its_risk_level():
    listed = dt.date(2020, 1, 2)

    def risk(code: str, exchange: str, board: str, st: bool = False) -> ProductRisk:
        instrument = models.Instrument(code, models.Exchange(exchange), models.Board(board), code, listed, st)
        return suitability.product_risk(instrument)

    assert risk("600000", "SSE", "main") is ProductRisk.R3
    assert risk("600001", "SSE", "main", st=True) is ProductRisk.R4
    assert risk("300750", "SZSE", "chinext") is ProductRisk.R4
    assert risk("688981", "SSE", "star") is ProductRisk.R4
    assert [risk(c, "SSE", "etf") for c in ("511880", "511010", "510300", "518880")] == [
        ProductRisk.R1,
        ProductRisk.R2,
        ProductRisk.R3,
        ProductRisk.R3,
    ]
    assert risk("159915", "SZSE", "etf") is ProductRisk.R4
    assert risk("588000", "SSE", "etf") is ProductRisk.R4  # an unrated STAR index fund
    assert risk("512880", "SSE", "etf") is ProductRisk.R3  # an unrated other ETF
