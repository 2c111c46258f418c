"""`puhui bench console`: the console's page budgets (页面性能预算) on the demo world.

Setup (untimed): a fresh migrated database (SQLite temp file, or a database on an embedded PostgreSQL),
the demo world seeded through the API, the app in-process behind a TestClient; one client per viewer
signed in through the log-in forms (a demo customer, the first merchant, the risk officer, the
regulator, the admin for the audit log). Then, timed: N GETs of every main page of the four consoles,
each timed on the client side (server time, no network), with the bytes of its body. The baseline in
the same run is `GET /health` (the app's smallest answer through the same middleware).
"""

from __future__ import annotations

import json
import re
import statistics
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from puhui.bench.ledger import fresh_database

HIDDEN = re.compile(r'name="csrf_token" value="([^"]+)"')

# (page, who reads it): every main page of the customer app, the merchant portal, operations, supervision
PAGES = (
    ("/app", "customer"),
    ("/app/cards", "customer"),
    ("/app/top-up", "customer"),
    ("/app/withdraw", "customer"),
    ("/app/pay", "customer"),
    ("/app/transfer", "customer"),
    ("/app/bills", "customer"),
    ("/app/fund", "customer"),
    ("/app/funds", "customer"),
    ("/app/suitability", "customer"),
    ("/app/advice", "customer"),
    ("/app/insurance", "customer"),
    ("/app/me", "customer"),
    ("/merchant", "merchant"),
    ("/merchant/qr", "merchant"),
    ("/merchant/refunds", "merchant"),
    ("/merchant/settlements", "merchant"),
    ("/merchant/keys", "merchant"),
    ("/merchant/notifications", "merchant"),
    ("/ops", "risk_officer"),
    ("/ops/customers", "risk_officer"),
    ("/ops/merchants", "risk_officer"),
    ("/ops/reviews", "risk_officer"),
    ("/ops/claims", "risk_officer"),
    ("/ops/settlements", "risk_officer"),
    ("/ops/eod", "risk_officer"),
    ("/ops/reserve", "risk_officer"),
    ("/ops/loans", "risk_officer"),
    ("/ops/funds", "risk_officer"),
    ("/ops/ledger", "admin"),  # the ledger explorer is the administrator's
    ("/ops/models", "risk_officer"),
    ("/ops/audit", "admin"),
    ("/ops/actions", "admin"),
    ("/supervision", "regulator"),
    ("/supervision/alerts", "regulator"),
    ("/supervision/cases", "regulator"),
    ("/supervision/reports", "regulator"),
    ("/supervision/graph", "regulator"),
)


@dataclass(frozen=True)
class PageFigure:
    """One page's figures: GETs timed, p50 and p95 in ms, bytes of the body, the status seen."""

    path: str
    viewer: str
    status: int
    p50_ms: float
    p95_ms: float
    bytes: int

    def row(self) -> dict[str, Any]:
        return {
            "page": self.path,
            "viewer": self.viewer,
            "status": self.status,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "bytes": self.bytes,
        }


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def measure(client: Any, path: str, viewer: str, count: int) -> PageFigure:
    """`count` GETs of `path` (one untimed first, to warm the templates); the last answer's status and size."""
    client.get(path)
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        answer = client.get(path)
        samples.append(time.perf_counter() - start)
    return PageFigure(
        path,
        viewer,
        answer.status_code,
        round(statistics.median(samples) * 1000, 2),
        round(_percentile(samples, 0.95) * 1000, 2),
        len(answer.content),
    )


