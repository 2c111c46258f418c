"""The NATS path against the in-process monitor on a finished simulation's database (a copy).

usage: python nats_compare.py SIM_DB [PARTITIONS] [WORKERS]
On a copy: the in-process monitor (under its own consumer name) raises its alerts, which are kept
and deleted; the NATS relay + workers then raise theirs; the two sets are compared (graph
analytics alerts, a batch job apart from the stream, are left out of both)."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from pathlib import Path

from sqlalchemy import delete, select

from puhui.db import create_engine_from_url, reading, transaction
from puhui.regtech.nats_relay import FlowStream, Relay, connect, ensure_stream
from puhui.regtech.nats_server import nats_server
from puhui.regtech.nats_workers import Worker
from puhui.regtech.tables import monitor_alerts


def alerts(engine) -> set[tuple]:  # type: ignore[no-untyped-def]
    c = monitor_alerts.c
    with reading(engine) as connection:
        rows = connection.execute(select(c.id, c.rule_code, c.rule_version, c.party, c.window_start, c.window_end,
                                         c.amount, c.evidence).where(~c.rule_code.startswith("graph_")))
        return {tuple(r) for r in rows}


async def nats_path(engine, url: str, flows: FlowStream, workers: int) -> tuple:  # type: ignore[no-untyped-def]
    nc, js = await connect(url)
    try:
        await ensure_stream(js, flows)
        began = time.perf_counter()
        relayed = await Relay(engine, js, flows, 2000).run_until_idle()
        relay_s = time.perf_counter() - began
        groups = [Worker(engine, js, flows, i, workers, fetch_timeout=0.5) for i in range(workers)]
        for group in groups:
            await group.start()
        began = time.perf_counter()
        counts = await asyncio.gather(*(g.run_until_idle(timeout=3600) for g in groups))
        return relayed, relay_s, counts, time.perf_counter() - began
    finally:
        await nc.close()


def main() -> None:
    source = Path(sys.argv[1])
    partitions = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    copy = source.with_name("nats-copy.db")
    with sqlite3.connect(source) as db, sqlite3.connect(copy) as target:
        db.backup(target)  # a consistent copy, WAL included
    engine = create_engine_from_url(f"sqlite:///{copy}", durable=False)
    from puhui.db.migrate import upgrade
    from puhui.regtech.monitor import Monitor

    upgrade(engine)
    transaction(engine, lambda uow: uow.execute(delete(monitor_alerts)))
    began = time.perf_counter()
    events, _ = Monitor(engine, name="compare.in_process").run()  # today's code, its own offset and windows
    print(f"in-process monitor: {events} events in {time.perf_counter() - began:.1f} s")
    expected = alerts(engine)
    transaction(engine, lambda uow: uow.execute(delete(monitor_alerts)))
    flows = FlowStream(name="COMPARE", prefix="compare.flows", partitions=partitions, storage="file")
    with nats_server() as server:
        relayed, relay_s, counts, work_s = asyncio.run(nats_path(engine, server.url, flows, workers))
    got = alerts(engine)
    events = sum(c.events for c in counts)
    print(f"relay: {relayed} in {relay_s:.1f} s; workers ({workers}, {partitions} partitions): "
          f"{events} events applied in {work_s:.1f} s; {[c.__dict__ for c in counts]}")
    print(f"in-process alerts {len(expected)}, NATS alerts {len(got)}, equal: {expected == got}; "
          f"only in-process {len(expected - got)}, only NATS {len(got - expected)}")
    engine.dispose()
    for leftover in (copy, copy.with_name(copy.name + "-wal"), copy.with_name(copy.name + "-shm")):
        leftover.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
