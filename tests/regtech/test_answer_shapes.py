"""Regtech publishes its answers' shapes (issue 13, point 3): every regtech operation's success answer in
`/openapi.json` names its model (rules, alerts, cases, related parties, both kinds of reports, a suspicious
transaction report's file and the dashboard were `Any` before; the CSV file was documented as text/plain),
and real answers over HTTP — from alerts the monitor raised on what the payment services published, through
cases, reports and their submission, to the dashboard — validate against the published JSON schema.
A rule's amounts and ratios are answered as plain decimal strings, also when written in exponent form."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from puhui import clock as puhui_clock
from puhui.api.contract import spec
from puhui.regtech import rules, schemas
from tests.regtech.test_str import NARRATIVE, TO_INVESTIGATING, alerted_world, at_china, case_of, client, move, staff

__all__ = ["client"]

SPEC = spec()
REGTECH = "/v1/regtech"

ANSWERS = {
    ("get", "/rules", "200"): "MonitoringRules",
    ("get", "/rules/{code}", "200"): "MonitoringRuleHistory",
    ("put", "/rules/{code}", "201"): "MonitoringRule",
    ("get", "/alerts", "200"): "MonitoringAlerts",
    ("get", "/alerts/{alert_id}", "200"): "MonitoringAlert",
    ("get", "/cases", "200"): "MonitoringCases",
    ("post", "/cases", "201"): "MonitoringCase",
    ("post", "/cases/from-alerts", "200"): "CasesFromAlerts",
    ("get", "/cases/{case_id}", "200"): "MonitoringCase",
    ("post", "/cases/{case_id}/transitions", "200"): "MonitoringCase|ReportedCase",
    ("get", "/dashboard", "200"): "SupervisionDashboard",
    ("get", "/related-parties", "200"): "RelatedParties",
    ("post", "/related-parties", "201"): "RelatedPartyAdded",
    ("delete", "/related-parties/{lender}/{party}", "200"): "RelatedPartyRemoved",
    ("get", "/reports", "200"): "RegulatoryReports",
    ("get", "/reports/deadlines", "200"): "ReportDeadlines",
    ("post", "/reports/large-value", "201"): "LargeValueReport",
    ("get", "/reports/suspicious", "200"): "SuspiciousReports",
    ("post", "/reports/suspicious", "201"): "SuspiciousReport",
    ("get", "/reports/suspicious/{report_id}", "200"): "SuspiciousReport",
    ("get", "/reports/suspicious/{report_id}/file", "200"): "SuspiciousReportFile",
    ("post", "/reports/suspicious/{report_id}/submit", "200"): "SuspiciousReport",
    ("get", "/reports/{report_id}", "200"): "LargeValueReport",
    ("post", "/reports/{report_id}/submit", "200"): "LargeValueReport",
}


def published(method: str, path: str, status: str) -> dict[str, Any]:
    """The JSON schema the spec publishes for an operation's answer with `status`."""
    responses = SPEC["paths"][REGTECH + path][method]["responses"]
    assert status in responses, f"{method.upper()} {path} does not list {status}: {sorted(responses)}"
    return responses[status]["content"]["application/json"]["schema"]


def named(schema: dict[str, Any]) -> str:
    """`Model` for a $ref to a component, `A|B` for a choice of them, '' for an untyped answer."""
    if "anyOf" in schema:
        return "|".join(named(s) for s in schema["anyOf"])
    return schema.get("$ref", "").removeprefix("#/components/schemas/")


@pytest.mark.parametrize(("method", "path", "status"), sorted(ANSWERS))
def test_each_regtech_operation_names_its_answer(method, path, status):
    assert named(published(method, path, status)) == ANSWERS[(method, path, status)]


def test_the_large_value_file_is_documented_as_csv():
    answer = SPEC["paths"][REGTECH + "/reports/{report_id}/file"]["get"]["responses"]["200"]
    assert list(answer["content"]) == ["text/csv"]


