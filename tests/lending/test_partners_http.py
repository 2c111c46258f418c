"""Funding partners over HTTP on SQLite and PostgreSQL: an operator registers a bank and funds a
joint product; a customer borrows; the bank reads its daily file with its API key, another bank gets
403; a 20% platform share and bad funding terms are 422 and change nothing; the CLI writes the file."""

from __future__ import annotations

import csv
import io

from typer.testing import CliRunner

from puhui.db import reading
from puhui.ledger.audit import audit
from puhui.lending.partners import cli as partners_cli
from puhui.payments import reserve

from .lending_world import snapshot
from .test_joint_lending import JOINT
from .test_lending_http import (
    ADMIN,
    ZHANG,
    _fund,
    _problem,
    bearer,
    client,
    login,
    make_staff,
    register,
)

__all__ = ["client"]


def bank(client, name: str, key: str) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    response = client.post("/v1/partners", headers={**ADMIN, "Idempotency-Key": key}, json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["id"], bearer(response.json()["api_key"])


def test_partner_reads_its_daily_file(client, engine, clock):
    operator = make_staff(client, "operator")
    bank_a, key_a = bank(client, "甲银行", "bank-a")
    bank_b, key_b = bank(client, "乙银行", "bank-b")
    for i, partner in enumerate((bank_a, bank_b)):
        registered = client.post(
            "/v1/lending/partners", headers={**operator, "Idempotency-Key": f"r{i}"}, json={"partner_id": partner}
        )
        assert registered.status_code == 201, registered.text
    assert (
        client.post("/v1/lending/products", headers={**operator, "Idempotency-Key": "p1"}, json=JOINT).status_code
        == 201
    )
    funded = client.post(
        f"/v1/lending/partners/{bank_a}/products",
        headers={**operator, "Idempotency-Key": "f1"},
        json={"product_code": "joint-30"},
    )
    assert funded.status_code == 201 and funded.json()["platform_share"] == "0.3", funded.text

    before = snapshot(engine)
    refused = [
        (
            client.post(
                "/v1/lending/products",
                headers={**operator, "Idempotency-Key": "p2"},
                json={**JOINT, "code": "joint-20", "platform_share": "0.2"},
            ),
            422,
            "partner_share_too_low",
        ),
        (
            client.post(
                f"/v1/lending/partners/{bank_b}/products",
                headers={**operator, "Idempotency-Key": "f2"},
                json={"product_code": "joint-30", "service_fee_rate": "0.1"},
            ),
            422,
            "funding_invalid",
        ),
        (
            client.post(
                f"/v1/lending/partners/{bank_b}/products",
                headers={**operator, "Idempotency-Key": "f3"},
                json={"product_code": "joint-30"},
            ),
            409,
            "product_funding_exists",
        ),
        (
            client.post(
                f"/v1/lending/partners/{bank_b}/products",
                headers={**key_b, "Idempotency-Key": "f4"},
                json={"product_code": "joint-30"},
            ),
            403,
            "forbidden",
        ),
        (
            client.post(
                "/v1/lending/partners", headers={**operator, "Idempotency-Key": "r9"}, json={"partner_id": "ptn_nobody"}
            ),
            404,
            "lending_partner_not_found",
        ),
    ]
    for response, status, code in refused:
        _problem(response, status, code)
    assert snapshot(engine) == before

    zhang = register(client, ZHANG)
    me = login(client, ZHANG)
    _fund(engine, clock, zhang["id"])
    applied = client.post(
        "/v1/lending/applications",
        headers={**me, "Idempotency-Key": "a1"},
        json={"product_code": "joint-30", "amount": "6000.00", "term": 6, "annual_income": "120000.00"},
    )
    offer = client.post(
        f"/v1/lending/applications/{applied.json()['id']}/offers", headers={**me, "Idempotency-Key": "o1"}
    )
    loan = client.post(f"/v1/lending/offers/{offer.json()['id']}/accept", headers={**me, "Idempotency-Key": "c1"})
    assert loan.status_code == 201, loan.text
    today = loan.json()["start_date"]

    file = client.get(f"/v1/lending/partners/{bank_a}/files/{today}", headers=key_a)
    assert file.status_code == 200 and file.headers["content-type"].startswith("text/csv"), file.text
    assert [
        (r["loan_id"], r["event"], r["principal"], r["partner_principal"])
        for r in csv.DictReader(io.StringIO(file.text))
    ] == [(loan.json()["id"], "disbursement", "6000.00", "4200.00")]
    assert client.get(f"/v1/lending/partners/{bank_a}/files/{today}", headers=ADMIN).text == file.text
    _problem(client.get(f"/v1/lending/partners/{bank_a}/files/{today}", headers=key_b), 403, "forbidden")
    _problem(client.get(f"/v1/lending/partners/{bank_a}/files/{today}", headers=me), 403, "forbidden")
    assert client.get(f"/v1/lending/partners/{bank_b}/files/{today}", headers=key_b).text.count("\n") == 1
    assert client.get(f"/v1/lending/partners/{bank_a}", headers=key_a).json() == {
        "partner_id": bank_a,
        "funding_outstanding": "4200.00",
        "payable": "0.00",
    }
    with reading(engine) as connection:
        assert audit(connection).ok and reserve.reserve_coverage(connection).covered

    result = CliRunner().invoke(
        partners_cli.app,
        ["--partner", bank_a, "--date", today, "--db", str(engine.url.render_as_string(hide_password=False))],
    )
    assert result.exit_code == 0, result.output
    assert result.output == file.text
