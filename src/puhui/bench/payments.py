"""`puhui bench payments`: QR payments per second over real HTTP, against a bare-request baseline
measured in the same run on the same server.

- **server**    `create_app` on a fresh migrated database (SQLite temp file, or a database on an
                embedded PostgreSQL with `--backend postgresql`) under uvicorn in a background
                thread, on 127.0.0.1 and a free port (loopback only).
- **seeding**   (untimed) N customers registered, verified and upgraded to Class III through the
                API, each funded from the reserve with a ledger top-up transfer; M merchants with
                API keys; one dynamic QR code per payment (or one static code per merchant).
- **payments**  C client threads, each with its own keep-alive httpx client, take payments from a
                shared counter until the count is done or `--max-seconds` pass; each is a real
                `POST /v1/qr-codes/{id}/pay` with an `Idempotency-Key`.
- **baseline**  the same clients, count and time bound doing `GET /health` (one `SELECT 1`) on the
                same server, so `ratio_to_baseline` = payments/s ÷ baseline/s shows what a payment
                costs over a bare request. Measured before the payments phase.
- **audit**     `puhui.ledger.audit.audit` on the database at the end (`audit_ok`).
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from puhui.bench.ledger import fresh_database
from puhui.bench.payments_seed import (
    CHANNELS,
    FUNDING,
    LEDGER,
    PASSWORD,
    RESERVE,
    chinese_number,
    credit_code,
    id_number,
    new_key,
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    index = min(len(sorted_ms) - 1, max(0, round(q * (len(sorted_ms) - 1))))
    return sorted_ms[index]


def _check(answer: Any, *expected: int) -> dict:
    if answer.status_code not in expected:
        raise RuntimeError(
            f"seeding: {answer.request.method} {answer.request.url.path}: {answer.status_code} {answer.text}"
        )
    return answer.json()


def _seed(
    engine: Any, settings: Any, *, customers: int, merchants: int, payments: int, kind: str, progress: Any
) -> tuple[list[dict], list[tuple[str, dict]]]:
    """Returns (customer headers, [(qr_id, pay body)] one per payment slot)."""
    from argon2 import PasswordHasher
    from fastapi.testclient import TestClient

    from puhui.app import create_app
    from puhui.db import transaction
    from puhui.identity import auth
    from puhui.ledger.models import Transfer
    from puhui.ledger.service import create_transfers

    admin = {"Authorization": f"Bearer {settings.admin_token}"}
    previous = auth.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    task = progress.add_task("seeding", total=customers + merchants + (payments if kind == "dynamic" else 0))
    try:
        with TestClient(create_app(engine, settings, run_expiry=False)) as client:
            heads, ids = [], []
            for n in range(customers):
                phone = f"139{n:08d}"
                person = {
                    "name": f"用户{chinese_number(n)}",
                    "id_number": id_number(n),
                    "phone": phone,
                    "password": PASSWORD,
                    "consents": ["payments"],  # required at sign-up (`identity.consent.REGISTRATION_CONSENTS`)
                }
                cid = _check(client.post("/v1/customers", json=person), 201)["id"]
                for channel in CHANNELS:
                    _check(
                        client.post(
                            f"/v1/customers/{cid}/verifications",
                            headers=admin,
                            json={"channel": channel, "reference": f"B-{n}-{channel}"},
                        ),
                        201,
                    )
                _check(client.post(f"/v1/customers/{cid}/tier", headers=admin, json={"reason": "bench"}), 200)
                token = _check(client.post("/v1/customers/login", json={"phone": phone, "password": PASSWORD}), 200)
                heads.append({"Authorization": f"Bearer {token['token']}"})
                ids.append(cid)
                progress.advance(task)
            transaction(
                engine,
                lambda uow: create_transfers(
                    uow,
                    [Transfer(f"bench.fund.{cid}", RESERVE, f"wallet.{cid}", FUNDING, LEDGER, "top_up") for cid in ids],
                ),
            )
            shops = []
            for n in range(merchants):
                spec = {
                    "name": f"商户{chinese_number(n)}",
                    "credit_code": credit_code(n),
                    "settlement_account": f"6222{n:012d}",
                    "settlement_holder": f"店主{chinese_number(n)}",
                    "settlement_bank": "工商银行",
                }
                made = _check(client.post("/v1/merchants", headers=admin, json=spec), 201)
                shops.append((made["id"], {"Authorization": f"Bearer {made['api_key']}"}))
                progress.advance(task)
            slots: list[tuple[str, dict]] = []
            if kind == "static":
                codes = [
                    _check(client.post(f"/v1/merchants/{m}/qr-codes", headers=h, json={"kind": "static"}), 201)["id"]
                    for m, h in shops
                ]
                slots = [(codes[i % len(codes)], {"amount": f"{1 + i % 9}.{i % 100:02d}"}) for i in range(payments)]
            else:
                for i in range(payments):
                    m, h = shops[i % len(shops)]
                    qr = _check(
                        client.post(
                            f"/v1/merchants/{m}/qr-codes",
                            headers=h,
                            json={
                                "kind": "dynamic",
                                "amount": f"{1 + i % 9}.{i % 100:02d}",
                                "expires_in_seconds": 3600,
                                "order_ref": f"B-{i}",
                            },
                        ),
                        201,
                    )["id"]
                    slots.append((qr, {}))  # small amounts: the session alone (one factor, level C)
                    progress.advance(task)
    finally:
        auth.set_password_hasher(previous)
    return heads, slots


def _drive(
    base_url: str,
    *,
    clients: int,
    count: int,
    max_seconds: float,
    request: Callable[[Any, int], Any],
    progress: Any,
    label: str,
) -> dict:
    """`clients` threads share a counter 0..count-1; stop when done or at the deadline."""
    import httpx

    lock = threading.Lock()
    state = {"next": 0}
    latencies: list[float] = []
    statuses: Counter = Counter()
    task = progress.add_task(label, total=count)
    deadline = time.perf_counter() + max_seconds

    def worker() -> None:
        with httpx.Client(base_url=base_url, timeout=60.0) as http:
            while time.perf_counter() < deadline:
                with lock:
                    i = state["next"]
                    if i >= count:
                        return
                    state["next"] = i + 1
                started = time.perf_counter()
                try:
                    status = request(http, i).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed * 1000)
                    statuses[status] += 1
                progress.advance(task)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ok = sum(n for s, n in statuses.items() if isinstance(s, int) and 200 <= s < 300)
    latencies.sort()
    return {
        "done": len(latencies),
        "ok": ok,
        "held": statuses.get(202, 0),
        "seconds": wall,
        "per_s": ok / wall if wall > 0 else 0.0,
        "p50_ms": _percentile(latencies, 0.50),
        "p95_ms": _percentile(latencies, 0.95),
        "p99_ms": _percentile(latencies, 0.99),
        "errors": {
            str(s): n for s, n in sorted(statuses.items(), key=str) if not (isinstance(s, int) and 200 <= s < 300)
        },
    }


def run(
    *,
    backend: str = "sqlite",
    database_url: str | None = None,
    clients: int = 16,
    payments: int = 2000,
    max_seconds: float = 60.0,
    customers: int = 64,
    merchants: int = 8,
    kind: str = "dynamic",
    quiet: bool = False,
) -> dict:
    import httpx
    import uvicorn

    from puhui.app import create_app
    from puhui.bench.ledger import _progress
    from puhui.db import create_engine_from_url, reading
    from puhui.db.migrate import upgrade
    from puhui.ledger.audit import audit
    from puhui.settings import Settings

    if kind not in ("dynamic", "static"):
        raise ValueError("kind must be dynamic or static")
    with ExitStack() as cleanup:
        url = database_url or fresh_database(backend, cleanup, "puhui_bench_payments")
        engine = create_engine_from_url(url)
        cleanup.callback(engine.dispose)
        upgrade(engine)
        settings = Settings(
            admin_token=secrets.token_urlsafe(24),
            pii_keys=f"bench:{new_key()}",
            pii_index_key=new_key(),
            jwt_secret=new_key(),
            jwt_ttl_seconds=24 * 3600,
            auth_rate_per_minute=0,
        )  # seeding signs up every payer from one address
        progress = _progress(quiet)
        cleanup.enter_context(progress)
        heads, slots = _seed(
            engine, settings, customers=customers, merchants=merchants, payments=payments, kind=kind, progress=progress
        )

        port = _free_port()
        config = uvicorn.Config(
            create_app(engine, settings),
            host="127.0.0.1",
            port=port,
            log_level="error",
            access_log=False,
            lifespan="on",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()

        def stop() -> None:
            server.should_exit = True
            thread.join(15)

        cleanup.callback(stop)
        for _ in range(300):
            if server.started:
                break
            time.sleep(0.02)
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        base_url = f"http://127.0.0.1:{port}"
        tag = secrets.token_hex(4)

        with httpx.Client(base_url=base_url, timeout=30.0) as warm:  # untimed warm-up of the server path
            for _ in range(min(50, payments)):
                warm.get("/health")
        baseline = _drive(
            base_url,
            clients=clients,
            count=payments,
            max_seconds=max_seconds,
            request=lambda http, i: http.get("/health"),
            progress=progress,
            label="GET /health",
        )

        def pay(http: Any, i: int) -> Any:
            qr, body = slots[i]
            headers = {**heads[i % len(heads)], "Idempotency-Key": f"bench-{tag}-{i}"}
            return http.post(f"/v1/qr-codes/{qr}/pay", headers=headers, json=body)

        paid = _drive(
            base_url,
            clients=clients,
            count=payments,
            max_seconds=max_seconds,
            request=pay,
            progress=progress,
            label="QR payments",
        )
        stop()
        with reading(engine) as connection:
            report = audit(connection)

    return {
        "backend": backend,
        "kind": kind,
        "clients": clients,
        "customers": customers,
        "merchants": merchants,
        "payments_requested": payments,
        "payments_done": paid["done"],
        "payments_ok": paid["ok"],
        "held_for_review": paid["held"],
        "fraud_checks": settings.fraud_checks,
        "seconds": round(paid["seconds"], 3),
        "payments_per_s": paid["per_s"],
        "p50_ms": paid["p50_ms"],
        "p95_ms": paid["p95_ms"],
        "p99_ms": paid["p99_ms"],
        "errors": paid["errors"],
        "baseline_per_s": baseline["per_s"],
        "baseline_p50_ms": baseline["p50_ms"],
        "baseline_p99_ms": baseline["p99_ms"],
        "baseline_errors": baseline["errors"],
        "ratio_to_baseline": paid["per_s"] / baseline["per_s"] if baseline["per_s"] else 0.0,
        "audit_ok": report.ok,
    }


def command(
    backend: str = "sqlite",
    db: str | None = None,
    clients: int = 16,
    payments: int = 2000,
    max_seconds: float = 60.0,
    customers: int | None = None,
    merchants: int | None = None,
    kind: str = "dynamic",
    workers: int | None = None,
    deployed: bool = True,
    profile: bool = False,
    cache: bool = True,
    as_json: bool = False,
    warm_up: int | None = None,
    pg_statements: int = 0,
    group_commit: bool = True,
) -> None:
    """QR payments per second over HTTP, against GET /health and the ledger's one-transfer commits.

    The baselines: GET /health at the same concurrency and the ledger's one-transfer-per-commit rate. The
    server: `puhui serve --workers N` in its own processes on a warm database, driven from another process
    (default), or uvicorn in a thread of this one (`--in-process`)."""
    import typer
    from rich.console import Console

    if backend not in ("sqlite", "postgresql"):
        Console(stderr=True).print("--backend must be sqlite or postgresql")
        raise typer.Exit(2)
    if kind not in ("dynamic", "static"):
        Console(stderr=True).print("--kind must be dynamic or static")
        raise typer.Exit(2)
    if warm_up is not None and (not deployed or warm_up < 1):
        Console(stderr=True).print("--warm-up takes at least one payment, and only --deployed warms up this way")
        raise typer.Exit(2)
    if pg_statements and (not deployed or backend != "postgresql" or db is not None or pg_statements < 0):
        Console(stderr=True).print(
            "--pg-statements is for a deployed run on the benchmark's own PostgreSQL (not --db, not SQLite)"
        )
        raise typer.Exit(2)
    if not group_commit and not deployed:
        Console(stderr=True).print("--no-group-commit is for a deployed run (its server commits each payment alone)")
        raise typer.Exit(2)
    if deployed:
        if kind != "dynamic" or (backend == "sqlite" and workers not in (None, 1)):
            Console(stderr=True).print("--deployed takes dynamic codes, and one worker on SQLite (its one writer)")
            raise typer.Exit(2)
        from puhui.bench import payments_deployed

        result = payments_deployed.run(
            backend=backend,
            database_url=db,
            clients=clients,
            payments=payments,
            customers=100_000 if customers is None else customers,
            merchants=1000 if merchants is None else merchants,
            workers=workers,
            max_seconds=max_seconds,
            profile=profile,
            cache=cache,
            quiet=as_json,
            warm_up=warm_up,
            pg_statements=pg_statements,
            group_commit=group_commit,
        )
        title = f"payments benchmark on {backend}, deployed ({result['workers']} workers, {clients} clients)"
    else:
        result = run(
            backend=backend,
            database_url=db,
            clients=clients,
            payments=payments,
            max_seconds=max_seconds,
            customers=64 if customers is None else customers,
            merchants=8 if merchants is None else merchants,
            kind=kind,
            quiet=as_json,
        )
        title = f"payments benchmark on {backend}, in process ({clients} clients, {kind} QR)"
    _show(result, title, as_json)
    if not result["audit_ok"]:
        raise typer.Exit(1)


def _show(result: dict, title: str, as_json: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    if as_json:
        print(json.dumps(result))
        return
    found = result.pop("profile", None)
    costs = result.pop("pg_statements", None)
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, f"{value:,.2f}" if isinstance(value, float) else str(value))
    console = Console()
    console.print(table)
    if found is not None:
        console.print(
            f"SQL statements per payment: {found['sql_statements_per_payment']:.2f}; "
            f"payments.service.pay_qr: {found['pay_qr_ms_per_payment']:.2f} ms per payment (cumulative)"
        )
        for per, text in found["statements"]:
            console.print(f"  {per:8.3f}  {text}", markup=False, highlight=False)
        console.print("Top cumulative functions (ms and calls per payment, all workers' threads, waits left out):")
        for ms, calls, where in found["top_cumulative"]:
            console.print(f"  {ms:9.3f} ms  {calls:8.2f}  {where}", markup=False, highlight=False)
    if costs is not None:
        console.print("PostgreSQL's costliest statements over the timed phases (µs a payment, calls, µs each):")
        for cost in costs:
            line = f"  {cost['us_a_payment']:8.1f}  {cost['calls']:7d}  {cost['us_each']:8.1f}  {cost['statement']}"
            console.print(line, markup=False, highlight=False)


def _typer_defaults() -> None:
    """Typer option metadata for `command` (kept here so cli.py needs one line)."""
    import typer

    command.__defaults__ = (
        typer.Option("sqlite", "--backend", help="sqlite or postgresql"),
        typer.Option(None, "--db", help="Use this database instead of a fresh one (it is written to!)."),
        typer.Option(16, "--clients", help="Concurrent HTTP clients."),
        typer.Option(2000, "--payments", help="Payments to make (and GET /health calls for the baseline)."),
        typer.Option(60.0, "--max-seconds", help="Time bound of each phase."),
        typer.Option(None, "--customers", help="Customers (deployed: 100,000; in process: 64 funded payers)."),
        typer.Option(None, "--merchants", help="Merchants receiving payments (deployed: 1,000; in process: 8)."),
        typer.Option(
            "dynamic", "--kind", help="dynamic (one priced code per payment) or static QR codes (in process)."
        ),
        typer.Option(None, "--workers", help="Server worker processes (deployed; PostgreSQL default: CPU count)."),
        typer.Option(True, "--deployed/--in-process", help="puhui serve in its own processes, or uvicorn in a thread."),
        typer.Option(False, "--profile", help="cProfile and SQL statement counts in the workers (deployed)."),
        typer.Option(True, "--cache/--no-cache", help="Reuse the seeded database of an earlier run (deployed)."),
        typer.Option(False, "--json", help="Print one JSON object."),
        typer.Option(
            None,
            "--warm-up",
            help="Untimed payments (and /health calls) before the measured ones (deployed: 400, fewer where the"
            " customers would otherwise pay twice).",
        ),
        typer.Option(
            0,
            "--pg-statements",
            help="Report PostgreSQL's N costliest statements over the timed phases (pg_stat_statements; deployed,"
            " on the benchmark's own server).",
        ),
        typer.Option(
            True,
            "--group-commit/--no-group-commit",
            help="Serve with group commit (the default), or with PUHUI_GROUP_COMMIT=off: each payment its own"
            " transaction (deployed), to see what group commit is worth.",
        ),
    )


_typer_defaults()
