"""The console tells what a policy covers and why a claim was declined, on SQLite and PostgreSQL: a policy's
cover is shown to 24:00 of its last covered day (the end date is exclusive), in both languages, on the
home, policy and claim pages; a risk officer types the reason for a decline (refused without one, nothing
changed) and the customer reads it on the claim's page and in their list; the approve form asks for a note
when the claim lacks documents."""

from __future__ import annotations

import re

from sqlalchemy import select

from puhui.db import reading
from puhui.insurance.claims.tables import insurance_claims

from .staff_world import log_in
from .test_insurance_pages import buy, customer, days_later, insurer, staff_token  # noqa: F401 - insurer: fixture
from .world import hidden


def test_the_cover_ends_at_24_00_of_the_last_covered_day(client, engine, insurer) -> None:  # type: ignore[no-untyped-def]
    customer(client, engine, 21)
    url = buy(client, cancer="no", diabetes="no").headers["location"]  # cover from 2026-01-06, end date 2027-01-06
    last = "自2026年1月6日零时起至2027年1月5日二十四时止"
    page = client.get(url).text
    assert f'data-testid="policy-cover">{last}<' in page and "2027年1月6日" not in page
    assert f'data-testid="policy-cover">{last}<' in client.get("/app/insurance").text
    assert last in client.get("/app/insurance/claims").text  # the policy picked for a claim
    english = client.get(url + "?lang=en").text
    assert 'data-testid="policy-cover">From 00:00 on Jan 6, 2026 to 24:00 on Jan 5, 2027<' in english


def test_a_decline_needs_a_reason_and_the_customer_reads_it(client, engine, insurer, clock) -> None:  # type: ignore[no-untyped-def]
    customer(client, engine, 22)
    url = buy(client, cancer="no", diabetes="no").headers["location"]
    days_later(client, clock, 22, 18)
    page = client.get("/app/insurance/claims").text
    body = {**hidden(page), "policy_id": url.rsplit("/", 1)[1], "kind": "accident", "condition": "S52"}
    reported = client.post("/app/insurance/claims", data={**body, "event_date": "2026-01-08", "billed": "10100.00"})
    claim_id = reported.url.path.rsplit("/", 1)[1]
    customer_cookies = dict(client.cookies)
    assert log_in(client, staff_token(client, "risk_officer", "risk.dec")).status_code == 303
    queue = client.get("/ops/claims").text
    # no documents: the approve form asks why, the decline form for the reason told to the customer
    assert re.search(r'<textarea id="approve-[^"]+-note" name="note" rows="4" required>', queue)
    assert re.search(r'<textarea id="decline-[^"]+-reason" name="reason" rows="4" required>', queue)
    assert "拒赔理由(将告知客户)" in queue or "拒赔理由（将告知客户）" in queue
    action = f"/ops/claims/{claim_id}/decline"
    key = re.search(rf'action="{action}" .*?name="key" value="([^"]+)"', queue, re.S).group(1)  # type: ignore[union-attr]
    blank = client.post(action, data={**hidden(queue), "key": key, "reason": "  "})
    assert blank.status_code == 422 and "请填写拒赔理由" in blank.text
    with reading(engine) as connection:
        status = connection.execute(select(insurance_claims.c.status).where(insurance_claims.c.id == claim_id))
        assert status.scalar_one() == "review"
    reason = "发票非定点医院开具，不属于保险责任"
    declined = client.post(action, data={**hidden(queue), "key": key, "reason": reason})
    assert declined.status_code == 200 and "已拒赔" in declined.text and reason in declined.text
    client.cookies.clear()
    client.cookies.update(customer_cookies)
    mine = client.get(f"/app/insurance/claims/{claim_id}").text
    assert f'data-testid="claim-decline-reason">{reason}<' in mine and "拒赔理由" in mine
    assert reason in client.get("/app/insurance/claims").text
