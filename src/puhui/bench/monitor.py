"""`puhui bench monitor`: events per second through the fund-flow monitor with every default rule on,
and commit-to-alert latency.

A synthetic stream of payment events (P2P among customers, QR payments to merchants, card top-ups
and withdrawals, with a few planted large values, structuring and round amounts) is written to a
fresh database's outbox in the services' payload shapes, spread over two simulated days. The
baseline, measured in the same run over the same events, is the monitor with no rules: it reads,
turns events into flows and stores the window state and offset. Latency: small chunks are committed
to the outbox one at a time and the monitor is stepped at once; the time from a chunk's commit to
the commit of the alerts it raised is recorded per alert (time.perf_counter). Prints numbers, asserts none.

Throughput is given twice: per second of wall time, and per second of this process's CPU time
(time.process_time), which on a machine shared with other work is what the worker itself costs; the
load average before the run says how shared it was. On SQLite the database works in this process, so
its CPU time counts; on PostgreSQL the server's does not.
"""

from __future__ import annotations

import json
import os
import random
import time
from contextlib import ExitStack
from typing import Any

import typer

TARGET_EVENTS_PER_S = 10_000
SECOND = 1_000_000


def _event(rng: random.Random, n: int, customers: int, merchants: int, at: int) -> tuple[str, str, str, dict]:
    payer = f"cus_{rng.randrange(customers)}"
    roll = rng.random()
    if roll < 0.02:
        amount = rng.choice(("600000.00", "45500.00", "48000.00", "20000.00"))  # planted: large, structuring, round
    else:
        amount = f"{rng.lognormvariate(5, 1.2):.2f}"
    if roll < 0.55:
        payee = f"cus_{rng.randrange(customers)}"
        body = {
            "id": f"p2p_{n}",
            "kind": "p2p",
            "payer_id": payer,
            "payee_id": payee,
            "qr_code_id": None,
            "amount": amount,
            "fee": "0.00",
            "refunded": "0.00",
            "currency": "CNY",
            "created_at": at,
            "device_id": None,
            "location": None,
        }
        return "p2p.completed", body["id"], "payments", body
    if roll < 0.9:
        merchant = f"mer_{rng.randrange(merchants)}"
        pay = {
            "id": f"qrp_{n}",
            "kind": "qr",
            "payer_id": payer,
            "payee_id": merchant,
            "qr_code_id": "qr",
            "amount": amount,
            "fee": "0.00",
            "refunded": "0.00",
            "currency": "CNY",
            "created_at": at,
            "device_id": None,
            "location": None,
        }
        return "payment.succeeded", merchant, "payments", {"event": "payment.succeeded", "payment": pay}
    kind = "debit_card" if roll < 0.97 else "credit_card"
    return (
        "bank_order.posted",
        payer,
        "payments",
        {"order_id": f"tu_{n}", "kind": kind, "amount": amount, "status": "posted"},
    )


