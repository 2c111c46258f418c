"""`puhui serve`: the API and console under uvicorn, optionally with a demo world."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

import uvicorn
from rich.console import Console

from puhui.api.app import create_app
from puhui.db import create_engine_from_url
from puhui.db.migrate import upgrade
from puhui.settings import get_settings

console = Console(soft_wrap=True)


def run_server(*, host: str, port: int, database_url: str | None, demo: bool,
               demo_customers: int | None = None, demo_days: int | None = None, demo_seed: int | None = None) -> None:
    settings = get_settings().model_copy()
    scratch = demo and database_url is None  # the demo's own temporary file need not fsync each commit
    if demo:
        database_url = database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='puhui-demo-')) / 'demo.db'}"
        settings.admin_token = settings.admin_token or secrets.token_urlsafe(24)
        from puhui.identity.service import with_demo_secrets

        settings = with_demo_secrets(settings)
    url = database_url or settings.resolved_database_url()
    engine = create_engine_from_url(url, durable=not scratch)
    upgrade(engine)
    shown = "localhost" if host in ("0.0.0.0", "127.0.0.1", "::") else host
    if demo:
        _prepare_demo(engine, settings, f"http://{shown}:{port}", demo_customers, demo_days, demo_seed)
    console.print(f"Puhui console:  [link]http://{shown}:{port}/[/link]")
    console.print(f"API docs:       [link]http://{shown}:{port}/docs[/link]")
    console.print(f"Database:       {engine.url.render_as_string(hide_password=True)}")
    if demo:
        console.print(f"Admin token:    [bold]{settings.admin_token}[/bold]  (Authorization: Bearer <token>; "
                      "reads the dashboard too)")
    elif not settings.admin_token:
        console.print("[yellow]PUHUI_ADMIN_TOKEN is not set: the admin API will refuse every call.[/yellow]")
    uvicorn.run(create_app(engine, settings), host=host, port=port, log_level="info")


def _prepare_demo(engine, settings, base: str, customers: int | None, days: int | None,  # type: ignore[no-untyped-def]
                  seed: int | None) -> None:
    """Seed and simulate before uvicorn starts: the simulation's ManualClock is process-wide, so
    no server loop may run beside it. The size comes from the options (or their PUHUI_DEMO_* variables)."""
    import contextlib
    import time

    from puhui import demo_market
    from puhui.db import reading

    started = time.perf_counter()
    customers = customers or demo_market.DEMO_CUSTOMERS
    days = days or demo_market.DEMO_DAYS
    seed = demo_market.DEMO_SEED if seed is None else seed
    with reading(engine) as connection:
        found = demo_market.finished_run(connection) is not None
    with demo_market.progress(days, console) if not found else contextlib.nullcontext() as on_day:
        made = demo_market.prepare_demo(engine, settings, customers=customers, days=days, seed=seed, on_day=on_day)
    console.print(f"[bold]Demo world[/bold] (ready in {time.perf_counter() - started:.1f} s):")
    console.print(made.summary(base), markup=False, highlight=False)
