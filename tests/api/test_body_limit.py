"""No request-size limit (issue 19, finding 5): 100 MB bodies were accepted and read into memory. A body
over `max_body_bytes` is now a 413 problem, declared or streamed, and nothing is read or stored; and
password hashes (64 MiB each) run at most four at a time."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from puhui.app import create_app
from puhui.identity import auth
from puhui.settings import Settings

TOKEN = "test-admin-token"


@pytest.fixture
def client(engine, clock):
    with TestClient(create_app(engine, Settings(admin_token=TOKEN, max_body_bytes=4096), run_expiry=False)) as c:
        yield c


def test_a_body_over_the_limit_is_a_413_problem(client):
    big = {"csv": "x" * 5000}
    answer = client.post("/v1/wealth/navs", headers={"Authorization": f"Bearer {TOKEN}"}, json=big)
    assert answer.status_code == 413 and answer.json()["code"] == "request_too_large", answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["request_id"] == answer.headers["X-Request-ID"]


def test_a_streamed_body_is_counted_as_it_arrives(client):
    def chunks():  # no Content-Length: chunked transfer
        for _ in range(10):
            yield b"x" * 1000

    answer = client.post("/v1/customers", content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413, answer.text


def test_a_body_within_the_limit_is_served(client):
    answer = client.post("/v1/customers", json={"name": "x"})
    assert answer.status_code == 422  # read and validated as usual


def test_at_most_four_password_hashes_run_at_once(monkeypatch):
    running, most, lock = [0], [0], threading.Lock()

    class Slow:
        def hash(self, password):  # type: ignore[no-untyped-def]
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.02)
            with lock:
                running[0] -= 1
            return "h"

    previous = auth.set_password_hasher(Slow())  # type: ignore[arg-type]
    try:
        threads = [threading.Thread(target=auth.hash_password, args=("pw",)) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        auth.set_password_hasher(previous)
    assert most[0] == auth.MAX_CONCURRENT_HASHES


def test_a_content_length_that_is_not_a_number_is_a_400_problem():
    """httpx always sends a correct Content-Length, so the middleware is called as a server would call it."""
    import asyncio

    from puhui.api.body_limit import BodyLimitMiddleware

    reached, sent = [], []

    async def inner(scope, receive, send):  # type: ignore[no-untyped-def]
        reached.append(scope["path"])

    async def receive():  # type: ignore[no-untyped-def]
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/customers",
        "headers": [(b"content-length", b"12abc"), (b"content-type", b"application/json")],
        "query_string": b"",
    }
    asyncio.run(BodyLimitMiddleware(inner, max_bytes=4096)(scope, receive, send))
    assert not reached  # nothing behind the limit ran
    assert sent[0]["status"] == 400
    assert b'"invalid_content_length"' in b"".join(
        m.get("body", b"") for m in sent if m["type"] == "http.response.body"
    )
