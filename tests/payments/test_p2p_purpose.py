"""A P2P transfer's declared purpose (用途) over HTTP on SQLite and PostgreSQL: stored, carried by the
`p2p.completed` event, shown on the payment to its payer and payee, kept by a replay and by a transfer
held for review and approved later; a transfer without one answers as before; an unknown purpose is
refused with a 4xx problem and changes nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from puhui.db import reading, transaction
from puhui.db.tables import outbox
from puhui.payments import risk_hook, service
from puhui.payments.errors import UnknownPurpose
from puhui.payments.models import Purpose
from puhui.payments.tables import payment_purposes
from tests.payments.test_payments_http import (  # noqa: F401 - fixtures
    PEOPLE,
    assert_audit_clean,
    balance,
    client,
    customer,
    fund,
    snapshot,
)


def _completed(engine) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        rows = connection.execute(select(outbox.c.key, outbox.c.payload).where(outbox.c.type == "p2p.completed"))
        return {key: json.loads(p) if isinstance(p, str) else p for key, p in rows}


def _stored(engine) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return {r.payment_id: r.purpose for r in connection.execute(select(payment_purposes))}


def _everything(engine) -> dict:  # type: ignore[no-untyped-def]
    return {**snapshot(engine), "purposes": _stored(engine)}


def test_a_declared_purpose_is_stored_published_and_shown(client, engine) -> None:  # noqa: F811
    payer_id, payer = customer(client, PEOPLE[0], 2)
    payee_id, payee = customer(client, PEOPLE[1], 0)
    fund(engine, f"wallet.{payer_id}", 5_000_00, "p")

    def send(key: str, **extra: str):  # type: ignore[no-untyped-def]
        body = {"to_customer_id": payee_id, "amount": "88.80", **extra}
        return client.post("/v1/transfers/p2p", headers={**payer, "Idempotency-Key": key}, json=body)

    gift = send("gift", purpose="gift", client_transfer_id="g1")
    assert gift.status_code == 201 and gift.json()["purpose"] == "gift", gift.text
    plain = send("plain", client_transfer_id="p1")
    assert plain.status_code == 201 and "purpose" not in plain.json()  # the answer is as it always was
    gift_id, plain_id = gift.json()["id"], plain.json()["id"]
    assert _stored(engine) == {gift_id: "gift"}
    events = _completed(engine)
    assert events[gift_id]["purpose"] == "gift" and "purpose" not in events[plain_id]
    assert client.get(f"/v1/payments/{gift_id}", headers=payer).json()["purpose"] == "gift"  # the payer's bill
    assert client.get(f"/v1/payments/{gift_id}", headers=payee).json()["purpose"] == "gift"
    assert "purpose" not in client.get(f"/v1/payments/{plain_id}", headers=payer).json()
    again = send("gift-again", purpose="gift", client_transfer_id="g1")  # the same transfer, replayed
    assert again.status_code == 200 and again.json() == gift.json()
    assert balance(engine, f"wallet.{payee_id}") == 2 * 88_80
    assert_audit_clean(engine)


@pytest.mark.parametrize("purpose", ["bribe", "GIFT", "", 7, None])
def test_an_unknown_purpose_is_refused_and_changes_nothing(client, engine, purpose) -> None:  # noqa: F811
    payer_id, payer = customer(client, PEOPLE[0], 2)
    payee_id, _ = customer(client, PEOPLE[1], 0)
    fund(engine, f"wallet.{payer_id}", 5_000_00, "p")
    before = _everything(engine)
    body = {"to_customer_id": payee_id, "amount": "10.00", "purpose": purpose}
    refused = client.post("/v1/transfers/p2p", headers={**payer, "Idempotency-Key": "bad"}, json=body)
    if purpose is None:  # null is "none declared"
        assert refused.status_code == 201, refused.text
        return
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_request", refused.text
    assert _everything(engine) == before

    def direct(uow):  # type: ignore[no-untyped-def]
        return service.pay_p2p(uow, payer_id, payee_id, 10_00, "direct", purpose=str(purpose))

    with pytest.raises(UnknownPurpose) as error:
        transaction(engine, direct)
    assert error.value.code == "unknown_purpose" and error.value.status == 422
    assert _everything(engine) == before


from tests.payments.test_reviews import ThresholdCheck  # noqa: E402 - reviews from 300 CNY


def test_a_held_transfer_keeps_its_purpose_until_it_is_paid(client, engine) -> None:  # noqa: F811
    payer_id, payer = customer(client, PEOPLE[0], 2)
    payee_id, _ = customer(client, PEOPLE[1], 0)
    fund(engine, f"wallet.{payer_id}", 5_000_00, "p")
    risk_hook.install(engine, ThresholdCheck())
    try:
        held = client.post(
            "/v1/transfers/p2p",
            headers={**payer, "Idempotency-Key": "rent"},
            json={"to_customer_id": payee_id, "amount": "500.00", "purpose": Purpose.rent.value},
        )
    finally:
        risk_hook.uninstall(engine)
    assert held.status_code == 202, held.text
    assert _completed(engine) == {}
    review = transaction(engine, lambda uow: service.approve_review(uow, held.json()["review_id"], "officer", "ok"))
    assert review["status"] == "approved"
    [(payment_id, event)] = _completed(engine).items()
    assert event["purpose"] == "rent" and _stored(engine) == {payment_id: "rent"}
    assert balance(engine, f"wallet.{payee_id}") == 500_00
    assert_audit_clean(engine)
