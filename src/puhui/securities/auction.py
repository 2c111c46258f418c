"""The call auction (集合竞价): one price for every trade of the auction, and the fills at it.

The price (SSE rules 3.6.2, SZSE rules 3.5.2) is the price that
1. executes the largest volume;
2. fills every buy above it and every sell below it;
3. fills at least one side at it entirely.
When several prices qualify, both exchanges keep those leaving the least unfilled at the price (the
smallest difference between the buys at or above it and the sells at or below it). Then:
- SSE takes the midpoint of the remaining declared prices (中间价), rounded half-up to the tick;
- SZSE takes the price nearest the reference: the previous close in the opening auction, the last
  trade in the closing one. SZSE's candidates are every tick, not only declared prices: between two
  declared prices the cumulative quantities do not change, so the tick nearest the reference in each
  gap stands for the whole gap. Two candidates equally near the reference: the lower is taken (the
  rules are silent; it is the price least favourable to the buyers who set the price).
No price executes anything when the best buy is below the best sell (no cross): the auction has no
price and orders wait for continuous trading.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from puhui.securities.models import Exchange, Side


@dataclass(frozen=True, slots=True)
class AuctionOrder:
    """A limit order in the auction; `seq` is its time priority (smaller is earlier)."""

    id: str
    side: Side
    price: int  # fen
    quantity: int
    seq: int


@dataclass(frozen=True, slots=True)
class Fill:
    buy_id: str
    sell_id: str
    price: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Candidate:
    price: int
    buys_at_or_above: int
    sells_at_or_below: int
    buys_above: int
    sells_below: int

    @property
    def volume(self) -> int:
        return min(self.buys_at_or_above, self.sells_at_or_below)

    @property
    def unfilled(self) -> int:
        return abs(self.buys_at_or_above - self.sells_at_or_below)

    @property
    def clears(self) -> bool:
        """Rules 2 and 3: everything better than the price fills, and one side at it fills entirely."""
        volume = self.volume
        better_fill = self.buys_above <= volume and self.sells_below <= volume
        return better_fill and volume in (self.buys_at_or_above, self.sells_at_or_below)


class _Depth:
    """Cumulative quantities by price, for any price, in O(log n)."""

    def __init__(self, orders: Iterable[AuctionOrder]) -> None:
        buys: dict[int, int] = {}
        sells: dict[int, int] = {}
        for order in orders:
            book = buys if order.side is Side.buy else sells
            book[order.price] = book.get(order.price, 0) + order.quantity
        self.buy_prices = sorted(buys)
        self.sell_prices = sorted(sells)
        # buys_from[i]: quantity bid at buy_prices[i] or higher; sells_to[i]: offered at sell_prices[i] or lower
        self.buys_from = list(itertools.accumulate(reversed([buys[p] for p in self.buy_prices])))[::-1] + [0]
        self.sells_to = [0, *itertools.accumulate(sells[p] for p in self.sell_prices)]

    def buys_at_or_above(self, price: int) -> int:
        return self.buys_from[bisect.bisect_left(self.buy_prices, price)]

    def buys_above(self, price: int) -> int:
        return self.buys_from[bisect.bisect_right(self.buy_prices, price)]

    def sells_at_or_below(self, price: int) -> int:
        return self.sells_to[bisect.bisect_right(self.sell_prices, price)]

    def sells_below(self, price: int) -> int:
        return self.sells_to[bisect.bisect_left(self.sell_prices, price)]

    def candidate(self, price: int) -> Candidate:
        return Candidate(
            price,
            self.buys_at_or_above(price),
            self.sells_at_or_below(price),
            self.buys_above(price),
            self.sells_below(price),
        )

    def declared(self) -> list[int]:
        return sorted(set(self.buy_prices) | set(self.sell_prices))


def _gap_ticks(declared: Sequence[int], reference: int) -> list[int]:
    """In each gap between declared prices, the tick nearest the reference."""
    ticks = []
    for low, high in itertools.pairwise(declared):
        if high - low > 1:
            ticks.append(min(max(reference, low + 1), high - 1))
    return ticks


def auction_price(orders: Sequence[AuctionOrder], exchange: Exchange, reference: int) -> Candidate | None:
    """The auction's price with its cumulative quantities, or None when nothing crosses."""
    depth = _Depth(orders)
    declared = depth.declared()
    prices = declared if exchange is Exchange.sse else declared + _gap_ticks(declared, reference)
    candidates = [c for c in map(depth.candidate, prices) if c.volume > 0 and c.clears]
    if not candidates:
        return None
    most = max(c.volume for c in candidates)
    best = [c for c in candidates if c.volume == most]
    least = min(c.unfilled for c in best)
    best = sorted((c for c in best if c.unfilled == least), key=lambda c: c.price)
    if exchange is Exchange.sse:
        middle = (Decimal(best[0].price) + Decimal(best[-1].price)) / 2
        return depth.candidate(int(middle.quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    return min(best, key=lambda c: (abs(c.price - reference), c.price))


def auction_fills(orders: Sequence[AuctionOrder], price: Candidate) -> list[Fill]:
    """The fills at the auction price: buys by price then time against sells by price then time,
    until the auction's volume is done."""
    buys = sorted((o for o in orders if o.side is Side.buy and o.price >= price.price), key=lambda o: (-o.price, o.seq))
    sells = sorted(
        (o for o in orders if o.side is Side.sell and o.price <= price.price), key=lambda o: (o.price, o.seq)
    )
    fills: list[Fill] = []
    remaining = price.volume
    b = s = 0
    left_buy = buys[0].quantity if buys else 0
    left_sell = sells[0].quantity if sells else 0
    while remaining:
        quantity = min(left_buy, left_sell, remaining)
        fills.append(Fill(buys[b].id, sells[s].id, price.price, quantity))
        remaining -= quantity
        left_buy -= quantity
        left_sell -= quantity
        if not left_buy and remaining:
            b += 1
            left_buy = buys[b].quantity
        if not left_sell and remaining:
            s += 1
            left_sell = sells[s].quantity
    return fills
