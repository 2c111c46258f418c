"""A claim decided on review keeps the officer's words, on SQLite and PostgreSQL: a decline states its
reason (拒赔理由, 保险法 Art. 24), stored and shown to the customer in the claim's answer; approving a claim
sent to review for missing documents needs a note saying why (`claim_note_required`), one sent for its
amount only does not; an empty reason, no body or an unknown field is refused and changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from puhui.db import reading
from puhui.db.tables import outbox
from tests.identity.helpers import make_staff
from tests.insurance.test_claims_http import claim, claims_snapshot, insured
from tests.insurance.test_insurance_http import (
    assert_audit_clean,
    call,
    client,  # noqa: F401 - the fixture
    problem,
)

REASON = "The invoice is not from a licensed hospital (非定点医院发票)."


def _review(client, engine, clock):  # type: ignore[no-untyped-def]
    _, _, me, policy = insured(client, engine, clock)
    no_docs = claim(client, me, "no-docs", policy["id"], documents=[])
    assert no_docs.status_code == 201 and no_docs.json()["reasons"] == ["documents_missing"], no_docs.text
    large = claim(
        client, me, "large", policy["id"], condition="S52", billed="90000.00", social_insurance_paid="10000.00"
    )
    assert large.status_code == 201 and large.json()["reasons"] == ["amount_above_threshold"], large.text
    return me, no_docs.json(), large.json()


def test_a_decline_states_its_reason_and_the_customer_reads_it(client, engine, clock):  # type: ignore[no-untyped-def]
    me, no_docs, _ = _review(client, engine, clock)
    officer = make_staff(client, "risk_officer")
    path = f"/v1/insurance/claims/{no_docs['id']}/decline"
    before = claims_snapshot(engine)
    assert call(client, path, officer, "d-none").status_code == 422  # no body: the reason is required
    problem(call(client, path, officer, "d-empty", {"reason": ""}), 422, "claim_reason_required")
    problem(call(client, path, officer, "d-blank", {"reason": "   "}), 422, "claim_reason_required")
    problem(call(client, path, officer, "d-long", {"reason": "x" * 1001}), 422, "invalid_request")
    problem(call(client, path, officer, "d-extra", {"reason": REASON, "by": "me"}), 422, "invalid_request")
    assert claims_snapshot(engine) == before
    declined = call(client, path, officer, "d-1", {"reason": REASON})
    assert declined.status_code == 200, declined.text
    got = declined.json()
    assert (got["status"], got["decision_note"], got["reasons"]) == (
        "declined",
        REASON,
        ["documents_missing", "declined_on_review"],
    )
    assert client.get(f"/v1/insurance/claims/{no_docs['id']}", headers=me).json()["decision_note"] == REASON
    # replayed, or declined again: answered as it is, the first reason kept
    assert call(client, path, officer, "d-1", {"reason": REASON}).json() == got
    assert call(client, path, officer, "d-2", {"reason": "another reason"}).json()["decision_note"] == REASON
    with reading(engine) as connection:
        events = connection.execute(select(outbox.c.type, outbox.c.payload)).all()
    assert any(t == "insurance.claim_declined" and REASON in str(p) for t, p in events)
    assert_audit_clean(engine)


def test_approving_without_documents_needs_a_note_an_amount_review_does_not(client, engine, clock):  # type: ignore[no-untyped-def]
    me, no_docs, large = _review(client, engine, clock)
    officer = make_staff(client, "risk_officer")
    path = f"/v1/insurance/claims/{no_docs['id']}/approve"
    before = claims_snapshot(engine)
    problem(call(client, path, officer, "a-none"), 422, "claim_note_required")
    problem(call(client, path, officer, "a-empty-body", {}), 422, "claim_note_required")
    problem(call(client, path, officer, "a-extra", {"note": "ok", "reason": "x"}), 422, "invalid_request")
    assert claims_snapshot(engine) == before
    note = "Hospital confirmed the stay and the invoice by phone; originals follow by post."
    approved = call(client, path, officer, "a-1", {"note": note})
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["decision_note"]) == ("paid", note)
    assert call(client, path, officer, "a-2").json() == approved.json()  # paid: answered as it is
    # sent to review for its amount only: its documents are there, the note optional
    paid = call(client, f"/v1/insurance/claims/{large['id']}/approve", officer, "a-large")
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
    assert paid.json()["decision_note"] is None
    assert_audit_clean(engine)
