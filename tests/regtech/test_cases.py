"""Cases over HTTP on both databases: alerts grouped, assigned, investigated, escalated and reported
or closed; a transition not allowed is 409 `case_transition_not_allowed` and changes nothing. Cases
opened from the alerts in no case, one per party (or joining its open case), over HTTP and the CLI,
listed by priority."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from puhui.regtech.cases import TRANSITIONS, check_transition
from puhui.regtech.errors import CaseTransitionNotAllowed
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
    return (
        client.get("/v1/regtech/alerts", params={"party": "cus_b1"}, headers=headers).json()["alerts"]
        + client.get("/v1/regtech/alerts", params={"party": "cus_a1"}, headers=headers).json()["alerts"]
    )


def test_case_life_to_reported(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    officer = make_staff(client, "risk_officer")
    regulator = make_staff(client, "regulator")
    b1, a1 = _alerts(client, engine, clock, regulator)
    opened = client.post(
        "/v1/regtech/cases", json={"alert_ids": [b1["id"]]}, headers={**officer, "Idempotency-Key": "c1"}
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert case["status"] == "open" and case["party"] == "cus_b1" and [a["id"] for a in case["alerts"]] == [b1["id"]]
    path = f"/v1/regtech/cases/{case['id']}/transitions"
    for step in (
        {"to": "assigned", "assignee": "risk-officer.one"},
        {"to": "investigating"},
        {"to": "escalated", "note": "cumulated 600,000.15 in a day"},
        {"to": "reported"},
    ):
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


@pytest.mark.parametrize(
    "steps, refused",
    [
        ([], {"to": "investigating"}),
        ([], {"to": "reported"}),
        ([{"to": "assigned", "assignee": "risk-officer.one"}], {"to": "closed_false_positive"}),
        (
            [
                {"to": "assigned", "assignee": "risk-officer.one"},
                {"to": "investigating"},
                {"to": "closed_false_positive", "note": "a salary"},
            ],
            {"to": "escalated"},
        ),
    ],
)
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


def test_a_status_that_does_not_exist_is_422_and_changes_nothing(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    """Not a move the case may not make now (409) but no move at all: invalid input, the statuses listed."""
    officer = make_staff(client, "risk_officer")
    b1, _ = _alerts(client, engine, clock, officer)
    case = client.post("/v1/regtech/cases", json={"alert_ids": [b1["id"]]}, headers=officer).json()
    before = _state(engine)
    response = client.post(f"/v1/regtech/cases/{case['id']}/transitions", json={"to": "nonsense"}, headers=officer)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_request"), response.text
    assert "assigned" in response.text and _state(engine) == before


def test_assigning_needs_an_assignee_and_the_right_role(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    officer = make_staff(client, "risk_officer")
    regulator = make_staff(client, "regulator")
    b1, _ = _alerts(client, engine, clock, officer)
    assert client.post("/v1/regtech/cases", json={"alert_ids": [b1["id"]]}, headers=regulator).status_code == 403
    case = client.post("/v1/regtech/cases", json={"alert_ids": [b1["id"]]}, headers=officer).json()
    before = _state(engine)
    path = f"/v1/regtech/cases/{case['id']}/transitions"
    assert client.post(path, json={"to": "assigned"}, headers=officer).json()["code"] == "case_invalid"
    assert (
        client.post(path, json={"to": "assigned", "assignee": "risk-officer.one"}, headers=regulator).status_code == 403
    )
    assert (
        client.post(
            "/v1/regtech/cases/case_nope/transitions",
            json={"to": "assigned", "assignee": "risk-officer.one"},
            headers=officer,
        ).json()["code"]
        == "case_not_found"
    )
    assert _state(engine) == before


def test_a_case_is_assigned_only_to_a_handle_of_a_role_that_works_cases(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    """A regulator's or an operator's handle was taken (200), and the case then sat with someone who may not move it."""
    officer = make_staff(client, "risk_officer")
    make_staff(client, "regulator", "regulator.one")
    make_staff(client, "operator", "operator.one")
    b1, _ = _alerts(client, engine, clock, officer)
    case = client.post("/v1/regtech/cases", json={"alert_ids": [b1["id"]]}, headers=officer).json()
    before = _state(engine)
    path = f"/v1/regtech/cases/{case['id']}/transitions"
    for handle, says in (("regulator.one", "role (regulator)"), ("operator.one", "role (operator)")):
        refused = client.post(path, json={"to": "assigned", "assignee": handle}, headers=officer)
        assert (refused.status_code, refused.json()["code"]) == (422, "unknown_assignee"), refused.text
        assert says in refused.json()["detail"]
    assert _state(engine) == before
    make_staff(client, "risk_officer", "risk-officer.two")
    taken = client.post(path, json={"to": "assigned", "assignee": "risk-officer.two"}, headers=officer)
    assert taken.status_code == 200 and taken.json()["assignee"] == "risk-officer.two"


def test_closing_as_a_false_positive_needs_the_reason(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    officer = make_staff(client, "risk_officer")
    b1, _ = _alerts(client, engine, clock, officer)
    case = client.post("/v1/regtech/cases", json={"alert_ids": [b1["id"]]}, headers=officer).json()
    path = f"/v1/regtech/cases/{case['id']}/transitions"
    for step in ({"to": "assigned", "assignee": "risk-officer.one"}, {"to": "investigating"}):
        assert client.post(path, json=step, headers=officer).status_code == 200
    before = _state(engine)
    for note in (None, "", "   ", "x"):
        body = {"to": "closed_false_positive", **({"note": note} if note is not None else {})}
        refused = client.post(path, json=body, headers=officer)
        assert (refused.status_code, refused.json()["code"]) == (422, "dismissal_reason_required"), refused.text
    assert _state(engine) == before
    closed = client.post(path, json={"to": "closed_false_positive", "note": "  工资  "}, headers=officer)
    assert closed.status_code == 200 and closed.json()["history"][-1]["note"] == "工资"


def test_a_case_names_each_alert_once_and_an_unknown_one_is_not_found(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    officer = make_staff(client, "risk_officer")
    b1, _ = _alerts(client, engine, clock, officer)
    before = _state(engine)
    twice = client.post("/v1/regtech/cases", json={"alert_ids": [b1["id"], b1["id"]]}, headers=officer)
    assert (twice.status_code, twice.json()["code"]) == (422, "case_invalid") and b1["id"] in twice.json()["detail"]
    unknown = client.post("/v1/regtech/cases", json={"alert_ids": [b1["id"], "alr_nope"]}, headers=officer)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "alert_not_found")
    assert _state(engine) == before


def _cases_by_party(engine) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        rows = connection.execute(select(monitor_alerts.c.party, monitor_alerts.c.case_id)).all()
    found: dict[str, set[str]] = {}
    for party, case_id in rows:
        found.setdefault(party, set()).add(case_id)
    return found


def test_cases_from_alerts_one_per_party_rerun_opens_nothing_new_alerts_join(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    officer, regulator = make_staff(client, "risk_officer"), make_staff(client, "regulator")
    s = Stream(engine, clock)
    tripped = tripping(s)
    Monitor(engine).run()
    url = "/v1/regtech/cases/from-alerts"
    assert client.post(url, headers={**regulator, "Idempotency-Key": "x"}).status_code == 403
    untouched = _state(engine)
    assert client.post(url, json={"since": "2026-13-45T00:00"}, headers=officer).json()["code"] == "invalid_input"
    assert client.post(url, json={"since": "2026-01-05T10:00:00"}, headers=officer).status_code == 422  # no offset
    assert client.post(url, json={"since": "2099-01-01T00:00:00+08:00"}, headers=officer).json()["alerts"] == 0
    assert _state(engine) == untouched
    first = client.post(url, headers={**officer, "Idempotency-Key": "f1"})
    assert first.status_code == 200, first.text
    parties = {party for _, party in tripped}
    assert len(first.json()["opened"]) == len(parties) and first.json()["extended"] == []
    grouped = _cases_by_party(engine)
    assert set(grouped) == parties and all(len(c) == 1 and None not in c for c in grouped.values())
    assert len({next(iter(c)) for c in grouped.values()}) == len(parties)  # a case per party
    for party, (case_id,) in grouped.items():
        assert client.get(f"/v1/regtech/cases/{case_id}", headers=regulator).json()["party"] == party

    before = _state(engine)
    assert client.post(url, headers={**officer, "Idempotency-Key": "f1"}).json() == first.json()
    assert client.post(url, headers={**officer, "Idempotency-Key": "f2"}).json() == {
        "opened": [],
        "extended": [],
        "alerts": 0,
    }
    assert _state(engine) == before

    (a1_case,) = grouped["cus_a1"]
    (b1_case,) = grouped["cus_b1"]
    path = f"/v1/regtech/cases/{b1_case}/transitions"
    for step in (
        {"to": "assigned", "assignee": "risk-officer.one"},
        {"to": "investigating"},
        {"to": "closed_false_positive", "note": "his salary, every month"},
    ):
        assert client.post(path, json=step, headers=officer).status_code == 200
    s.later(days=1)
    s.p2p("cus_a1", "cus_zz", "500000.37")
    s.p2p("cus_b1", "cus_yy", "600000.37")
    Monitor(engine).run()
    with engine.connect() as connection:
        uncased = connection.execute(
            select(func.count()).select_from(monitor_alerts).where(monitor_alerts.c.case_id.is_(None))
        ).scalar_one()
    again = client.post(url, headers={**officer, "Idempotency-Key": "f3"}).json()
    assert again["extended"] == [a1_case] and len(again["opened"]) == 3 and again["alerts"] == uncased >= 4
    after = _cases_by_party(engine)
    assert after["cus_a1"] == {a1_case}
    assert len(after["cus_b1"]) == 2 and b1_case in after["cus_b1"]
    assert {client.get(f"/v1/regtech/cases/{c}", headers=officer).json()["party"] for c in again["opened"]} == {
        "cus_b1",
        "cus_zz",
        "cus_yy",
    }
    history = client.get(f"/v1/regtech/cases/{a1_case}", headers=officer).json()["history"]
    assert history[-1]["from"] == history[-1]["to"] == "open" and history[-1]["note"].startswith("alerts added: alr_")
    assert client.post(url, headers={**officer, "Idempotency-Key": "f4"}).json()["alerts"] == 0


def test_cases_listed_by_priority(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    officer = make_staff(client, "risk_officer")
    s = Stream(engine, clock)
    tripping(s)
    s.later(days=1)
    for _ in range(3):  # cus_j1 also structures: a second typology lifts its case to the top
        s.later(minutes=20)
        s.p2p("cus_j1", "cus_j3", "48000.03")
    Monitor(engine).run()
    client.post("/v1/regtech/cases/from-alerts", headers=officer)
    listed = client.get("/v1/regtech/cases", params={"status": "open"}, headers=officer).json()["cases"]
    keys = [(c["priority"]["typologies"], Decimal(c["priority"]["amount"]), c["priority"]["alerts"]) for c in listed]
    assert keys == sorted(keys, reverse=True) and len(keys) == len(_cases_by_party(engine))
    assert listed[0]["party"] == "cus_j1" and listed[0]["priority"]["typologies"] >= 2
    assert listed[1]["party"] == "cus_pool"  # fund pool and fan-in, for less money
    assert listed[1]["priority"]["typologies"] == 2 > listed[2]["priority"]["typologies"]
    assert [c["priority"]["score"] for c in listed] == sorted((c["priority"]["score"] for c in listed), reverse=True)
    for case in listed:  # each transaction of the alerts' evidence counted once
        cited = {
            (f["position"], f["ref"], f["direction"]): f["amount"]
            for a in case["alerts"]
            for f in a["evidence"]["flows"]
        }
        assert Decimal(case["priority"]["amount"]) == sum(Decimal(amount) for amount in cited.values())
        assert case["priority"]["typologies"] == len({a["typology"] for a in case["alerts"]})
    opened = client.get("/v1/regtech/cases", params={"sort": "opened"}, headers=officer).json()["cases"]
    assert [c["opened_at"] for c in opened] == sorted(c["opened_at"] for c in opened)
    assert client.get("/v1/regtech/cases", params={"status": "nope"}, headers=officer).json()["code"] == "case_invalid"
    assert client.get("/v1/regtech/cases", params={"sort": "nope"}, headers=officer).status_code == 422
    assert client.get("/v1/regtech/cases", params={"status": "reported"}, headers=officer).json() == {"cases": []}


def test_cli_opens_cases_from_alerts(engine, clock) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from puhui.regtech.reports_cli import app

    tripped = tripping(Stream(engine, clock))
    Monitor(engine).run()
    url = engine.url.render_as_string(hide_password=False)
    run = CliRunner().invoke
    future = run(app, ["cases", "open-from-alerts", "--since", "2099-01-01T00:00:00+08:00", "--db", url])
    assert future.exit_code == 0 and json.loads(future.output) == {"opened": [], "extended": [], "alerts": 0}
    done = run(app, ["cases", "open-from-alerts", "--by", "nightly", "--db", url])
    assert done.exit_code == 0, done.output
    assert len(json.loads(done.output)["opened"]) == len({p for _, p in tripped})
    assert json.loads(run(app, ["cases", "open-from-alerts", "--db", url]).output)["alerts"] == 0
    assert run(app, ["cases", "open-from-alerts", "--since", "yesterday", "--db", url]).exit_code == 2
    with engine.connect() as connection:
        assert set(connection.execute(select(monitor_cases.c.opened_by)).scalars()) == {"nightly"}


def test_alerts_by_an_unknown_typology_are_a_422_as_cases_by_an_unknown_status_are(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    """New-user pass: `?typology=bogus` answered 200 with no alerts, `?status=bogus` on the cases a 422."""
    officer = make_staff(client, "risk_officer")
    _alerts(client, engine, clock, officer)
    for path, query, code in (
        ("/v1/regtech/alerts", {"typology": "bogus"}, "invalid_request"),
        ("/v1/regtech/cases", {"status": "bogus"}, "case_invalid"),
    ):
        refused = client.get(path, params=query, headers=officer)
        assert (refused.status_code, refused.json()["code"]) == (422, code), refused.text
        assert "large_value" in refused.text or "assigned" in refused.text  # the values it takes, listed
    found = client.get("/v1/regtech/alerts", params={"typology": "large_value"}, headers=officer).json()["alerts"]
    assert found and {a["typology"] for a in found} == {"large_value"}
