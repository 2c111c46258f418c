"""Market orders (市价申报) by exchange, in the exchange simulator and over HTTP on SQLite and PostgreSQL.

A new user's finding: immediate-or-cancel and fill-or-kill (即时成交剩余撤销, 全额成交或撤销), SZSE's, were
accepted and executed on SSE's 600000, best five then limit (最优五档即时成交剩余转限价), SSE's, on SZSE, and
the protective price (保护限价), SSE's, bounded SZSE orders too. Now each exchange takes its own kinds
(`order_type_not_on_exchange`, field `type`) and a protective price only on SSE (`protect_not_on_exchange`,
field `protect`); a refusal changes nothing, and the kinds each exchange does take still trade."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from puhui.securities.book import MARKET_KINDS, OrderType
from puhui.securities.errors import OrderTypeNotOnExchange, ProtectNotOnExchange
from puhui.securities.exchange import Exchange, NewOrder, Report
from puhui.securities.models import Board, Instrument, Side
from puhui.securities.models import Exchange as Venue
from tests.securities.test_brokerage_http import (  # noqa: F401 - `client` is a fixture
    assert_audit_clean,
    call,
    client,
    deposit,
    problem,
    snapshot,
    two_traders,
)

PUFA = Instrument("600000", Venue.sse, Board.main, "浦发银行", dt.date(1999, 11, 10))
PINGAN = Instrument("000001", Venue.szse, Board.main, "平安银行", dt.date(1991, 4, 3))
TEN = dt.datetime(2026, 12, 3, 10, 0)  # a Thursday, in continuous trading


def test_each_exchange_takes_its_own_kinds():
    assert MARKET_KINDS[Venue.sse] - MARKET_KINDS[Venue.szse] == {OrderType.best5_limit}
    assert MARKET_KINDS[Venue.szse] - MARKET_KINDS[Venue.sse] == {OrderType.ioc, OrderType.fok}
    assert OrderType.limit not in MARKET_KINDS[Venue.sse] | MARKET_KINDS[Venue.szse]
    assert MARKET_KINDS[Venue.sse] | MARKET_KINDS[Venue.szse] == set(OrderType) - {OrderType.limit}


@pytest.mark.parametrize(
    ("code", "kind", "protect", "refusal"),
    [
        ("600000", OrderType.ioc, None, OrderTypeNotOnExchange),
        ("600000", OrderType.fok, None, OrderTypeNotOnExchange),
        ("000001", OrderType.best5_limit, None, OrderTypeNotOnExchange),
        ("000001", OrderType.best5_ioc, 12_00, ProtectNotOnExchange),
        ("000001", OrderType.fok, 12_00, ProtectNotOnExchange),
    ],
)
def test_the_simulator_refuses_another_exchanges_kind_and_its_book_is_untouched(code, kind, protect, refusal):
    exchange = Exchange([(PUFA, 10_00), (PINGAN, 11_50)], TEN)
    exchange.submit(NewOrder("s", code, Side.sell, 300, 10_50 if code == "600000" else 11_50), TEN)
    before = exchange.market(code).book.depth()
    with pytest.raises(refusal) as refused:
        exchange.submit(NewOrder("m", code, Side.buy, 100, None, kind, protect), TEN)
    assert refused.value.extra["field"] == ("type" if refusal is OrderTypeNotOnExchange else "protect")
    assert exchange.market(code).book.depth() == before and exchange.market(code).volume == 0


def test_the_simulator_still_trades_the_kinds_each_exchange_takes():
    exchange = Exchange([(PUFA, 10_00), (PINGAN, 11_50)], TEN)
    exchange.submit(NewOrder("s1", "000001", Side.sell, 300, 11_50), TEN)
    killed = exchange.submit(NewOrder("k", "000001", Side.buy, 400, None, OrderType.fok), TEN)
    assert [(r.report, r.quantity) for r in killed] == [(Report.cancelled, 400)]
    ioc = exchange.submit(NewOrder("i", "000001", Side.buy, 400, None, OrderType.ioc), TEN)
    assert [(r.report, r.quantity) for r in ioc if r.order_id == "i"] == [(Report.trade, 300), (Report.cancelled, 100)]
    exchange.submit(NewOrder("s2", "600000", Side.sell, 100, 10_00), TEN)
    rest = exchange.submit(NewOrder("b", "600000", Side.buy, 200, None, OrderType.best5_limit, 10_10), TEN)
    assert [(r.report, r.quantity, r.price) for r in rest if r.order_id == "b"] == [
        (Report.trade, 100, 10_00),
        (Report.accepted, 100, 10_00),  # the rest a limit order at the last trade's price (转限价)
    ]


def order(client, me: dict, key: str, **body: Any):  # type: ignore[no-untyped-def]
    return call(client, "/v1/securities/orders", me, key, {"side": "buy", "quantity": 100, **body})


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"code": "600000", "type": "ioc"}, "order_type_not_on_exchange", "type"),
        ({"code": "600000", "type": "fok"}, "order_type_not_on_exchange", "type"),
        ({"code": "600000", "type": "fok", "side": "sell"}, "order_type_not_on_exchange", "type"),
        ({"code": "600000", "type": "ioc", "protect": "11.00"}, "order_type_not_on_exchange", "type"),
        ({"code": "000001", "type": "best5_limit"}, "order_type_not_on_exchange", "type"),
        ({"code": "000001", "type": "best5_limit", "side": "sell"}, "order_type_not_on_exchange", "type"),
        ({"code": "000001", "type": "best5_ioc", "protect": "12.00"}, "protect_not_on_exchange", "protect"),
        ({"code": "000001", "type": "fok", "protect": "12.00", "side": "sell"}, "protect_not_on_exchange", "protect"),
    ],
)
def test_over_http_another_exchanges_kind_is_refused_and_changes_nothing(client, engine, clock, body, code, field):
    zhang, z, li, lee = two_traders(client, engine)
    deposit(engine, zhang, "600000", 1000)
    deposit(engine, zhang, "000001", 1000)
    assert order(client, lee, "rest", code="600000", side="sell", price="10.50").status_code == 201
    before = snapshot(engine)
    answer = order(client, z, "bad", **body)
    problem(answer, 422, code)
    assert answer.json()["field"] == field
    venue = "SSE" if body["code"] == "600000" else "SZSE"
    assert f"{body['code']} trades on {venue}" in answer.json()["detail"], answer.json()
    assert snapshot(engine) == before
    assert_audit_clean(engine)


def test_over_http_each_exchange_trades_its_own_kinds(client, engine, clock):
    zhang, z, li, lee = two_traders(client, engine)
    deposit(engine, li, "000001", 1000)
    assert order(client, lee, "s1", code="000001", side="sell", quantity=300, price="11.50").status_code == 201
    killed = order(client, z, "fok", code="000001", type="fok", quantity=400).json()
    assert (killed["status"], killed["filled"], killed["cancelled"]) == ("cancelled", 0, 400)
    filled = order(client, z, "ioc", code="000001", type="ioc", quantity=400).json()
    assert (filled["status"], filled["filled"], filled["cancelled"]) == ("cancelled", 300, 100)
    assert order(client, lee, "s2", code="600000", side="sell", quantity=100, price="10.50").status_code == 201
    rest = order(client, z, "b5l", code="600000", type="best5_limit", quantity=200, protect="10.60").json()
    assert (rest["status"], rest["filled"], rest["protect"]) == ("open", 100, "10.60")
    assert_audit_clean(engine)
