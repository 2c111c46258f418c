"""Reports and dashboard over HTTP: risk officers generate and submit, the regulator reads but cannot
generate, customers are refused; a date without data gets a 4xx problem and stores nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from puhui.app import create_app
from puhui.settings import Settings

from ..identity.helpers import (
    ADMIN_TOKEN,
    INDEX_KEY,
    JWT_SECRET,
    K1,
    ZHANG,
    login,
    make_staff,
    register,
)
from .test_reports_world import World, china


@pytest.fixture
def client(engine, clock):
    settings = Settings(
        admin_token=ADMIN_TOKEN,
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret=JWT_SECRET,
        jwt_ttl_seconds=900,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as test_client:
        yield test_client


def test_roles_generation_reading_and_refusals(client, engine):
    w = World(engine)
    a, b = w.customer(), w.customer()
    w.payment(a, b, 600_000_00, china("2025-12-31"))
    risk, regulator = make_staff(client, "risk_officer"), make_staff(client, "regulator")
    register(client, ZHANG)
    customer = login(client, ZHANG)
    url = "/v1/regtech/reports/large-value"

    assert (
        client.post(url, json={"date": "2025-12-31"}, headers={**regulator, "Idempotency-Key": "r1"}).status_code == 403
    )
    assert (
        client.post(url, json={"date": "2025-12-31"}, headers={**customer, "Idempotency-Key": "c1"}).status_code == 403
    )
    refused = client.post(url, json={"date": "2025-12-29"}, headers={**risk, "Idempotency-Key": "k0"})
    assert refused.status_code == 422 and refused.json()["code"] == "report_no_data"
    bad = client.post(url, json={"date": "2025-13-01"}, headers={**risk, "Idempotency-Key": "k00"})
    assert 400 <= bad.status_code < 500
    assert client.get("/v1/regtech/reports", headers=regulator).json() == {"reports": []}

    made = client.post(url, json={"date": "2025-12-31"}, headers={**risk, "Idempotency-Key": "k1"})
    assert made.status_code == 201, made.text
    again = client.post(url, json={"date": "2025-12-31"}, headers={**risk, "Idempotency-Key": "k1"})
    assert again.json() == made.json()
    rid = made.json()["id"]
    assert made.json()["lines"] == 2 and made.json()["deadline"] == "2026-01-08"

    listed = client.get("/v1/regtech/reports", headers=regulator)
    assert [r["id"] for r in listed.json()["reports"]] == [rid]
    assert client.get(f"/v1/regtech/reports/{rid}", headers=regulator).json()["status"] == "generated"
    file = client.get(f"/v1/regtech/reports/{rid}/file", headers=regulator)
    assert file.status_code == 200 and file.headers["content-type"].startswith("text/csv")
    assert file.text.startswith("format_version,report_kind,report_id,business_date,institution_code")
    assert file.text.split("\n")[2].startswith("report_id,business_date,party_id")
    assert client.get(f"/v1/regtech/reports/{rid}", headers=customer).status_code == 403
    assert client.get("/v1/regtech/reports/nope", headers=regulator).status_code == 404

    submit = f"/v1/regtech/reports/{rid}/submit"
    assert client.post(submit, headers={**regulator, "Idempotency-Key": "s0"}).status_code == 403
    done = client.post(submit, headers={**risk, "Idempotency-Key": "s1"})
    assert done.status_code == 200 and done.json()["status"] == "submitted"
    assert client.post(submit, headers={**risk, "Idempotency-Key": "s2"}).status_code == 409

    board = client.get("/v1/regtech/dashboard", params={"from": "2025-12-31", "to": "2025-12-31"}, headers=regulator)
    assert board.status_code == 200 and board.json()["flows"]["payments"]["amount"] == "600000.00"
    assert (
        client.get(
            "/v1/regtech/dashboard", params={"from": "2025-12-31", "to": "2025-12-30"}, headers=regulator
        ).status_code
        == 422
    )
    assert (
        client.get(
            "/v1/regtech/dashboard", params={"from": "2025-12-31", "to": "2025-12-31"}, headers=customer
        ).status_code
        == 403
    )


def test_report_dates_are_iso_strings_of_days_that_are_over(client, engine, monkeypatch, capsys, db_url):
    """The large-value report and the dashboard take `YYYY-MM-DD` only (not a week date or an integer),
    a report no date that is not over; the command says so in one line with the code, exit 2."""
    import sys

    from puhui import cli

    w = World(engine)
    a, b = w.customer(), w.customer()
    w.payment(a, b, 600_000_00, china("2025-12-31"))
    risk, regulator = make_staff(client, "risk_officer"), make_staff(client, "regulator")
    url = "/v1/regtech/reports/large-value"
    for n, (date, status, code) in enumerate(
        [
            ("2035-06-01", 422, "business_date_in_future"),
            ("2026-01-05", 409, "business_date_not_over"),
            (86400, 422, "date_invalid"),
            ("2026-W01-3", 422, "date_invalid"),  # the week form of 2025-12-31
            ("20251231", 422, "date_invalid"),
            ("2025/12/31", 422, "date_invalid"),
        ]
    ):
        answer = client.post(url, json={"date": date}, headers={**risk, "Idempotency-Key": f"d{n}"})
        assert (answer.status_code, answer.json()["code"]) == (status, code), (date, answer.text)
    assert client.get("/v1/regtech/reports", headers=regulator).json() == {"reports": []}
    board = client.get("/v1/regtech/dashboard", params={"from": "2026-W01-3", "to": "2025-12-31"}, headers=regulator)
    assert (board.status_code, board.json()["code"]) == (422, "date_invalid"), board.text
    last_day = {"from": "9999-12-31", "to": "9999-12-31"}  # the end of the calendar's last day answered 500
    board = client.get("/v1/regtech/dashboard", params=last_day, headers=regulator)
    assert board.status_code == 200 and board.json()["flows"]["payments"]["amount"] == "0.00", board.text
    argv = ["puhui", "regtech", "report", "large-value", "--date", "2025/12/31", "--db", db_url]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and err.startswith("date_invalid: ") and len(err.strip().splitlines()) == 1, err


def test_every_regtech_error_names_its_own_problem_title():
    """`report_no_data` and `dashboard_invalid_range` said "Invalid input", `report_exists` and
    `report_already_submitted` "Conflict with the current state": the base classes' titles."""
    import inspect

    from puhui import errors as base
    from puhui.regtech import errors

    generic = {c.title for _, c in inspect.getmembers(base, inspect.isclass) if issubclass(c, base.PuhuiError)}
    found = [c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__]
    assert len(found) >= 17
    for error in found:
        assert error.title not in generic, (error.code, error.title)
    titles = [e.title for e in found]
    assert len(set(titles)) == len(titles)


