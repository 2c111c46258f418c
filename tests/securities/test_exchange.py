"""The exchange simulator through a trading day: the opening auction, the wait before 09:30,
continuous trading, lunch, the closing auction, expiry, and the next day's band."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from puhui.securities.book import OrderType
from puhui.securities.errors import (
    LotSizeInvalid,
    MarketClosed,
    OrderNotCancellable,
    PriceOutsideBand,
    UnknownInstrument,
)
from puhui.securities.exchange import Exchange, Execution, NewOrder, Report
from puhui.securities.models import Board, Instrument, Side
from puhui.securities.models import Exchange as Venue

DAY = dt.date(2026, 12, 3)  # a Thursday; the 4th trades too
PUFA = Instrument("600000", Venue.sse, Board.main, "浦发银行", dt.date(1999, 11, 10))
BUY, SELL = Side.buy, Side.sell


def at(clock: str, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock))


def limit(oid: str, side: Side, qty: int, price: int) -> NewOrder:
    return NewOrder(oid, "600000", side, qty, price)


def trades(reports: list[Execution]) -> list[tuple[str, str, int, int]]:
    return [
        (r.order_id, r.counter_id, r.price, r.quantity)
        for r in reports
        if r.report is Report.trade and r.order_id < r.counter_id
    ]


@pytest.fixture
def exchange() -> Exchange:
    return Exchange([(PUFA, 10_00)], at("09:00"))


def test_a_trading_day_from_the_opening_auction_to_the_close(exchange):
    assert exchange.submit(limit("b1", BUY, 500, 10_05), at("09:16"))[-1].report is Report.accepted
    exchange.submit(limit("s1", SELL, 300, 10_00), at("09:17"))
    exchange.submit(limit("s2", SELL, 400, 10_03), at("09:18"))
    with pytest.raises(OrderNotCancellable):
        exchange.cancel("600000", "s2", at("09:21"))
    # 09:25 prices the auction: 10.03 executes 500 (b1 takes s1's 300 and 200 of s2)
    reports = exchange.submit(limit("b2", BUY, 100, 10_04), at("09:26"))
    assert trades(reports) == [("b1", "s1", 10_03, 300), ("b1", "s2", 10_03, 200)]
    assert exchange.market("600000").book.depth()["asks"] == [(10_03, 200)]
    # b2 waited; at 09:30 it trades against s2's rest at the resting price
    assert trades(exchange.advance(at("09:30"))) == [("b2", "s2", 10_03, 100)]
    continuous = exchange.submit(NewOrder("m1", "600000", BUY, 200, kind=OrderType.best5_ioc), at("10:00"))
    assert trades(continuous) == [("m1", "s2", 10_03, 100)]
    assert [r.report for r in continuous][-1] is Report.cancelled
    with pytest.raises(MarketClosed):
        exchange.submit(limit("late", BUY, 100, 10_00), at("12:00"))
    exchange.submit(limit("b3", BUY, 300, 10_01), at("14:00"))
    exchange.submit(limit("s3", SELL, 200, 10_01), at("14:58"))
    with pytest.raises(MarketClosed):
        exchange.submit(NewOrder("m2", "600000", SELL, 100, kind=OrderType.best5_ioc), at("14:59"))
    closing = exchange.advance(at("15:01"))
    assert trades(closing) == [("b3", "s3", 10_01, 200)]
    assert [(r.order_id, r.quantity) for r in closing if r.report is Report.expired] == [("b3", 100)]
    assert exchange.market("600000").close == 10_01
    exchange.advance(at("09:00", dt.date(2026, 12, 4)))
    tomorrow = exchange.market("600000")
    assert (tomorrow.previous_close, tomorrow.band.low, tomorrow.band.high) == (10_01, 9_01, 11_01)


def test_orders_outside_the_band_out_of_hours_or_for_unknown_instruments_are_refused(exchange):
    with pytest.raises(MarketClosed):
        exchange.submit(limit("early", BUY, 100, 10_00), at("09:10"))
    with pytest.raises(MarketClosed):
        exchange.submit(NewOrder("m", "600000", BUY, 100, kind=OrderType.best5_ioc), at("09:16"))
    with pytest.raises(PriceOutsideBand):
        exchange.submit(limit("high", BUY, 100, 11_01), at("10:00"))
    with pytest.raises(UnknownInstrument):
        exchange.submit(NewOrder("x", "600001", BUY, 100, 10_00), at("10:00"))


def test_a_day_without_a_closing_trade_closes_at_the_last_trade(exchange):
    exchange.submit(limit("s", SELL, 100, 10_02), at("10:00"))
    exchange.submit(limit("b", BUY, 100, 10_02), at("10:01"))
    exchange.advance(at("16:00"))
    assert exchange.market("600000").close == 10_02


def test_an_order_cancelled_before_the_auction_does_not_trade(exchange):
    exchange.submit(limit("b", BUY, 100, 10_00), at("09:15"))
    exchange.submit(limit("s", SELL, 100, 10_00), at("09:16"))
    assert exchange.cancel("600000", "b", at("09:17"))[-1] == Execution(Report.cancelled, "b", 100)
    assert trades(exchange.advance(at("09:31"))) == []


def test_a_refused_order_loses_none_of_the_reports_of_the_phases_it_crossed(exchange):
    exchange.submit(limit("b", BUY, 100, 9_95), at("09:15"))
    exchange.submit(limit("s", SELL, 100, 9_95), at("09:15"))
    with pytest.raises(MarketClosed):  # its moment runs the opening auction, then refuses it
        exchange.submit(NewOrder("m", "600000", BUY, 100, kind=OrderType.best5_ioc), at("09:25"))
    with pytest.raises(OrderNotCancellable):
        exchange.cancel("600000", "nobody", at("09:26"))
    assert trades(exchange.advance(at("09:27"))) == [("b", "s", 9_95, 100)]
    assert exchange.advance(at("09:28")) == []


minutes = st.integers(9 * 60 + 15, 15 * 60 - 1).filter(lambda m: not 11 * 60 + 30 <= m < 13 * 60)
order_stream = st.lists(
    st.tuples(minutes, st.sampled_from([BUY, SELL]), st.integers(1, 5), st.integers(9_95, 10_05), st.booleans()),
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(stream=order_stream)
@example(
    stream=[
        (555, BUY, 1, 9_95, False),
        (555, BUY, 1, 9_95, False),
        (555, SELL, 1, 9_95, False),
        (565, BUY, 1, 9_95, True),
    ]
)
def test_every_share_ordered_trades_is_cancelled_or_expires_and_every_trade_is_in_the_band(stream):
    exchange = Exchange([(PUFA, 10_00)], at("09:00"))
    ordered = 0
    reports: list[Execution] = []
    for n, (minute, side, lots, price, market) in enumerate(sorted(stream, key=lambda s: s[0])):
        moment = at(f"{minute // 60:02d}:{minute % 60:02d}")
        kind = OrderType.best5_ioc if market else OrderType.limit
        order = NewOrder(f"o{n:03d}", "600000", side, lots * 100, None if market else price, kind)
        try:
            reports += exchange.submit(order, moment)
        except MarketClosed:
            continue
        ordered += order.quantity
    reports += exchange.advance(at("15:30"))
    done = sum(r.quantity for r in reports if r.report in (Report.trade, Report.cancelled, Report.expired))
    assert done == ordered
    band = exchange.market("600000").band
    assert all(band.contains(r.price) for r in reports if r.report is Report.trade)


def test_the_exchange_refuses_a_buy_off_the_lot_and_takes_a_sell_of_an_odd_lot():
    star = Instrument("688981", Venue.sse, Board.star, "中芯国际", dt.date(2020, 7, 16))
    exchange = Exchange([(PUFA, 10_00), (star, 90_00)], at("09:00"))
    with pytest.raises(LotSizeInvalid):
        exchange.submit(NewOrder("b", "688981", BUY, 100, 90_00), at("10:00"))
    with pytest.raises(LotSizeInvalid):
        exchange.submit(limit("b2", BUY, 150, 10_00), at("10:00"))
    assert exchange.submit(limit("s", SELL, 37, 10_00), at("10:00"))[-1].report is Report.accepted
