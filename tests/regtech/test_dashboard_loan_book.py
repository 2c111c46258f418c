"""The dashboard's outstanding principal (贷款余额) is the loan book's, on SQLite and PostgreSQL, through real flows:
a pay-later (花呗-style) purchase of 1,200.00 refunded 300.00 by the merchant owes 900.00 on the dashboard as in
the loan book (`GET /v1/lending/loans`, the ops console's /ops/loans); an early partial repayment counts what it
prepaid, a loan paid off early counts nothing; and the figure is of the loans disbursed by `to` (labelled "as
of now"): a loan made the day after `to` is not counted, so `to` = Dec 8 differs from Dec 9 and Dec 10."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from puhui.db import reading, transaction
from puhui.lending import repayments, service
from tests.lending.credit_model import credit_model
from tests.lending.lending_world import INCOME, MONTHLY
from tests.lending.test_checkout_http import (
    ADMIN,
    _checkout,
    _refund,
    books_clean,
    client,
    customer,
    fund,
    merchant,
    open_line,
    qr,
)

__all__ = ["client", "credit_model"]

# the loans here are approved by a platform credit model (a set score): without one none is
pytestmark = pytest.mark.usefixtures("credit_model")

UTC = dt.UTC


def _at(clock, day: dt.date) -> None:  # type: ignore[no-untyped-def]
    """The clock at 09:30 China time on `day` (01:30 UTC)."""
    clock.set(dt.datetime(day.year, day.month, day.day, 1, 30, tzinfo=UTC))


def _cash_loan(engine, cid: str, amount: int) -> str:  # type: ignore[no-untyped-def]
    """A cash loan (6 months) through application, offer and acceptance."""
    application = transaction(engine, lambda uow: service.apply(uow, cid, "cash-12", amount, 6, INCOME))
    assert application["decision"] == "approved", application
    offer = transaction(engine, lambda uow: service.make_offer(uow, application["id"], cid))
    return transaction(engine, lambda uow: service.accept(uow, offer["id"], cid))["id"]


def _repay(engine, loan_id: str, cid: str, amount: int | None, kind: str) -> dict:  # type: ignore[no-untyped-def]
    return transaction(engine, lambda uow: repayments.repay(uow, loan_id, cid, amount, kind))


def _board(client, to: str) -> dict:  # type: ignore[no-untyped-def]
    answer = client.get("/v1/regtech/dashboard", params={"from": "2026-11-23", "to": to}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _book(client) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    """The loan book as the ops console reads it: each loan's outstanding principal."""
    listed = client.get("/v1/lending/loans", headers=ADMIN)
    assert listed.status_code == 200, listed.text
    return {loan["id"]: Decimal(loan["outstanding_principal"]) for loan in listed.json()}


def test_the_dashboard_outstanding_is_the_loan_book_of_the_loans_disbursed_by_to(client, engine, clock):
    _at(clock, dt.date(2026, 12, 1))
    transaction(engine, lambda uow: service.create_product(uow, MONTHLY))
    shopper, me = customer(client, "13800000011", "541")
    borrower, _ = customer(client, "13800000012", "542")
    payer, _ = customer(client, "13800000013", "543")
    late, _ = customer(client, "13800000014", "544")
    merchant_id, shop = merchant(client)

    # Dec 1: a pay-later purchase of 1,200.00; the merchant refunds 300.00 of it: 900.00 owed
    open_line(client, shopper, "5000.00")
    bought = _checkout(client, me, qr(client, merchant_id, shop, "1200.00"), {"plan": "pay_later"}, "co-1")
    bnpl, payment_id = bought["loan"]["id"], bought["payment"]["id"]
    _refund(client, shop, payment_id, "300.00", "rf-1")
    # Dec 1: two cash loans, 6,000.00 and 3,000.00
    partial = _cash_loan(engine, borrower, 6_000_00)
    paid_off = _cash_loan(engine, payer, 3_000_00)

    # Dec 5: 1,000.00 repaid early on the first (principal prepaid, the schedule re-amortized); the second paid off
    _at(clock, dt.date(2026, 12, 5))
    prepaid = _repay(engine, partial, borrower, 1_000_00, "early_partial")
    fund(engine, payer, 1_000_00)  # the payoff takes the early repayment fee beyond what was lent
    _repay(engine, paid_off, payer, None, "early_full")

    # Dec 9: a loan disbursed after a range ending Dec 8
    _at(clock, dt.date(2026, 12, 9))
    after = _cash_loan(engine, late, 2_000_00)

    book = _book(client)
    assert book[bnpl] == Decimal("900.00")
    assert book[partial] == Decimal("6000.00") - Decimal(prepaid["principal"]) < Decimal("5100.00")
    assert book[paid_off] == 0
    assert book[after] == Decimal("2000.00")
    whole = sum(book.values())
    assert whole == Decimal("900.00") + book[partial] + Decimal("2000.00")

    by_dec_8 = _board(client, "2026-12-08")
    assert Decimal(by_dec_8["outstanding_principal"]) == whole - book[after]  # 900.00 + the cash loan left
    assert by_dec_8["outstanding_basis"] == "as of now, loans disbursed by 2026-12-08"
    share = by_dec_8["indicators"]["top10_borrowers_share"]
    assert (share["borrowers"], Decimal(share["top_principal"])) == (2, whole - book[after])  # the paid-off: none
    for to in ("2026-12-09", "2026-12-10"):
        board = _board(client, to)
        assert Decimal(board["outstanding_principal"]) == whole, to  # the loan book's total, the refund deducted
        assert board["outstanding_basis"] == f"as of now, loans disbursed by {to}"
        share = board["indicators"]["top10_borrowers_share"]
        assert (share["borrowers"], Decimal(share["top_principal"]), share["value"]) == (3, whole, "1.000000")
    assert _board(client, "2026-11-30")["outstanding_principal"] == "0.00"  # nothing lent yet
    # the per-loan figure lending gives regtech is the loan book's, loan by loan
    from puhui.lending import queries

    with reading(engine) as connection:
        listed = queries.outstanding_by_loan(connection)
    assert sorted(Decimal(o) / 100 for _, _, o in listed) == sorted(v for v in book.values() if v)
    books_clean(engine)


def test_the_ops_loan_book_counts_only_the_loans_on_the_book(client, engine, clock):
    """/ops/loans' bucket and class tables count the active loans: a paid-off loan owes nothing and is off the
    book (it was counted as a current loan, one more than the supervision figures)."""
    from tests.console.staff_world import log_in

    _at(clock, dt.date(2026, 12, 1))
    transaction(engine, lambda uow: service.create_product(uow, MONTHLY))
    borrower, _ = customer(client, "13800000021", "551")
    payer, _ = customer(client, "13800000022", "552")
    kept = _cash_loan(engine, borrower, 6_000_00)
    paid_off = _cash_loan(engine, payer, 3_000_00)
    _at(clock, dt.date(2026, 12, 5))
    fund(engine, payer, 1_000_00)  # the payoff takes the early repayment fee beyond what was lent
    _repay(engine, paid_off, payer, None, "early_full")
    log_in(client, "test-admin-token")
    page = client.get("/ops/loans")
    assert page.status_code == 200, page.text
    by_bucket = page.text[page.text.index('data-testid="by-bucket"') : page.text.index('data-testid="by-class"')]
    counts = re.findall(r"<td[^>]*>(\d+)</td>", by_bucket)
    assert counts == ["1"], by_bucket  # the kept loan alone, in 正常 (current)
    assert kept in page.text and paid_off in page.text  # both still listed, each with its status