def test_the_report_problems_carry_their_titles(client, engine):
    w = World(engine)
    a, b = w.customer(), w.customer()
    w.payment(a, b, 600_000_00, china("2025-12-31"))
    risk, regulator = make_staff(client, "risk_officer"), make_staff(client, "regulator")
    url = "/v1/regtech/reports/large-value"

    def problem(response, status: int, code: str, title: str) -> None:  # type: ignore[no-untyped-def]
        body = response.json()
        assert (response.status_code, body["code"], body["title"]) == (status, code, title), response.text
        assert response.headers["content-type"].startswith("application/problem+json")

    no_data = client.post(url, json={"business_date": "2025-12-29"}, headers={**risk, "Idempotency-Key": "t0"})
    problem(no_data, 422, "report_no_data", "No transactions to report on that date")
    made = client.post(url, json={"business_date": "2025-12-31"}, headers={**risk, "Idempotency-Key": "t1"})
    assert made.status_code == 201, made.text
    exists = client.post(url, json={"business_date": "2025-12-31"}, headers={**risk, "Idempotency-Key": "t2"})
    problem(exists, 409, "report_exists", "Report already generated")
    submit = f"/v1/regtech/reports/{made.json()['id']}/submit"
    assert client.post(submit, headers={**risk, "Idempotency-Key": "t3"}).status_code == 200
    problem(client.post(submit, headers={**risk, "Idempotency-Key": "t4"}), 409, "report_already_submitted",
            "Report already submitted")  # fmt: skip
    problem(client.get("/v1/regtech/reports/rpt_nope", headers=regulator), 404, "report_not_found", "Report not found")
    backwards = {"from": "2025-12-31", "to": "2025-12-30"}
    problem(client.get("/v1/regtech/dashboard", params=backwards, headers=regulator), 422, "dashboard_invalid_range",
            "The dashboard's date range is not valid")  # fmt: skip


def test_the_report_takes_business_date_and_date_as_its_deprecated_alias(client, engine):
    """Settlement and reconciliation take `business_date`; the report took `date` alone (422 extra_forbidden
    for `business_date`). Both names work now, `date` documented as deprecated; exactly one is sent."""
    from sqlalchemy import func, select

    from puhui.api.contract import spec
    from puhui.regtech.reports_tables import regulatory_reports

    w = World(engine)
    a, b = w.customer(), w.customer()
    w.payment(a, b, 600_000_00, china("2025-12-30"))
    w.payment(a, b, 600_000_00, china("2025-12-31"))
    risk = make_staff(client, "risk_officer")
    url = "/v1/regtech/reports/large-value"

    def count() -> int:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(regulatory_reports)).scalar_one()

    for n, body in enumerate(
        [
            {},
            {"business_date": "2025-12-31", "date": "2025-12-31"},
            {"business_date": "2025-12-31", "date": "2025-12-30"},
            {"business_date": None},
            {"business_date": "2025-12-31", "day": "2025-12-31"},
        ]
    ):
        refused = client.post(url, json=body, headers={**risk, "Idempotency-Key": f"bad{n}"})
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert count() == 0
    for name in ("business_date", "date"):  # a bad date names the field it was sent in (it said `date` for both)
        bad = client.post(url, json={name: "2025-13-01"}, headers={**risk, "Idempotency-Key": f"bad-{name}"})
        assert (bad.status_code, bad.json()["code"], bad.json()["field"]) == (422, "date_invalid", name), bad.text
        assert bad.json()["detail"].startswith(f"{name} ")
    assert count() == 0
    new = client.post(url, json={"business_date": "2025-12-31"}, headers={**risk, "Idempotency-Key": "n1"})
    assert new.status_code == 201, new.text
    assert new.json()["business_date"] == "2025-12-31"
    old = client.post(url, json={"date": "2025-12-30"}, headers={**risk, "Idempotency-Key": "o1"})
    assert old.status_code == 201 and old.json()["business_date"] == "2025-12-30", old.text
    assert count() == 2

    body = spec()["components"]["schemas"]["LargeValueIn"]
    assert (
        body["properties"]["date"]["deprecated"] is True
        and "business_date" in body["properties"]["date"]["description"]
    )
    assert body["oneOf"] == [{"required": ["business_date"]}, {"required": ["date"]}]
    assert body["additionalProperties"] is False
