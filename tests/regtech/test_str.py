"""The suspicious transaction report (可疑交易报告) on both databases, from alerts the monitor raised on
what the real payment services published: case opened from the alerts, assigned, investigated,
escalated with a narrative and reported; the file matches its documented JSON Schema, lists exactly
the alerts' evidence, masks the subject, and is due 5 working days after the escalation."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from puhui import clock as clock_module
from puhui.regtech import str_report
from puhui.regtech.monitor import Monitor
from puhui.regtech.reports_tables import suspicious_reports
from puhui.regtech.tables import monitor_alerts, monitor_case_events, monitor_cases
from tests.identity.helpers import ADMIN, make_staff
from tests.regtech.streams import app_client
from tests.regtech.test_monitor_services import RULES, tripping_payments
from tests.risk.test_features_profiles import NAMES, World, _id_number

_handles = itertools.count(1)


@pytest.fixture
def client(engine, clock):  # type: ignore[no-untyped-def]
    with app_client(engine) as test_client:
        make_staff(test_client, "risk_officer", "investigator.one")  # whom TO_INVESTIGATING assigns cases to
        yield test_client


def staff(client, role: str) -> dict:  # type: ignore[no-untyped-def]
    """A fresh token (tokens expire when the clock jumps weeks)."""
    return make_staff(client, role, f"{role.replace('_', '-')}.{next(_handles)}")


def at_china(clock, day: str, hour: int = 10) -> None:  # type: ignore[no-untyped-def]
    clock.set(dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00").astimezone(dt.UTC))


def _state(engine) -> tuple:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return tuple(
            connection.execute(select(t)).all()
            for t in (monitor_cases, monitor_case_events, monitor_alerts, suspicious_reports)
        )


def alerted_world(engine, clock) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """a: topped up then paid on (rapid in-out and large, sharing the payment); b: large; shop: fan-in."""
    a, b, _, shop = tripping_payments(World(engine, clock))
    Monitor(engine, rules=RULES).run()
    return a, b, shop


def case_of(client, headers, party: str) -> dict:  # type: ignore[no-untyped-def]
    found = [c for c in client.get("/v1/regtech/cases", headers=headers).json()["cases"] if c["party"] == party]
    assert len(found) == 1
    return found[0]


def move(client, case_id: str, headers, *steps: dict) -> None:  # type: ignore[no-untyped-def]
    for step in steps:
        response = client.post(f"/v1/regtech/cases/{case_id}/transitions", json=step, headers=headers)
        assert response.status_code == 200, response.text


NARRATIVE = "客户充值后一小时内将 85% 资金转给他人，与其职业收入不符，疑似过渡账户。Funds passed straight through."
TO_INVESTIGATING = ({"to": "assigned", "assignee": "investigator.one"}, {"to": "investigating"})


def test_alert_to_reported_case_gives_a_schema_valid_masked_report_due_in_5_working_days(client, engine, clock):  # type: ignore[no-untyped-def]
    a, _, _ = alerted_world(engine, clock)
    officer = staff(client, "risk_officer")
    opened = client.post("/v1/regtech/cases/from-alerts", headers={**officer, "Idempotency-Key": "open"})
    assert opened.status_code == 200, opened.text
    case = case_of(client, officer, a)
    assert {al["typology"] for al in case["alerts"]} == {"rapid_in_out", "large_value"}
    move(client, case["id"], officer, *TO_INVESTIGATING)

    at_china(clock, "2026-02-12")  # a Thursday before the Spring Festival holiday (02-15 … 02-23)
    officer = staff(client, "risk_officer")
    move(client, case["id"], officer, {"to": "escalated", "narrative": NARRATIVE})
    at_china(clock, "2026-02-13")
    reported = client.post(
        f"/v1/regtech/cases/{case['id']}/transitions",
        json={"to": "reported"},
        headers={**officer, "Idempotency-Key": "rep"},
    )
    assert reported.status_code == 200, reported.text
    meta = reported.json()["report"]
    assert reported.json()["status"] == "reported"
    # Fri 13, Sat 14 (a make-up working day, 调休), 15-23 off: Tue 24, Wed 25, Thu 26 are the 3rd to 5th.
    assert (meta["determined_on"], meta["deadline"]) == ("2026-02-12", "2026-02-26")
    assert meta["status"] == "generated" and meta["overdue"] is False

    regulator = staff(client, "regulator")
    file = client.get(f"/v1/regtech/reports/suspicious/{meta['id']}/file", headers=regulator)
    assert file.status_code == 200 and file.headers["content-type"].startswith("application/json")
    report = json.loads(file.text)
    jsonschema.Draft202012Validator(
        str_report.SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(report)
    assert meta["sha256"] == __import__("hashlib").sha256(file.content).hexdigest()

    alerts = client.get("/v1/regtech/alerts", params={"case_id": case["id"]}, headers=regulator).json()["alerts"]
    evidence = {
        (f["ref"], f["direction"], f["counterparty"], Decimal(f["amount"]), dt.datetime.fromisoformat(f["at"]))
        for al in alerts
        for f in al["evidence"]["flows"]
    }
    listed = {
        (t["ref"], t["direction"], t["counterparty"], Decimal(t["amount"]), dt.datetime.fromisoformat(t["at"]))
        for t in report["transactions"]
    }
    # c's payment, a's own top-up and the payment on (shared by two alerts, listed once)
    assert listed == evidence and len(report["transactions"]) == len(evidence) == 3
    assert Decimal(report["total_amount"]) == sum(e[3] for e in evidence) == Decimal("3700.00")
    assert {(t["typology"], t["rule_code"], t["rule_version"]) for t in report["typologies"]} == {
        (al["typology"], al["rule"]["code"], al["rule"]["version"]) for al in alerts
    }
    assert report["detected_on"] == "2026-01-05" and report["deadline"] == "2026-02-26"
    assert report["narrative"] == NARRATIVE and "3700.00" in report["summary"]["zh"]
    assert report["subject"]["kind"] == "natural" and report["subject"]["party_id"] == a
    assert report["subject"]["name_masked"] == "*" + NAMES[0][1:]
    clear = [NAMES[0], _id_number(0), "13800000000", _id_number(0)[3:-4]]
    assert not [p for p in clear if p in file.text]

    again = client.post(
        f"/v1/regtech/cases/{case['id']}/transitions",
        json={"to": "reported"},
        headers={**officer, "Idempotency-Key": "rep"},
    )
    assert again.status_code == 200 and again.json() == reported.json()
    generate = client.post(
        "/v1/regtech/reports/suspicious", json={"case_id": case["id"]}, headers={**officer, "Idempotency-Key": "gen"}
    )
    assert generate.status_code == 201 and generate.json() == meta
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(suspicious_reports)).scalar_one() == 1


def test_deadlines_listing_flags_overdue_and_only_officers_submit(client, engine, clock):  # type: ignore[no-untyped-def]
    a, b, shop = alerted_world(engine, clock)
    officer = staff(client, "risk_officer")
    client.post("/v1/regtech/cases/from-alerts", headers=officer)
    made = {}
    for party, day in ((a, "2026-02-12"), (shop, "2026-02-13")):
        case = case_of(client, officer, party)
        move(client, case["id"], officer, *TO_INVESTIGATING)
        at_china(clock, day)
        officer = staff(client, "risk_officer")
        move(client, case["id"], officer, {"to": "escalated", "note": NARRATIVE})
        made[party] = client.post(
            "/v1/regtech/reports/suspicious", json={"case_id": case["id"]}, headers=officer
        ).json()
    assert made[shop]["party_kind"] == "non_natural" and made[shop]["deadline"] == "2026-02-27"

    at_china(clock, "2026-02-27")  # after a's deadline (02-26), on the shop's (02-27)
    regulator, officer = staff(client, "regulator"), staff(client, "risk_officer")
    listed = client.get("/v1/regtech/reports/suspicious", headers=regulator).json()
    assert [(r["id"], r["overdue"]) for r in listed["reports"]] == [(made[a]["id"], True), (made[shop]["id"], False)]
    due = client.get("/v1/regtech/reports/deadlines", headers=regulator).json()["reports"]
    assert [(r["kind"], r["deadline"], r["overdue"]) for r in due] == [
        ("suspicious", "2026-02-26", True),
        ("suspicious", "2026-02-27", False),
    ]
    assert {r["kind"] for r in client.get("/v1/regtech/reports", headers=regulator).json()["reports"]} == {"suspicious"}
    assert client.get(f"/v1/regtech/reports/suspicious/{made[a]['id']}", headers=regulator).json()["overdue"] is True
    board = client.get("/v1/regtech/dashboard?from=2026-02-27&to=2026-02-27", headers=regulator).json()
    # the STRs and, as the deadlines view classifies them, the world's large-value dates never generated
    days = client.get("/v1/regtech/reports/deadlines", headers=regulator).json()["large_value_days"]
    missing = [d for d in days["days"] if d["status"] == "missing"]
    # (a date whose flows all stay under the large-value thresholds is nothing to report, owed nothing)
    assert board["reports"]["pending"] == 2 + len(missing) == 2 + days["counts"]["missing"]
    assert board["reports"]["overdue"] == [made[a]["id"]] and board["reports"]["missing_overdue"] == days["overdue"]
    assert board["reports"]["overdue_count"] == 1 + len(days["overdue"])
    upcoming = [d["deadline"] for d in missing if not d["overdue"]]  # 02-26's has passed: overdue, not next
    assert board["reports"]["next_deadline"] == min(["2026-02-27", *upcoming])

    submit = f"/v1/regtech/reports/suspicious/{made[a]['id']}/submit"
    before = _state(engine)
    assert client.post(submit, headers={**regulator, "Idempotency-Key": "s0"}).status_code == 403
    case_b = case_of(client, officer, b)["id"]
    assert (
        client.post(
            "/v1/regtech/reports/suspicious", json={"case_id": case_b}, headers={**regulator, "Idempotency-Key": "g0"}
        ).status_code
        == 403
    )
    assert _state(engine) == before
    done = client.post(submit, headers={**officer, "Idempotency-Key": "s1"})
    assert done.status_code == 200 and done.json()["status"] == "submitted" and done.json()["overdue"] is False
    assert (
        client.post(submit, headers={**officer, "Idempotency-Key": "s2"}).json()["code"] == "report_already_submitted"
    )
    due = client.get("/v1/regtech/reports/deadlines", headers=regulator).json()["reports"]
    assert [r["id"] for r in due] == [made[shop]["id"]]
    assert client.get("/v1/regtech/reports/suspicious/str_nope", headers=regulator).status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"to": "reported"}, {"to": "reported", "narrative": "too short"}, {"to": "reported", "narrative": " " * 40}],
)
def test_reporting_without_a_narrative_is_refused_and_changes_nothing(client, engine, clock, body):  # type: ignore[no-untyped-def]
    _, b, _ = alerted_world(engine, clock)
    officer = staff(client, "risk_officer")
    client.post("/v1/regtech/cases/from-alerts", headers=officer)
    case = case_of(client, officer, b)
    move(client, case["id"], officer, *TO_INVESTIGATING, {"to": "escalated"})
    before = _state(engine)
    refused = client.post(
        f"/v1/regtech/cases/{case['id']}/transitions", json=body, headers={**officer, "Idempotency-Key": "r1"}
    )
    assert refused.status_code == 422 and refused.json()["code"] == "narrative_required"
    via_reports = client.post("/v1/regtech/reports/suspicious", json={"case_id": case["id"]}, headers=officer)
    assert via_reports.status_code == 422 and via_reports.json()["code"] == "narrative_required"
    assert _state(engine) == before
    assert client.get(f"/v1/regtech/cases/{case['id']}", headers=officer).json()["status"] == "escalated"
    done = client.post(
        f"/v1/regtech/cases/{case['id']}/transitions", json={"to": "reported", "narrative": NARRATIVE}, headers=officer
    )
    assert done.status_code == 200 and done.json()["report"]["case_id"] == case["id"]


def test_escalating_with_a_short_narrative_or_reporting_an_open_case_is_refused(client, engine, clock):  # type: ignore[no-untyped-def]
    _, b, _ = alerted_world(engine, clock)
    officer = staff(client, "risk_officer")
    client.post("/v1/regtech/cases/from-alerts", headers=officer)
    case = case_of(client, officer, b)
    before = _state(engine)
    early = client.post(
        "/v1/regtech/reports/suspicious", json={"case_id": case["id"], "narrative": NARRATIVE}, headers=officer
    )
    assert early.status_code == 409 and early.json()["code"] == "case_transition_not_allowed"
    move(client, case["id"], officer, *TO_INVESTIGATING)
    middle = _state(engine)
    short = client.post(
        f"/v1/regtech/cases/{case['id']}/transitions", json={"to": "escalated", "narrative": "short"}, headers=officer
    )
    assert short.status_code == 422 and short.json()["code"] == "narrative_required"
    assert _state(engine) == middle and before != middle
    assert (
        client.post("/v1/regtech/reports/suspicious", json={"case_id": "case_nope"}, headers=ADMIN).json()["code"]
        == "case_not_found"
    )


FLOW = st.fixed_dictionaries(
    {
        "position": st.integers(1, 6),
        "ref": st.sampled_from(["p1", "p2", "p3"]),
        "direction": st.sampled_from(["in", "out"]),
        "counterparty": st.just("x"),
        "amount": st.integers(1, 10**9),
        "at": st.integers(0, 10**12),
    }
)


@given(st.lists(st.lists(FLOW, min_size=1, max_size=5), min_size=1, max_size=5))
def test_each_flow_of_the_evidence_is_listed_once_with_every_alert_citing_it(evidence) -> None:  # type: ignore[no-untyped-def]
    # One flow is one (position, ref, direction): make its other fields a function of that key.
    def norm(f: dict) -> dict:
        seed = hash((f["position"], f["ref"], f["direction"]))
        return {**f, "amount": seed % 10**9 + 1, "at": seed % 10**12}

    alerts = [
        {"id": f"alr_{i}", "evidence": json.dumps({"flows": [norm(f) for f in flows]})}
        for i, flows in enumerate(evidence)
    ]
    listed = str_report.transactions_of(alerts)
    keys = [(t["position"], t["ref"], t["direction"]) for t in listed]
    assert len(keys) == len(set(keys))
    for i, flows in enumerate(evidence):
        for f in flows:
            entry = listed[keys.index((f["position"], f["ref"], f["direction"]))]
            assert f"alr_{i}" in entry["alert_ids"] and entry["amount"] == norm(f)["amount"]
    assert [t["at"] for t in listed] == sorted(t["at"] for t in listed)


def test_cli_prints_and_writes_a_report_and_the_deadlines(client, engine, clock, tmp_path):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from puhui.regtech.reports_cli import app

    a, _, _ = alerted_world(engine, clock)
    officer = staff(client, "risk_officer")
    client.post("/v1/regtech/cases/from-alerts", headers=officer)
    case = case_of(client, officer, a)
    move(client, case["id"], officer, *TO_INVESTIGATING, {"to": "escalated", "narrative": NARRATIVE})
    made = client.post("/v1/regtech/reports/suspicious", json={"case_id": case["id"]}, headers=officer).json()
    url, out = engine.url.render_as_string(hide_password=False), tmp_path / "str.json"
    shown = CliRunner().invoke(app, ["report", "suspicious", "--id", made["id"], "--out", str(out), "--db", url])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == made
    assert json.loads(out.read_text(encoding="utf-8"))["report_id"] == made["id"]
    due = json.loads(CliRunner().invoke(app, ["report", "deadlines", "--db", url]).output)
    assert [r["id"] for r in due["reports"]] == [made["id"]] and due["as_of"] == "2026-01-05"
    missing = CliRunner().invoke(app, ["report", "suspicious", "--id", "str_nope", "--db", url])
    assert missing.exit_code == 2 and "report_not_found" in missing.output


def test_a_case_reported_before_its_report_existed_gets_one_from_its_escalation(client, engine, clock):  # type: ignore[no-untyped-def]
    _, b, _ = alerted_world(engine, clock)
    officer = staff(client, "risk_officer")
    client.post("/v1/regtech/cases/from-alerts", headers=officer)
    case = case_of(client, officer, b)
    move(client, case["id"], officer, *TO_INVESTIGATING, {"to": "escalated", "note": NARRATIVE}, {"to": "reported"})
    with engine.begin() as connection:  # as if reported before suspicious transaction reports existed
        connection.execute(suspicious_reports.delete())
    made = client.post("/v1/regtech/reports/suspicious", json={"case_id": case["id"]}, headers=officer)
    assert made.status_code == 201 and made.json()["case_id"] == case["id"]
    file = client.get(f"/v1/regtech/reports/suspicious/{made.json()['id']}/file", headers=officer).json()
    assert file["narrative"] == NARRATIVE and file["subject"]["name_masked"] == "*" + NAMES[1][1:]


def test_every_typology_is_named_in_the_report_and_the_supervision_console() -> None:
    """`loan_layering` and `mule_chain` showed as raw codes on the dashboard, `gather_scatter` in a report."""
    import typing
    from pathlib import Path

    from babel.messages.pofile import read_po

    from puhui.regtech import schemas
    from puhui.regtech.str_report import TYPOLOGY_NAMES

    typologies = {name for part in typing.get_args(schemas.AlertTypology) for name in typing.get_args(part)}
    assert typologies >= {"loan_layering", "mule_chain", "cycle", "gather_scatter"}
    assert typologies <= set(TYPOLOGY_NAMES), typologies - set(TYPOLOGY_NAMES)
    locale = Path(schemas.__file__).parents[1] / "console" / "locale"
    for lang in ("zh_CN", "en"):
        with (locale / lang / "LC_MESSAGES" / "staff.po").open("rb") as po:
            named = {message.id for message in read_po(po) if message.string}
        missing = {t for t in typologies if f"typology:{t}" not in named}
        assert not missing, (lang, missing)
