"""`puhui bench event-loop`: what a QR payment costs a serving process's event loop, against `GET /health`
measured in the same run the same way.

The app (`create_app`, fraud checks on, group commit on) is driven over raw ASGI in this process: no
socket, no uvicorn, no access log. C calls run concurrently on the event loop; the loop's own thread CPU
(`time.thread_time`) is counted over the timed calls, so the group committer, which runs on a thread of its
own, is left out. What it shows is the part of a call that FastAPI, the middleware, the authentication and
`run_mutation` cost the loop, with a resolution the deployed benchmark's noise hides (`puhui bench payments`).
The database is a fresh SQLite file, or a database on an embedded PostgreSQL server (`backend`), seeded as the
payments benchmark seeds (`payments_seed.seed`). The committer's own CPU a job (`group_commit.stats_of`, over the
warm-up and the timed payments) is reported beside.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from contextlib import ExitStack
from typing import Any

Message = dict[str, Any]


def run(
    *, backend: str = "sqlite", payments: int = 1500, clients: int = 16, merchants: int = 500, warm_up: int = 200
) -> dict[str, Any]:
    from puhui.app import create_app
    from puhui.bench import payments_seed as seeding
    from puhui.bench.ledger import fresh_database
    from puhui.db import create_engine_from_url, group_commit, reading
    from puhui.db.migrate import upgrade
    from puhui.ledger.audit import audit

    with ExitStack() as cleanup:
        engine = create_engine_from_url(fresh_database(backend, cleanup, "puhui_bench_loop"))
        cleanup.callback(engine.dispose)
        upgrade(engine)
        payers = payments + warm_up
        seeded = seeding.seed(engine, customers=payers, merchants=merchants, payers=payers, on_progress=_quiet)
        tokens = seeding.sessions_for(engine, seeded)
        codes = seeding.dynamic_codes(engine, seeded.merchants, payers, "loop")
        app = create_app(engine, seeded.settings(), leader_lock=False)
        calls = [_payment(codes[i], tokens[i], f"loop-{i}") for i in range(payers)]
        result = asyncio.run(_measure(app, calls, warm_up, clients))
        stats = group_commit.stats_of(engine)
        if stats is not None and stats.jobs:
            result["committer_cpu_us_per_job"] = round(1e6 * stats.cpu_seconds / stats.jobs, 1)
            result["jobs_per_commit"] = round(stats.jobs / max(1, stats.batches), 2)
        with reading(engine) as connection:
            result["audit_ok"] = audit(connection).ok
    return {"backend": backend, "payments": payments, "clients": clients, "merchants": merchants, **result}


def _quiet(_: int) -> None:
    return None


async def _measure(
    app: Any, calls: list[tuple[str, str, list[tuple[bytes, bytes]], bytes]], warm_up: int, clients: int
):
    health = ("GET", "/health", [], b"")
    async with _lifespan(app):
        await _phase(app, [health] * warm_up, clients)
        await _phase(app, calls[:warm_up], clients)
        probes, probe_us = await _phase(app, [health] * (len(calls) - warm_up), clients)
        paid, pay_us = await _phase(app, calls[warm_up:], clients)
    return {
        "statuses": dict(paid),
        "health_statuses": dict(probes),
        "loop_us_per_payment": round(pay_us, 1),
        "loop_us_per_health": round(probe_us, 1),
        "ratio_to_health": round(pay_us / probe_us, 2) if probe_us else 0.0,
    }


def _payment(code: str, token: str, key: str) -> tuple[str, str, list[tuple[bytes, bytes]], bytes]:
    headers = [(b"authorization", f"Bearer {token}".encode()), (b"idempotency-key", key.encode())]
    return "POST", f"/v1/qr-codes/{code}/pay", [*headers, (b"content-type", b"application/json")], b"{}"


async def _phase(app: Any, calls: list, clients: int) -> tuple[Counter[int], float]:
    """The calls, `clients` at a time; their statuses and the event loop's CPU µs a call."""
    statuses: Counter[int] = Counter()
    pending = iter(calls)

    async def client() -> None:
        for method, path, headers, body in pending:
            statuses[await _call(app, method, path, headers, body)] += 1

    started = time.thread_time()
    await asyncio.gather(*(client() for _ in range(clients)))
    return statuses, 1e6 * (time.thread_time() - started) / max(1, len(calls))


async def _call(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench.local"), (b"content-length", str(len(body)).encode()), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent: list[Message] = []
    request = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        if request:
            return request.pop()
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return int(sent[0]["status"])


class _lifespan:
    """The app's lifespan (its group committer, fraud checks) around the phases."""

    def __init__(self, app: Any) -> None:
        self.app, self.inbox, self.outbox = app, asyncio.Queue(), asyncio.Queue()

    async def __aenter__(self) -> None:
        self.task = asyncio.create_task(
            self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, self.inbox.get, self.outbox.put)
        )
        await self.inbox.put({"type": "lifespan.startup"})
        answer = await self.outbox.get()
        if answer["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the app did not start: {answer}")

    async def __aexit__(self, *_: object) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.outbox.get()
        await self.task
