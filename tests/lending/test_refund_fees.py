"""A part refund of a purchase in instalments (分期) refunds the instalment fee in proportion (user pass,
finding 5), as 花呗/白条 do: 600.00 in 3 instalments costs 13.68 of fee (4.56 each, 0.76% a period); 200.00
refunded leaves 400.00 to repay, 133.33/133.33/133.34, and 9.12 of fee (3.04 each), what a 400.00 purchase
costs. Fees of instalments already due stay charged."""

from __future__ import annotations

from puhui.db import reading, transaction
from puhui.lending import repayments, service

from .test_checkout_http import (
    _checkout,
    _refund,
    balance,
    books_clean,
    client,
    customer,
    fund,
    merchant,
    open_line,
    qr,
)

__all__ = ["client"]


def _schedule(engine, loan_id: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return [(r["principal"], r["fee"]) for r in service.schedule_of(connection, loan_id)]


def test_a_part_refund_lowers_the_instalment_fees_in_proportion(client, engine, clock):
    cid, me = customer(client, "13800000003", "533")
    merchant_id, shop = merchant(client)
    open_line(client, cid, "2000.00")
    plan = {"plan": "instalments", "periods": 3}
    bought = _checkout(client, me, qr(client, merchant_id, shop, "600.00"), plan, "co-f1")
    loan_id, payment_id = bought["loan"]["id"], bought["payment"]["id"]
    assert _schedule(engine, loan_id) == [("200.00", "4.56")] * 3

    _refund(client, shop, payment_id, "200.00", "rf-f1")
    assert _schedule(engine, loan_id) == [("133.33", "3.04"), ("133.33", "3.04"), ("133.34", "3.04")]
    assert balance(engine, f"wallet.{cid}") == 0
    books_clean(engine)

    _refund(client, shop, payment_id, "400.00", "rf-f2")  # the rest: paid off, no fee charged
    loan = client.get(f"/v1/lending/loans/{loan_id}", headers=me).json()
    assert (loan["status"], loan["outstanding_principal"]) == ("paid_off", "0.00")
    assert balance(engine, f"wallet.{cid}") == 0
    books_clean(engine)


def test_fees_already_due_stay_and_the_rest_follow_the_principal(client, engine, clock):
    """The first instalment falls due and is paid (its 4.56 charged); 200.00 of the 400.00 left is refunded:
    the two instalments ahead keep half their fees, 2.28 each."""
    cid, me = customer(client, "13800000004", "534")
    merchant_id, shop = merchant(client)
    open_line(client, cid, "2000.00")
    bought = _checkout(client, me, qr(client, merchant_id, shop, "600.00"), {"plan": "instalments", "periods": 3}, "k")
    loan_id, payment_id = bought["loan"]["id"], bought["payment"]["id"]
    with reading(engine) as connection:
        first_due = service.instalments(connection, loan_id)[0]["due_day"]
    clock.advance(days=first_due - service.today())
    fund(engine, cid, 204_56)
    transaction(engine, lambda uow: repayments.repay(uow, loan_id, cid, None))
    assert balance(engine, f"wallet.{cid}") == 0

    _refund(client, shop, payment_id, "200.00", "rf-f3")
    assert _schedule(engine, loan_id) == [("200.00", "4.56"), ("100.00", "2.28"), ("100.00", "2.28")]
    assert balance(engine, f"wallet.{cid}") == 0
    books_clean(engine)
