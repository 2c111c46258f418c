"""Signed merchant notifications on SQLite and PostgreSQL: a merchant registers a URL; its payments
and refunds are POSTed signed (verifiable with the shared key) once they are collected; a failing
endpoint is retried with backoff until it answers, and given up after the last attempt; another
merchant never sees them; a bad URL is refused."""

from __future__ import annotations

import json

import pytest

from puhui.payments import notifications
from tests.payments.test_operations_http import make_merchant_two, staff
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    ADMIN,
    client,
    login,
    make_customer,
    make_merchant,
    pay,
    refund,
)

KEY = "merchant-notify-test-key"  # the test app's settings.merchant_notify_key


class Endpoint:
    """A merchant's endpoint that fails its first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.failures, self.received = failures, []

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        if self.failures > 0:
            self.failures -= 1
            return 503
        self.received.append((url, json.loads(body), headers))
        return 200


@pytest.fixture
def shop(client, engine):
    merchant_id, headers = make_merchant(client)
    done = client.put(
        f"/v1/merchants/{merchant_id}/notify-url",
        headers={**headers, "Idempotency-Key": "u1"},
        json={"url": "https://shop.example/puhui"},
    )
    assert done.status_code == 200, done.text
    return merchant_id, headers


def test_payments_and_refunds_are_delivered_signed(client, engine, shop):
    merchant_id, headers = shop
    _, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    paid = pay(client, phone, merchant_id, headers, "88.00")
    refund(client, headers, paid["id"], "8.00")
    endpoint = Endpoint()
    assert notifications.collect(engine, KEY) == 2
    assert notifications.collect(engine, KEY) == 0  # collected once
    assert notifications.deliver(engine, endpoint) == 2
    assert notifications.deliver(engine, endpoint) == 0
    (url, first, head), (_, second, _) = endpoint.received
    assert url == "https://shop.example/puhui" and head["Puhui-Event"] == "payment.succeeded"
    assert first["payment"]["id"] == paid["id"] and first["payment"]["amount"] == "88.00"
    assert second["event"] == "refund.succeeded" and second["refund"]["amount"] == "8.00"
    assert notifications.verify(first, KEY) and notifications.verify(second, KEY)
    assert not notifications.verify({**first, "payment": {**first["payment"], "amount": "880.00"}}, KEY)
    listed = client.get(f"/v1/merchants/{merchant_id}/notifications", headers=headers).json()["notifications"]
    assert [n["status"] for n in listed] == ["delivered", "delivered"]


def test_a_failing_endpoint_is_retried_with_backoff_then_given_up(client, engine, clock, shop):
    merchant_id, headers = shop
    _, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    pay(client, phone, merchant_id, headers, "10.00")
    notifications.collect(engine, KEY)
    flaky = Endpoint(failures=2)
    assert notifications.deliver(engine, flaky) == 0
    assert notifications.deliver(engine, flaky) == 0  # not due yet: the next try is 10 s later
    clock.advance(seconds=10)
    assert notifications.deliver(engine, flaky) == 0  # second failure; next in 20 s
    clock.advance(seconds=19)
    assert notifications.deliver(engine, flaky) == 0
    clock.advance(seconds=1)
    assert notifications.deliver(engine, flaky) == 1 and len(flaky.received) == 1

    pay(client, phone, merchant_id, headers, "11.00")
    notifications.collect(engine, KEY)
    down = Endpoint(failures=10_000)
    for _ in range(notifications.MAX_ATTEMPTS):
        notifications.deliver(engine, down)
        clock.advance(hours=1)
    listed = client.get(f"/v1/merchants/{merchant_id}/notifications", headers=headers).json()["notifications"]
    assert listed[0]["status"] == "failed" and listed[0]["attempts"] == notifications.MAX_ATTEMPTS
    assert listed[0]["last_status"] == 503


def test_notifications_are_the_merchants_own(client, engine, shop):
    merchant_id, headers = shop
    _, other = make_merchant_two(client)
    assert client.get(f"/v1/merchants/{merchant_id}/notifications", headers=other).status_code == 403
    assert (
        client.put(
            f"/v1/merchants/{merchant_id}/notify-url", headers=other, json={"url": "https://evil.example/"}
        ).status_code
        == 403
    )
    assert (
        client.get(f"/v1/merchants/{merchant_id}/notifications", headers=staff(client, "regulator")).status_code == 200
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example/x",
        "ftp://shop.example/x",
        "https://user:pw@shop.example/",
        "not a url at all",
        # SSRF (issue 19): the platform's own network, and URLs that broke the loop
        "https://localhost/x",
        "https://127.0.0.1:6379/",
        "https://10.0.0.8/n",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/",
        "https://db.internal/",
        "https://192.168.1.1/",
        "https://shop.example/\x00x",
        "https://shop.example/a b",
        "https://shop.example:99999/",
    ],
)
def test_bad_notify_urls_are_refused(client, engine, url):
    merchant_id, headers = make_merchant(client)
    answer = client.put(f"/v1/merchants/{merchant_id}/notify-url", headers=headers, json={"url": url})
    assert answer.status_code == 422
    assert client.get(f"/v1/merchants/{merchant_id}", headers=headers).json()["notify_url"] is None
    good = client.put(f"/v1/merchants/{merchant_id}/notify-url", headers=headers, json={"url": "https://ok.example/n"})
    assert good.status_code == 200
    assert client.get(f"/v1/merchants/{merchant_id}", headers=headers).json()["notify_url"] == "https://ok.example/n"


def test_delivery_goes_to_public_addresses_only():
    """Checked again when sending: a name registered as public may point inside later (no request is made)."""
    assert not notifications.resolves_publicly("127.0.0.1", 443)
    assert not notifications.resolves_publicly("localhost", 443)
    assert not notifications.resolves_publicly("10.1.2.3", 443)
    assert notifications.resolves_publicly("8.8.8.8", 443)  # a public literal resolves to itself
    assert notifications.http_post("https://localhost:1/x", b"{}", {}) == 0
    assert notifications.http_post("http://8.8.8.8/x", b"{}", {}) == 0  # never plain http


def test_one_broken_url_does_not_stop_the_others(client, engine, shop):
    """Regression (issue 19): a URL with a control character made the transport raise; the row stayed first in line
    and no merchant was notified again. Now it fails like an unreachable endpoint and the rest go out."""
    from sqlalchemy import update

    from puhui.payments.tables import merchant_notifications

    merchant_id, headers = shop
    _, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    pay(client, phone, merchant_id, headers, "10.00")
    pay(client, phone, merchant_id, headers, "11.00")
    assert notifications.collect(engine, KEY) == 2
    with engine.begin() as connection:
        first = min(
            r[0]
            for r in connection.execute(merchant_notifications.select().with_only_columns(merchant_notifications.c.id))
        )
        connection.execute(
            update(merchant_notifications)
            .where(merchant_notifications.c.id == first)
            .values(url="https://shop.example/\x07")
        )  # PostgreSQL refuses NUL itself
    endpoint = Endpoint()

    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        if "\x07" in url:
            raise ValueError("Invalid non-printable ASCII character in URL")  # what httpx raises
        return endpoint(url, body, headers)

    assert notifications.deliver(engine, post) == 1
    assert len(endpoint.received) == 1


def test_delivery_connects_to_the_address_it_checked(monkeypatch):
    """DNS rebinding: a name that answers a public address to the check and a private one to the connection
    must not reach the private one. The name is resolved once; the request goes to that address, with the
    name as Host and as the TLS server name."""
    import socket

    import httpx

    answers = iter(["93.184.216.34", "127.0.0.1"])  # first public, then rebound to loopback
    lookups: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    sent: list[httpx.Request] = []

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(request)
        return httpx.Response(204)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(httpx.Client, "send", send)
    assert notifications.http_post("https://shop.example:8443/notify?x=1", b"{}", {"Puhui-Event": "e"}) == 204
    assert lookups == ["shop.example"]
    (request,) = sent
    assert str(request.url) == "https://93.184.216.34:8443/notify?x=1"
    assert request.headers["Host"] == "shop.example:8443" and request.extensions["sni_hostname"] == "shop.example"
