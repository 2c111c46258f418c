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
    assert made.json()["lines"] == 2 and made.json()["deadline"] == "2026-01-09"

    listed = client.get("/v1/regtech/reports", headers=regulator)
    assert [r["id"] for r in listed.json()["reports"]] == [rid]
    assert client.get(f"/v1/regtech/reports/{rid}", headers=regulator).json()["status"] == "generated"
    file = client.get(f"/v1/regtech/reports/{rid}/file", headers=regulator)
    assert file.status_code == 200 and file.headers["content-type"].startswith("text/csv")
    assert file.text.startswith("report_id,business_date,party_id")
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
