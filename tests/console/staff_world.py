"""The demo world for the staff pages: merchants with QR payments, a regulator and a risk officer from
the seed, an operator added by the admin, and a log-in helper that signs a test client in with a token
through the staff log-in form (CSRF token included)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from puhui.app import create_app
from puhui.demo import seed_demo_world
from puhui.payments.bank import worker

from .world import ADMIN, hidden, settings

ADMIN_TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")


def staff_settings():  # type: ignore[no-untyped-def]
    return settings(monitoring=False, fraud_checks=False, merchant_notifications=False)


@pytest.fixture
def demo(engine, clock):  # type: ignore[no-untyped-def]
    chosen = staff_settings()
    world = seed_demo_world(engine, chosen)
    made = create_app(engine, chosen, run_expiry=False)
    worker.install_bank(made, engine, made.state.settings)
    with TestClient(made) as test_client:
        yield test_client, world


def token_of(world, role: str) -> str:  # type: ignore[no-untyped-def]
    return next(s["token"] for s in world.staff if s["role"] == role)


def add_staff(client, role: str, handle: str) -> str:  # type: ignore[no-untyped-def]
    made = client.post("/v1/staff", headers=ADMIN, json={"handle": handle, "role": role})
    assert made.status_code == 201, made.text
    return made.json()["token"]


def log_in(client, token: str):  # type: ignore[no-untyped-def]
    """Sign the client in on the staff log-in page; returns the answer (303 to the role's home)."""
    client.cookies.clear()
    form = hidden(client.get("/staff/login").text)
    return client.post("/staff/login", data={**form, "token": token}, follow_redirects=False)


def post_form(client, page: str, action: str, **fields: str):  # type: ignore[no-untyped-def]
    """Submit a form as the browser would: the page's CSRF token and a fresh form key, then the fields."""
    form = hidden(client.get(page).text)
    return client.post(action, data={**form, **fields}, follow_redirects=False)
