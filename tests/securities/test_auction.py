"""The call auction's price on hand-computed books, each exchange's tie-breaks, and its invariants
against a brute-force oracle over every tick."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puhui.securities.auction import AuctionOrder, Fill, auction_fills, auction_price
from puhui.securities.models import Exchange, Side

SSE, SZSE = Exchange.sse, Exchange.szse


def book(*orders: tuple[str, int, int]) -> list[AuctionOrder]:
    return [
        AuctionOrder(f"{side}{seq}", Side.buy if side == "b" else Side.sell, price, quantity, seq)
        for seq, (side, price, quantity) in enumerate(orders)
    ]


TEXTBOOK = book(
    ("b", 10_05, 300), ("b", 10_03, 500), ("b", 10_00, 200), ("s", 9_98, 200), ("s", 10_01, 400), ("s", 10_04, 600)
)


@pytest.mark.parametrize("exchange", [SSE, SZSE])
def test_the_price_executes_the_most_and_fills_everything_better(exchange):
    # 10.01 also executes 600 but leaves 800 bid above it unfilled: only 10.03 clears.
    price = auction_price(TEXTBOOK, exchange, reference=10_00)
    assert (price.price, price.volume) == (10_03, 600)
    assert auction_fills(TEXTBOOK, price) == [
        Fill("b0", "s3", 10_03, 200),
        Fill("b0", "s4", 10_03, 100),
        Fill("b1", "s4", 10_03, 300),
    ]


@pytest.mark.parametrize("exchange", [SSE, SZSE])
def test_of_two_prices_executing_the_most_the_one_leaving_less_unfilled_wins(exchange):
    orders = book(("b", 10_05, 1000), ("b", 10_03, 100), ("s", 10_00, 1000), ("s", 10_04, 50))
    # 10.03: 1,100 bid vs 1,000 offered (100 unfilled); 10.04: 1,000 vs 1,050 (50 unfilled)
    price = auction_price(orders, exchange, reference=10_00)
    assert (price.price, price.volume, price.unfilled) == (10_04, 1000, 50)


def test_sse_takes_the_midpoint_of_the_declared_prices_left_rounded_half_up():
    orders = book(("b", 10_10, 500), ("s", 10_00, 500))
    assert auction_price(orders, SSE, reference=10_02).price == 10_05
    orders = book(("b", 10_05, 1000), ("b", 10_00, 300), ("s", 9_95, 800), ("s", 10_02, 200))
    assert auction_price(orders, SSE, reference=10_00).price == 10_04  # (10.02 + 10.05) / 2 = 10.035


def test_szse_takes_the_tick_nearest_the_reference_even_between_declared_prices():
    orders = book(("b", 10_10, 500), ("s", 10_00, 500))
    assert auction_price(orders, SZSE, reference=10_02).price == 10_02  # the previous close itself
    assert auction_price(orders, SZSE, reference=9_50).price == 10_00
    assert auction_price(orders, SZSE, reference=10_20).price == 10_10


@pytest.mark.parametrize("exchange", [SSE, SZSE])
def test_no_cross_no_price(exchange):
    assert auction_price(book(("b", 9_90, 100), ("s", 10_00, 100)), exchange, reference=10_00) is None
    assert auction_price(book(("b", 9_90, 100)), exchange, reference=10_00) is None
    assert auction_price([], exchange, reference=10_00) is None


def brute_volume(orders, price):
    bid = sum(o.quantity for o in orders if o.side is Side.buy and o.price >= price)
    offered = sum(o.quantity for o in orders if o.side is Side.sell and o.price <= price)
    return min(bid, offered)


orders_strategy = st.lists(
    st.tuples(st.sampled_from("bs"), st.integers(9_90, 10_10), st.integers(1, 20).map(lambda n: n * 100)),
    min_size=1,
    max_size=30,
).map(lambda rows: book(*rows))


@settings(max_examples=300, deadline=None)
@given(orders=orders_strategy, exchange=st.sampled_from([SSE, SZSE]), reference=st.integers(9_90, 10_10))
def test_the_auction_clears_at_the_most_volume_any_tick_could_execute(orders, exchange, reference):
    price = auction_price(orders, exchange, reference)
    lowest, highest = min(o.price for o in orders), max(o.price for o in orders)
    best = max(brute_volume(orders, p) for p in range(lowest, highest + 1))
    if price is None:
        assert best == 0
        return
    assert price.volume == best == brute_volume(orders, price.price)
    fills = auction_fills(orders, price)
    assert sum(f.quantity for f in fills) == price.volume
    filled = {o.id: 0 for o in orders}
    for f in fills:
        filled[f.buy_id] += f.quantity
        filled[f.sell_id] += f.quantity
    for o in orders:
        assert filled[o.id] <= o.quantity
        better = o.price > price.price if o.side is Side.buy else o.price < price.price
        if better:
            assert filled[o.id] == o.quantity
        if filled[o.id]:
            assert (o.price >= price.price) if o.side is Side.buy else (o.price <= price.price)
    at_price = [o for o in orders if o.price == price.price]
    sides_full = [all(filled[o.id] == o.quantity for o in at_price if o.side is side) for side in (Side.buy, Side.sell)]
    assert any(sides_full)


def test_time_priority_decides_among_equal_prices_at_the_auction_price():
    orders = book(("b", 10_00, 300), ("b", 10_00, 300), ("s", 10_00, 400))
    price = auction_price(orders, SSE, reference=10_00)
    fills = auction_fills(orders, price)
    assert [(f.buy_id, f.quantity) for f in fills] == [("b0", 300), ("b1", 100)]
    assert list(itertools.chain.from_iterable((f.sell_id,) for f in fills)) == ["s2", "s2"]
