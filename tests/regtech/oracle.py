"""Recorded monitor answers (a test oracle): seeded event streams and the alerts the monitor raised on
them before its throughput work (commit 44538eb), so a faster monitor can be held to the same alerts.

Two streams: `sim`, the flow events of a seeded simulation (400 customers × 45 days, seed 3, with its
planted typologies and look-alikes), stored as they were published because the simulator changes on
its own; and `bench`, the `puhui bench monitor` stream, regenerated from its seed. `record()` wrote
`data/monitor_oracle.json.gz` with the old code; it is kept to show how, not to be rerun.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from pathlib import Path

from sqlalchemy import select

from puhui.db import reading, transaction
from puhui.db.tables import outbox
from puhui.regtech.tables import monitor_alerts

DATA = Path(__file__).parent / "data" / "monitor_oracle.json.gz"
BENCH = {"count": 12_000, "customers": 300, "merchants": 20, "span_s": 2 * 86_400, "seed": 11}
BENCH_START = 1_767_576_600_000_000  # 2026-01-05 01:30 UTC, the test clock's start


def recorded() -> dict:
    with gzip.open(DATA, "rt", encoding="utf-8") as file:
        return json.load(file)


def publish_rows(engine, rows: list[list]) -> None:
    """Outbox rows [topic, type, key, created_at, payload] as they were published."""
    values = [{"topic": t, "type": k, "key": key, "created_at": at, "payload": p} for t, k, key, at, p in rows]
    for i in range(0, len(values), 5000):
        transaction(engine, lambda uow, c=values[i : i + 5000]: uow.execute(outbox.insert(), c))


def publish_bench(engine) -> None:
    from puhui.bench.monitor import publish_stream

    b = BENCH
    rng = random.Random(b["seed"])
    publish_stream(engine, rng, BENCH_START, b["count"], 0, b["customers"], b["merchants"], b["span_s"])


def alert_rows(engine) -> list[list]:
    """Every stored alert as [id, rule, version, typology, party, start, end, amount, position, event at,
    sha-256 of its evidence], in id order: all an alert says but when it was written and its case."""
    columns = [
        monitor_alerts.c[name]
        for name in (
            "id",
            "rule_code",
            "rule_version",
            "typology",
            "party",
            "window_start",
            "window_end",
            "amount",
            "position",
            "event_at",
            "evidence",
        )
    ]
    with reading(engine) as connection:
        rows = connection.execute(select(*columns).order_by(monitor_alerts.c.id)).all()
    return [[*r[:-1], hashlib.sha256(r[-1].encode()).hexdigest()] for r in rows]


_READ = ("id", "payer_id", "payee_id", "device_id", "customer_id", "lenders", "principal", "kind", "order_id")
_READ += ("amount", "direction", "channel", "cross_border", "premium", "benefit", "policy_id", "claim_id", "payment")


_ALIASES: dict[str, str] = {}


def _alias(value):  # type: ignore[no-untyped-def]  # pragma: no cover - used by record()
    """A long random id (cus_1e06a96c0be0f488) as a short one keeping its prefix (cus_1a): the same id
    always the same alias, so who paid whom is unchanged and the stored stream compresses."""
    if isinstance(value, list):
        return [_alias(v) for v in value]
    if not (isinstance(value, str) and re.fullmatch(r"[a-z0-9]+_[0-9a-f]{12,}", value)):
        return value
    prefix = value.split("_")[0]
    return _ALIASES.setdefault(value, f"{prefix}_{len(_ALIASES):x}")


def _trimmed(payload: str) -> str:  # pragma: no cover - used by record()
    """The payload with only the fields the flow model reads, its ids aliased."""
    body = {k: _alias(v) for k, v in json.loads(payload).items() if k in _READ}
    if isinstance(body.get("payment"), dict):
        body["payment"] = {k: _alias(v) for k, v in body["payment"].items() if k in _READ}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def record(sim_url: str, out_url_sim: str, out_url_bench: str) -> None:  # pragma: no cover - how DATA was made
    """Take the flow events of a simulated market's outbox, replay them and the bench stream into fresh
    databases through the monitor of the day, and store both streams' events and alerts."""
    from puhui.db import create_engine_from_url
    from puhui.events.outbox import Event
    from puhui.regtech.monitor import Monitor
    from puhui.regtech.windows import flows_of

    source = create_engine_from_url(sim_url)
    with reading(source) as connection:
        rows = connection.execute(
            select(
                outbox.c.position, outbox.c.topic, outbox.c.type, outbox.c.key, outbox.c.created_at, outbox.c.payload
            ).order_by(outbox.c.position)
        ).all()
    kept = [
        [r.topic, r.type, _alias(r.key), r.created_at, _trimmed(r.payload)]
        for r in rows
        if flows_of(Event(r.position, r.topic, r.type, r.key, json.loads(r.payload), r.created_at))
        or r.type == "mmf.income_distributed"  # a few events that move no party's money
    ]
    answers: dict = {"sim": {"events": kept}, "bench": {"stream": BENCH}}
    for name, url in (("sim", out_url_sim), ("bench", out_url_bench)):
        engine = create_engine_from_url(url)
        publish_rows(engine, kept) if name == "sim" else publish_bench(engine)
        events, _ = Monitor(engine).run()
        answers[name] |= {"read": events, "alerts": alert_rows(engine)}
    with gzip.open(DATA, "wt", encoding="utf-8") as file:
        json.dump(answers, file, separators=(",", ":"))
