"""`puhui bench matching`: orders per second and latency per order through the exchange simulator's
matching core (`securities.book`) and through the exchange with its rules (`securities.exchange`:
phase, tick and band checks, execution reports), against a plain baseline in the same run: a
sorted-list book without rules (insort and pop from the front).

The order stream is the same for all three: limit orders around a drifting mid price (about a third
cross the spread), cancels of earlier orders and, for the engine and the exchange, market orders of
the SSE and SZSE types.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import typer

from puhui.securities.book import OrderBook, OrderType
from puhui.securities.errors import OrderNotCancellable
from puhui.securities.exchange import Exchange, NewOrder
from puhui.securities.models import Board, Instrument, Side
from puhui.securities.models import Exchange as Venue

INSTRUMENT = Instrument("600000", Venue.sse, Board.main, "浦发银行", dt.date(1999, 11, 10))
PREVIOUS_CLOSE = 10_00
MARKET_KINDS = (OrderType.best5_ioc, OrderType.counterparty_best, OrderType.ioc, OrderType.best5_limit)


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # "limit", "market" or "cancel"
    id: str
    side: Side
    quantity: int
    price: int
    market: OrderType = OrderType.limit


def order_stream(count: int, seed: int) -> list[Action]:
    rng = random.Random(seed)
    mid = PREVIOUS_CLOSE
    actions: list[Action] = []
    for n in range(count):
        mid = min(max(mid + rng.choice((-1, 0, 0, 1)), 9_50), 10_50)
        side = Side.buy if rng.random() < 0.5 else Side.sell
        roll = rng.random()
        if roll < 0.10 and n:
            victim = actions[rng.randrange(len(actions))]
            actions.append(Action("cancel", victim.id, victim.side, 0, 0))
            continue
        quantity = rng.choice((1, 1, 2, 3, 5, 10)) * 100
        if roll < 0.15:
            actions.append(Action("market", f"o{n}", side, quantity, 0, rng.choice(MARKET_KINDS)))
            continue
        offset = rng.randint(-3, 6)  # a third reach across the spread
        price = mid - offset if side is Side.buy else mid + offset
        actions.append(Action("limit", f"o{n}", side, quantity, price))
    return actions


class SortedListBook:
    """The baseline: each side one sorted list of (price key, seq, id, [remaining]); no rules, limit
    orders only (market orders are skipped, cancels scan the list)."""

    def __init__(self) -> None:
        self.bids: list[tuple[int, int, str, list[int]]] = []
        self.asks: list[tuple[int, int, str, list[int]]] = []
        self.seq = 0

    def submit(self, side: Side, quantity: int, price: int, oid: str) -> int:
        self.seq += 1
        buying = side is Side.buy
        opposite = self.asks if buying else self.bids
        traded = 0
        while quantity and opposite:
            key, _, _, left = opposite[0]
            best = key if buying else -key
            if (best > price) if buying else (best < price):
                break
            take = min(quantity, left[0])
            left[0] -= take
            quantity -= take
            traded += take
            if not left[0]:
                opposite.pop(0)
        if quantity:
            bisect.insort(self.bids if buying else self.asks, (-price if buying else price, self.seq, oid, [quantity]))
        return traded

    def cancel(self, side: Side, oid: str) -> None:
        book = self.bids if side is Side.buy else self.asks
        for i, row in enumerate(book):
            if row[2] == oid:
                del book[i]
                return


def _baseline() -> Callable[[Action], object]:
    book = SortedListBook()

    def run(a: Action) -> object:
        if a.kind == "limit":
            return book.submit(a.side, a.quantity, a.price, a.id)
        if a.kind == "cancel":
            book.cancel(a.side, a.id)
        return None

    return run


def _engine() -> Callable[[Action], object]:
    book = OrderBook(INSTRUMENT.code)

    def run(a: Action) -> object:
        if a.kind == "limit":
            return book.submit(a.id, a.side, a.quantity, a.price)
        if a.kind == "market":
            return book.submit(a.id, a.side, a.quantity, kind=a.market)
        return book.cancel(a.id)

    return run


def _exchange() -> Callable[[Action], object]:
    moment = dt.datetime(2026, 12, 3, 10, 0)  # a Thursday, in continuous trading
    exchange = Exchange([(INSTRUMENT, PREVIOUS_CLOSE)], moment)
    code = INSTRUMENT.code

    def run(a: Action) -> object:
        if a.kind == "cancel":
            try:
                return exchange.cancel(code, a.id, moment)
            except OrderNotCancellable:  # a random stream cancels orders already done
                return None
        price = a.price if a.kind == "limit" else None
        return exchange.submit(NewOrder(a.id, code, a.side, a.quantity, price, a.market), moment)

    return run


def _time(make: Callable[[], Callable[[Action], object]], actions: list[Action]) -> dict[str, float]:
    """Orders per second over an untimed pass, then latency per order over a second, fresh run."""
    run = make()
    began = time.perf_counter()
    for a in actions:
        run(a)
    seconds = time.perf_counter() - began
    run = make()
    clock = time.perf_counter_ns
    latencies = []
    for a in actions:
        start = clock()
        run(a)
        latencies.append(clock() - start)
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "orders_per_s": round(len(actions) / seconds),
        "p50_us": round(cuts[49] / 1000, 2),
        "p99_us": round(cuts[98] / 1000, 2),
        "seconds": round(seconds, 3),
    }


def bench_matching(orders: int, seed: int) -> dict[str, object]:
    actions = order_stream(orders, seed)
    baseline = _time(_baseline, actions)
    engine = _time(_engine, actions)
    exchange = _time(_exchange, actions)
    return {
        "orders": orders,
        "baseline_sorted_list": baseline,
        "engine_core": engine,
        "exchange_with_rules": exchange,
        "engine_vs_baseline": round(engine["orders_per_s"] / baseline["orders_per_s"], 2),
        "exchange_vs_baseline": round(exchange["orders_per_s"] / baseline["orders_per_s"], 2),
    }


def command(
    orders: int = typer.Option(200_000, "--orders", min=100, help="orders (and cancels) in the stream"),
    seed: int = typer.Option(7, "--seed"),
) -> None:
    """Matching: orders/s and p50/p99 per order through the engine core and the exchange's rules, against
    a sorted-list book without rules in the same run."""
    typer.echo(json.dumps(bench_matching(orders, seed)))
