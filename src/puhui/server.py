"""`puhui serve`: the API and console under uvicorn, optionally with a demo world."""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI
from rich.console import Console
from sqlalchemy import Engine

from puhui.app import create_app
from puhui.db import create_engine_from_url, writer
from puhui.db.engine import is_postgres
from puhui.db.migrate import upgrade
from puhui.errors import InsecureSettings, InvalidInput
from puhui.settings import Settings, get_settings

console = Console(soft_wrap=True)


def run_server(
    *,
    host: str,
    port: int,
    database_url: str | None,
    demo: bool,
    demo_customers: int | None = None,
    demo_days: int | None = None,
    demo_seed: int | None = None,
    workers: int | None = None,
) -> None:
    """Serve the platform: the demo (one process on its SQLite), or the app under uvicorn with `workers`
    processes (`worker_count`), each building its app with `puhui.app.serve_app`."""
    settings = get_settings().model_copy()
    shown = "localhost" if host in ("0.0.0.0", "127.0.0.1", "::") else host
    base = f"http://{shown}:{port}"
    if demo:
        if workers not in (None, 1):
            raise WorkersRefused("--demo runs on SQLite in one process; --workers is for PostgreSQL")
        app = _demo_gate(settings, database_url, base, demo_customers, demo_days, demo_seed)
    else:
        refuse_insecure(settings)
        url = database_url or settings.resolved_database_url()
        engine = create_engine_from_url(url)
        count = worker_count(engine, workers)
        upgrade(engine)  # once, before any worker starts
        if is_postgres(engine):  # each worker builds its engine from the environment (`serve_app`)
            kept, extra = pool_for_workers(engine, count)
            os.environ["PUHUI_DB_POOL_SIZE"], os.environ["PUHUI_DB_POOL_OVERFLOW"] = str(kept), str(extra)
        _print_urls(base, engine.url.render_as_string(hide_password=True))
        console.print(
            f"Workers:        {count} ({'the background loops in one of them' if count > 1 else 'one process'})"
        )
        if not settings.admin_token:
            console.print("[yellow]PUHUI_ADMIN_TOKEN is not set: the admin API will refuse every call.[/yellow]")
        postgres = is_postgres(engine)
        engine.dispose()
        os.environ["PUHUI_DATABASE_URL"] = url  # each worker builds its app from the environment (`serve_app`)
        single_writer = _start_writer(settings) if not postgres else None
        try:
            _serve_workers(host, port, count)
        finally:
            if single_writer is not None:
                single_writer.stop()
        return
    uvicorn.run(app, host=host, port=port, log_level="info")


def _serve_workers(host: str, port: int, count: int) -> None:
    """`puhui.app:serve_app` in `count` processes; several accept least-connections (`puhui.accept`, which
    needs POSIX: elsewhere uvicorn's own accepting serves)."""
    options: dict[str, Any] = {"factory": True, "host": host, "port": port, "workers": count, "log_level": "info"}
    if count == 1 or sys.platform == "win32":
        uvicorn.run("puhui.app:serve_app", timeout_graceful_shutdown=10, **options)
        return
    from puhui import accept  # fcntl, mmap of /dev/shm

    accept.run_workers(uvicorn.Config("puhui.app:serve_app", timeout_graceful_shutdown=10, **options))


def _start_writer(settings: Settings) -> writer.WriterProcess | None:
    """SQLite's single writer in a process of its own (`puhui.db.writer`), when payments group-commit:
    the server's event loop and the writer's batches then run on two cores instead of sharing one."""
    if not (settings.group_commit and settings.writer_process):
        return None
    started = writer.start("puhui.app:writer_setup")
    os.environ[writer.SOCKET_ENV] = started.socket_path
    console.print("Writer:         a process of its own beside the worker (SQLite's single writer)")
    return started


class WorkersRefused(InvalidInput):
    """Several worker processes asked for on SQLite, which has one writer."""

    code = "workers_refused"


def worker_count(engine: Engine, asked: int | None) -> int:
    """How many worker processes serve `engine`: as asked, by default the CPU count on PostgreSQL. SQLite
    has one writer and is served by one process (whose group commit coalesces concurrent payments); more is
    refused rather than quietly ignored, so nobody believes they run several."""
    if asked is not None and asked < 1:
        raise InvalidInput("--workers must be at least 1")
    if is_postgres(engine):
        return asked or os.cpu_count() or 1
    if asked not in (None, 1):
        raise WorkersRefused(
            f"--workers {asked}: SQLite has one writer, so it is served by one process; "
            "use PostgreSQL (PUHUI_DATABASE_URL=postgresql+psycopg://...) for several workers"
        )
    return 1


POOL_KEPT_MAX = 10  # a busy worker's committer and finisher, its request threads' reads and its loops
RESERVED_CONNECTIONS = 10  # left for migrations, `puhui` commands and an operator's psql


