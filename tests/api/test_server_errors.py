"""Server errors (issue 12, defect 5): an out-of-range cursor and a CSV with a bare carriage return were
500s, and an unexpected error left as `text/plain`. Now bad input is a 4xx problem that changes nothing,
every response carries a request id, and an error no handler knew is still an RFC 9457 problem with it.
A sibling: a NUL character in a path, query or JSON string was a 500 on PostgreSQL; now a 422 everywhere."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from puhui.api.deps import MAX_CURSOR
from puhui.api.nul_guard import nul_in
from puhui.app import create_app
from puhui.demo import CUSTOMERS
from puhui.identity.tables import customers
from puhui.settings import Settings

TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TOO_BIG = str(MAX_CURSOR + 1)  # one past the published bound (2**53 - 1), well inside BIGINT


@pytest.fixture
def app(engine, clock):
    return create_app(
        engine,
        Settings(admin_token=TOKEN, pii_keys="k1:" + "A" * 43 + "=", pii_index_key="B" * 43 + "="),
        run_expiry=False,
    )


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def assert_problem(answer, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    body = answer.json()
    assert body["code"] == code and body["request_id"] == answer.headers["X-Request-ID"], body
    return body


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/events?after={TOO_BIG}",
        f"/v1/pii-access-log?after={TOO_BIG}",
        f"/v1/ledger/accounts/platform.reserve_bank.CNY/transfers?after={TOO_BIG}",
    ],
)
def test_a_cursor_past_the_published_bound_is_a_422(client, path):
    assert_problem(client.get(path, headers=AUTH), 422, "invalid_request")
    assert_problem(client.get(path.replace(TOO_BIG, str(2**63)), headers=AUTH), 422, "invalid_request")  # past BIGINT
    assert client.get(path.replace(TOO_BIG, str(MAX_CURSOR)), headers=AUTH).status_code == 200


@pytest.mark.parametrize(
    "path, code", [("/v1/wealth/figures", "invalid_fund_figures"), ("/v1/wealth/navs", "invalid_nav_file")]
)
@pytest.mark.parametrize("csv", ["a\rb", 'date,fund_code,nav\r\n"unterminated'])
def test_a_malformed_csv_is_a_4xx(client, path, code, csv):
    answer = client.post(path, headers={**AUTH, "Idempotency-Key": f"k-{hash(csv)}"}, json={"csv": csv})
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["code"] == code


def test_an_unexpected_error_is_a_problem_with_the_request_id(app, client, caplog):
    @app.get("/v1/test-boom")
    async def boom() -> dict:
        raise RuntimeError("secret internals")

    answer = client.get("/v1/test-boom", headers={"X-Request-ID": "req-42"})
    body = assert_problem(answer, 500, "internal_error")
    assert body["request_id"] == "req-42" and "secret internals" not in answer.text
    assert any("req-42" in r.getMessage() and r.exc_info for r in caplog.records), "logged with its id"


def test_every_response_has_a_request_id_and_a_bad_one_is_replaced(client):
    ok = client.get("/health")
    assert ok.status_code == 200 and len(ok.headers["X-Request-ID"]) >= 16
    assert client.get("/health", headers={"X-Request-ID": "mine-1"}).headers["X-Request-ID"] == "mine-1"
    replaced = client.get("/health", headers={"X-Request-ID": "x" * 65}).headers["X-Request-ID"]
    assert replaced != "x" * 65
    assert_problem(client.get("/v1/nowhere"), 404, "not_found")
    assert_problem(client.get("/v1/events"), 401, "unauthorized")


def test_a_problem_a_mutation_stores_names_the_request_that_asked(client):
    """A mutation's own problem (here the ledger's 409 for an account opened twice with other fields) names
    the request id too, and its replay names the replaying request's id, not the first one's."""
    account = {"id": "w.rid", "ledger": "CNY", "code": "customer_wallet", "owner_id": "rid", "flags": []}
    assert client.post("/v1/ledger/accounts", headers=AUTH, json=account).status_code == 201
    other = {**account, "owner_id": "someone-else"}
    first = client.post(
        "/v1/ledger/accounts", json=other, headers={**AUTH, "Idempotency-Key": "rid-1", "X-Request-ID": "first-1"}
    )
    assert assert_problem(first, 409, "exists_with_different_owner_id")["request_id"] == "first-1"
    again = client.post(
        "/v1/ledger/accounts", json=other, headers={**AUTH, "Idempotency-Key": "rid-1", "X-Request-ID": "again-2"}
    )
    assert again.headers["Idempotent-Replayed"] == "true"
    assert assert_problem(again, 409, "exists_with_different_owner_id")["request_id"] == "again-2"


def count_customers(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(customers)).scalar_one()


@pytest.mark.parametrize(
    "path", ["/v1/merchants/m%00x", "/v1/pii-access-log?subject=a%00b", "/v1/ledger/accounts?owner_id=a%00b"]
)
def test_a_nul_in_the_path_or_query_is_a_422_on_every_backend(client, path):
    """PostgreSQL cannot hold a NUL: these were 500s there (and a lookup of a NUL-bearing id on SQLite)."""
    assert_problem(client.get(path, headers=AUTH), 422, "nul_character")


@pytest.mark.parametrize("income", ["1e999999", "-1e999999", "1e-999999"])
def test_an_absurd_figure_is_refused_not_overflowed(client, income):
    """`1e999999` overflowed the decimal context while being scaled, before the range check (a 500)."""
    csv = f"fund_code,date,income_per_10k\nPH0001,2026-01-04,{income}\n"
    answer = client.post(
        "/v1/wealth/figures", headers={**AUTH, "Idempotency-Key": f"absurd-{income}"}, json={"csv": csv}
    )
    assert_problem(answer, 422, "invalid_fund_figures")


@pytest.mark.parametrize("csv_path", ["/v1/wealth/figures", "/v1/wealth/navs"])
def test_a_nul_in_a_csv_is_a_422(client, csv_path):
    answer = client.post(csv_path, headers={**AUTH, "Idempotency-Key": "nul-csv"}, json={"csv": "a\x00b\n"})
    assert_problem(answer, 422, "nul_character")


def test_a_nul_in_a_json_string_is_refused_and_nothing_is_stored(client, engine):
    name, id_number, phone, _ = CUSTOMERS[0]
    before = count_customers(engine)
    person = {
        "name": name[:1] + "\x00" + name[1:],
        "id_number": id_number,
        "phone": phone,
        "password": "correct horse battery",
        "consents": ["payments"],
    }
    assert_problem(client.post("/v1/customers", json=person), 422, "nul_character")
    assert count_customers(engine) == before
    assert client.post("/v1/customers", json={**person, "name": name}).status_code == 201  # the same, clean


def test_only_a_real_nul_is_refused():
    assert nul_in({"path": "/v1/x", "query_string": b""}, rb'{"note": "a\\u0000b"}') is None  # backslash, u0000
    assert nul_in({"path": "/v1/x", "query_string": b""}, rb'{"note": "a\\\u0000b"}') == "body"
    assert nul_in({"path": "/v1/x", "query_string": b"q=100%25"}, b"") is None


def test_the_demo_gate_names_the_request_id_in_its_503_problem():
    """While `serve --demo` builds its world, the gate answers before the app (and its middleware) exists."""
    import threading

    from fastapi import FastAPI

    from puhui.demo_gate import DemoGate

    release = threading.Event()
    gate = DemoGate(lambda on_phase: release.wait(10) and FastAPI())
    try:
        with TestClient(gate) as gated:
            mine = gated.get("/v1/events", headers={"X-Request-ID": "gate-7"})
            assert assert_problem(mine, 503, "demo_preparing")["request_id"] == "gate-7"
            assert len(assert_problem(gated.get("/v1/events"), 503, "demo_preparing")["request_id"]) >= 16
            release.set()
    finally:
        release.set()


def test_a_body_nested_past_the_parsers_depth_is_a_400_problem_with_a_stable_code(client):
    answer = client.post("/v1/customers", content=b"[" * 200_000, headers={"Content-Type": "application/json"})
    assert_problem(answer, 400, "malformed_body")


def test_a_caller_gone_before_its_form_was_read_is_no_server_error(app, caplog):
    """A browser that closes the tab mid-post (`http.disconnect` before the body) is logged as gone, not as an
    unexpected error with a traceback, and nothing is sent to no one."""
    import asyncio

    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/app/login",
        "raw_path": b"/app/login",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", b"30")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    with caplog.at_level("INFO", logger="puhui.api"):
        asyncio.run(app(scope, receive, send))
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    assert "client disconnected during POST /app/login" in caplog.text
    assert not any(m["type"] == "http.response.start" and m["status"] >= 500 for m in sent), sent
