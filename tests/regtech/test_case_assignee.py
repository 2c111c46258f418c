"""A case is assigned only to a staff member who may work cases, on SQLite and PostgreSQL: a made-up name
is a 422 `unknown_assignee` that changes nothing; a risk officer or admin by staff id, a staff handle, or
the officer themselves are accepted, and the history records who assigned it; `admin`, the bootstrap admin,
is accepted whoever assigns (a risk officer as the admin); a regulator's staff id (staff who may not work
cases) and a revoked officer's are refused."""

from __future__ import annotations

import pytest

from tests.identity.helpers import ADMIN, bearer, make_staff
from tests.regtech.streams import app_client
from tests.regtech.test_cases import _alerts, _state


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    with app_client(engine) as test_client:
        yield test_client


def _staff(client, role: str, handle: str) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    made = client.post("/v1/staff", headers=ADMIN, json={"handle": handle, "role": role})
    assert made.status_code == 201, made.text
    return made.json()["id"], bearer(made.json()["token"])


def _case(client, engine, clock, officer: dict) -> str:  # type: ignore[no-untyped-def]
    b1, _ = _alerts(client, engine, clock, officer)
    opened = client.post("/v1/regtech/cases", json={"alert_ids": [b1["id"]]}, headers=officer)
    assert opened.status_code == 201, opened.text
    return opened.json()["id"]


def test_an_unknown_assignee_is_refused_and_changes_nothing(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    officer_id, officer = _staff(client, "risk_officer", "risk-officer.one")
    regulator_id, _ = _staff(client, "regulator", "regulator.one")
    case_id = _case(client, engine, clock, officer)
    path = f"/v1/regtech/cases/{case_id}/transitions"
    before = _state(engine)
    for nobody in ("nobody-such", "stf_0000000000000000", regulator_id):
        refused = client.post(
            path, json={"to": "assigned", "assignee": nobody}, headers={**officer, "Idempotency-Key": nobody}
        )
        assert (refused.status_code, refused.json()["code"]) == (422, "unknown_assignee"), refused.text
    assert _state(engine) == before
    moved = client.post(path, json={"to": "assigned", "assignee": officer_id}, headers=officer)
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee"] == officer_id
    assert moved.json()["history"][-1]["by"] == officer_id  # who assigned it


@pytest.mark.parametrize("who", ["handle", "admin_id", "self"])
def test_a_staff_member_who_works_cases_is_accepted(client, engine, clock, who: str) -> None:  # type: ignore[no-untyped-def]
    officer_id, officer = _staff(client, "risk_officer", "risk-officer.one")
    admin_id, _ = _staff(client, "admin", "admin.two")
    case_id = _case(client, engine, clock, officer)
    assignee = {"handle": "risk-officer.one", "admin_id": admin_id, "self": officer_id}[who]
    moved = client.post(
        f"/v1/regtech/cases/{case_id}/transitions", json={"to": "assigned", "assignee": assignee}, headers=officer
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["status"], moved.json()["assignee"]) == ("assigned", assignee)


def test_an_officer_whose_tokens_are_revoked_is_not_assigned(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    officer = make_staff(client, "risk_officer")
    made = client.post("/v1/staff", headers=ADMIN, json={"handle": "risk-officer.gone", "role": "risk_officer"})
    gone_id, token = made.json()["id"], made.json()["token"]
    prefix = "_".join(token.split("_", 3)[:3])
    revoked = client.post(f"/v1/staff/{gone_id}/tokens/{prefix}/revoke", headers=ADMIN)
    assert revoked.status_code == 200, revoked.text
    case_id = _case(client, engine, clock, officer)
    before = _state(engine)
    refused = client.post(
        f"/v1/regtech/cases/{case_id}/transitions", json={"to": "assigned", "assignee": gone_id}, headers=officer
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "unknown_assignee"), refused.text
    assert _state(engine) == before


@pytest.mark.parametrize("caller", ["risk_officer", "admin"])
def test_the_bootstrap_admin_is_an_assignee_whoever_assigns(client, engine, clock, caller: str) -> None:  # type: ignore[no-untyped-def]
    """`admin`, the operator's bootstrap admin (who works cases with the admin token), is assigned a case by a
    risk officer as by the admin themselves (the README's step): the same answer for every caller who may
    assign. A name that is nobody's is refused alike, whoever asks, changing nothing, and the refusal says who
    may be assigned."""
    _, officer = _staff(client, "risk_officer", "risk-officer.one")
    headers = {"risk_officer": officer, "admin": ADMIN}[caller]
    case_id = _case(client, engine, clock, officer)
    path = f"/v1/regtech/cases/{case_id}/transitions"
    before = _state(engine)
    refused = client.post(path, json={"to": "assigned", "assignee": "admin-nobody"}, headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (422, "unknown_assignee"), refused.text
    assert "'admin'" in refused.json()["detail"] and "risk officer or an admin" in refused.json()["detail"]
    assert _state(engine) == before
    moved = client.post(path, json={"to": "assigned", "assignee": "admin"}, headers=headers)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["status"], moved.json()["assignee"]) == ("assigned", "admin")
    investigating = client.post(path, json={"to": "investigating"}, headers=ADMIN)  # the assignee works it
    assert investigating.status_code == 200, investigating.text