def publish_stream(
    engine, rng: random.Random, start: int, count: int, first: int, customers: int, merchants: int, span_s: int
) -> int:
    """Write `count` events to the outbox in chunks; returns the simulated time after the last."""
    from puhui.db import transaction
    from puhui.db.tables import outbox

    step = max(1, span_s * SECOND // max(1, count))
    rows, at = [], start
    for n in range(first, first + count):
        at += step
        kind, key, topic, body = _event(rng, n, customers, merchants, at)
        rows.append(
            {
                "topic": topic,
                "type": kind,
                "key": key,
                "created_at": at,
                "payload": json.dumps(body, separators=(",", ":")),
            }
        )
    for i in range(0, len(rows), 5000):
        chunk = rows[i : i + 5000]
        transaction(engine, lambda uow, c=chunk: uow.execute(outbox.insert(), c))
    return at


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(
    *,
    events: int = 50_000,
    customers: int = 5_000,
    merchants: int = 200,
    latency_chunks: int = 200,
    chunk: int = 20,
    seed: int = 7,
    backend: str = "sqlite",
    database_url: str | None = None,
) -> dict[str, Any]:
    from puhui import clock
    from puhui.bench.ledger import fresh_database
    from puhui.db import create_engine_from_url
    from puhui.db.migrate import upgrade
    from puhui.regtech.monitor import Monitor
    from puhui.regtech.rules import DEFAULT_RULES

    rng = random.Random(seed)
    manual = clock.ManualClock()
    with ExitStack() as cleanup:
        cleanup.enter_context(clock.using(manual))
        url = database_url or fresh_database(backend, cleanup, "puhui_bench_monitor")
        engine = create_engine_from_url(url)
        cleanup.callback(engine.dispose)
        upgrade(engine)
        start = clock.now_micros()
        end = publish_stream(engine, rng, start, events, 0, customers, merchants, 2 * 86_400)

        load = os.getloadavg()[0]
        began, cpu = time.perf_counter(), time.process_time()
        base_events, _ = Monitor(engine, name="bench.baseline", rules=[], batch=1000).run()
        baseline_s, baseline_cpu = time.perf_counter() - began, time.process_time() - cpu

        worker = Monitor(engine, name="bench.monitor", batch=1000)
        began, cpu = time.perf_counter(), time.process_time()
        read, alerts = worker.run()
        monitor_s, monitor_cpu = time.perf_counter() - began, time.process_time() - cpu

        latencies: list[float] = []
        stepped: list[float] = []
        at = end
        for k in range(latency_chunks):
            at = publish_stream(engine, rng, at, chunk, events + k * chunk, customers, merchants, 60)
            committed = time.perf_counter()
            _, raised = worker.step()
            done_ms = (time.perf_counter() - committed) * 1000
            stepped.append(done_ms)
            latencies.extend([done_ms] * raised)
            alerts += raised
    return {
        "backend": backend,
        "events": read,
        "rules": len(DEFAULT_RULES),
        "alerts": alerts,
        "events_per_s": read / monitor_s,
        "baseline_events_per_s": base_events / baseline_s,
        "ratio_to_baseline": (read / monitor_s) / (base_events / baseline_s),
        "events_per_cpu_s": read / max(monitor_cpu, 1e-9),
        "baseline_events_per_cpu_s": base_events / max(baseline_cpu, 1e-9),
        "load_average_1m": load,
        "commit_to_alert_p50_ms": _percentile(latencies, 0.5),
        "commit_to_alert_p99_ms": _percentile(latencies, 0.99),
        "latency_alerts": len(latencies),
        "commit_to_processed_p99_ms": _percentile(stepped, 0.99),
        "target_events_per_s": TARGET_EVENTS_PER_S,
    }


def command(
    events: int = typer.Option(50_000, "--events", min=1, help="events in the throughput stream"),
    customers: int = typer.Option(5_000, "--customers", min=2, help="customers in the event stream"),
    merchants: int = typer.Option(200, "--merchants", min=1, help="merchants in the event stream"),
    latency_chunks: int = typer.Option(200, "--latency-chunks", min=1, help="chunks committed one by one"),
    chunk: int = typer.Option(20, "--chunk", min=1, help="events per latency chunk"),
    seed: int = typer.Option(7, "--seed", help="seed of the synthetic event stream"),
    backend: str = typer.Option("sqlite", "--backend", help="sqlite or postgresql (embedded)"),
    db: str | None = typer.Option(None, "--db", help="an existing, empty database URL instead"),
) -> None:
    """Monitor throughput (events/s, all rules on) against a no-rule baseline, and commit-to-alert p99."""
    result = run(
        events=events,
        customers=customers,
        merchants=merchants,
        latency_chunks=latency_chunks,
        chunk=chunk,
        seed=seed,
        backend=backend,
        database_url=db,
    )
    for name, value in result.items():
        shown = f"{value:,.2f}" if isinstance(value, float) else str(value)
        typer.echo(f"{name:28} {shown}")
    typer.echo(
        f"events/s {result['events_per_s']:,.0f} vs target {TARGET_EVENTS_PER_S:,} per worker "
        f"({result['events_per_cpu_s']:,.0f} per CPU second, {result['rules']} rules, "
        f"load {result['load_average_1m']:.1f}); "
        f"commit-to-alert p99 {result['commit_to_alert_p99_ms']:.1f} ms"
    )
