"""Robo-advice over HTTP on SQLite and PostgreSQL: subscribe (idempotent by key), read holdings and
drift, rebalance (idempotent), mark at the close and read the report; refusals are 4xx problems with
stable codes that change nothing."""

from __future__ import annotations

from decimal import Decimal

from puhui.securities.robo import models as robo
from tests.identity.helpers import LI, WANG, ZHANG, make_staff
from tests.securities.test_brokerage_http import (  # noqa: F401
    assert_audit_clean,
    call,
    client,
    deposit,
    expire_assessment,
    investor,
    problem,
    snapshot,
)
from tests.securities.test_robo_execution import START, assess, quote_both_sides, robo_rows


def test_subscribe_read_rebalance_mark_and_report_over_http(client, engine, clock):  # noqa: F811
    customer, me = investor(client, engine, ZHANG, 150_000_00)
    assess(engine, customer, highest=True)
    makers = [investor(client, engine, person, 300_000_00)[0] for person in (LI, WANG)]
    for maker in makers:
        for code in START:
            deposit(engine, maker, code, 200_000)
    quote_both_sides(engine, makers, START, "h0")
    body = {"amount": "100000.00"}
    first = call(client, "/v1/securities/robo/subscriptions", me, "robo-sub", body)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["level"] == "C5" and answer["amount"] == "100000.00"
    assert {h["code"]: h["units"] for h in answer["holdings"]} == {
        "510300": 10_200,
        "510500": 4_300,
        "159915": 11_800,
        "518880": 1_500,
    }
    assert {h["code"]: h["target"] for h in answer["holdings"]} == {
        c: f"{w:.4f}" for c, w in robo.PORTFOLIOS["C5"].items()
    }
    assert answer["cash"] == "722.61" and not answer["needs_rebalance"]
    replay = call(client, "/v1/securities/robo/subscriptions", me, "robo-sub", body)
    assert replay.status_code == 201 and replay.json() == answer
    read = client.get("/v1/securities/robo", headers=me)
    assert read.status_code == 200 and read.json()["holdings"] == answer["holdings"]
    quiet = call(client, "/v1/securities/robo/rebalance", me, "rb-1", {})
    assert quiet.status_code == 200, quiet.text
    assert quiet.json()["run"]["kind"] == "rebalance" and quiet.json()["run"]["orders"] == []
    operator = make_staff(client, "operator")
    marked = call(client, "/v1/securities/robo/marks", operator, "mark-1")
    assert marked.status_code == 200 and marked.json()["customers"] == [customer]
    report = client.get("/v1/securities/robo/report", headers=me)
    assert report.status_code == 200, report.text
    shown = report.json()
    assert shown["fees_paid"] == "27.39"  # 9.95 + 6.24 + 6.20 + 5.00
    value = Decimal(shown["days"][0]["value"])
    assert value == Decimal("100000.00") - Decimal("27.39")  # marked at the prices bought at, less the fees
    assert shown["time_weighted_return"] == f"{value / Decimal('100000.00') - 1:.6f}" == "-0.000274"
    assert shown["benchmark_return"] == "0.000000"
    assert_audit_clean(engine)


def test_refusals_over_http_change_nothing(client, engine, clock):  # noqa: F811
    customer, me = investor(client, engine, ZHANG, 50_000_00)
    expire_assessment(engine, clock, customer)  # the account stays; the questionnaire has lapsed
    before, rows = snapshot(engine), robo_rows(engine)
    problem(
        call(client, "/v1/securities/robo/subscriptions", me, "k1", {"amount": "40000.00"}),
        403,
        "robo_risk_level_mismatch",
    )
    clock.advance(seconds=1)
    assess(engine, customer, highest=False)  # C1
    before, rows = snapshot(engine), robo_rows(engine)
    body = {"amount": "40000.00", "level": "C3"}
    problem(call(client, "/v1/securities/robo/subscriptions", me, "k2", body), 403, "robo_risk_level_mismatch")
    problem(
        call(client, "/v1/securities/robo/subscriptions", me, "k3", {"amount": "100.00"}),
        422,
        "robo_amount_below_minimum",
    )
    problem(
        call(client, "/v1/securities/robo/subscriptions", me, "k4", {"amount": "60000.00"}), 409, "insufficient_cash"
    )
    problem(client.get("/v1/securities/robo", headers=me), 404, "robo_not_subscribed")
    problem(call(client, "/v1/securities/robo/rebalance", me, "k5", {}), 404, "robo_not_subscribed")
    assert snapshot(engine) == before and robo_rows(engine) == rows
