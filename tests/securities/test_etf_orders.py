"""ETF orders through the brokerage over HTTP on SQLite and PostgreSQL: prices in 厘, a tick of 0.001, the
±10% band and 100-unit lots refused with stable codes that change nothing, and a trade booked with no
stamp duty or transfer fee, commission to the fen, and the audit passing."""

from __future__ import annotations

from puhui.db import reading
from puhui.securities import clearing
from tests.identity.helpers import LI, ZHANG
from tests.securities.test_brokerage_http import (  # noqa: F401
    THURSDAY,
    assert_audit_clean,
    at,
    client,
    deposit,
    investor,
    order,
    problem,
    snapshot,
)


def test_an_etf_trades_in_li_without_stamp_duty_or_transfer_fee(client, engine, clock):  # noqa: F811
    seller_id, seller = investor(client, engine, LI, 10_000_00)
    deposit(engine, seller_id, "510300", 50_000)
    _, buyer = investor(client, engine, ZHANG, 100_000_00)
    before = snapshot(engine)
    etf = {"code": "510300"}
    problem(order(client, buyer, "b1", "buy", 1_000, "3.9005", **etf), 422, "price_off_tick")
    problem(order(client, buyer, "b2", "buy", 1_000, "4.291", **etf), 422, "price_outside_band")  # close 3.900
    problem(order(client, buyer, "b3", "buy", 150, "3.901", **etf), 422, "lot_size_invalid")
    assert snapshot(engine) == before
    sold = order(client, seller, "s1", "sell", 30_000, "3.901", **etf)
    assert sold.status_code == 201, sold.text
    assert sold.json()["price"] == "3.901"
    bought = order(client, buyer, "b4", "buy", 10_000, "4.290", **etf)
    assert bought.status_code == 201, bought.text
    filled = bought.json()
    # 10,000 units at the resting 3.901: 39,010.00 CNY; commission 0.025% = 9.7525 → 9.75; no levies
    assert (filled["status"], filled["filled"], filled["value"]) == ("filled", 10_000, "39010.00")
    assert (filled["commission"], filled["stamp_duty"], filled["transfer_fee"]) == ("9.75", "0.00", "0.00")
    odd = order(client, buyer, "b5", "buy", 100, "3.901", **etf)  # 390.10 CNY: the 5.00 minimum
    assert odd.json()["commission"] == "5.00" and odd.json()["value"] == "390.10"
    quote = client.get("/v1/securities/quotes/510300", headers=buyer)
    assert quote.status_code == 200, quote.text
    shown = quote.json()
    assert (shown["last_price"], shown["limit_up"], shown["limit_down"]) == ("3.901", "4.290", "3.510")
    assert shown["asks"] == [{"price": "3.901", "shares": 19_900}]
    day = THURSDAY.date().isoformat()
    [bar] = client.get(f"/v1/securities/bars/510300?date={day}&minutes=240", headers=buyer).json()["bars"]
    assert (bar["open"], bar["close"], bar["volume"], bar["turnover"]) == ("3.901", "3.901", 10_100, "39400.10")
    at(clock, 8, 0, days=1)  # the next morning: the day is cleared and its clearing file is in fen
    clearing.clear(engine, THURSDAY.date())
    with reading(engine) as connection:
        lines = clearing.clearing_file(connection, THURSDAY.date()).splitlines()
    assert "510300,10100,39400.10,10100,39400.10,0,0.00" in lines  # 10,100 units at 3.901
    statement = client.get(f"/v1/securities/statements/{day}", headers=buyer)
    assert statement.status_code == 200, statement.text
    # 成交均价 in 厘 as the ETF is quoted: 39,010.00 / 10,000 = 3.901 (not 3.90)
    assert [line["average_price"] for line in statement.json()["lines"]] == ["3.901", "3.901"]
    assert_audit_clean(engine)


def test_etfs_on_a_growth_board_index_take_its_twenty_percent_band():
    import datetime as dt

    from puhui.securities import models

    day = dt.date(2026, 12, 3)

    def band(code: str, exchange: models.Exchange, close: int) -> models.Band:
        etf = models.Instrument(code, exchange, models.Board.etf, code, dt.date(2015, 1, 5))
        return models.price_band(etf, close, day, 1000)

    assert band("159915", models.Exchange.szse, 2_100) == models.Band(1_680, 2_520)  # 创业板ETF ±20%
    assert band("588000", models.Exchange.sse, 1_005) == models.Band(804, 1_206)  # 科创50ETF ±20%, half up
    assert band("510300", models.Exchange.sse, 3_900) == models.Band(3_510, 4_290)  # 沪深300ETF ±10%
    assert band("159919", models.Exchange.szse, 3_905) == models.Band(3_515, 4_296)  # ±10%, 3,514.5 and 4,295.5 up
