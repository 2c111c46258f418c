"""Why a real-name check failed (`details_mismatch`, `not_confirmed`) is kept with it (`verifications.reason`,
migration 0050) and shown wherever verifications are listed: the customer's own record, staff's view, the export.
A passed check, one staff recorded without a reason and every row from before the migration read null (staff
may give one for a failure, never for a pass: 422 `reason_only_when_failed`, nothing recorded); a provider's failure
without a known reason is kept as `not_confirmed`, and a pass never carries one. On both backends."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select, text

from puhui.db import create_engine_from_url, reading
from puhui.db.migrate import alembic_config, upgrade
from puhui.identity import kyc
from puhui.identity.sandbox_verifier import FAILING_CARD
from puhui.identity.tables import verifications
from puhui.identity.verifier import Answer

from .helpers import ADMIN, LI, make_staff, snapshot
from .providers import Probing
from .test_self_verification import VERIFY, checks, own_identity, sandbox, zhang  # noqa: F401 - fixtures


def _reasons(listed: list[dict]) -> list[tuple[str, bool, str | None]]:
    return [(v["channel"], v["passed"], v["reason"]) for v in listed]


def test_a_failed_checks_reason_is_kept_and_listed_to_the_customer_and_to_staff(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, me, _ = zhang
    failing = sandbox.post(f"/v1/customers/{customer_id}/cards", headers=me, json={"card_number": FAILING_CARD})
    assert failing.status_code == 201
    checks(
        sandbox,
        me,
        {"channel": "mobile_operator", "phone": LI["phone"]},  # not hers: details_mismatch
        {"channel": "bank_card", "card_id": failing.json()["id"]},  # the sandbox's failing card: not_confirmed
        own_identity(),  # passes
    )
    operator = make_staff(sandbox, "operator")
    staff_body = {"channel": "in_person", "reference": "COUNTER-9", "passed": False}
    recorded = sandbox.post(f"/v1/customers/{customer_id}/verifications", headers=operator, json=staff_body)
    assert recorded.status_code == 201 and recorded.json()["reason"] is None, recorded.text
    with_reason = {"channel": "social_security", "reference": "COUNTER-10", "passed": False, "reason": "not_confirmed"}
    recorded = sandbox.post(f"/v1/customers/{customer_id}/verifications", headers=operator, json=with_reason)
    assert recorded.status_code == 201 and recorded.json()["reason"] == "not_confirmed", recorded.text
    expected = [
        ("mobile_operator", False, "details_mismatch"),
        ("bank_card", False, "not_confirmed"),
        ("public_security", True, None),
        ("in_person", False, None),  # staff gave no reason
        ("social_security", False, "not_confirmed"),  # staff said why
    ]
    assert _reasons(sandbox.get("/v1/customers/me", headers=me).json()["verifications"]) == expected
    assert _reasons(sandbox.get(f"/v1/customers/{customer_id}", headers=ADMIN).json()["verifications"]) == expected
    exported = sandbox.get(f"/v1/customers/{customer_id}/export", headers=me).json()
    assert _reasons(exported["customer"]["verifications"]) == expected
    with reading(engine) as connection:
        c = verifications.c
        stored = connection.execute(select(c.reason).where(c.customer_id == customer_id).order_by(c.seq))
        assert [r[0] for r in stored] == [reason for _, _, reason in expected]


def test_a_providers_reason_is_one_the_platform_knows(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, me, _ = zhang
    provider = Probing(engine, customer_id, answer=Answer(False, "ODD", "blurred_photo"))  # type: ignore[arg-type]
    sandbox.app.state.verifier = provider
    odd = checks(sandbox, me, own_identity())[0]
    assert odd["reason"] == "not_confirmed"
    provider.answer = Answer(True, "OK", "not_confirmed")  # a pass with a reason: none kept
    passed = checks(sandbox, me, own_identity())[0]
    assert passed["reason"] is None and passed["verification"]["passed"] is True
    listed = sandbox.get("/v1/customers/me", headers=me).json()["verifications"]
    assert _reasons(listed) == [("public_security", False, "not_confirmed"), ("public_security", True, None)]


def test_rows_from_before_migration_0050_read_as_null(empty_db_url: str) -> None:
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0050")
    engine: Engine = create_engine_from_url(empty_db_url)
    try:
        upgrade(engine, str(revision.down_revision))
        with engine.begin() as connection:  # only the columns a database before 0050 has
            connection.execute(
                text(
                    "INSERT INTO accounts (id, ledger, code, owner_id, flags, created_at) "
                    "VALUES ('wallet.cust_old', 'CNY', 'customer_wallet', 'cust_old', 0, 0)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO customers (id, status, wallet_account_id, created_at) "
                    "VALUES ('cust_old', 'active', 'wallet.cust_old', 0)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO verifications (customer_id, channel, reference, passed, recorded_by, at) "
                    "VALUES ('cust_old', 'face', 'OLD-1', :failed, 'cust_old', 0)"
                ),
                {"failed": False},
            )
        upgrade(engine)
        with engine.connect() as connection:
            [old] = kyc.verifications_of(connection, "cust_old")
        assert (old["channel"], old["passed"], old["reason"]) == ("face", False, None)
    finally:
        engine.dispose()


def test_staff_give_a_reason_only_for_a_failed_check(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, _, _ = zhang
    operator = make_staff(sandbox, "operator")
    body = {"channel": "in_person", "reference": "COUNTER-11", "passed": True, "reason": "details_mismatch"}
    before = snapshot(engine)
    refused = sandbox.post(f"/v1/customers/{customer_id}/verifications", headers=operator, json=body)
    assert refused.status_code == 422 and refused.json()["code"] == "reason_only_when_failed", refused.text
    assert snapshot(engine) == before  # nothing recorded
    odd = {**body, "passed": False, "reason": "blurred_photo"}  # not a reason the platform knows
    unknown = sandbox.post(f"/v1/customers/{customer_id}/verifications", headers=operator, json=odd)
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid_request", unknown.text
    assert snapshot(engine) == before
