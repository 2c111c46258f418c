"""The OpenAPI fuzzer (issue 12): schemathesis generates requests for every operation of the published
schema, valid and invalid ones, and sends them with the admin token to the app on a fresh SQLite
database that holds one customer, one merchant and their money. The app runs as `serve --demo` does
(the sandbox: its clock endpoints are fuzzed too, so the platform time may jump ahead mid-run), and every
other mutating call carries an `Idempotency-Key`, so the stored-answer path is fuzzed as well as the
keyless one. A call the admin may not make (403: a customer's or a merchant's own operation) is sent again
with the customer's session, then with the merchant's API key, so those operations are fuzzed past the door.
No answer may be a server error (`not_a_server_error`), and every answer's status and media type must
be ones the spec lists for its operation (`status_code_conformance`, `content_type_conformance`). Runs on
SQLite only: the storage behaviour under it is tested on both backends elsewhere; here the question is the HTTP surface.

`pytest tests/api/test_fuzz_openapi.py -s` prints the run's size at the end."""

from __future__ import annotations

import collections
import itertools
import time

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from puhui import clock
from puhui.app import create_app
from puhui.db import create_engine_from_url
from puhui.db.migrate import upgrade
from puhui.demo import CUSTOMERS
from puhui.identity.vault import generate_key
from puhui.sandbox import api as sandbox_api
from puhui.settings import Settings

TOKEN = "fuzz-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES = 25  # per operation and mode; derandomized, so a run is reproducible
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
KEYS = itertools.count(1)
STATUSES: collections.Counter[str] = collections.Counter()  # "2xx", "4xx"… of every answer, for the run's size
OPERATIONS_RUN: set[str] = set()
PASSWORD = "correct horse battery"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]  # each answer's status, media type, headers and body are what the spec
# lists for its operation (errors: application/problem+json with the Problem schema)
PEOPLE: dict = {}  # the populated customer's phone and session, the merchant's API key, a client for log-ins


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):  # type: ignore[no-untyped-def]
    engine = create_engine_from_url(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'puhui.db'}", durable=False)
    upgrade(engine)
    wall = clock.current()  # the sandbox installs its clock process-wide: put the wall clock back after
    app = create_app(
        engine,
        Settings(
            admin_token=TOKEN,
            pii_keys=f"k1:{generate_key()}",
            pii_index_key=generate_key(),
            jwt_secret="j" * 48,
            sandbox=True,
            fraud_checks=False,
            monitoring=False,
            merchant_notifications=False,
        ),
        run_expiry=False,
    )
    try:
        with TestClient(app) as client:
            _populate(client)
            yield app
    finally:
        app.state.sandbox_clock.stop()
        clock.install(wall)
        engine.dispose()


def _populate(client: TestClient) -> None:
    """Something for the generated ids to find now and then: a customer with 10,000.00 in the wallet and a
    merchant, and their credentials for the calls only they may make."""
    name, id_number, phone, _ = CUSTOMERS[0]
    person = {"name": name, "id_number": id_number, "phone": phone, "password": PASSWORD}
    created = client.post("/v1/customers", json=person)
    assert created.status_code == 201, created.text
    PEOPLE["phone"], PEOPLE["client"] = phone, client
    top_up = {
        "id": "fuzz.fund",
        "debit_account_id": "platform.reserve_bank.CNY",
        "ledger": "CNY",
        "code": "top_up",
        "credit_account_id": created.json()["wallet_account_id"],
        "amount": "10000.00",
    }
    funded = client.post("/v1/ledger/transfers", headers=AUTH, json={"transfers": [top_up]})
    assert funded.status_code == 200, funded.text
    shop = {
        "name": "兰州拉面馆",
        "credit_code": "91110000600037341L",
        "settlement_account": "110060774018010012345",
        "settlement_holder": "马晓明",
        "settlement_bank": "交通银行北京分行",
    }
    merchant = client.post("/v1/merchants", headers=AUTH, json=shop)
    assert merchant.status_code == 201, merchant.text
    PEOPLE["merchant"] = {"Authorization": f"Bearer {merchant.json()['api_key']}"}
    PEOPLE["customer"] = customer_session()


def customer_session() -> dict[str, str]:
    """The customer's session (a fresh log-in: the sandbox clock may have run past the last one's expiry)."""
    login = PEOPLE["client"].post("/v1/customers/login", json={"phone": PEOPLE["phone"], "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    yield schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    print(
        f"\nschemathesis: {sum(STATUSES.values())} requests over {len(OPERATIONS_RUN)} operations in "
        f"{time.monotonic() - started:.0f} s; answers by class: {dict(sorted(STATUSES.items()))}"
    )


def operations() -> list[str]:
    """`METHOD /path` of every operation the app publishes in the sandbox (its schema needs no database;
    the sandbox router is added by hand so that collecting the tests installs no clock)."""
    app = create_app(create_engine_from_url("sqlite://"), Settings(), run_expiry=False)
    app.include_router(sandbox_api.router)
    return [f"{method.upper()} {path}" for path, found in app.openapi()["paths"].items() for method in found]


OPERATIONS = operations()


def test_the_fuzzer_covers_the_whole_api():
    assert len(OPERATIONS) >= 150 and "POST /v1/sandbox/clock" in OPERATIONS


def test_the_fuzzed_schema_is_the_published_one(fuzz_app):
    assert sorted(OPERATIONS) == sorted(
        f"{m.upper()} {p}" for p, ops in fuzz_app.openapi()["paths"].items() for m in ops
    )


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
@pytest.mark.parametrize("label", OPERATIONS)
def test_no_operation_answers_a_server_error(fuzz_schema, label, mode):
    method, path = label.split(" ", 1)
    operation = fuzz_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case):  # type: ignore[no-untyped-def]
        answer = send(case, method, label, AUTH)
        if answer.status_code != 403:
            return
        answer = send(case, method, label, PEOPLE["customer"])  # the customer's own?
        if answer.status_code == 401:  # the session ran out on the sandbox clock, or was logged out
            PEOPLE["customer"] = customer_session()
            answer = send(case, method, label, PEOPLE["customer"])
        if answer.status_code == 403:  # the merchant's own
            send(case, method, label, PEOPLE["merchant"])

    try:
        run()
    except Unsatisfiable:  # e.g. GET /health takes no input at all: there is no invalid request to send
        pytest.skip(f"{label} has no {mode.value} request")


def send(case, method: str, label: str, credentials: dict[str, str]):  # type: ignore[no-untyped-def]
    """One request (every other mutating one with a fresh Idempotency-Key), checked for a server error."""
    number = next(KEYS)
    keyed = method in MUTATING and number % 2
    headers = {**credentials, "Idempotency-Key": f"fuzz-{number}"} if keyed else credentials
    answer = case.call(headers=headers)
    STATUSES[f"{answer.status_code // 100}xx"] += 1
    OPERATIONS_RUN.add(label)
    case.validate_response(answer, checks=CHECKS, headers=headers)
    return answer
