"""What the payer is shown, on SQLite and PostgreSQL: a QR payment, its QR code and its bill lines name the
merchant (its trading name, read through identity's public query), not only its id; and a held payment
waiting for an officer is `under_review` wherever the API says it (the held payment's answer, one review,
the review queue), the queue's filter still taking the older word `pending`."""

from __future__ import annotations

from puhui.db import reading
from puhui.payments import reviews
from tests.payments.test_reviews import check, dynamic_qr, staff, world  # noqa: F401 - fixtures
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    MERCHANT,
    PASSWORD,
    client,
    login,
    make_customer,
)

TWO = {"verification": "two_factors", "password": PASSWORD}


def test_a_qr_payment_its_code_and_its_bills_name_the_merchant(client, engine, world):  # noqa: F811
    qr = dynamic_qr(client, world["merchant_id"], world["shop"], "88.50")
    scanned = client.get(f"/v1/qr-codes/{qr}", headers=world["payer"]).json()
    assert scanned["merchant_name"] == MERCHANT["name"] and scanned["merchant_id"] == world["merchant_id"]

    paid = client.post(f"/v1/qr-codes/{qr}/pay", headers=world["payer"], json=TWO)
    assert paid.status_code == 201, paid.text
    payment_id = paid.json()["id"]
    for viewer in (world["payer"], world["shop"], world["officer"]):
        shown = client.get(f"/v1/payments/{payment_id}", headers=viewer).json()
        assert shown["payee_name"] == MERCHANT["name"] and shown["payee_id"] == world["merchant_id"], shown

    lines = client.get("/v1/wallets/me/transactions", headers=world["payer"]).json()["transactions"]
    by_kind = {line["kind"]: line for line in lines}
    assert by_kind["qr_payment"]["merchant_name"] == MERCHANT["name"], lines
    assert "merchant_name" not in by_kind["top_up"]  # the platform's reserve is no merchant


def test_a_p2p_transfer_names_no_payee(client, engine, world):  # noqa: F811
    friend, _ = make_customer(client, engine, "13912345678", "620", 0)
    sent = client.post("/v1/transfers/p2p", headers=world["payer"], json={"to_customer_id": friend, "amount": "1.00"})
    assert sent.status_code == 201, sent.text
    shown = client.get(f"/v1/payments/{sent.json()['id']}", headers=world["payer"]).json()
    assert "payee_name" not in shown  # a customer's name is theirs, not the payer's to read
    lines = client.get("/v1/wallets/me/transactions", headers=world["payer"]).json()["transactions"]
    assert all("merchant_name" not in line for line in lines if line["kind"] == "p2p_transfer"), lines


def test_a_held_payment_is_under_review_in_the_queue_too(client, engine, check, world):  # noqa: F811
    qr = dynamic_qr(client, world["merchant_id"], world["shop"], "400.00")
    held = client.post(f"/v1/qr-codes/{qr}/pay", headers=world["payer"], json=TWO)
    assert held.status_code == 202 and held.json()["status"] == "under_review", held.text
    review_id = held.json()["review_id"]

    queue = client.get("/v1/risk/reviews", headers=world["officer"])
    assert queue.status_code == 200, queue.text
    assert queue.json()["status"] == "under_review", queue.json()  # it said `pending`
    assert [(r["review_id"], r["status"]) for r in queue.json()["reviews"]] == [(review_id, "under_review")]
    old_word = client.get("/v1/risk/reviews", headers=world["officer"], params={"status": "pending"})
    assert old_word.status_code == 200 and old_word.json() == queue.json()
    new_word = client.get("/v1/risk/reviews", headers=world["officer"], params={"status": "under_review"})
    assert new_word.status_code == 200 and new_word.json() == queue.json()  # the filter speaks the answer's word

    with reading(engine) as connection:
        for word in ("under_review", "pending"):
            assert [r["id"] for r in reviews.queue(connection, word, 10)] == [review_id], word
    assert reviews.stored_status("under_review") == reviews.stored_status("pending") == "pending"
    assert reviews.api_status("pending") == "under_review" and reviews.api_status("approved") == "approved"
