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
MARKET_KINDS = (OrderType.best5_ioc, OrderType.counterparty_best, OrderType.own_best, OrderType.best5_limit)  # SSE's


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


def _person(n: int) -> dict[str, object]:
    from stdnum.cn import ric

    body = f"11010519900307{n:03d}"
    return {
        "name": ("张交易", "李交易")[n % 2],
        "id_number": body + ric.calc_check_digit(body + "0"),
        "phone": f"1390000{n:04d}",
        "password": "bench-Passw0rd!",
        "consents": ["payments"],  # required at sign-up (`identity.consent.REGISTRATION_CONSENTS`)
    }


def bench_http(orders: int, backend: str) -> dict[str, object]:
    """Orders through the HTTP API (in process, ASGI) on a fresh database of `backend`: a seller's limit
    order rests and a buyer's takes it, every pair a trade booked on the ledger; the same client's
    `GET /health` at the same count is the baseline."""
    from contextlib import ExitStack

    from fastapi.testclient import TestClient

    from puhui import clock
    from puhui.app import create_app
    from puhui.bench.ledger import fresh_database
    from puhui.db import create_engine_from_url, transaction
    from puhui.db.migrate import upgrade
    from puhui.identity.vault import generate_key
    from puhui.ledger.models import Transfer
    from puhui.ledger.service import create_transfers
    from puhui.securities import orders as brokerage_orders
    from puhui.settings import Settings
    from puhui.wealth.suitability.service import CURRENT

    settings = Settings(
        admin_token="bench-admin-token-0123456789",
        pii_keys=f"k1:{generate_key()}",
        pii_index_key=generate_key(),
        jwt_secret="b" * 48,
        jwt_ttl_seconds=86_400,
        fraud_checks=False,
        monitoring=False,
        merchant_notifications=False,
    )
    moment = dt.datetime(2026, 12, 3, 10, 0, tzinfo=clock.CHINA)  # a Thursday in continuous trading
    with ExitStack() as cleanup:
        engine = create_engine_from_url(fresh_database(backend, cleanup, "puhui_bench_matching"))
        cleanup.callback(engine.dispose)
        upgrade(engine)
        cleanup.enter_context(clock.using(clock.ManualClock(moment)))
        client = cleanup.enter_context(TestClient(create_app(engine, settings, run_expiry=False)))
        sessions = []
        for n in (1, 2):
            person = _person(n)
            registered = client.post("/v1/customers", json=person)
            if registered.status_code != 201:
                raise RuntimeError(f"bench setup: {registered.text}")
            made = registered.json()
            top_up = Transfer(
                f"bench.{n}", "platform.reserve_bank.CNY", made["wallet_account_id"], 10**10, "CNY", "top_up"
            )
            transaction(engine, lambda uow, t=top_up: create_transfers(uow, [t]))
            token = client.post("/v1/customers/login", json={"phone": person["phone"], "password": person["password"]})
            me = {"Authorization": f"Bearer {token.json()['token']}"}
            answers = {q.id: max(q.choices, key=lambda c: c.score).key for q in CURRENT.questions}
            assessed = {"version": CURRENT.version, "answers": answers}  # 风险测评 before opening (适当性)
            client.post("/v1/wealth/questionnaire/answers", headers={**me, "Idempotency-Key": f"q-{n}"}, json=assessed)
            client.post("/v1/securities/accounts", headers={**me, "Idempotency-Key": f"open-{n}"}, json={})
            moved = {"direction": "in", "amount": "50000000.00"}
            client.post("/v1/securities/transfers", headers={**me, "Idempotency-Key": f"in-{n}"}, json=moved)
            sessions.append((made["id"], me))
        seller_id = sessions[1][0]
        transaction(
            engine, lambda uow: brokerage_orders.deposit_shares(uow, seller_id, "600000", 100 * orders, "bench")
        )
        samples: list[float] = []
        statuses: dict[int, int] = {}
        began = time.perf_counter()
        for n in range(orders):
            _, me = sessions[(n + 1) % 2]  # the seller first, then the buyer who takes it
            side = "sell" if n % 2 == 0 else "buy"
            body = {"code": "600000", "side": side, "quantity": 100, "price": "10.50"}
            start = time.perf_counter()
            answer = client.post("/v1/securities/orders", headers={**me, "Idempotency-Key": f"o-{n}"}, json=body)
            samples.append(time.perf_counter() - start)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        seconds = time.perf_counter() - began
        health: list[float] = []
        health_began = time.perf_counter()
        for _ in range(orders):
            start = time.perf_counter()
            client.get("/health")
            health.append(time.perf_counter() - start)
        health_seconds = time.perf_counter() - health_began
    cuts, health_cuts = statistics.quantiles(samples, n=100), statistics.quantiles(health, n=100)
    return {
        "backend": backend,
        "orders": orders,
        "statuses": statuses,
        "orders_per_s": round(orders / seconds, 1),
        "p50_ms": round(cuts[49] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "health_per_s": round(orders / health_seconds, 1),
        "health_p99_ms": round(health_cuts[98] * 1000, 2),
        "orders_vs_health": round(health_seconds / seconds, 3),
    }


def command(
    orders: int = typer.Option(200_000, "--orders", min=100, help="orders (and cancels) in the stream"),
    seed: int = typer.Option(7, "--seed", help="seed of the order stream"),
    http: int = typer.Option(0, "--http", min=0, help="also place this many orders through the HTTP API"),
    backend: str = typer.Option("sqlite", "--backend", help="the HTTP part's database: sqlite or postgresql"),
) -> None:
    """Matching: orders/s and p50/p99 per order, against a sorted-list book without rules.

    Through the engine core and the exchange's rules, against a sorted-list book without rules in the same
    run; with --http, through the API against GET /health."""
    result = bench_matching(orders, seed)
    if http:
        result["http"] = bench_http(http, backend)
    typer.echo(json.dumps(result))
