"""Continuous trading: price-time priority, each market order type, cancels, and the book against a
plain sorted-list book on random order streams."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.securities.book import OrderBook, OrderType, Result, Trade
from puhui.securities.models import Side

BUY, SELL = Side.buy, Side.sell


def seeded() -> OrderBook:
    """Asks 10.01×300 (a1), 10.01×200 (a2), 10.02×500 (a3), 10.05×100 (a4); bids 9.99×400 (b1), 9.98×100 (b2)."""
    book = OrderBook("600000")
    for oid, side, price, qty in [
        ("a1", SELL, 10_01, 300),
        ("a2", SELL, 10_01, 200),
        ("a3", SELL, 10_02, 500),
        ("a4", SELL, 10_05, 100),
        ("b1", BUY, 9_99, 400),
        ("b2", BUY, 9_98, 100),
    ]:
        assert book.submit(oid, side, qty, price).rested == qty
    return book


def test_a_limit_buy_takes_the_best_asks_in_time_order_at_their_prices_and_rests_the_rest():
    book = seeded()
    result = book.submit("x", BUY, 1200, 10_02)
    assert result == Result(
        (Trade("x", "a1", 10_01, 300), Trade("x", "a2", 10_01, 200), Trade("x", "a3", 10_02, 500)), 200, 0, 10_02
    )
    assert book.depth() == {"bids": [(10_02, 200), (9_99, 400), (9_98, 100)], "asks": [(10_05, 100)]}
    assert book.last_price == 10_02


def test_best_five_ioc_cancels_what_five_levels_cannot_fill():
    book = OrderBook("600000")
    for i in range(7):
        book.submit(f"a{i}", SELL, 100, 10_00 + i)
    result = book.submit("m", BUY, 1000, kind=OrderType.best5_ioc)
    assert [t.price for t in result.trades] == [10_00, 10_01, 10_02, 10_03, 10_04]
    assert (result.rested, result.cancelled) == (0, 500)


def test_best_five_then_limit_rests_at_the_last_trade_price():
    book = seeded()
    result = book.submit("m", BUY, 1200, kind=OrderType.best5_limit)
    assert sum(t.quantity for t in result.trades) == 1100
    assert (result.rested, result.price) == (100, 10_05)


def test_the_sse_protective_price_stops_a_market_buy():
    book = seeded()
    result = book.submit("m", BUY, 1200, kind=OrderType.best5_ioc, protect=10_01)
    assert sum(t.quantity for t in result.trades) == 500
    assert result.cancelled == 700


def test_counterparty_best_and_own_best_become_limits_at_those_prices():
    book = seeded()
    counter = book.submit("c", BUY, 600, kind=OrderType.counterparty_best)
    assert [(t.price, t.quantity) for t in counter.trades] == [(10_01, 300), (10_01, 200)]
    assert (counter.rested, counter.price) == (100, 10_01)
    own = book.submit("o", SELL, 100, kind=OrderType.own_best)
    assert own.trades == () and own.price == 10_02
    empty = OrderBook("600000").submit("e", BUY, 100, kind=OrderType.counterparty_best)
    assert (empty.cancelled, empty.rested) == (100, 0)


def test_fill_or_kill_trades_all_or_nothing():
    book = seeded()
    killed = book.submit("k", BUY, 1101, kind=OrderType.fok)
    assert (killed.trades, killed.cancelled) == ((), 1101)
    assert book.depth()["asks"][0] == (10_01, 500)
    filled = book.submit("f", BUY, 1100, kind=OrderType.fok)
    assert sum(t.quantity for t in filled.trades) == 1100 and filled.cancelled == 0


def test_ioc_sweeps_every_level_and_cancels_the_rest():
    book = seeded()
    result = book.submit("i", SELL, 600, kind=OrderType.ioc)
    assert [(t.buy_id, t.price, t.quantity) for t in result.trades] == [("b1", 9_99, 400), ("b2", 9_98, 100)]
    assert result.cancelled == 100


def test_a_cancelled_order_no_longer_trades():
    book = seeded()
    assert book.cancel("a1") == 300
    assert book.cancel("a1") == 0
    result = book.submit("x", BUY, 300, 10_01)
    assert [(t.sell_id, t.quantity) for t in result.trades] == [("a2", 200)]
    assert book.cancel("nope") == 0


class PlainBook:
    """The oracle: every resting order in one list, the best found by sorting; no shortcuts."""

    def __init__(self) -> None:
        self.resting: list[list] = []  # [seq, id, side, price, remaining]
        self.seq = 0

    def submit(self, oid, side, qty, price):
        self.seq += 1
        trades = []
        while qty:
            opposite = [r for r in self.resting if r[2] is not side and r[4] > 0]
            opposite = [r for r in opposite if (r[3] <= price if side is BUY else r[3] >= price)]
            if not opposite:
                break
            best = min(opposite, key=lambda r: ((r[3] if side is BUY else -r[3]), r[0]))
            take = min(qty, best[4])
            best[4] -= take
            qty -= take
            trades.append(Trade(oid, best[1], best[3], take) if side is BUY else Trade(best[1], oid, best[3], take))
        if qty:
            self.resting.append([self.seq, oid, side, price, qty])
        return trades

    def cancel(self, oid):
        for r in self.resting:
            if r[1] == oid and r[4]:
                left, r[4] = r[4], 0
                return left
        return 0


actions = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.sampled_from([BUY, SELL]), st.integers(1, 10), st.integers(9_95, 10_05)),
        st.tuples(st.just("cancel"), st.integers(0, 40)),
    ),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(actions=actions)
def test_the_book_trades_exactly_as_a_plain_book_and_conserves_shares(actions):
    book, plain = OrderBook("600000"), PlainBook()
    submitted = traded = cancelled = 0
    for n, action in enumerate(actions):
        if action[0] == "order":
            _, side, lots, price = action
            qty = lots * 100
            result = book.submit(f"o{n}", side, qty, price)
            assert list(result.trades) == plain.submit(f"o{n}", side, qty, price)
            for t in result.trades:
                assert (t.price <= price) if side is BUY else (t.price >= price)
            submitted += qty
            traded += 2 * sum(t.quantity for t in result.trades)
        else:
            oid = f"o{action[1]}"
            left = book.cancel(oid)
            assert left == plain.cancel(oid)
            cancelled += left
    resting = sum(o.remaining for o in book.resting())
    assert submitted == traded + resting + cancelled
    bids, asks = book.bids.best(), book.asks.best()
    assert bids is None or asks is None or bids < asks  # the book never stays crossed


@pytest.mark.parametrize("kind", [OrderType.best5_ioc, OrderType.ioc, OrderType.fok, OrderType.counterparty_best])
def test_a_market_order_against_an_empty_book_is_cancelled(kind):
    result = OrderBook("600000").submit("m", SELL, 100, kind=kind)
    assert (result.trades, result.rested, result.cancelled) == ((), 0, 100)
