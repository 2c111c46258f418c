"""The sandbox clock: one platform time for the server, every command and every worker on a database."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from puhui import clock as clock_module
from puhui.app import create_app
from puhui.sandbox.service import SandboxClock
from puhui.settings import Settings

ADMIN = "sandbox-admin-token-0123456789"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}


def settings(sandbox: bool = True) -> Settings:
    return Settings(
        admin_token=ADMIN, sandbox=sandbox, monitoring=False, merchant_notifications=False, fraud_checks=False
    )


@pytest.fixture
def client(engine, clock):
    with TestClient(create_app(engine, settings(), run_expiry=False)) as test_client:
        yield test_client


def test_advance_moves_platform_time_and_business_date(client, clock):
    before = client.get("/v1/sandbox/clock").json()
    assert before["offset_seconds"] == 0
    assert dt.datetime.fromisoformat(before["now"]) == clock.now()
    moved = client.post("/v1/sandbox/clock", headers={**HEADERS, "Idempotency-Key": "m1"}, json={"advance": "PT36H"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["offset"] == "PT36H"
    assert clock_module.now() == clock.now() + dt.timedelta(hours=36)
    assert clock_module.business_date() == (clock.now() + dt.timedelta(hours=36)).astimezone(clock_module.CHINA).date()
    replay = client.post("/v1/sandbox/clock", headers={**HEADERS, "Idempotency-Key": "m1"}, json={"advance": "PT36H"})
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert clock_module.now() == clock.now() + dt.timedelta(hours=36)  # a replay moves nothing


def test_to_an_instant_and_wall_time_keeps_running(client, clock):
    target = "2027-03-02T10:00:00+08:00"
    assert client.post("/v1/sandbox/clock", headers=HEADERS, json={"to": target}).status_code == 200
    assert clock_module.now() == dt.datetime.fromisoformat(target)
    clock.advance(minutes=5)  # wall time goes on; the offset stays
    assert clock_module.now() == dt.datetime.fromisoformat(target) + dt.timedelta(minutes=5)
    seen = client.get("/v1/sandbox/clock").json()
    assert (seen["business_date"], seen["yesterday"]) == ("2027-03-02", "2027-03-01")


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"advance": "-PT1H"}, 409, "clock_backwards"),
        ({"to": "2020-01-01T00:00:00+08:00"}, 409, "clock_backwards"),
        ({"advance": "PT1H", "to": "2027-03-02T10:00:00+08:00"}, 422, "clock_move_invalid"),
        ({}, 422, "clock_move_invalid"),
        ({"advance": "36 hours"}, 422, "invalid_request"),
        ({"to": "2027-03-02T10:00:00"}, 422, "invalid_request"),
        ({"advance": "P40000D"}, 422, "clock_too_far"),
        ({"speed": 2}, 422, "invalid_request"),
    ],
)
def test_bad_moves_are_refused_and_change_nothing(client, clock, body, status, code):
    client.post("/v1/sandbox/clock", headers=HEADERS, json={"advance": "PT1H"})
    answer = client.post("/v1/sandbox/clock", headers=HEADERS, json=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code
    assert client.get("/v1/sandbox/clock").json()["offset"] == "PT1H"


def test_only_the_admin_moves_the_clock(client):
    assert client.post("/v1/sandbox/clock", json={"advance": "PT1H"}).status_code == 401
    assert (
        client.post("/v1/sandbox/clock", headers={"Authorization": "Bearer nope"}, json={"advance": "PT1H"}).status_code
        == 401
    )
    assert client.get("/v1/sandbox/clock").json()["offset_seconds"] == 0


def test_outside_the_sandbox_there_is_no_clock_endpoint_and_the_offset_is_ignored(engine, clock):
    with TestClient(create_app(engine, settings(sandbox=True), run_expiry=False)) as sandbox:
        sandbox.post("/v1/sandbox/clock", headers=HEADERS, json={"advance": "P3D"})
    clock_module.install(clock)  # a production process starts with the wall clock
    with TestClient(create_app(engine, settings(sandbox=False), run_expiry=False)) as production:
        assert production.get("/v1/sandbox/clock").status_code == 404
        assert production.post("/v1/sandbox/clock", headers=HEADERS, json={"advance": "P1D"}).status_code == 404
        assert clock_module.now() == clock.now()


def test_another_process_sees_the_same_time(engine, client, clock):
    client.post("/v1/sandbox/clock", headers=HEADERS, json={"advance": "P2D"})
    other = SandboxClock(engine, base=clock)  # what a worker or a command on the same database builds
    assert other.now() == clock.now() + dt.timedelta(days=2)
    other.move(advance=dt.timedelta(hours=1))
    client.app.state.sandbox_clock.refresh()  # the server's follower thread does this every half second
    assert client.get("/v1/sandbox/clock").json()["offset"] == "PT49H"


def test_a_command_on_the_database_runs_at_the_platform_time(db_url, engine, client, clock, monkeypatch):
    from puhui.cli import app

    client.post("/v1/sandbox/clock", headers=HEADERS, json={"advance": "P10D"})
    monkeypatch.setenv("PUHUI_SANDBOX", "true")
    result = CliRunner().invoke(app, ["reserve-check", "--db", db_url, "--no-record"])
    assert result.exit_code == 0, result.output
    wall = dt.datetime.now(dt.UTC)  # the command's base is the wall clock
    expected = (wall + dt.timedelta(days=10)).astimezone(clock_module.CHINA).date()
    assert json.loads(result.stdout)["business_date"] in {
        expected.isoformat(),
        (expected - dt.timedelta(days=1)).isoformat(),
    }
    monkeypatch.setenv("PUHUI_SANDBOX", "false")
    clock_module.install(clock_module.SystemClock())  # a new process: the wall clock until told otherwise
    result = CliRunner().invoke(app, ["reserve-check", "--db", db_url, "--no-record"])
    assert json.loads(result.stdout)["business_date"] in {
        wall.astimezone(clock_module.CHINA).date().isoformat(),
        (expected - dt.timedelta(days=10)).isoformat(),
    }