def test_each_typology_publishes_the_parameters_the_rules_take():
    """The answer's parameters name exactly the fields of each typology's rule model, so the two cannot drift."""
    domain = {
        typing.get_args(m.model_fields["typology"].annotation): set(m.model_fields)
        for m in typing.get_args(typing.get_args(rules.Params)[0])
    }
    answered = {
        typing.get_args(m.model_fields["typology"].annotation): set(m.model_fields)
        for m in typing.get_args(typing.get_args(schemas.RuleParams)[0])
    }
    assert answered == domain
    assert set(typing.get_args(schemas.Typology)) == {t for kinds in domain for t in kinds}


def test_amounts_ratios_and_dates_document_their_format():
    components = SPEC["components"]["schemas"]
    assert components["MonitoringAlert"]["properties"]["amount"]["pattern"] == r"^-?[0-9]+\.[0-9]{2}$"
    assert components["StructuringRuleParams"]["properties"]["threshold"]["pattern"] == r"^[0-9]+(\.[0-9]{1,2})?$"
    assert components["StructuringRuleParams"]["properties"]["low_ratio"]["pattern"] == r"^[0-9]+(\.[0-9]+)?$"
    assert components["LargeValueReport"]["properties"]["deadline"]["format"] == "date"
    assert components["SuspiciousReportFile"]["properties"]["generated_at"]["format"] == "date-time"


def conforms(answer, method: str, path: str) -> dict:  # type: ignore[no-untyped-def]
    """The answer's body, after checking it against the schema the spec publishes for its status."""
    assert answer.status_code < 300, answer.text
    schema = {**published(method, path, str(answer.status_code)), "components": SPEC["components"]}
    errors = [f"{list(e.path)}: {e.message}" for e in Draft202012Validator(schema).iter_errors(answer.json())]
    assert not errors, (method, path, errors)
    return answer.json()


def test_a_rule_written_with_exponents_is_answered_in_plain_decimals(client):
    """ "5E+4" and 1e-7 are valid numbers for a rule; the answer (and the stored version) says "50000" and
    "0.0000001", which the published patterns describe (before, the answer echoed "5E+4" and "1E-7")."""
    officer = staff(client, "risk_officer")
    body = {"params": {"typology": "structuring", "threshold": "5E+4", "low_ratio": 1e-7, "min_count": 2}}
    put = client.put(f"{REGTECH}/rules/structuring", json=body, headers={**officer, "Idempotency-Key": "r1"})
    saved = conforms(put, "put", "/rules/{code}")
    assert (saved["version"], saved["params"]["threshold"], saved["params"]["low_ratio"]) == (2, "50000", "0.0000001")
    history = conforms(client.get(f"{REGTECH}/rules/structuring", headers=officer), "get", "/rules/{code}")
    assert [r["version"] for r in history["history"]] == [1, 2] and history["rule"] == saved
    rules_now = conforms(client.get(f"{REGTECH}/rules", headers=officer), "get", "/rules")
    assert saved in rules_now["rules"]


