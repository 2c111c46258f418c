"""Cases over HTTP on both databases: alerts grouped, assigned, investigated, escalated and reported
or closed; a transition not allowed is 409 `case_transition_not_allowed` and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from puhui.regtech.cases import TRANSITIONS, CaseTransitionNotAllowed, check_transition
from puhui.regtech.monitor import Monitor
from puhui.regtech.tables import monitor_alerts, monitor_case_events, monitor_cases
from tests.identity.helpers import make_staff
from tests.regtech.streams import Stream, app_client, tripping


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    with app_client(engine) as test_client:
        yield test_client


def _state(engine) -> tuple:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return tuple(connection.execute(select(t)).all() for t in (monitor_cases, monitor_case_events, monitor_alerts))


@pytest.mark.parametrize("source", sorted(TRANSITIONS))
def test_only_listed_transitions_pass(source: str) -> None:
    for target in TRANSITIONS:
        if target in TRANSITIONS[source]:
            check_transition(source, target)
        else:
            with pytest.raises(CaseTransitionNotAllowed):
                check_transition(source, target)


def _alerts(client, engine, clock, headers) -> list[dict]:  # type: ignore[no-untyped-def]
    tripping(Stream(engine, clock))
    Monitor(engine).run()
    return client.get("/v1/regtech/alerts", params={"party": "cus_b1"}, headers=headers).json()["alerts"] + \
        client.get("/v1/regtech/alerts", params={"party": "cus_a1"}, headers=headers).json()["alerts"]


def test_case_life_to_reported(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    officer = make_staff(client, "risk_officer")
    regulator = make_staff(client, "regulator")
    b1, a1 = _alerts(client, engine, clock, regulator)
    opened = client.post("/v1/regtech/cases", json={"alert_ids": [b1["id"]]}, headers={**officer, "Idempotency-Key": "c1"})
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert case["status"] == "open" and case["party"] == "cus_b1" and [a["id"] for a in case["alerts"]] == [b1["id"]]
    path = f"/v1/regtech/cases/{case['id']}/transitions"
    for step in ({"to": "assigned", "assignee": "risk-officer.one"}, {"to": "investigating"},
                 {"to": "escalated", "note": "cumulated 600,000.15 in a day"}, {"to": "reported"}):
        response = client.post(path, json=step, headers=officer)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == step["to"]
    seen = client.get(f"/v1/regtech/cases/{case['id']}", headers=regulator).json()
    assert [h["to"] for h in seen["history"]] == ["open", "assigned", "investigating", "escalated", "reported"]
    assert seen["assignee"] == "risk-officer.one"
    assert client.get("/v1/regtech/alerts/" + b1["id"], headers=regulator).json()["case_id"] == case["id"]
    taken = client.post("/v1/regtech/cases", json={"alert_ids": [b1["id"]]}, headers=officer)
    assert taken.status_code == 409 and taken.json()["code"] == "alert_already_in_case"
    mixed = client.post("/v1/regtech/cases", json={"alert_ids": [a1["id"]], "extra": 1}, headers=officer)
    assert mixed.status_code == 422


@pytest.mark.parametrize("steps, refused", [
    ([], {"to": "investigating"}),
    ([], {"to": "reported"}),
    ([{"to": "assigned", "assignee": "x"}], {"to": "closed_false_positive"}),
    ([{"to": "assigned", "assignee": "x"}, {"to": "investigating"}, {"to": "closed_false_positive"}],
     {"to": "escalated"}),
    ([], {"to": "nonsense"}),
])
def test_a_transition_not_allowed_is_409_and_changes_nothing(client, engine, clock, steps, refused) -> None:  # type: ignore[no-untyped-def]
    officer = make_staff(client, "risk_officer")
    b1, _ = _alerts(client, engine, clock, officer)
    case = client.post("/v1/regtech/cases", json={"alert_ids": [b1["id"]]}, headers=officer).json()
    path = f"/v1/regtech/cases/{case['id']}/transitions"
    for step in steps:
        assert client.post(path, json=step, headers=officer).status_code == 200
    before = _state(engine)
    response = client.post(path, json=refused, headers={**officer, "Idempotency-Key": "bad"})
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "case_transition_not_allowed"
    assert _state(engine) == before


def test_assigning_needs_an_assignee_and_the_right_role(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    officer = make_staff(client, "risk_officer")
    regulator = make_staff(client, "regulator")
    b1, _ = _alerts(client, engine, clock, officer)
    assert client.post("/v1/regtech/cases", json={"alert_ids": [b1["id"]]}, headers=regulator).status_code == 403
    case = client.post("/v1/regtech/cases", json={"alert_ids": [b1["id"]]}, headers=officer).json()
    before = _state(engine)
    path = f"/v1/regtech/cases/{case['id']}/transitions"
    assert client.post(path, json={"to": "assigned"}, headers=officer).json()["code"] == "case_invalid"
    assert client.post(path, json={"to": "assigned", "assignee": "x"}, headers=regulator).status_code == 403
    assert client.post("/v1/regtech/cases/case_nope/transitions", json={"to": "assigned", "assignee": "x"},
                       headers=officer).json()["code"] == "case_not_found"
    assert _state(engine) == before
