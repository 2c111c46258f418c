"""The caller is named by one dependency (`puhui.api.deps.BearerCaller`): FastAPI solves every dependency of
a call apart (about 40 µs each on the 2-core machine), and naming the caller took two or three. The
bearer scheme is still documented on every such route, and each way of naming the caller still refuses
as before."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from puhui.api import deps
from puhui.api.openapi import needs_credentials
from puhui.api.query_guard import known_query_parameters
from puhui.api.request_id import new_request_id
from tests.api.test_server_errors import TOKEN, app  # noqa: F401 - the app fixture, with the admin token


def _callers(dependant):
    for sub in dependant.dependencies:
        if isinstance(sub.call, deps.BearerCaller):
            yield sub
        yield from _callers(sub)


def test_every_route_names_its_caller_in_one_dependency_of_no_others(app):
    contexts = [c for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)]
    routes = [c for c in contexts if needs_credentials(c.dependant)]
    assert len(routes) > 200  # the API's authenticated routes, not a handful
    for route in routes:
        callers = list(_callers(route.dependant))
        # one: two would authenticate the caller twice (each is its own dependency, not shared by FastAPI's cache)
        assert len(callers) == 1 and not callers[0].dependencies, route.path_format
    payment = next(r for r in routes if r.path_format == "/v1/qr-codes/{qr_id}/pay")
    # the app's query check, and the caller: the engine and settings come from the app, not as dependencies
    assert [d.call for d in payment.dependant.dependencies] == [known_query_parameters, deps.session_checked_in_call]


def test_the_bearer_scheme_is_documented_as_before(app):
    document = app.openapi()
    assert document["components"]["securitySchemes"] == {"HTTPBearer": {"type": "http", "scheme": "bearer"}}
    assert document["paths"]["/v1/qr-codes/{qr_id}/pay"]["post"]["security"] == [{"HTTPBearer": []}]


@pytest.mark.parametrize(
    ("path", "headers", "status", "code"),
    [
        ("/v1/wallets/me", {}, 401, "unauthorized"),  # no credentials
        ("/v1/wallets/me", {"Authorization": "Basic abc"}, 401, "unauthorized"),  # not the bearer scheme
        ("/v1/wallets/me", {"Authorization": "Bearer nonsense"}, 401, "unauthorized"),
        ("/v1/wallets/me", {"Authorization": f"Bearer {TOKEN}"}, 403, "forbidden"),  # admin is not a customer
        ("/v1/risk/rules", {"Authorization": "Bearer nonsense"}, 401, "unauthorized"),
    ],
)
def test_each_way_of_naming_the_caller_still_refuses(app, path, headers, status, code):
    answer = TestClient(app).get(path, headers=headers)
    assert answer.status_code == status and answer.json()["code"] == code, answer.text


def test_the_admin_passes_a_staff_check_and_the_payment_refuses_it(app):
    client = TestClient(app)
    admin = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/v1/risk/rules", headers=admin).status_code == 200
    paid = client.post("/v1/qr-codes/q1/pay", json={}, headers={**admin, "Idempotency-Key": "k1"})
    assert paid.status_code == 403 and paid.json()["detail"] == "this call is for customers"


def test_a_new_request_id_is_32_hex_digits_and_new_each_time():
    made = {new_request_id() for _ in range(10_000)}
    assert len(made) == 10_000
    assert all(len(i) == 32 and int(i, 16) >= 0 and i == i.lower() for i in made)


def test_a_role_check_names_only_roles_that_exist():
    with pytest.raises(ValueError, match="root"):
        deps.require_roles("admin", "root")
    with pytest.raises(ValueError):
        deps.require_roles()
    assert isinstance(deps.require_roles("risk_officer", "admin"), deps.BearerCaller)
