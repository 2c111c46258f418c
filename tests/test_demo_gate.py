"""`serve --demo` answers at once: `/health` shows the phase while the world is built, other calls get a
503 problem, and once built every request reaches the real app (its background loops started)."""

from __future__ import annotations

import threading
import time

from fastapi import FastAPI
from fastapi.testclient import TestClient

from puhui.demo_gate import DemoGate


def wait_for(predicate, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_health_answers_while_the_world_is_built_then_the_app_serves():
    release, started = threading.Event(), []
    app = FastAPI()

    @app.get("/v1/thing")
    async def thing() -> dict:
        return {"ok": True}

    import contextlib

    @contextlib.asynccontextmanager
    async def lifespan(_):  # type: ignore[no-untyped-def]
        started.append("up")
        yield
        started.append("down")

    app.router.lifespan_context = lifespan

    def prepare(on_phase):  # type: ignore[no-untyped-def]
        on_phase("simulating day 1 of 14")
        assert release.wait(10)
        return app

    gate = DemoGate(prepare)
    with TestClient(gate) as client:
        wait_for(lambda: gate.phase.startswith("simulating"))
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "starting" and health.json()["phase"] == "simulating day 1 of 14"
        early = client.get("/v1/thing")
        assert early.status_code == 503 and early.headers["retry-after"] == "3"
        assert early.headers["content-type"] == "application/problem+json"
        assert early.json()["code"] == "demo_preparing"
        page = client.get("/")
        assert page.status_code == 503 and 'http-equiv="refresh"' in page.text
        release.set()
        wait_for(lambda: gate.app is not None)
        assert client.get("/v1/thing").json() == {"ok": True}
        assert started == ["up"]  # the real app's lifespan (its loops) runs once the world is ready
    assert started == ["up", "down"]


def test_a_failed_build_is_shown_not_hidden():
    def prepare(on_phase):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    gate = DemoGate(prepare)
    with TestClient(gate) as client:
        wait_for(lambda: gate.failed is not None)
        assert client.get("/health").json() == {
            "status": "failed",
            "ready": False,
            "phase": "starting",
            "version": client.get("/health").json()["version"],
            "error": "RuntimeError: disk full",
        }
        answer = client.get("/v1/anything")
        assert answer.status_code == 503 and answer.json()["code"] == "demo_failed"


def test_stopping_the_server_stops_the_build_at_the_next_phase():
    phases = []

    def prepare(on_phase):  # type: ignore[no-untyped-def]
        for day in range(1000):
            time.sleep(0.005)
            on_phase(f"day {day}")
            phases.append(day)
        raise AssertionError("the build ran to the end after the server stopped")

    gate = DemoGate(prepare)
    with TestClient(gate):
        wait_for(lambda: len(phases) > 2)
    assert gate.phase == "stopped" and len(phases) < 1000


def test_what_to_try_next_is_told_only_once_the_app_answers():
    """The credentials and the first commands are printed when they work: a newcomer who copies them at
    once must not meet the gate's 503 (the README walk-through did, now and then)."""
    app, heard = FastAPI(), []

    @app.get("/health")
    async def health() -> dict:
        return {"ready": True}

    gate = DemoGate(lambda on_phase: app, on_ready=lambda: heard.append(gate.app is app and gate.phase == "ready"))
    with TestClient(gate) as client:
        wait_for(lambda: len(heard) == 1)
        assert heard == [True] and client.get("/health").json() == {"ready": True}
