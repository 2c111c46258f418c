"""`puhui bench graph`: graph analytics (cycles, gather-scatter) over a synthetic month of
transfers in a fresh database, against the baseline of reading the same range into flows."""

from __future__ import annotations

import json
import random
import time

import typer

from puhui import clock
from puhui.bench.ledger import fresh_database
from puhui.db import transaction
from puhui.money import format_minor
from puhui.regtech.graph import CYCLE_RULE, SECOND, read_flows, run_graph_analytics
from puhui.regtech.rules import DAY


def _p2p_row(n: int, payer: str, payee: str, fen: int, at: int) -> dict:
    body = {
        "id": f"p2p_{n}",
        "kind": "p2p",
        "payer_id": payer,
        "payee_id": payee,
        "qr_code_id": None,
        "amount": format_minor(fen, 2),
        "fee": "0.00",
        "refunded": "0.00",
        "currency": "CNY",
        "created_at": at,
        "device_id": None,
        "location": None,
    }
    return {
        "topic": "payments",
        "type": "p2p.completed",
        "key": body["id"],
        "created_at": at,
        "payload": json.dumps(body, separators=(",", ":")),
    }


def synthetic_transfers(
    transfers: int, parties: int, cycles: int, seed: int, start: int, days: int = 30
) -> tuple[list[dict], list[set[str]]]:
    """Outbox rows of ordinary P2P (mostly 20-2,000 CNY, 2% of 10,000-50,000 CNY between random
    parties) and `cycles` planted cycles of 3-4 mules (20,000-60,000 CNY, 0.5-3% kept per hop, hours
    apart); returns the rows in time order and the planted cycles' parties."""
    rng = random.Random(seed)
    span = days * DAY * SECOND
    rows = []
    for n in range(transfers):
        payer, payee = rng.sample(range(parties), 2)
        fen = rng.randint(10_000_00, 50_000_00) if rng.random() < 0.02 else rng.randint(20_00, 2_000_00)
        rows.append(_p2p_row(n, f"cus_{payer}", f"cus_{payee}", fen, start + rng.randrange(span)))
    planted = []
    for c in range(cycles):
        members = [f"cus_ring{c}_{k}" for k in range(rng.choice((3, 4)))]
        at, fen = start + rng.randrange(span - 2 * DAY * SECOND), rng.randint(20_000_00, 60_000_00)
        for k, payer in enumerate(members):
            rows.append(_p2p_row(transfers + 10 * c + k, payer, members[(k + 1) % len(members)], fen, at))
            at += rng.randint(2, 8) * 3600 * SECOND
            fen = fen * rng.randint(970, 995) // 1000
        planted.append(set(members))
    rows.sort(key=lambda r: r["created_at"])
    return rows, planted


def bench_graph(
    transfers: int = 200_000,
    parties: int = 20_000,
    cycles: int = 5,
    seed: int = 7,
    backend: str = "sqlite",
    database_url: str | None = None,
) -> dict:
    """`run_graph_analytics` over a synthetic month of transfers in a fresh database; the baseline is
    reading the same range into flows (no graph, no detection). Prints nothing, asserts nothing."""
    from contextlib import ExitStack

    from sqlalchemy import select

    from puhui.db import create_engine_from_url, reading
    from puhui.db.migrate import upgrade
    from puhui.db.tables import outbox
    from puhui.regtech.tables import monitor_alerts

    with ExitStack() as cleanup:
        cleanup.enter_context(clock.using(clock.ManualClock()))
        engine = create_engine_from_url(database_url or fresh_database(backend, cleanup, "puhui_bench_graph"))
        cleanup.callback(engine.dispose)
        upgrade(engine)
        start = clock.now_micros()
        rows, planted = synthetic_transfers(transfers, parties, cycles, seed, start)
        for i in range(0, len(rows), 5000):
            transaction(engine, lambda uow, chunk=rows[i : i + 5000]: uow.execute(outbox.insert(), chunk))
        end = rows[-1]["created_at"] + 1
        began = time.perf_counter()
        read_flows(engine, start, end)
        baseline_s = time.perf_counter() - began
        first = run_graph_analytics(engine, start, end)
        again = run_graph_analytics(engine, start, end)
        with reading(engine) as connection:
            cycle_parties = set(
                connection.execute(
                    select(monitor_alerts.c.party).where(monitor_alerts.c.rule_code == CYCLE_RULE)
                ).scalars()
            )
    found = sum(1 for members in planted if members <= cycle_parties)
    return {
        "backend": backend,
        "transfers": len(rows),
        "baseline_read_s": round(baseline_s, 3),
        "first": first,
        "rerun_written": again["written"],
        "rerun_s": again["seconds"]["total"],
        "planted_cycles": len(planted),
        "planted_cycles_found": found,
    }


def command(
    transfers: int = typer.Option(200_000, "--transfers", min=10, help="transfers in the graph"),
    parties: int = typer.Option(20_000, "--parties", min=10, help="parties (nodes) they move between"),
    cycles: int = typer.Option(5, "--cycles", min=0, help="planted cycles"),
    seed: int = typer.Option(7, "--seed", help="seed of the synthetic graph"),
    backend: str = typer.Option("sqlite", "--backend", help="sqlite or postgresql (embedded)"),
    db: str | None = typer.Option(None, "--db", help="an existing, empty database URL instead"),
) -> None:
    """Network analytics on a synthetic transfer graph with planted cycles: seconds, nodes, edges."""
    result = bench_graph(
        transfers=transfers, parties=parties, cycles=cycles, seed=seed, backend=backend, database_url=db
    )
    typer.echo(json.dumps(result))
