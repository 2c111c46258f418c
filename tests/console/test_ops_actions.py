"""Staff actions at /ops/actions over HTTP on both backends: an operator loads a NAV file pasted or chosen
as a file, all rows or none with the error shown, and runs an end of day for a date the platform
accepts with its result shown, each audited as the API audits it; other staff roles get 403, a
customer is refused and a visitor is sent to sign in, and none of them changes anything."""

from __future__ import annotations

import base64
import datetime as dt
import re

from puhui.console.ops_books import audit_entries
from puhui.db import reading
from puhui.eod import runs as eod_runs
from tests.wealth.mmf_world import at

from .conftest import sign_up
from .staff_world import add_staff, log_in, post_form
from .test_funds_pages import GROWTH, _admin, _bearer
from .world import ADMIN

NAVS = "date,fund_code,nav\n2026-02-27,EQ0001,1.2200\n2026-03-02,EQ0001,1.2345\n"


def _navs(client) -> list[str]:  # type: ignore[no-untyped-def]
    got = client.get("/v1/wealth/fund-products/EQ0001/navs", headers=ADMIN)
    assert got.status_code == 200, got.text
    return [n["nav"] for n in got.json()]


def _operator(client) -> str:  # type: ignore[no-untyped-def]
    token = add_staff(client, "operator", "ops-actions")
    assert log_in(client, token).status_code == 303
    return re.search(r'data-staff-id="([^"]+)"', client.get("/ops/actions").text).group(1)