def _sign_in(client: Any, viewer: str, world: Any, admin_token: str) -> None:
    """Through the console's own log-in forms (CSRF token included), as a browser would."""
    if viewer == "customer":
        person = world.customers[0]
        token = HIDDEN.search(client.get("/app/login").text)
        body = {"phone": person["phone"], "password": person["password"]}
        answer = client.post("/app/login", data={**body, "csrf_token": token.group(1) if token else ""})
    else:
        if viewer == "merchant":
            secret = world.merchants[0]["api_key"]
        elif viewer == "admin":
            secret = admin_token
        else:
            secret = next(s["token"] for s in world.staff if s["role"] == viewer)
        token = HIDDEN.search(client.get("/staff/login").text)
        answer = client.post("/staff/login", data={"token": secret, "csrf_token": token.group(1) if token else ""})
    if answer.status_code >= 400:
        raise RuntimeError(f"{viewer} could not sign in: {answer.status_code}")


def run(backend: str = "sqlite", count: int = 30, pages: tuple[tuple[str, str], ...] = PAGES) -> dict[str, Any]:
    """Every page of `pages` timed `count` times on a fresh demo world, and the /health baseline."""
    import base64
    import secrets

    from fastapi.testclient import TestClient

    from puhui.app import create_app
    from puhui.db import create_engine_from_url
    from puhui.db.migrate import upgrade
    from puhui.demo import seed_demo_world
    from puhui.settings import Settings

    def key() -> str:
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()

    settings = Settings(
        admin_token=secrets.token_urlsafe(24),
        pii_keys=f"k1:{key()}",
        pii_index_key=key(),
        jwt_secret=secrets.token_urlsafe(48),
        sandbox=True,
        sandbox_bank_delay_seconds=0,
        auth_rate_per_minute=0,
        monitoring=False,
        fraud_checks=False,
        merchant_notifications=False,
    )
    with ExitStack() as cleanup:
        engine = create_engine_from_url(fresh_database(backend, cleanup, "puhui_bench_console"))
        cleanup.callback(engine.dispose)
        upgrade(engine)
        world = seed_demo_world(engine, settings)
        made = create_app(engine, settings, run_expiry=False)
        clients: dict[str, Any] = {}
        figures = []
        for path, viewer in pages:
            if viewer not in clients:
                clients[viewer] = cleanup.enter_context(TestClient(made))
                _sign_in(clients[viewer], viewer, world, settings.admin_token)
            figures.append(measure(clients[viewer], path, viewer, count))
        baseline = measure(next(iter(clients.values())), "/health", "anyone", count)
    return {
        "backend": backend,
        "gets_per_page": count,
        "baseline": baseline.row(),
        "pages": [f.row() for f in figures],
        "worst_p95_ms": max(f.p95_ms for f in figures),
        "largest_bytes": max(f.bytes for f in figures),
        "all_ok": all(f.status == 200 for f in figures),
    }


def command(
    count: Annotated[int, typer.Option("--count", min=1, max=10_000, help="GETs per page.")] = 30,
    backend: Annotated[str, typer.Option("--backend", help="sqlite or postgresql (embedded).")] = "sqlite",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Server time and bytes per console page on the demo world, against GET /health.

    Server time per console page (p50/p95, in-process) and bytes per page on the demo world; GET /health
    as the baseline."""
    from rich.console import Console
    from rich.table import Table

    if backend not in ("sqlite", "postgresql"):
        raise typer.BadParameter("--backend is sqlite or postgresql")
    result = run(backend=backend, count=count)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    table = Table(title=f"console pages on {backend}, {count} GETs each")
    for column in ("page", "viewer", "status", "p50 ms", "p95 ms", "bytes"):
        table.add_column(column, justify="left" if column in ("page", "viewer") else "right")
    for row in [*result["pages"], {**result["baseline"], "page": "/health (baseline)"}]:
        table.add_row(
            row["page"],
            row["viewer"],
            str(row["status"]),
            f"{row['p50_ms']:.2f}",
            f"{row['p95_ms']:.2f}",
            f"{row['bytes']:,}",
        )
    console = Console(width=100)
    console.print(table)
    console.print(
        f"worst p95 {result['worst_p95_ms']:.2f} ms, largest page {result['largest_bytes']:,} bytes; "
        f"/health p95 {result['baseline']['p95_ms']:.2f} ms" + ("" if result["all_ok"] else "; SOME PAGES FAILED")
    )
