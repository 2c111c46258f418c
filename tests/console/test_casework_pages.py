"""Working a case and submitting its report from the supervision pages (console.casework): a risk officer
moves a case from open to reported with the forms the page offers (each only the moves its status allows),
the report it makes is then marked submitted, and the deadline list no longer owes it. A bad move (a short
narrative) is a 4xx page that says why and changes nothing; the regulator sees no form and cannot post one."""

from __future__ import annotations

import re

import pytest

from puhui.regtech.monitor import Monitor
from tests.regtech.streams import Stream, tripping

from .staff_world import add_staff, log_in
from .world import hidden

NARRATIVE = "many small transfers in and out within one day, then one large payout to a new card"


@pytest.fixture
def case_id(client, engine, clock):  # type: ignore[no-untyped-def]
    """An open case over cus_b1's first alert, opened by the API; a risk officer signed in on the console."""
    tripping(Stream(engine, clock))
    Monitor(engine).run()
    token = add_staff(client, "risk_officer", "officer.cw")
    officer = {"Authorization": f"Bearer {token}"}
    alerts = client.get("/v1/regtech/alerts", params={"party": "cus_b1"}, headers=officer).json()["alerts"]
    opened = client.post("/v1/regtech/cases", json={"alert_ids": [alerts[0]["id"]]}, headers=officer)
    assert opened.status_code == 201, opened.text
    assert log_in(client, token).status_code == 303
    return opened.json()["id"]


def moves_offered(page: str) -> list[str]:
    found = re.search(r'<select id="case-move-to" name="to">(.*?)</select>', page, re.S)
    return re.findall(r'<option value="([a-z_]+)"', found.group(1)) if found else []


def move(client, case_id: str, **fields: str):  # type: ignore[no-untyped-def]
    page = client.get(f"/supervision/cases/{case_id}").text
    return client.post(f"/supervision/cases/{case_id}/transitions", data={**hidden(page), **fields})


def status_of(client, case_id: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get(f"/supervision/cases/{case_id}").text
    return re.search(r"<td>状态</td><td>([^<]+)</td>", page).group(1)  # type: ignore[union-attr]


def test_a_risk_officer_works_a_case_to_its_report_and_submits_it(client, case_id) -> None:  # type: ignore[no-untyped-def]
    assert 'href="/supervision/cases"' in client.get("/ops").text  # on the risk officer's own menu
    assert moves_offered(client.get(f"/supervision/cases/{case_id}").text) == ["assigned"]
    assert move(client, case_id, to="assigned", assignee="officer.cw").status_code == 200
    assert status_of(client, case_id) == "已分派"
    assert moves_offered(client.get(f"/supervision/cases/{case_id}").text) == ["investigating"]
    assert move(client, case_id, to="investigating", note="looked at the flows").status_code == 200
    assert moves_offered(client.get(f"/supervision/cases/{case_id}").text) == ["closed_false_positive", "escalated"]
    assert move(client, case_id, to="escalated", note="pattern confirmed").status_code == 200

    short = move(client, case_id, to="reported", narrative="too short")  # under the narrative's minimum
    assert short.status_code == 422 and 'role="alert"' in short.text, short.text[-800:]
    assert status_of(client, case_id) == "已上报"  # unchanged: still escalated

    assert move(client, case_id, to="reported", narrative=NARRATIVE).status_code == 200
    page = client.get(f"/supervision/cases/{case_id}").text
    assert status_of(client, case_id) == "已报告" and 'data-testid="case-work"' not in page  # closed: no more moves

    reports = client.get("/supervision/reports").text
    owed = re.search(r'<option value="suspicious:([^"]+)"', reports)
    assert owed is not None and 'data-testid="report-submit"' in reports
    report_id = owed.group(1)
    done = client.post("/supervision/reports/submit", data={**hidden(reports), "report": f"suspicious:{report_id}"})
    assert done.status_code == 200 and "报告已标记为已报送" in done.text
    deadlines = re.search(r'data-testid="deadlines">(.*?)</section>', done.text, re.S).group(1)  # type: ignore[union-attr]
    assert report_id not in deadlines and f'value="suspicious:{report_id}"' not in done.text  # owed no more

    again = client.post(
        "/supervision/reports/submit", data={**hidden(client.get("/supervision/reports").text), "report": "nonsense"}
    )
    assert again.status_code == 422  # not a report: refused, nothing sent


def test_the_regulator_reads_the_case_but_gets_no_form_and_cannot_post_one(client, case_id) -> None:  # type: ignore[no-untyped-def]
    officer_page = client.get(f"/supervision/cases/{case_id}").text
    assert log_in(client, add_staff(client, "regulator", "regulator.cw")).status_code == 303
    page = client.get(f"/supervision/cases/{case_id}").text
    assert (
        'data-testid="case-work"' not in page
        and 'data-testid="report-submit"' not in client.get("/supervision/reports").text
    )
    refused = client.post(
        f"/supervision/cases/{case_id}/transitions",
        data={**hidden(officer_page), **hidden(page), "to": "assigned", "assignee": "regulator.cw"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert status_of(client, case_id) == "新建"  # still open