def test_an_operator_loads_a_nav_file_all_or_nothing_and_it_is_audited(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(at("2026-03-02", "10:00"))
    _admin(client, "/v1/wealth/fund-products", GROWTH)
    operator = _operator(client)
    assert "/ops/actions" in client.get("/ops").text

    bad = NAVS + "2026-03-02,NOPE01,1.0000\n"
    refused = post_form(client, "/ops/actions", "/ops/actions/navs", csv=bad)
    assert refused.status_code == 422 and "line 4: unknown fund &#39;NOPE01&#39;" in refused.text
    assert _navs(client) == []

    loaded = post_form(client, "/ops/actions", "/ops/actions/navs", csv=NAVS)
    assert loaded.status_code == 200 and 'data-testid="navs-result"' in loaded.text
    assert "已记录净值 2 条" in loaded.text and _navs(client) == ["1.2345", "1.2200"]
    again = post_form(client, "/ops/actions", "/ops/actions/navs", csv=NAVS)
    assert "已记录净值 0 条" in again.text and "已有相同记录 2 条" in again.text

    chosen = base64.b64encode(b"date,fund_code,nav\r\n2026-03-03,EQ0001,1.2400\r\n").decode()
    from_file = post_form(client, "/ops/actions", "/ops/actions/navs", csv="", document_content=chosen)
    assert "已记录净值 1 条" in from_file.text and _navs(client)[0] == "1.2400"

    loads = [e for e in audit_entries(engine, None) if e["action"] == "wealth.load_navs"]
    assert len(loads) == 4 and {e["principal"] for e in loads} == {operator}
    assert sorted(e["status_code"] for e in loads) == [200, 200, 200, 422]


def test_an_operator_runs_an_end_of_day_for_a_date_that_is_over(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(at("2026-03-03", "09:37"))  # the new user's morning: 03-03 goes on, 03-02 is over
    _operator(client)
    page = client.get("/ops/actions").text
    # nothing run yet: a year back, to yesterday, which the form offers
    assert 'name="date" type="date" min="2025-03-03" max="2026-03-02" value="2026-03-02"' in page
    assert 'id="eod-all-date" name="date" type="date" max="2026-03-02" value="2026-03-02"' in page
    assert "2026-03-03" not in page

    future = post_form(client, "/ops/actions", "/ops/actions/eod/wealth.funds", date="2026-03-04")
    assert future.status_code == 422 and "after today" in future.text
    for job in ("wealth.funds", "wealth.mmf", "lending", "settlement", "reconciliation"):
        today = post_form(client, "/ops/actions", f"/ops/actions/eod/{job}", date="2026-03-03")
        assert today.status_code == 409 and "is not over yet" in today.text, job
        assert 'data-testid="eod-result"' not in today.text and "<td>是</td>" not in today.text, job
    with reading(engine) as connection:
        assert eod_runs.recent(connection) == []

    ran = post_form(client, "/ops/actions", "/ops/actions/eod/wealth.funds", date="2026-03-02")
    assert ran.status_code == 200 and 'data-testid="eod-result"' in ran.text
    assert '<th scope="row">申购已确认</th><td>0</td>' in ran.text  # each figure named in the page's language
    with reading(engine) as connection:
        assert eod_runs.last_completed(connection, "wealth.funds") == dt.date(2026, 3, 2)
    after = client.get("/ops/actions").text
    assert 'action="/ops/actions/eod/wealth.funds"' in after and 'min="2026-03-02" max="2026-03-02"' in after
    lending = post_form(client, "/ops/actions", "/ops/actions/eod/lending", date="2026-03-02")
    assert lending.status_code == 200 and '<th scope="row">此前已完成</th><td>否</td>' in lending.text
    latest = [e["action"] for e in audit_entries(engine, None)][:2]
    assert latest == ["lending.eod", "wealth.funds_eod"]


def test_the_whole_end_of_day_runs_the_bank_jobs_first_and_refuses_a_day_in_progress(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(at("2026-03-03", "09:37"))
    _operator(client)
    today = post_form(client, "/ops/actions", "/ops/actions/eod", date="2026-03-03")
    assert today.status_code == 409 and "is not over yet" in today.text
    assert 'data-testid="eod-result"' not in today.text
    with reading(engine) as connection:
        assert eod_runs.recent(connection) == []
    runs = ("reconciliation.run", "settlements.run", "lending.eod", "wealth.eod", "wealth.funds_eod")
    assert not [e for e in audit_entries(engine, None) if e["action"] in runs and e["status_code"] < 400]

    ran = post_form(client, "/ops/actions", "/ops/actions/eod", date="2026-03-02")
    assert ran.status_code == 200, ran.text
    order = ["reconciliation", "settlement", "lending", "wealth.mmf", "wealth.funds"]
    assert re.findall(r'data-testid="eod-result" data-job="([^"]+)"', ran.text) == order
    assert "银行对账" in ran.text and "商户结算(T+1)" in ran.text
    with reading(engine) as connection:
        assert {job: eod_runs.last_completed(connection, job) for job in order} == dict.fromkeys(
            order, dt.date(2026, 3, 2)
        )
    done = [e["action"] for e in audit_entries(engine, None)][:5]
    assert done == ["wealth.funds_eod", "wealth.eod", "lending.eod", "settlements.run", "reconciliation.run"]


def test_other_roles_and_customers_cannot_load_navs_or_run_the_end_of_day(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(at("2026-03-02", "10:00"))
    _admin(client, "/v1/wealth/fund-products", GROWTH)
    operator = add_staff(client, "operator", "ops-form")
    assert log_in(client, operator).status_code == 303
    form = re.findall(r'name="(csrf_token|key)" value="([^"]+)"', client.get("/ops/actions").text)
    csrf = dict(form)["csrf_token"]
    for role in ("risk_officer", "regulator"):
        assert log_in(client, add_staff(client, role, f"no-{role}")).status_code == 303
        assert client.get("/ops/actions").status_code == 403
        client.cookies.set("puhui_csrf", csrf)
        posted = client.post("/ops/actions/navs", data={"csrf_token": csrf, "key": "k1", "csv": NAVS})
        assert posted.status_code == 403
        ran = client.post("/ops/actions/eod/wealth.funds", data={"csrf_token": csrf, "key": "k2", "date": "2026-03-02"})
        assert ran.status_code == 403
    client.cookies.clear()
    assert client.get("/ops/actions", follow_redirects=False).headers["location"] == "/staff/login"
    sign_up(client, 71)
    assert client.get("/ops/actions").status_code == 403
    page = client.get("/app/funds").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    posted = client.post("/ops/actions/navs", data={"csrf_token": token, "key": "k3", "csv": NAVS})
    assert posted.status_code == 403
    assert client.get("/v1/wealth/fund-products/EQ0001/navs", headers=_bearer(client)).json() == []
    with reading(engine) as connection:
        assert eod_runs.last_completed(connection, "wealth.funds") is None
    assert not [e for e in audit_entries(engine, None) if e["action"] in ("wealth.load_navs", "wealth.funds_eod")]
