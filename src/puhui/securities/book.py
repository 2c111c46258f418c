"""Continuous trading (连续竞价): one instrument's order book, matched by price then time.

A limit order trades against the best opposite prices it reaches, each trade at the resting order's
price, and its remainder rests. Market orders (市价申报) trade only in continuous trading and never
rest at an unknown price:
- best five levels, the rest cancelled (最优五档即时成交剩余撤销, SSE and SZSE);
- best five levels, the rest a limit order at the last trade's price (最优五档即时成交剩余转限价, SSE);
- the counterparty's best price (对手方最优价格): a limit order at the best opposite price;
- the own side's best price (本方最优价格): a limit order at the best price on its own side;
- immediate or cancel across all levels (即时成交剩余撤销, SZSE) and fill or kill (全额成交或撤销, SZSE).
On SSE a market order carries a protective price (保护限价): a buy trades no higher, a sell no lower;
SZSE has none. Which kinds each exchange takes is `MARKET_KINDS`; the exchange refuses the others
(`exchange.check_order_type`), the book itself trades any kind it is given.
An order that cannot trade or rest as its type says is cancelled, not refused: the exchange accepts
it and reports the cancellation.

The book knows prices in fen and quantities in shares, nothing of accounts or money: the brokerage
freezes and releases cash and shares around it. It is written for speed (plain lists, dicts of deques,
heaps with lazy deletion): `puhui bench matching` measures it.
"""

from __future__ import annotations

import enum
import heapq
from collections import deque
from dataclasses import dataclass

from puhui.securities.models import Exchange, Side

BEST_FIVE = 5


class OrderType(enum.StrEnum):
    limit = "limit"
    best5_ioc = "best5_ioc"  # 最优五档即时成交剩余撤销
    best5_limit = "best5_limit"  # 最优五档即时成交剩余转限价 (SSE)
    counterparty_best = "counterparty_best"  # 对手方最优价格
    own_best = "own_best"  # 本方最优价格
    ioc = "ioc"  # 即时成交剩余撤销 (SZSE)
    fok = "fok"  # 全额成交或撤销 (SZSE)


MARKET_KINDS: dict[Exchange, frozenset[OrderType]] = {  # 上交所/深交所交易规则 (2023): the market orders each takes
    Exchange.sse: frozenset(
        {OrderType.best5_ioc, OrderType.best5_limit, OrderType.counterparty_best, OrderType.own_best}
    ),
    Exchange.szse: frozenset(
        {OrderType.best5_ioc, OrderType.counterparty_best, OrderType.own_best, OrderType.ioc, OrderType.fok}
    ),
}
PROTECTIVE_PRICE = frozenset({Exchange.sse})  # the exchanges whose market orders take a protective price


class Order:
    """An order in the book; `remaining` falls as it trades and is 0 once done or cancelled."""

    __slots__ = ("id", "side", "price", "quantity", "remaining", "seq")

    def __init__(self, id: str, side: Side, price: int, quantity: int, seq: int) -> None:
        self.id = id
        self.side = side
        self.price = price
        self.quantity = quantity
        self.remaining = quantity
        self.seq = seq


@dataclass(frozen=True, slots=True)
class Trade:
    """A trade (成交): the incoming order against the resting one, at the resting order's price."""

    buy_id: str
    sell_id: str
    price: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Result:
    """What became of an incoming order: its trades, and how much rests in the book or was cancelled."""

    trades: tuple[Trade, ...]
    rested: int
    cancelled: int
    price: int | None  # the price it rests at, when it rests


class _Side:
    """One side of the book: a queue per price and a heap of prices, best first."""

    __slots__ = ("levels", "heap", "sign")

    def __init__(self, sign: int) -> None:
        self.levels: dict[int, deque[Order]] = {}
        self.heap: list[int] = []
        self.sign = sign  # -1 for bids (highest first), +1 for asks (lowest first)

    def best(self) -> int | None:
        heap, levels = self.heap, self.levels
        while heap:
            price = heap[0] * self.sign
            queue = levels.get(price)
            while queue and not queue[0].remaining:
                queue.popleft()
            if queue:
                return price
            if queue is not None:
                del levels[price]
            heapq.heappop(heap)
        return None

    def add(self, order: Order) -> None:
        queue = self.levels.get(order.price)
        if queue is None:
            queue = self.levels[order.price] = deque()
            heapq.heappush(self.heap, order.price * self.sign)
        queue.append(order)

    def prices(self, depth: int) -> list[int]:
        """The best `depth` prices with a live order, best first."""
        live = (p for p, q in self.levels.items() if any(o.remaining for o in q))
        return sorted(live, key=lambda p: p * self.sign)[:depth]

    def available(self, limit: int | None, levels: int | None) -> int:
        """Shares resting at prices up to `limit` (within the best `levels` prices)."""
        total = 0
        for price in self.prices(levels or len(self.levels)):
            if limit is not None and (price - limit) * self.sign > 0:
                break
            total += sum(o.remaining for o in self.levels[price])
        return total


