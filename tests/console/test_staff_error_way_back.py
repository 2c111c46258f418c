"""A signed-in operator's error page offered "Back to the log-in page" (new-user pass: a refused claim
decline at `/ops/claims`): it now leads back to the page of their section the request was made under, the
claims page, by its menu label in the page's language; a page of another section leads to their home; on
SQLite and PostgreSQL."""

from __future__ import annotations

import re

from .staff_world import log_in
from .test_insurance_pages import buy, customer, days_later, insurer, staff_token  # noqa: F401 - insurer: fixture
from .world import hidden

BUTTON = re.compile(r'<a class="button" href="([^"]+)">([^<]*)</a>')


def test_a_refused_decline_leads_back_to_the_claims_page(client, engine, insurer, clock) -> None:  # type: ignore[no-untyped-def]
    customer(client, engine, 23)
    url = buy(client, cancer="no", diabetes="no").headers["location"]
    days_later(client, clock, 23, 18)
    page = client.get("/app/insurance/claims").text
    body = {**hidden(page), "policy_id": url.rsplit("/", 1)[1], "kind": "accident", "condition": "S52"}
    reported = client.post("/app/insurance/claims", data={**body, "event_date": "2026-01-08", "billed": "10100.00"})
    claim_id = reported.url.path.rsplit("/", 1)[1]
    assert log_in(client, staff_token(client, "risk_officer", "risk.back")).status_code == 303
    queue = client.get("/ops/claims").text
    action = f"/ops/claims/{claim_id}/decline"
    key = re.search(rf'action="{action}" .*?name="key" value="([^"]+)"', queue, re.S).group(1)  # type: ignore[union-attr]
    blank = client.post(action, data={**hidden(queue), "key": key, "reason": "  "})
    assert blank.status_code == 422
    assert BUTTON.findall(blank.text) == [("/ops/claims", "← 理赔审核")]
    assert "返回登录页" not in blank.text
    english = client.post(action + "?lang=en", data={**hidden(queue), "key": key, "reason": ""})
    assert english.status_code == 422 and BUTTON.findall(english.text) == [("/ops/claims", "← Claims review")]


def test_a_page_of_another_section_leads_home(client) -> None:  # type: ignore[no-untyped-def]
    assert log_in(client, staff_token(client, "regulator", "reg.back")).status_code == 303
    refused = client.get("/ops/claims")
    assert refused.status_code == 403
    assert BUTTON.findall(refused.text) == [("/supervision", "← 看板")]
