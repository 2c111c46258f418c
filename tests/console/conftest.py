"""Console fixtures: the app on a fresh database with the sandbox bank, and a signed-up customer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from puhui.app import create_app
from puhui.payments.bank import worker

from .world import hidden, person, settings


@pytest.fixture
def app(engine, clock):  # type: ignore[no-untyped-def]
    made = create_app(engine, settings(), run_expiry=False)
    worker.install_bank(made, engine, made.state.settings)
    return made


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


def sign_up(client, n: int, **extra: str):  # type: ignore[no-untyped-def]
    """Register through the console's form (all consents ticked); the client is then signed in."""
    form = hidden(client.get("/app/register").text)
    body = {**person(n), **form, "consent_payments": "on", "consent_risk_control": "on", **extra}
    return client.post("/app/register", data=body, follow_redirects=False)


def customer_id_of(client) -> str:  # type: ignore[no-untyped-def]
    import re

    found = re.search(r'data-testid="customer-id">([^<]+)<', client.get("/app/me").text)
    assert found is not None
    return found.group(1)