class OrderBook:
    """The book of one instrument in continuous trading."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.bids = _Side(-1)
        self.asks = _Side(1)
        self.orders: dict[str, Order] = {}
        self.seq = 0
        self.last_price: int | None = None

    def _sides(self, side: Side) -> tuple[_Side, _Side]:
        return (self.bids, self.asks) if side is Side.buy else (self.asks, self.bids)

    def submit(
        self,
        id: str,
        side: Side,
        quantity: int,
        price: int | None = None,
        kind: OrderType = OrderType.limit,
        protect: int | None = None,
    ) -> Result:
        """Match an incoming order; `price` for a limit order, `protect` the SSE protective price."""
        own, opposite = self._sides(side)
        self.seq += 1
        order = Order(id, side, 0, quantity, self.seq)
        if kind is OrderType.limit:
            assert price is not None
            order.price = price
            return self._match_then_rest(order, opposite, own, price, None)
        if kind is OrderType.counterparty_best or kind is OrderType.own_best:
            best = (opposite if kind is OrderType.counterparty_best else own).best()
            if best is None or (protect is not None and _worse(side, best, protect)):
                return Result((), 0, quantity, None)
            order.price = best
            return self._match_then_rest(order, opposite, own, best, None)
        levels = BEST_FIVE if kind in (OrderType.best5_ioc, OrderType.best5_limit) else None
        if kind is OrderType.fok and opposite.available(protect, None) < quantity:
            return Result((), 0, quantity, None)
        trades = self._match(order, opposite, protect, levels)
        if kind is OrderType.best5_limit and order.remaining and trades:
            order.price = trades[-1].price
            return self._rest(order, own, trades)
        cancelled, order.remaining = order.remaining, 0
        return Result(tuple(trades), 0, cancelled, None)

    def _match_then_rest(self, order: Order, opposite: _Side, own: _Side, limit: int, levels: int | None) -> Result:
        trades = self._match(order, opposite, limit, levels)
        if not order.remaining:
            return Result(tuple(trades), 0, 0, None)
        return self._rest(order, own, trades)

    def _rest(self, order: Order, own: _Side, trades: list[Trade]) -> Result:
        own.add(order)
        self.orders[order.id] = order
        return Result(tuple(trades), order.remaining, 0, order.price)

    def _match(self, order: Order, opposite: _Side, limit: int | None, levels: int | None) -> list[Trade]:
        trades: list[Trade] = []
        buying = order.side is Side.buy
        seen = 0
        while order.remaining:
            best = opposite.best()
            if best is None or (limit is not None and (best > limit if buying else best < limit)):
                break
            if levels is not None:
                seen += 1
                if seen > levels:
                    break
            queue = opposite.levels[best]
            while queue and order.remaining:
                resting = queue[0]
                quantity = min(resting.remaining, order.remaining)
                if quantity:
                    resting.remaining -= quantity
                    order.remaining -= quantity
                    trades.append(
                        Trade(order.id, resting.id, best, quantity)
                        if buying
                        else Trade(resting.id, order.id, best, quantity)
                    )
                if not resting.remaining:
                    queue.popleft()
                    self.orders.pop(resting.id, None)
        if trades:
            self.last_price = trades[-1].price
        return trades

    def cancel(self, id: str) -> int:
        """Cancel a resting order (撤单); the shares it still had, 0 if it was not resting."""
        order = self.orders.pop(id, None)
        if order is None:
            return 0
        left, order.remaining = order.remaining, 0
        return left

    def depth(self, levels: int = BEST_FIVE) -> dict[str, list[tuple[int, int]]]:
        """The five best prices each side with their resting quantities (五档行情)."""
        return {
            "bids": [(p, sum(o.remaining for o in self.bids.levels[p])) for p in self.bids.prices(levels)],
            "asks": [(p, sum(o.remaining for o in self.asks.levels[p])) for p in self.asks.prices(levels)],
        }

    def resting(self) -> list[Order]:
        return [o for o in self.orders.values() if o.remaining]


def _worse(side: Side, price: int, protect: int) -> bool:
    return price > protect if side is Side.buy else price < protect
