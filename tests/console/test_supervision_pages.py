"""The supervision dashboard (/supervision) over HTTP: the regulator signs in with its staff token and
reads the dashboard (charts drawn on the server), alerts, a case with its evidence, reports with their
deadlines (downloaded as the API's own file) and a party's flow graph; the regulator cannot change
anything (no POST reaches the back office), and a customer or merchant cannot open these pages."""

from __future__ import annotations

import re

import pytest

from puhui.regtech.monitor import Monitor
from tests.identity.helpers import make_staff
from tests.regtech.streams import Stream, tripping

from .conftest import sign_up
from .staff_world import ADMIN_TOKEN, add_staff, log_in
from .world import ADMIN, MERCHANT, hidden

PAGES = ("/supervision", "/supervision/alerts", "/supervision/cases", "/supervision/reports", "/supervision/graph")


@pytest.fixture
def watched(client, engine, clock):  # type: ignore[no-untyped-def]
    """Alerts raised by the monitor on a tripping stream, one case over cus_b1's first alert escalated and
    reported (its suspicious transaction report), and the regulator signed in."""
    tripping(Stream(engine, clock))
    Monitor(engine).run()
    officer = make_staff(client, "risk_officer", "officer.sup")
    alerts = client.get("/v1/regtech/alerts", params={"party": "cus_b1"}, headers=officer).json()["alerts"]
    case = client.post(
        "/v1/regtech/cases", json={"alert_ids": [alerts[0]["id"]]}, headers={**officer, "Idempotency-Key": "case-1"}
    )
    assert case.status_code == 201, case.text
    path = f"/v1/regtech/cases/{case.json()['id']}/transitions"
    for step in (
        {"to": "assigned", "assignee": "officer.sup"},
        {"to": "investigating"},
        {"to": "escalated", "note": "n"},
    ):
        assert client.post(path, json=step, headers=officer).status_code == 200
    report = client.post(
        "/v1/regtech/reports/suspicious",
        json={"case_id": case.json()["id"], "narrative": "many small transfers in and out within one day"},
        headers={**officer, "Idempotency-Key": "s"},
    )
    assert report.status_code == 201, report.text
    regulator = add_staff(client, "regulator", "regulator.sup")
    assert log_in(client, regulator).headers["location"] == "/supervision"
    return {"alerts": alerts, "case": case.json(), "report": report.json(), "token": regulator}


def test_the_regulator_reads_every_page_with_charts_drawn_on_the_server(client, watched) -> None:  # type: ignore[no-untyped-def]
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[-500:])
        assert "<script" not in page.text.replace('<script src="/console/static/console.js" defer></script>', "")
    board = client.get("/supervision").text
    assert board.count('<svg class="chart"') >= 2 and "按业务和日期的资金流量" in board and "预警指标" in board
    api = client.get("/v1/regtech/alerts", headers={"Authorization": f"Bearer {watched['token']}"}).json()["alerts"]
    listed = client.get("/supervision/alerts").text
    assert len(re.findall(r'href="/supervision/alerts/[^"]+"', listed)) == len(api) > 0


def test_the_regulator_opens_an_alerts_case_and_sees_its_evidence(client, watched) -> None:  # type: ignore[no-untyped-def]
    alert = watched["alerts"][0]
    page = client.get(f"/supervision/alerts/{alert['id']}").text
    assert f'href="/supervision/cases/{watched["case"]["id"]}"' in page
    case = client.get(f"/supervision/cases/{watched['case']['id']}").text
    for flow in alert["evidence"]["flows"]:
        assert flow["ref"] in case  # every piece of evidence the API gives is on the page
    # a status change, not a date range (开始日期/结束日期)
    assert '<th scope="col">原状态</th><th scope="col">新状态</th>' in case
    # the case's opening is 立案时间, not the customer app's account opening (开户时间)
    assert "立案时间" in case and "开户时间" not in case
    listed = client.get("/supervision/cases").text
    assert '<th scope="col">立案时间</th>' in listed and "开户时间" not in listed
    graph = client.get("/supervision/graph", params={"party": alert["party"]}).text
    assert '<svg class="chart graph"' in graph and "<line" in graph


def test_the_regulator_downloads_a_report_exactly_as_the_api_gives_it(client, watched) -> None:  # type: ignore[no-untyped-def]
    report = watched["report"]
    page = client.get("/supervision/reports").text
    assert f'href="/supervision/reports/suspicious/{report["id"]}/file"' in page
    got = client.get(f"/supervision/reports/suspicious/{report['id']}/file")
    direct = client.get(
        f"/v1/regtech/reports/suspicious/{report['id']}/file", headers={"Authorization": f"Bearer {watched['token']}"}
    )
    assert (
        got.status_code == 200 and got.content == direct.content and "attachment" in got.headers["content-disposition"]
    )


def test_the_regulator_cannot_post_to_the_back_office(client, watched) -> None:  # type: ignore[no-untyped-def]
    form = hidden(client.get("/supervision").text)
    for action in ("/ops/reviews/rev_x/approve", "/ops/funds/navs", "/merchant/refunds"):
        refused = client.post(action, data={**form, "note": "x", "csv": "x"}, follow_redirects=False)
        assert refused.status_code == 403, action
    assert client.post("/supervision", data=form).status_code == 405  # read-only: no form to send
    assert client.get("/ops/reviews").status_code == 403


def test_customers_merchants_and_operators_cannot_open_supervision(client, engine) -> None:  # type: ignore[no-untyped-def]
    for path in PAGES:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/staff/login"  # a visitor
    sign_up(client, 41)
    for path in PAGES:
        assert client.get(path, follow_redirects=False).status_code == 403  # a signed-in customer
    made = client.post("/v1/merchants", headers=ADMIN, json=MERCHANT)
    log_in(client, made.json()["api_key"])
    assert client.get("/supervision").status_code == 403
    log_in(client, add_staff(client, "operator", "op.sup"))
    assert client.get("/supervision/cases").status_code == 403
    log_in(client, ADMIN_TOKEN)
    assert client.get("/supervision").status_code == 200  # the admin reads everything


def test_a_customer_session_token_is_no_staff_token(client) -> None:  # type: ignore[no-untyped-def]
    sign_up(client, 42)
    token = client.cookies.get("puhui_session")
    refused = log_in(client, token)
    assert refused.status_code == 401 and "puhui_staff" not in refused.headers.get("set-cookie", "")
    assert log_in(client, "puhui_st_0000000000000000_nonsense").status_code == 401