def test_real_answers_conform_to_the_published_shapes(client, engine, clock):
    a, b, shop = alerted_world(engine, clock)
    world_day = puhui_clock.business_date().isoformat()
    officer = staff(client, "risk_officer")

    def post(path: str, template: str, key: str, body: dict | None = None) -> dict:
        answer = client.post(REGTECH + path, headers={**officer, "Idempotency-Key": key}, json=body)
        return conforms(answer, "post", template)

    def get(path: str, template: str, **params: str) -> dict:
        return conforms(client.get(REGTECH + path, headers=officer, params=params), "get", template)

    alerts = get("/alerts", "/alerts")["alerts"]
    of_b = [al["id"] for al in alerts if al["party"] == b]
    assert of_b and get(f"/alerts/{of_b[0]}", "/alerts/{alert_id}")["party"] == b
    opened = post("/cases", "/cases", "c1", {"alert_ids": of_b})
    assert (opened["party"], opened["status"], [h["to"] for h in opened["history"]]) == (b, "open", ["open"])
    grouped = post("/cases/from-alerts", "/cases/from-alerts", "c2", {})
    assert len(grouped["opened"]) == 2 and grouped["extended"] == []
    listed = get("/cases", "/cases")["cases"]
    assert {c["party"] for c in listed} == {a, b, shop}
    assert get(f"/cases/{opened['id']}", "/cases/{case_id}") == opened
    transitions = "/cases/{case_id}/transitions"
    for n, step in enumerate((*TO_INVESTIGATING, {"to": "closed_false_positive", "note": "a salary"})):
        moved = post(f"/cases/{opened['id']}/transitions", transitions, f"b{n}", step)
    assert moved["status"] == "closed_false_positive" and "report" not in moved

    case_a, case_shop = case_of(client, officer, a)["id"], case_of(client, officer, shop)["id"]
    for case_id in (case_a, case_shop):
        move(client, case_id, officer, *TO_INVESTIGATING)
    at_china(clock, "2026-02-12")
    officer = staff(client, "risk_officer")
    for case_id in (case_a, case_shop):
        move(client, case_id, officer, {"to": "escalated", "narrative": NARRATIVE})
    reported = post(f"/cases/{case_a}/transitions", transitions, "a1", {"to": "reported"})
    assert reported["status"] == "reported" and reported["report"]["case_id"] == case_a
    made = post("/reports/suspicious", "/reports/suspicious", "s1", {"case_id": case_shop})
    assert (made["party"], made["party_kind"]) == (shop, "non_natural")
    assert get(f"/reports/suspicious/{made['id']}", "/reports/suspicious/{report_id}") == made
    suspicious = get("/reports/suspicious", "/reports/suspicious")
    assert {r["id"] for r in suspicious["reports"]} == {reported["report"]["id"], made["id"]}
    file = get(f"/reports/suspicious/{made['id']}/file", "/reports/suspicious/{report_id}/file")
    assert (file["schema"], file["report_id"], file["subject"]["party_id"]) == ("puhui.str.v1", made["id"], shop)
    submitted = post(f"/reports/suspicious/{made['id']}/submit", "/reports/suspicious/{report_id}/submit", "s2")
    assert submitted["status"] == "submitted" and submitted["submitted_at"] is not None

    from tests.regtech.test_reports_world import World, china

    World(engine).payment(a, b, 500_000 * 100, china(world_day, "12:00"))  # one reportable transaction that day
    large = post("/reports/large-value", "/reports/large-value", "l1", {"date": world_day})
    assert (large["kind"], large["business_date"]) == ("large_value", world_day)
    assert get(f"/reports/{large['id']}", "/reports/{report_id}") == large
    due = get("/reports/deadlines", "/reports/deadlines")
    assert {r["id"] for r in due["reports"]} == {large["id"], reported["report"]["id"]}
    assert {r["kind"] for r in get("/reports", "/reports")["reports"]} == {"large_value", "suspicious"}
    done = post(f"/reports/{large['id']}/submit", "/reports/{report_id}/submit", "l2")
    assert done["status"] == "submitted"
    csv_file = client.get(f"{REGTECH}/reports/{large['id']}/file", headers=officer)
    assert csv_file.status_code == 200 and csv_file.headers["content-type"].startswith("text/csv")

    party = {"lender": "platform", "party": b, "relation": "shareholder"}
    assert post("/related-parties", "/related-parties", "p1", party) == party
    assert [r["party"] for r in get("/related-parties", "/related-parties")["related_parties"]] == [b]
    removed = client.delete(f"{REGTECH}/related-parties/platform/{b}", headers={**officer, "Idempotency-Key": "p2"})
    assert conforms(removed, "delete", "/related-parties/{lender}/{party}")["removed"] is True

    board = get("/dashboard", "/dashboard", **{"from": world_day, "to": "2026-02-12"})
    assert (board["from"], board["to"]) == (world_day, "2026-02-12")
    assert board["alerts"]["total"] == len(alerts) and board["reports"]["pending"] == 1
