"""A payment held for review (人工审核) and then approved, in both sides' statements (账单) on SQLite and
PostgreSQL: the line reads as the payment it became — kind `p2p_transfer` or `qr_payment`, the payment's id,
the other party as counterparty — and that kind's filter finds it, a page at a time; a rejected hold keeps
its own kind (`payment_review_hold`, voided), which the hold's filter still finds."""

from __future__ import annotations

from puhui.db import reading
from puhui.payments import bills
from tests.payments.test_reviews import check, dynamic_qr, staff, world  # noqa: F401 - fixtures
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    MERCHANT,
    PASSWORD,
    assert_books_clean,
    client,
    login,
    make_customer,
)

TWO = {"verification": "two_factors", "password": PASSWORD}


def lines(client, headers: dict, **query) -> list[dict]:  # type: ignore[no-untyped-def]
    """Every line of the caller's statement the query admits, read a page of `limit` at a time."""
    found: list[dict] = []
    before = None
    for _ in range(50):
        params = {**query, **({"before": before} if before else {})}
        answer = client.get("/v1/wallets/me/transactions", headers=headers, params=params)
        assert answer.status_code == 200, answer.text
        found += answer.json()["transactions"]
        if (before := answer.json()["next_before"]) is None:
            return found
    raise AssertionError("the pages did not end")


def decide(client, officer: dict, review_id: str, decision: str) -> None:  # type: ignore[no-untyped-def]
    done = client.post(f"/v1/risk/reviews/{review_id}/{decision}", headers=officer, json={"note": "checked"})
    assert done.status_code == 200, done.text


def test_an_approved_p2p_reads_as_the_transfer_on_both_sides(client, engine, check, world):  # noqa: F811
    friend, phone = make_customer(client, engine, "13912345678", "620", 0)
    payee = login(client, phone)
    sent = client.post("/v1/transfers/p2p", headers=world["payer"], json={"to_customer_id": friend, "amount": "20.00"})
    assert sent.status_code == 201, sent.text
    held = client.post("/v1/transfers/p2p", headers=world["payer"], json={"to_customer_id": friend, "amount": "400.00"})
    assert held.status_code == 202, held.text
    payment_id = held.json()["review_id"]
    [waiting] = [line for line in lines(client, payee) if line["amount"] == "400.00"]
    assert (waiting["kind"], waiting["status"], waiting["id"]) == (
        "payment_review_hold",
        "pending",
        payment_id + ".hold",
    )
    rejected = client.post(
        "/v1/transfers/p2p", headers=world["payer"], json={"to_customer_id": friend, "amount": "300.00"}
    )
    assert rejected.status_code == 202, rejected.text
    decide(client, world["officer"], rejected.json()["review_id"], "reject")
    decide(client, world["officer"], payment_id, "approve")

    for who, headers, direction in (("payee", payee, "in"), ("payer", world["payer"], "out")):
        everything = {line["id"]: line for line in lines(client, headers)}
        approved = everything[payment_id]
        assert (approved["kind"], approved["status"], approved["direction"], approved["amount"]) == (
            "p2p_transfer",
            "posted",
            direction,
            "400.00",
        ), who
        assert payment_id + ".hold" not in everything, who
        for limit in (1, 2, 20):  # the filter finds it on whichever page it falls
            transfers = lines(client, headers, kind="p2p_transfer", limit=limit)
            assert [(t["id"], t["amount"]) for t in transfers] == [
                (payment_id, "400.00"),
                (sent.json()["id"] + ".t", "20.00"),
            ], (who, limit)
        holds = lines(client, headers, kind="payment_review_hold", limit=1)
        assert [(h["id"], h["status"]) for h in holds] == [(rejected.json()["review_id"] + ".hold", "voided")], who

    with reading(engine) as connection:  # the other party is the payer's wallet, as on a transfer made at once
        page = bills.statement_page(connection, f"wallet.{friend}", bills.BillFilter(kind="p2p_transfer"))
    assert {bill.id: bill.counterparty for bill in page.bills} == {
        payment_id: f"wallet.{world['customer_id']}",
        sent.json()["id"] + ".t": f"wallet.{world['customer_id']}",
    }
    assert_books_clean(engine)


def test_an_approved_qr_payment_reads_as_the_payment_on_both_sides(client, engine, check, world):  # noqa: F811
    qr = dynamic_qr(client, world["merchant_id"], world["shop"], "400.00")
    held = client.post(f"/v1/qr-codes/{qr}/pay", headers=world["payer"], json=TWO)
    assert held.status_code == 202, held.text
    payment_id = held.json()["review_id"]
    decide(client, world["officer"], payment_id, "approve")

    [mine] = lines(client, world["payer"], kind="qr_payment")
    assert (mine["id"], mine["direction"], mine["status"], mine["amount"]) == (payment_id, "out", "posted", "400.00")
    assert mine["merchant_name"] == MERCHANT["name"]
    assert lines(client, world["payer"], kind="payment_review_hold") == []
    [theirs] = lines(client, world["shop"], kind="qr_payment")
    assert (theirs["id"], theirs["direction"], theirs["amount"]) == (payment_id, "in", "400.00")
    assert [line["kind"] for line in lines(client, world["shop"])] == ["merchant_fee", "qr_payment"]
    with reading(engine) as connection:
        page = bills.statement_page(connection, f"wallet.{world['merchant_id']}", bills.BillFilter(kind="qr_payment"))
    assert [bill.counterparty for bill in page.bills] == [f"wallet.{world['customer_id']}"]
    assert_books_clean(engine)
