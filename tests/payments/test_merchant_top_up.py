"""A merchant refunds after T+1 settlement, on SQLite and PostgreSQL. Settlement pays the merchant's takings
out to its bank account, so a later refund finds the wallet empty: it is refused with a clear 409
(`merchant_balance_insufficient`, the balance and how to fund it) that changes nothing; the merchant tops
up from its settlement account (商户充值, `POST /v1/merchants/me/top-ups`, through the sandbox bank), and the
refund goes through. The next settlement pays none of the top-up back out, and holds nothing of later
takings back for the refund. The ledger audit passes and the reserve covers every wallet."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from puhui.db import reading, transaction
from puhui.db.tables import audit_log
from puhui.ledger.tables import transfers
from puhui.payments import reserve
from puhui.payments.settlement import OTHER_PAYOUTS
from puhui.payments.wallets import MERCHANT_TOP_UP
from tests.notifying_bank import notifying_bank
from tests.payments.test_operations_http import make_merchant_two, staff
from tests.payments.test_payments_http import snapshot
from tests.payments.test_settlement import (  # noqa: F401 - fixtures
    ADMIN,
    MERCHANT,
    D,
    assert_books_clean,
    balance,
    client,
    login,
    make_customer,
    make_merchant,
    pay,
)

ACCOUNT = MERCHANT["settlement_account"]  # the merchant's own bank account: takings go to it, top-ups come from it
TOP_UPS = "/v1/merchants/me/top-ups"


@pytest.fixture
def bank(client):  # noqa: F811 - the fixture
    """The sandbox bank, posting its signed notifications to the app; the merchant has 500.00 at its bank."""
    return notifying_bank(client, ACCOUNT, 500_00, 100_000_00)


def settle(client, operator: dict, day: dt.date, merchant_id: str) -> dict:  # noqa: F811
    done = client.post("/v1/settlements", headers=operator, json={"business_date": day.isoformat()})
    assert done.status_code == 200, done.text
    [row] = [row for row in done.json()["settlements"] if row["merchant_id"] == merchant_id]
    return row


def refund(client, shop: dict, payment_id: str, amount: str, key: str):  # noqa: F811
    return client.post(
        f"/v1/payments/{payment_id}/refunds", headers={**shop, "Idempotency-Key": key}, json={"amount": amount}
    )


def test_refund_after_settlement_top_up_then_refund(client, engine, clock, bank):  # noqa: F811
    _, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    merchant_id, shop = make_merchant(client)
    operator = staff(client, "operator")
    paid = pay(client, phone, merchant_id, shop, "100.00")  # fee 0.60: 99.40 in the wallet

    clock.advance(hours=24)  # D+1: D's takings are paid out to the merchant's bank account
    first = settle(client, operator, D, merchant_id)
    assert (first["net"], first["state"]) == ("99.40", "pending")
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    assert settle(client, operator, D, merchant_id)["state"] == "paid"
    assert balance(engine, f"wallet.{merchant_id}") == 0 and bank.card_balance(ACCOUNT) == 500_00 + 99_40

    # the refund needs 99.40 from the merchant (100.00 less the 0.60 fee returned): it has nothing
    before = snapshot(engine)
    refused = refund(client, shop, paid["id"], "100.00", "rf-1")
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "merchant_balance_insufficient", problem
    assert (problem["available"], problem["needed"], problem["top_up_at_least"]) == ("0.00", "99.40", "99.40")
    assert problem["top_up"] == TOP_UPS and TOP_UPS in problem["detail"] and "0.00 CNY" in problem["detail"]
    assert snapshot(engine) == before
    # the customers' top-up (from a bound card) is still for customers
    customers_only = client.post("/v1/wallets/me/top-ups", headers=shop, json={"card_id": "c1", "amount": "1.00"})
    assert customers_only.status_code == 403

    # bad top-ups are refused and change nothing
    for body in ({"amount": "0.00"}, {"amount": "-1.00"}, {"amount": "1.001"}, {"amount": 150}, {}, {"card_id": "x"}):
        bad = client.post(TOP_UPS, headers=shop, json={"amount": "1.00", **body} if "card_id" in body else body)
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json"), body
    customer = client.post("/v1/customers/login", json={"phone": phone, "password": "correct horse battery"})
    as_customer = {"Authorization": f"Bearer {customer.json()['token']}"}
    assert client.post(TOP_UPS, headers=as_customer, json={"amount": "1.00"}).status_code == 403
    assert snapshot(engine) == before and bank.card_balance(ACCOUNT) == 500_00 + 99_40

    # the merchant tops up 150.00 from its settlement account
    top = client.post(TOP_UPS, headers={**shop, "Idempotency-Key": "mt-1"}, json={"amount": "150.00"})
    assert top.status_code == 202, top.text
    order = top.json()
    assert (order["kind"], order["status"], order["amount"], order["card_id"]) == (
        "top_up",
        "pending",
        "150.00",
        "settlement_account",
    )
    assert order["card"] == ACCOUNT[:6] + "*" * (len(ACCOUNT) - 10) + ACCOUNT[-4:]
    again = client.post(TOP_UPS, headers={**shop, "Idempotency-Key": "mt-1"}, json={"amount": "150.00"})
    assert again.status_code == 202 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == order["id"]
    funds = client.get("/v1/wallets/me", headers=shop).json()["refund_funds"]
    assert (funds["available"], funds["pending_in"]) == ("0.00", "150.00")
    waiting = refund(client, shop, paid["id"], "100.00", "rf-1")  # not yet: the bank has not confirmed it
    assert (
        waiting.json()["code"] == "merchant_balance_insufficient" and "pending at the bank" in waiting.json()["detail"]
    )
    # the pending top-up covers the 99.40: nothing more to top up, wait for it
    assert (waiting.json()["top_up_at_least"], waiting.json()["top_up_pending"]) == ("0.00", "150.00")
    assert "wait for them" in waiting.json()["detail"] and "Top up at least" not in waiting.json()["detail"]

    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))  # the bank debits the account and notifies
    assert bank.card_balance(ACCOUNT) == 500_00 + 99_40 - 150_00
    assert client.get(f"{TOP_UPS}/{order['id']}", headers=shop).json()["status"] == "succeeded"
    assert [o["id"] for o in client.get(TOP_UPS, headers=shop).json()["top_ups"]] == [order["id"]]
    _, other_shop = make_merchant_two(client)  # nobody else sees it
    assert client.get(f"{TOP_UPS}/{order['id']}", headers=other_shop).status_code == 404
    assert client.get(TOP_UPS, headers=other_shop).json() == {"top_ups": []}
    assert client.get(f"/v1/wallets/me/top-ups/{order['id']}", headers=as_customer).status_code == 404
    wallet = client.get("/v1/wallets/me", headers=shop).json()
    assert (wallet["balance"], wallet["refund_funds"]["available"]) == ("0.00", "150.00")
    assert "refund_funds" not in client.get("/v1/wallets/me", headers=as_customer).json()

    done = refund(client, shop, paid["id"], "100.00", "rf-1")  # the same key as the refused one
    assert done.status_code == 201, done.text
    assert done.json()["fee_returned"] == "0.60"
    assert balance(engine, f"wallet.{merchant_id}") == 0
    assert balance(engine, f"refund_funds.{merchant_id}") == 150_00 - 99_40
    assert balance(engine, f"wallet.{paid['payer_id']}") == 1_000_00
    assert_books_clean(engine)

    # D+1 settles to nothing: the refund is offset by the refund funds that paid it, the top-up stays
    clock.advance(hours=24)
    row = settle(client, operator, D + dt.timedelta(days=1), merchant_id)
    assert (row["gross"], row["refunds"], row["other_credits"], row["net"], row["carried"], row["state"]) == (
        "0.00",
        "99.40",
        "99.40",
        "0.00",
        "0.00",
        "nothing",
    )
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    assert bank.card_balance(ACCOUNT) == 500_00 + 99_40 - 150_00
    assert balance(engine, f"refund_funds.{merchant_id}") == 50_60

    # D+2's takings are paid out whole: nothing is held back for the refund the top-up paid
    pay(client, phone, merchant_id, shop, "50.00")  # fee 0.30
    clock.advance(hours=24)
    row = settle(client, operator, D + dt.timedelta(days=2), merchant_id)
    assert (row["gross"], row["net"], row["carried"]) == ("50.00", "49.70", "0.00")
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    assert settle(client, operator, D + dt.timedelta(days=2), merchant_id)["state"] == "paid"
    assert bank.card_balance(ACCOUNT) == 500_00 + 99_40 - 150_00 + 49_70
    assert balance(engine, f"wallet.{merchant_id}") == 0
    assert balance(engine, f"refund_funds.{merchant_id}") == 50_60  # kept for the next refund
    assert MERCHANT_TOP_UP not in OTHER_PAYOUTS

    with reading(engine) as connection:
        audited = connection.execute(
            select(audit_log.c.action, audit_log.c.status_code).where(audit_log.c.principal == merchant_id)
        ).all()
    assert ("payments.merchant_top_up", 202) in audited and ("payments.refund", 409) in audited
    assert ("payments.refund", 201) in audited
    assert_books_clean(engine)


def test_a_refund_draws_on_the_wallet_first_then_the_refund_funds(client, engine, clock, bank):  # noqa: F811
    """A refund larger than the day's takings: the takings pay what they can, the refund funds only the
    rest, and the day settles to nothing (not to a shortfall taken from later takings)."""
    _, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    merchant_id, shop = make_merchant(client)
    operator = staff(client, "operator")
    first = pay(client, phone, merchant_id, shop, "200.00")  # fee 1.20
    clock.advance(hours=24)
    settle(client, operator, D, merchant_id)
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    top = client.post(TOP_UPS, headers={**shop, "Idempotency-Key": "mt-1"}, json={"amount": "300.00"})
    assert top.status_code == 202, top.text
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))

    pay(client, phone, merchant_id, shop, "50.00")  # D+1's takings: 49.70 in the wallet
    done = refund(client, shop, first["id"], "200.00", "rf-1")  # needs 198.80 from the merchant
    assert done.status_code == 201, done.text
    assert balance(engine, f"wallet.{merchant_id}") == 0
    assert balance(engine, f"refund_funds.{merchant_id}") == 300_00 - (198_80 - 49_70)
    with reading(engine) as connection:
        moved = connection.execute(
            select(transfers.c.amount).where(transfers.c.code == "merchant_refund_funding")
        ).scalar_one()
    assert moved == 198_80 - 49_70

    clock.advance(hours=24)
    row = settle(client, operator, D + dt.timedelta(days=1), merchant_id)
    assert (row["gross"], row["refunds"], row["other_credits"], row["net"], row["state"]) == (
        "50.00",
        "198.80",
        "149.10",
        "0.00",
        "nothing",
    )
    assert_books_clean(engine)


def test_a_refund_beyond_wallet_and_refund_funds_is_refused_and_changes_nothing(client, engine, clock, bank):  # noqa: F811
    _, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    merchant_id, shop = make_merchant(client)
    operator = staff(client, "operator")
    first = pay(client, phone, merchant_id, shop, "100.00")
    clock.advance(hours=24)
    settle(client, operator, D, merchant_id)
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    client.post(TOP_UPS, headers={**shop, "Idempotency-Key": "mt-1"}, json={"amount": "30.00"})
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    pay(client, phone, merchant_id, shop, "20.00")  # 19.88 in the wallet

    before = snapshot(engine)
    refused = refund(client, shop, first["id"], "60.00", "rf-1")  # needs 59.64; has 19.88 + 30.00
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert (problem["code"], problem["available"], problem["needed"], problem["top_up_at_least"]) == (
        "merchant_balance_insufficient",
        "49.88",
        "59.64",
        "9.76",
    )
    assert snapshot(engine) == before
    part = refund(client, shop, first["id"], "50.00", "rf-2")  # needs 49.70: it fits
    assert part.status_code == 201, part.text
    assert balance(engine, f"wallet.{merchant_id}") == 0
    assert balance(engine, f"refund_funds.{merchant_id}") == 49_88 - 49_70
    assert_books_clean(engine)


def test_a_pay_later_purchase_is_refunded_after_settlement_once_the_merchant_tops_up(client, engine, clock, bank):  # noqa: F811
    """退款退回花呗 after T+1: the refund of a pay-later purchase was blocked the same way; with the top-up it
    goes through and repays the loan."""
    transaction(engine, lambda uow: reserve.inject_capital(uow, "capital.test", 100_000_00))
    customer_id, phone = make_customer(client, engine, "13812345678", "531", 0)
    merchant_id, shop = make_merchant(client)
    operator = staff(client, "operator")
    line = client.post(
        "/v1/lending/lines",
        headers={**ADMIN, "Idempotency-Key": f"line-{customer_id}"},
        json={"customer_id": customer_id, "limit": "2000.00", "annual_income": "120000.00"},
    )
    assert line.status_code == 201, line.text
    code = client.post(
        f"/v1/merchants/{merchant_id}/qr-codes",
        headers=shop,
        json={"kind": "dynamic", "amount": "300.00", "expires_in_seconds": 600},
    ).json()["id"]
    bought = client.post(
        f"/v1/lending/checkout/{code}",
        headers={**login(client, phone), "Idempotency-Key": "co-1"},
        json={"plan": "pay_later", "verification": "two_factors", "password": "correct horse battery"},
    )
    assert bought.status_code == 201, bought.text
    loan_id, payment_id = bought.json()["loan"]["id"], bought.json()["payment"]["id"]
    clock.advance(hours=24)
    assert settle(client, operator, D, merchant_id)["net"] == "298.20"
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))

    refused = refund(client, shop, payment_id, "300.00", "rf-1")
    assert (refused.status_code, refused.json()["code"]) == (409, "merchant_balance_insufficient"), refused.text
    top = client.post(TOP_UPS, headers={**shop, "Idempotency-Key": "mt-1"}, json={"amount": "298.20"})
    assert top.status_code == 202, top.text
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    done = refund(client, shop, payment_id, "300.00", "rf-1")
    assert done.status_code == 201, done.text
    loan = client.get(f"/v1/lending/loans/{loan_id}", headers=login(client, phone)).json()
    assert (loan["status"], loan["outstanding_principal"]) == ("paid_off", "0.00"), loan
    assert balance(engine, f"wallet.{customer_id}") == 0  # the refund went to the loan
    assert balance(engine, f"refund_funds.{merchant_id}") == 0
    assert_books_clean(engine)


WITHDRAWALS = "/v1/merchants/me/refund-funds/withdrawals"


def _funded(client, engine, clock, bank, amount: str) -> tuple[str, dict, str, dict]:  # noqa: F811
    """A merchant whose D takings (a 100.00 payment) were settled, then topped up by `amount` (confirmed)."""
    _, phone = make_customer(client, engine, "13812345678", "531", 1_000_00)
    merchant_id, shop = make_merchant(client)
    paid = pay(client, phone, merchant_id, shop, "100.00")
    clock.advance(hours=24)
    settle(client, staff(client, "operator"), D, merchant_id)
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    if amount:
        top = client.post(TOP_UPS, headers={**shop, "Idempotency-Key": "mt-1"}, json={"amount": amount})
        assert top.status_code == 202, top.text
        bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    return merchant_id, shop, phone, paid


def test_the_shortfall_counts_the_top_ups_pending_at_the_bank(client, engine, clock, bank):  # noqa: F811
    merchant_id, shop, _, paid = _funded(client, engine, clock, bank, "")
    first = refund(client, shop, paid["id"], "100.00", "rf-1").json()
    assert (first["top_up_at_least"], first["top_up_pending"]) == ("99.40", "0.00")
    client.post(TOP_UPS, headers={**shop, "Idempotency-Key": "mt-1"}, json={"amount": "60.00"})  # left pending
    part = refund(client, shop, paid["id"], "100.00", "rf-1").json()
    assert (part["code"], part["top_up_at_least"], part["top_up_pending"]) == (
        "merchant_balance_insufficient",
        "39.40",
        "60.00",
    )
    assert "Top up at least 39.40 CNY" in part["detail"] and "besides those pending" in part["detail"]
    client.post(TOP_UPS, headers={**shop, "Idempotency-Key": "mt-2"}, json={"amount": "50.00"})
    covered = refund(client, shop, paid["id"], "100.00", "rf-1").json()
    assert (covered["top_up_at_least"], covered["top_up_pending"]) == ("0.00", "110.00")
    assert "wait for them" in covered["detail"] and "Top up at least" not in covered["detail"]
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    assert refund(client, shop, paid["id"], "100.00", "rf-1").status_code == 201
    assert balance(engine, f"refund_funds.{merchant_id}") == 110_00 - 99_40
    assert_books_clean(engine)


def test_a_merchant_order_above_the_single_order_maximum_is_refused(client, engine, clock, bank):  # noqa: F811
    merchant_id, shop, _, _ = _funded(client, engine, clock, bank, "100.00")
    before = snapshot(engine)
    for path in (TOP_UPS, WITHDRAWALS):
        for amount in ("99999999999.00", "5000000.01"):
            refused = client.post(path, headers={**shop, "Idempotency-Key": f"big-{amount}"}, json={"amount": amount})
            assert refused.status_code == 422, refused.text
            assert refused.json()["code"] == "amount_above_order_maximum" and refused.json()["maximum"] == "5000000.00"
    assert snapshot(engine) == before and bank.card_balance(ACCOUNT) == 500_00 + 99_40 - 100_00


def test_a_merchant_withdraws_unused_refund_funds_to_its_settlement_account(client, engine, clock, bank):  # noqa: F811
    merchant_id, shop, phone, paid = _funded(client, engine, clock, bank, "150.00")
    at_bank = bank.card_balance(ACCOUNT)
    assert at_bank == 500_00 + 99_40 - 150_00
    before = snapshot(engine)
    too_much = client.post(WITHDRAWALS, headers={**shop, "Idempotency-Key": "w-0"}, json={"amount": "150.01"})
    assert too_much.status_code == 409, too_much.text
    assert (too_much.json()["code"], too_much.json()["available"]) == ("refund_funds_insufficient", "150.00")
    for body in ({"amount": "0.00"}, {"amount": "-1.00"}, {"amount": "1.001"}, {"amount": 5}, {}):
        bad = client.post(WITHDRAWALS, headers={**shop, "Idempotency-Key": "w-bad"}, json=body)
        assert bad.status_code == 422, (body, bad.text)
    customer = client.post("/v1/customers/login", json={"phone": phone, "password": "correct horse battery"})
    as_customer = {"Authorization": f"Bearer {customer.json()['token']}"}
    assert client.post(WITHDRAWALS, headers=as_customer, json={"amount": "1.00"}).status_code == 403
    assert snapshot(engine) == before

    out = client.post(WITHDRAWALS, headers={**shop, "Idempotency-Key": "w-1"}, json={"amount": "100.00"})
    assert out.status_code == 202, out.text
    order = out.json()
    assert (order["kind"], order["status"], order["amount"], order["card_id"]) == (
        "withdrawal",
        "pending",
        "100.00",
        "settlement_account",
    )
    again = client.post(WITHDRAWALS, headers={**shop, "Idempotency-Key": "w-1"}, json={"amount": "100.00"})
    assert again.status_code == 202 and again.json()["id"] == order["id"]
    funds = client.get("/v1/wallets/me", headers=shop).json()["refund_funds"]
    assert funds["available"] == "50.00"  # held: a refund cannot use it meanwhile
    held = refund(client, shop, paid["id"], "100.00", "rf-1")
    assert (held.status_code, held.json()["available"]) == (409, "50.00")
    second = client.post(WITHDRAWALS, headers={**shop, "Idempotency-Key": "w-2"}, json={"amount": "50.01"})
    assert second.status_code == 409 and second.json()["code"] == "refund_funds_insufficient"

    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))  # the bank pays the account and notifies
    assert bank.card_balance(ACCOUNT) == at_bank + 100_00
    assert client.get(f"{WITHDRAWALS}/{order['id']}", headers=shop).json()["status"] == "succeeded"
    assert [o["id"] for o in client.get(WITHDRAWALS, headers=shop).json()["withdrawals"]] == [order["id"]]
    assert balance(engine, f"refund_funds.{merchant_id}") == 50_00
    _, other_shop = make_merchant_two(client)
    assert client.get(f"{WITHDRAWALS}/{order['id']}", headers=other_shop).status_code == 404
    assert client.get(f"/v1/wallets/me/withdrawals/{order['id']}", headers=as_customer).status_code == 404
    assert client.get("/v1/wallets/me/withdrawals", headers=as_customer).json() == {"withdrawals": []}

    # the rest is withdrawn too; settlement pays none of it out again
    rest = client.post(WITHDRAWALS, headers={**shop, "Idempotency-Key": "w-3"}, json={"amount": "50.00"})
    assert rest.status_code == 202, rest.text
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    assert balance(engine, f"refund_funds.{merchant_id}") == 0 and bank.card_balance(ACCOUNT) == at_bank + 150_00
    clock.advance(hours=24)
    row = settle(client, staff(client, "operator"), D + dt.timedelta(days=1), merchant_id)
    assert (row["net"], row["state"]) == ("0.00", "nothing")
    with reading(engine) as connection:
        audited = connection.execute(
            select(audit_log.c.action, audit_log.c.status_code).where(audit_log.c.principal == merchant_id)
        ).all()
    assert ("payments.merchant_withdrawal", 202) in audited and ("payments.merchant_withdrawal", 409) in audited
    assert_books_clean(engine)


def test_a_withdrawal_the_bank_fails_gives_the_refund_funds_back(client, engine, clock, bank):  # noqa: F811
    merchant_id, shop, _, _ = _funded(client, engine, clock, bank, "80.00")
    bank.set_frozen(ACCOUNT)
    out = client.post(WITHDRAWALS, headers={**shop, "Idempotency-Key": "w-1"}, json={"amount": "80.00"})
    assert out.status_code == 202, out.text
    bank.run_until(clock, clock.now() + dt.timedelta(minutes=5))
    assert client.get(f"{WITHDRAWALS}/{out.json()['id']}", headers=shop).json()["status"] == "failed"
    assert balance(engine, f"refund_funds.{merchant_id}") == 80_00
    assert_books_clean(engine)
