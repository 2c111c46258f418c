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


def run_server(*, host: str, port: int, database_url: str | None, demo: bool) -> None:
    settings = get_settings().model_copy()
    if demo:
        database_url = database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='puhui-demo-')) / 'demo.db'}"
        settings.admin_token = settings.admin_token or secrets.token_urlsafe(24)
        from puhui.identity.service import with_demo_secrets

        settings = with_demo_secrets(settings)
    url = database_url or settings.resolved_database_url()
    engine = create_engine_from_url(url)
    upgrade(engine)
    if demo:
        from puhui.demo import seed_demo_world

        summary = seed_demo_world(engine, settings)
        console.print(f"[bold]Demo world[/bold]: {summary}")
    shown = "localhost" if host in ("0.0.0.0", "127.0.0.1", "::") else host
    console.print(f"Puhui console:  [link]http://{shown}:{port}/[/link]")
    console.print(f"API docs:       [link]http://{shown}:{port}/docs[/link]")
    console.print(f"Database:       {engine.url.render_as_string(hide_password=True)}")
    if demo:
        console.print(f"Admin token:    [bold]{settings.admin_token}[/bold]  (Authorization: Bearer <token>)")
    elif not settings.admin_token:
        console.print("[yellow]PUHUI_ADMIN_TOKEN is not set: the admin API will refuse every call.[/yellow]")
    uvicorn.run(create_app(engine, settings), host=host, port=port, log_level="info")
