"""Market data over HTTP on SQLite and PostgreSQL: the five-level quote from the open orders, the day's
bars from the trades, and the live stream of trades as server-sent events that resumes after the last
event it sent."""

from __future__ import annotations

import json

from tests.securities.test_brokerage_http import (  # noqa: F401 - the client fixture
    at,
    client,
    order,
    problem,
    two_traders,
)


def events(text: str) -> list[dict]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_quote_bars_and_the_trade_stream(client, engine, clock):
    zhang, z, li, lee = two_traders(client, engine)
    assert order(client, lee, "s1", "sell", 300, "10.50").status_code == 201
    assert order(client, lee, "s2", "sell", 200, "10.52").status_code == 201
    assert order(client, z, "b0", "buy", 100, "10.40").status_code == 201
    quote = client.get("/v1/securities/quotes/600000", headers=z).json()
    assert quote["bids"] == [{"price": "10.40", "shares": 100}]
    assert quote["asks"] == [{"price": "10.50", "shares": 300}, {"price": "10.52", "shares": 200}]
    assert (quote["previous_close"], quote["limit_up"], quote["limit_down"], quote["phase"]) == (
        "10.50",
        "11.55",
        "9.45",
        "continuous",
    )
    stream = client.get("/v1/securities/stream?codes=600000&seconds=0.2", headers=z)
    assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
    assert events(stream.text) == []

    at(clock, 10, 1)
    assert order(client, z, "b1", "buy", 400, "10.52").json()["status"] == "filled"  # 300 @ 10.50, 100 @ 10.52
    at(clock, 10, 3)
    assert order(client, z, "b2", "buy", 100, "10.52").json()["status"] == "filled"
    trades = events(client.get("/v1/securities/stream?seconds=0.2", headers=z).text)
    assert [(t["price"], t["shares"]) for t in trades] == [("10.50", 300), ("10.52", 100), ("10.52", 100)]
    resumed = client.get(
        "/v1/securities/stream?seconds=0.2", headers={**z, "Last-Event-ID": str(trades[0]["position"])}
    ).text
    assert [t["position"] for t in events(resumed)] == [t["position"] for t in trades[1:]]
    assert events(client.get("/v1/securities/stream?codes=000001&seconds=0.2", headers=z).text) == []

    bars = client.get("/v1/securities/bars/600000?date=2026-12-03", headers=z).json()["bars"]
    assert [(b["start"], b["open"], b["high"], b["low"], b["close"], b["volume"]) for b in bars] == [
        ("2026-12-03T10:01:00", "10.50", "10.52", "10.50", "10.52", 400),
        ("2026-12-03T10:03:00", "10.52", "10.52", "10.52", "10.52", 100),
    ]
    assert bars[0]["turnover"] == "4202.00"  # 300 × 10.50 + 100 × 10.52
    five = client.get("/v1/securities/bars/600000?date=2026-12-03&minutes=5", headers=z).json()["bars"]
    assert [(b["start"], b["volume"]) for b in five] == [("2026-12-03T10:00:00", 500)]
    assert client.get("/v1/securities/quotes/600000", headers=z).json()["last_price"] == "10.52"
    problem(client.get("/v1/securities/quotes/600001", headers=z), 404, "instrument_not_found")
    problem(client.get("/v1/securities/bars/600001?date=2026-12-03", headers=z), 404, "instrument_not_found")
    assert client.get("/v1/securities/stream?seconds=0.1", headers={**z, "Last-Event-ID": "5.0"}).status_code == 422
    assert client.get("/v1/securities/quotes/60000x", headers=z).status_code == 422
