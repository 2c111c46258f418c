"""The demo's front door while its world is built (演示准备中): uvicorn starts at once, `/health` answers
with the phase, every other request gets a 503 problem `demo_preparing` (the console page reloads
itself), and once the world is ready every request goes to the real application.

The world is built in a worker thread: the simulator's ManualClock is process-wide, which is safe
because nothing else of Puhui runs (no route, no background loop) until the real app takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

import puhui
from puhui.api.request_id import request_id_for

log = logging.getLogger("puhui.demo")
Prepare = Callable[[Callable[[str], None]], FastAPI]
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Puhui demo: preparing</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3rem"><h1>Puhui (普惠)</h1>
<p>The demo world is being prepared: <b>{phase}</b>.</p><p>This page reloads itself.</p></body></html>"""


class DemoAborted(Exception):
    """The server stopped while the world was being built."""


class DemoGate:
    """An ASGI app in front of the real one until `prepare` (run in a thread) returns it."""

    def __init__(self, prepare: Prepare, on_ready: Callable[[], None] | None = None) -> None:
        self._prepare = prepare
        self._on_ready = on_ready
        self.app: FastAPI | None = None
        self.phase = "starting"
        self.failed: str | None = None
        self._stopping = False
        self._stack = contextlib.AsyncExitStack()
        self._task: asyncio.Task[None] | None = None

    def on_phase(self, phase: str) -> None:
        if self._stopping:
            raise DemoAborted("the server is stopping")
        self.phase = phase

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif self.app is not None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await self._waiting(scope, send)
        else:  # a websocket before the app exists
            await send({"type": "websocket.close", "code": 1013})

    async def _lifespan(self, receive: Callable, send: Callable) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._task = asyncio.create_task(self._build())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._stopping = True
                if self._task is not None:
                    with contextlib.suppress(asyncio.CancelledError, DemoAborted):
                        await self._task
                await self._stack.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _build(self) -> None:
        try:
            app = await asyncio.to_thread(self._prepare, self.on_phase)
            await self._stack.enter_async_context(app.router.lifespan_context(app))
            self.app, self.phase = app, "ready"
            if self._on_ready is not None:  # told only now: what it says works from this moment
                self._on_ready()
        except DemoAborted:
            self.phase = "stopped"
        except Exception as error:  # noqa: BLE001 - shown on /health and in every answer, with its trace in the log
            self.failed = f"{type(error).__name__}: {error}"
            log.exception("preparing the demo world failed")

    async def _waiting(self, scope: dict, send: Callable) -> None:
        path = scope.get("path", "")
        if path == "/health":
            body: dict[str, Any] = {
                "status": "failed" if self.failed else "starting",
                "ready": False,
                "phase": self.phase,
                "version": puhui.__version__,
            }
            if self.failed:
                body["error"] = self.failed
            await _answer(send, 200, "application/json", json.dumps(body).encode())
        elif path == "/" and scope.get("method") == "GET":
            await _answer(
                send, 503, "text/html; charset=utf-8", PAGE.format(phase=self.phase).encode(), [(b"retry-after", b"3")]
            )
        else:
            code, title = (
                ("demo_failed", "The demo world could not be prepared")
                if self.failed
                else ("demo_preparing", "The demo world is being prepared")
            )
            request_id = request_id_for(scope)
            problem = {
                "type": "about:blank",
                "title": title,
                "status": 503,
                "code": code,
                "detail": self.failed or f"{self.phase}; try again shortly (GET /health shows the phase)",
                "instance": path,
                "request_id": request_id,
            }
            await _answer(
                send,
                503,
                "application/problem+json",
                json.dumps(problem).encode(),
                [(b"retry-after", b"3"), (b"x-request-id", request_id.encode())],
            )


async def _answer(
    send: Callable, status: int, media_type: str, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type.encode()),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