def pool_for_workers(engine: Engine, workers: int) -> tuple[int, int]:
    """PostgreSQL connections for each of `workers` processes: (kept, more in a burst), all of them within
    the server's max_connections. A pool smaller than a busy worker's use closes what it opened past it on
    every give-back, and each new connection costs the server a process: under 16 clients a pool of 5
    opened one for every eighth `GET /health`."""
    with engine.connect() as connection:
        limit = int(connection.exec_driver_sql("SHOW max_connections").scalar_one())
    each = max(2, (limit - RESERVED_CONNECTIONS) // workers)
    kept = min(POOL_KEPT_MAX, each // 2)
    return kept, each - kept


def refuse_insecure(settings: Settings) -> None:
    """Outside the sandbox the server moves real money: public or missing secrets stop it (anyone could
    sign a bank notification with the sandbox's key and be credited with money no bank sent)."""
    if settings.sandbox:
        console.print(
            "[yellow]Sandbox: the platform clock can be moved and the sandbox bank pays any test card; "
            "never expose this server to real customers.[/yellow]"
        )
        return
    problems = settings.production_problems()
    if problems:
        raise InsecureSettings(
            "; ".join(problems) + " (set real secrets, or PUHUI_SANDBOX=true for a sandbox)", problems=problems
        )


def _print_urls(base: str, database: str) -> None:
    console.print(f"Puhui:          [link]{base}/[/link]")
    console.print(f"Customer app:   [link]{base}/app[/link]  (a demo customer's phone and password below)")
    console.print(
        f"Staff consoles: [link]{base}/merchant[/link], [link]{base}/ops[/link], "
        f"[link]{base}/supervision[/link]  (sign in with a token below)"
    )
    console.print(f"API docs:       [link]{base}/docs[/link]")
    console.print(f"Database:       {database}")


def _demo_gate(
    settings: Settings, database_url: str | None, base: str, customers: int | None, days: int | None, seed: int | None
):
    """The demo: its home and secrets now, the world built behind a gate while `/health` already answers."""
    from puhui import demo_home
    from puhui.demo_gate import DemoGate

    settings, home = demo_home.prepare_home(settings, database_url)
    _print_urls(base, home.database_url)
    console.print(
        f"Admin token:    [bold]{settings.admin_token}[/bold]  (Authorization: Bearer <token>; reads the dashboard too)"
    )
    console.print(
        f"Demo settings:  {home.env_file}  (`{home.exports()}` and every puhui command uses the "
        "demo's database and keys)"
    )
    console.print(
        "The demo world is being prepared in the background; /health answers meanwhile"
        + (" (first start: a short market simulation)." if home.fresh else ".")
    )
    told: list[str] = []

    def ready() -> None:
        for text in told:
            console.print(text, markup=False, highlight=False)

    return DemoGate(
        lambda on_phase: _prepare_demo(settings, home, base, customers, days, seed, on_phase, told), on_ready=ready
    )


def _prepare_demo(
    settings: Settings,
    home,
    base: str,
    customers: int | None,
    days: int | None,
    seed: int | None,
    on_phase: Callable[[str], None],
    told: list[str],
) -> FastAPI:
    """Migrate, simulate and seed (once per database), then the real app. The size comes from the options
    (or their PUHUI_DEMO_* variables). A line per phase, and a bar per simulated day on a terminal; what to
    try next goes into `told`, printed once the app answers (a newcomer's first command must not meet the gate)."""
    import contextlib

    from puhui import demo_home, demo_market

    started = time.perf_counter()
    terminal = sys.stdout.isatty()

    def phase(text: str) -> None:
        on_phase(text)
        if not terminal or not text.startswith("simulating"):
            console.print(f"demo: {text} ({time.perf_counter() - started:.1f} s)", markup=False, highlight=False)

    phase("migrating the database")
    engine = create_engine_from_url(home.database_url, durable=False)  # the demo's own file need not fsync
    upgrade(engine)
    morning = demo_market.start_the_day(engine)
    if morning is not None:
        phase(
            f"the platform clock starts at {morning:%a %Y-%m-%d %H:%M} China time, when the stock market "
            "is open (the sandbox clock moved ahead)"
        )
    customers = customers or demo_market.DEMO_CUSTOMERS
    days = days or demo_market.DEMO_DAYS
    seed = demo_market.DEMO_SEED if seed is None else seed
    bar = demo_market.progress(days, console) if terminal else contextlib.nullcontext(None)
    with bar as on_day:

        def day(d: int, stats) -> None:
            phase(f"simulating day {d + 1} of {days} ({stats.date})")
            if on_day is not None:
                on_day(d, stats)

        made = demo_market.prepare_demo(
            engine, settings, customers=customers, days=days, seed=seed, on_day=day, on_phase=phase
        )
    if made.world is not None:
        demo_home.save_credentials(home, str(made.world))
        demo_home.save_people(home, made.world)
    demo_home.write_shell(home, base, settings.admin_token)
    credentials = str(made.world) if made.world is not None else demo_home.saved_credentials(home)
    told += [
        f"Demo world (ready in {time.perf_counter() - started:.1f} s):",
        made.summary(base, credentials),
        follow_up(home, base, settings.admin_token),
    ]
    app = create_app(engine, settings)
    from puhui.payments.bank import worker as bank_worker

    bank = bank_worker.keep_bank(engine, settings, home.bank_state, getattr(made.world, "bank", None))
    if bank is not None:
        bank_worker.hand_over(app, engine, settings, bank)
    return app


def follow_up(home, base: str, admin_token: str) -> str:
    """The exact commands a newcomer runs next on this demo's database."""
    return "\n".join(
        [
            "Next, in another shell (the demo's database, keys, people and sandbox clock):",
            f"  . {shlex.quote(str(home.shell_file))}"
            "   # sets PUHUI_ENV_FILE, BASE, TOKEN, MERCHANT, MERCHANT_KEY; README: A first hour",
            "  puhui audit",
            "  puhui reserve-check",
            (
                f'  curl -s -H "Authorization: Bearer {admin_token}" -H "Content-Type: application/json" '
                f'-d \'{{"advance": "PT24H"}}\' {base}/v1/sandbox/clock   # move the platform a day on'
            ),
        ]
    )
