"""The regulator in a real browser: signs in with the staff token, reads the supervision dashboard with
its server-drawn charts, opens an alert's case and its evidence, and downloads the suspicious transaction
report, byte for byte what the API serves; no console error, failed request or external request."""

from __future__ import annotations

from puhui.regtech.monitor import Monitor
from tests.regtech.streams import Stream, tripping

from .staff_browser import api, browser_page, live, sign_in  # noqa: F401 - fixtures


def test_the_regulator_opens_an_alerts_case_and_downloads_a_report(browser_page, live, engine, clock) -> None:  # type: ignore[no-untyped-def]
    page, problems = browser_page
    world = live[1]
    tripping(Stream(engine, clock))
    Monitor(engine).run()
    officer = {"Authorization": "Bearer " + next(s["token"] for s in world.staff if s["role"] == "risk_officer")}
    alert = api(live, "GET", "/v1/regtech/alerts", params={"party": "cus_b1"}, headers=officer).json()["alerts"][0]
    case = api(
        live,
        "POST",
        "/v1/regtech/cases",
        json={"alert_ids": [alert["id"]]},
        headers={**officer, "Idempotency-Key": "b-c"},
    )
    path = f"/v1/regtech/cases/{case.json()['id']}/transitions"
    for step in (
        {"to": "assigned", "assignee": "risk-officer.demo"},
        {"to": "investigating"},
        {"to": "escalated", "note": "n"},
    ):
        assert api(live, "POST", path, json=step, headers=officer).status_code == 200
    report = api(
        live,
        "POST",
        "/v1/regtech/reports/suspicious",
        headers={**officer, "Idempotency-Key": "b-r"},
        json={"case_id": case.json()["id"], "narrative": "many small transfers in and out within one day"},
    ).json()

    regulator = next(s["token"] for s in world.staff if s["role"] == "regulator")
    sign_in(page, regulator)
    page.wait_for_url("**/supervision")
    assert page.locator("svg.chart").count() >= 2
    page.get_by_role("link", name="预警").first.click()
    page.get_by_role("link", name=alert["id"]).click()
    page.get_by_test_id("alert").get_by_role("link", name=case.json()["id"]).click()
    evidence = page.get_by_test_id("evidence").inner_text()
    assert all(flow["ref"] in evidence for flow in alert["evidence"]["flows"])

    page.get_by_role("link", name="报告").first.click()
    with page.expect_download() as waiting:
        page.get_by_test_id("reports").get_by_role("link", name="下载").first.click()
    downloaded = waiting.value.path().read_bytes()
    direct = api(
        live,
        "GET",
        f"/v1/regtech/reports/suspicious/{report['id']}/file",
        headers={"Authorization": f"Bearer {regulator}"},
    )
    assert downloaded == direct.content
    assert problems == []
