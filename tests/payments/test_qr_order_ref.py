"""A merchant's order reference (商户订单号) names one dynamic QR code at a time, on SQLite and PostgreSQL: a
second code for an order whose code is open or paid is refused (409 `order_ref_in_use`, naming the code that
holds it) and the refusal changes nothing; once that code was cancelled or expired unpaid, a new one may be
made. Creations racing for one order make one code. Migration 0049 backfills databases that already hold
duplicates without failing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from puhui.db import create_engine_from_url, reading, transaction
from puhui.db.migrate import alembic_config, upgrade
from puhui.payments import service
from puhui.payments.errors import OrderRefInUse
from puhui.payments.models import QrKind
from puhui.payments.tables import qr_codes
from tests.payments.test_payments_http import (  # noqa: F401 - fixtures
    ADMIN,
    MERCHANT,
    PEOPLE,
    assert_audit_clean,
    balance,
    client,
    customer,
    fund,
    merchant,
    snapshot,
)

ORDER = {"kind": "dynamic", "amount": "25.00", "order_ref": "NU-1"}


def _make(client, merchant_id: str, shop: dict, key: str, **body):  # type: ignore[no-untyped-def]
    return client.post(
        f"/v1/merchants/{merchant_id}/qr-codes", headers={**shop, "Idempotency-Key": key}, json={**ORDER, **body}
    )


def _refused_naming(answer, holder: str, status: str) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == 409, answer.text
    problem = answer.json()
    assert problem["code"] == "order_ref_in_use", answer.text
    assert (problem["qr_code_id"], problem["qr_code_status"], problem["order_ref"]) == (holder, status, "NU-1")
    assert holder in problem["detail"]


def test_a_second_code_for_an_open_or_paid_order_is_refused_and_changes_nothing(client, engine) -> None:  # noqa: F811
    merchant_id, shop = merchant(client)
    first = _make(client, merchant_id, shop, "a")
    assert first.status_code == 201, first.text
    before = snapshot(engine)
    _refused_naming(_make(client, merchant_id, shop, "b"), first.json()["id"], "active")
    _refused_naming(_make(client, merchant_id, shop, "c", amount="30.00"), first.json()["id"], "active")
    assert snapshot(engine) == before
    again = _make(client, merchant_id, shop, "a")  # the same call replayed: the same code
    assert again.status_code == 201 and again.json() == first.json()
    other = _make(client, merchant_id, shop, "d", order_ref="NU-2")
    assert other.status_code == 201, other.text  # another order of the merchant
    for key in ("e", "f"):  # codes with no order reference are as many as the merchant makes
        plain = client.post(
            f"/v1/merchants/{merchant_id}/qr-codes",
            headers={**shop, "Idempotency-Key": key},
            json={"kind": "dynamic", "amount": "25.00"},
        )
        assert plain.status_code == 201, plain.text
    second = client.post("/v1/merchants", headers=ADMIN, json={**MERCHANT, "credit_code": "91350100M000100Y43"})
    assert second.status_code == 201, second.text
    theirs = _make(client, second.json()["id"], {"Authorization": f"Bearer {second.json()['api_key']}"}, "g")
    assert theirs.status_code == 201, theirs.text  # another merchant's order NU-1 is its own

    payer_id, me = customer(client, PEOPLE[0], 3)
    fund(engine, f"wallet.{payer_id}", 100_00, "payer")
    paid = client.post(f"/v1/qr-codes/{first.json()['id']}/pay", headers={**me, "Idempotency-Key": "pay"}, json={})
    assert paid.status_code == 201, paid.text
    before = snapshot(engine)
    _refused_naming(_make(client, merchant_id, shop, "h"), first.json()["id"], "paid")  # the order is paid
    assert snapshot(engine) == before
    assert balance(engine, f"wallet.{payer_id}") == 100_00 - 25_00  # charged once
    assert_audit_clean(engine)


def test_the_order_is_free_again_once_its_code_was_cancelled_or_expired_unpaid(client, engine, clock) -> None:  # noqa: F811
    merchant_id, shop = merchant(client)
    first = _make(client, merchant_id, shop, "a").json()
    cancelled = client.post(f"/v1/qr-codes/{first['id']}/cancel", headers={**shop, "Idempotency-Key": "cancel"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    second = _make(client, merchant_id, shop, "b", expires_in_seconds=60)
    assert second.status_code == 201, second.text
    _refused_naming(_make(client, merchant_id, shop, "c"), second.json()["id"], "active")
    clock.advance(seconds=59)
    _refused_naming(_make(client, merchant_id, shop, "d"), second.json()["id"], "active")  # not yet expired
    clock.advance(seconds=1)
    third = _make(client, merchant_id, shop, "e")
    assert third.status_code == 201, third.text
    expired = client.get(f"/v1/qr-codes/{second.json()['id']}", headers=shop).json()
    assert expired["status"] == "expired" and expired["order_ref"] == "NU-1"  # it keeps its order reference
    payer_id, me = customer(client, PEOPLE[0], 3)
    fund(engine, f"wallet.{payer_id}", 100_00, "payer")
    late = client.post(f"/v1/qr-codes/{second.json()['id']}/pay", headers={**me, "Idempotency-Key": "late"}, json={})
    assert (late.status_code, late.json()["code"]) == (409, "qr_code_expired"), late.text
    paid = client.post(f"/v1/qr-codes/{third.json()['id']}/pay", headers={**me, "Idempotency-Key": "pay"}, json={})
    assert paid.status_code == 201, paid.text
    assert balance(engine, f"wallet.{payer_id}") == 100_00 - 25_00
    assert_audit_clean(engine)


def test_codes_racing_for_one_order_make_one(client, engine) -> None:  # noqa: F811
    merchant_id, _ = merchant(client)
    start = threading.Barrier(6)

    def make(n: int) -> str:
        start.wait()
        try:
            row = transaction(
                engine, lambda uow: service.create_qr(uow, merchant_id, QrKind.dynamic, 25_00, 900, "R-1")
            )
        except OrderRefInUse as refused:
            return "refused:" + refused.extra["qr_code_id"]
        return "made:" + row["id"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(make, range(6)))
    made = [o.split(":")[1] for o in outcomes if o.startswith("made:")]
    assert len(made) == 1, outcomes
    assert sorted(outcomes) == sorted(["made:" + made[0]] + ["refused:" + made[0]] * 5)
    with reading(engine) as connection:
        codes = connection.execute(select(qr_codes.c.id).where(qr_codes.c.order_ref == "R-1")).scalars().all()
    assert codes == made


def _row(n: int, merchant_id: str, status: str, order_ref: str | None, kind: str = "dynamic") -> dict:
    return {
        "id": f"qr_legacy_{n}",
        "merchant_id": merchant_id,
        "kind": kind,
        "amount": 25_00 if kind == "dynamic" else None,
        "order_ref": order_ref,
        "status": status,
        "expires_at": 10**18 if kind == "dynamic" else None,
        "payment_id": f"qrp_{n}" if status == "paid" else None,
        "created_at": n,
    }


def test_migration_0049_backfills_a_database_that_holds_duplicates(empty_db_url: str) -> None:
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0049")
    engine: Engine = create_engine_from_url(empty_db_url)
    try:
        upgrade(engine, str(revision.down_revision))
        legacy = [
            _row(1, "m1", "paid", "DUP"),  # two paid for one order (charged twice before the fix)
            _row(2, "m1", "paid", "DUP"),
            _row(3, "m1", "active", "DUP"),
            _row(4, "m1", "active", "OPEN"),  # two open: the newer holds the order
            _row(5, "m1", "active", "OPEN"),
            _row(6, "m1", "cancelled", "OPEN"),
            _row(7, "m2", "active", "OPEN"),  # another merchant's
            _row(8, "m1", "active", None),
            _row(9, "m1", "active", "STATIC", kind="static"),
        ]
        with engine.begin() as connection:  # only the columns a database before 0049 has
            connection.execute(insert(qr_codes), legacy)
        upgrade(engine)
        with engine.connect() as connection:
            held = dict(connection.execute(select(qr_codes.c.id, qr_codes.c.open_order_ref)).all())
            statuses = dict(connection.execute(select(qr_codes.c.id, qr_codes.c.status)).all())
        assert held == {
            "qr_legacy_1": None,
            "qr_legacy_2": "DUP",  # a paid one, the newer
            "qr_legacy_3": None,
            "qr_legacy_4": None,
            "qr_legacy_5": "OPEN",
            "qr_legacy_6": None,
            "qr_legacy_7": "OPEN",
            "qr_legacy_8": None,
            "qr_legacy_9": None,
        }
        assert statuses == {r["id"]: r["status"] for r in legacy}  # no code changed status
        with pytest.raises(IntegrityError), engine.begin() as connection:  # the index holds from now on
            connection.execute(insert(qr_codes), [{**_row(10, "m1", "active", "OPEN"), "open_order_ref": "OPEN"}])
        config = alembic_config()
        with engine.begin() as connection:  # and the migration goes down and up again
            config.attributes["connection"] = connection
            command.downgrade(config, str(revision.down_revision))
        upgrade(engine)
    finally:
        engine.dispose()
