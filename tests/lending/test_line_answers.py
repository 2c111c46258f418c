"""A credit line and its loans as a new user meets them, over HTTP on SQLite and PostgreSQL:

1. the line says what can be drawn now (`drawable_now`): the lesser of its own `available` and the borrower's
   headroom under a third of the annual income on file, judged as a draw is, with the reason it is lower;
2. every loan carries the annualized rate disclosed at its draw (IRR of its schedule, fees included),
   checked against numpy-financial; 0 for an interest-free pay-later loan;
3. another customer's line answers 404 `credit_line_not_found`, as an unknown line and another's loan do;
4. a pay-later checkout that risk control would hold says how, what the payer may be told and what next,
   without naming the fraud rule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import numpy_financial as npf
import pytest
from sqlalchemy import update

from puhui.db import transaction
from puhui.lending.lines.tables import credit_lines
from puhui.lending.policy import borrower_headroom, check_borrower_limits
from puhui.payments import risk_hook

from .test_checkout_http import (
    ADMIN,
    books_clean,
    client,
    customer,
    fund,
    merchant,
    qr,
    snapshot,
)

__all__ = ["client"]


def _line(client, cid: str, limit: str, income: str) -> str:  # type: ignore[no-untyped-def]
    opened = client.post(
        "/v1/lending/lines",
        headers={**ADMIN, "Idempotency-Key": f"line-{cid}"},
        json={"customer_id": cid, "limit": limit, "annual_income": income},
    )
    assert opened.status_code == 201, opened.text
    return opened.json()["id"]


def _draw(client, me: dict, line_id: str, body: dict, key: str):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/lending/lines/{line_id}/draws", headers={**me, "Idempotency-Key": key}, json=body)


def test_headroom_is_the_draws_own_judgment_at_every_edge() -> None:
    """`borrower_headroom` is what `check_borrower_limits` lets through: the amount passes, a fen more does not."""
    for outstanding, income, cap in [
        (0, 30_000_00, 300_000_00),
        (5_050_00, 45_000_00, 300_000_00),
        (0, 29_999_99, 300_000_00),
        (1, 2_000_000_00, 300_000_00),
        (9_000_00, 30_000_00, 300_000_00),  # already above a third: nothing
        (100, 30_000_00, 50_00),
    ]:
        room = borrower_headroom(outstanding, income, cap=cap)
        if room.amount:
            check_borrower_limits(outstanding, room.amount, income, cap=cap)
        with pytest.raises(Exception) as caught:
            check_borrower_limits(outstanding, room.amount + 1, income, cap=cap)
        assert caught.value.extra["rule"] == room.rule  # type: ignore[attr-defined]
    assert borrower_headroom(0, None).rule == "annual_income_required"


def test_the_line_shows_what_can_be_drawn_now_under_a_third_of_the_income(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    """Income 45,000 (a third: 15,000), limit 15,000: 5,050 drawn leaves 9,950 on the line and under the income
    alike. When the income on file is 30,000 (a third: 10,000), only 4,950 can be drawn though the line has
    9,950: the line says so, a draw of a fen more is refused with the same rule, exactly 4,950 passes."""
    cid, me = customer(client, "13800138101", "101")
    line_id = _line(client, cid, "15000.00", "45000.00")
    fresh = client.get("/v1/lending/lines/me", headers=me).json()
    assert (fresh["available"], fresh["drawable_now"], fresh["drawable_now_reason"]) == ("15000.00", "15000.00", None)

    assert _draw(client, me, line_id, {"amount": "5050.00"}, "d1").status_code == 201
    line = client.get(f"/v1/lending/lines/{line_id}", headers=me).json()
    assert (line["available"], line["drawable_now"], line["drawable_now_reason"]) == ("9950.00", "9950.00", None)

    # the income on file falls to 30,000 (a third: 10,000): 5,050 owed leaves 4,950 though the line has 9,950
    transaction(
        engine,
        lambda uow: uow.execute(
            update(credit_lines).where(credit_lines.c.id == line_id).values(annual_income=30_000_00)
        ),
    )
    line = client.get("/v1/lending/lines/me", headers=me).json()
    assert (line["available"], line["drawable_now"], line["drawable_now_reason"]) == (
        "9950.00",
        "4950.00",
        "income_third",
    )
    before = snapshot(engine)
    over = _draw(client, me, line_id, {"amount": "4950.01"}, "d2")
    assert (over.status_code, over.json()["code"], over.json()["rule"]) == (
        422,
        "borrower_limit_exceeded",
        "income_third",
    )
    assert snapshot(engine) == before
    assert _draw(client, me, line_id, {"amount": "4950.00"}, "d3").status_code == 201  # exactly what was shown
    line = client.get("/v1/lending/lines/me", headers=me).json()
    assert (line["available"], line["drawable_now"], line["drawable_now_reason"]) == ("5000.00", "0.00", "income_third")

    frozen = client.post(f"/v1/lending/lines/{line_id}/freeze", headers={**ADMIN, "Idempotency-Key": "f1"}).json()
    assert (frozen["drawable_now"], frozen["drawable_now_reason"]) == ("0.00", "credit_line_frozen")
    books_clean(engine)


def _irr_flows(amount: str, start: str, schedule: list[dict]) -> list[float]:
    """The borrower's monthly flows, independent of the platform's code: the amount received in the month of
    the draw, each instalment (principal, interest, fee) in the calendar month it falls due."""
    begin = dt.date.fromisoformat(start)
    months = [
        (dt.date.fromisoformat(r["due_date"]).year - begin.year) * 12
        + dt.date.fromisoformat(r["due_date"]).month
        - begin.month
        for r in schedule
    ]
    flows = [0.0] * (max(months) + 1)
    flows[0] = -float(amount)
    for month, row in zip(months, schedule, strict=True):
        flows[month] += float(Decimal(row["principal"]) + Decimal(row["interest"]) + Decimal(row["fee"]))
    return flows


@pytest.mark.parametrize(
    ("body", "zero"),
    [
        ({"amount": "1200.00", "plan": "instalments", "periods": 12}, False),
        ({"amount": "1000.00", "plan": "instalments", "periods": 3}, False),
        ({"amount": "450.00", "plan": "pay_later"}, True),
    ],
)
def test_every_drawn_loan_carries_its_disclosed_annualized_rate(client, engine, clock, body, zero) -> None:  # type: ignore[no-untyped-def]
    cid, me = customer(client, "13800138102", "102")
    line_id = _line(client, cid, "5000.00", "120000.00")
    drawn = _draw(client, me, line_id, body, "d1")
    assert drawn.status_code == 201, drawn.text
    disclosed = drawn.json()["plan"]["annualized_rate"]
    loan_id = drawn.json()["loan"]["id"]
    assert drawn.json()["loan"]["annualized_rate"] == disclosed
    loan = client.get(f"/v1/lending/loans/{loan_id}", headers=me).json()
    assert loan["annualized_rate"] == disclosed
    assert [x["annualized_rate"] for x in client.get("/v1/lending/loans", headers=me).json()] == [disclosed]
    schedule = client.get(f"/v1/lending/loans/{loan_id}/schedule", headers=me).json()
    oracle = npf.irr(_irr_flows(body["amount"], loan["start_date"], schedule)) * 12
    assert abs(Decimal(disclosed) - Decimal(str(oracle))) < Decimal("0.000001"), (disclosed, oracle)
    assert (Decimal(disclosed) == 0) is zero


def test_another_customers_line_answers_as_an_unknown_one(client, engine, clock) -> None:  # type: ignore[no-untyped-def]
    cid, me = customer(client, "13800138103", "103")
    _, them = customer(client, "13800138104", "104")
    line_id = _line(client, cid, "3000.00", "120000.00")
    unknown = "cl_000000000000000000000000"
    for path in ("/v1/lending/lines/{}", "/v1/lending/lines/{}/draws"):
        hidden = client.get(path.format(line_id), headers=them)
        absent = client.get(path.format(unknown), headers=them)
        assert (hidden.status_code, hidden.json()["code"]) == (404, "credit_line_not_found"), hidden.text
        assert (absent.status_code, absent.json()["code"]) == (404, "credit_line_not_found")
        assert hidden.json()["detail"] == absent.json()["detail"].replace(unknown, line_id)
        assert set(hidden.json()) == set(absent.json())
        assert "another customer" not in hidden.text
        assert client.get(path.format(line_id), headers=me).status_code == 200
        assert client.get(path.format(line_id), headers=ADMIN).status_code == 200


class _Hold:
    """A fraud check that holds every payment (review or challenge) for a rule the payer must not learn."""

    def __init__(self, outcome: risk_hook.Outcome) -> None:
        self.outcome = outcome

    def assess(self, request, connection=None):  # type: ignore[no-untyped-def]
        return SimpleNamespace(decision=risk_hook.Decision(self.outcome, ("amount_10x_norm", "fraud_score")))

    def record(self, uow, request, assessment, payment_ref=None):  # type: ignore[no-untyped-def]
        return None


@pytest.mark.parametrize("outcome", [risk_hook.Outcome.review, risk_hook.Outcome.challenge])
def test_a_held_checkout_says_why_and_what_next_and_changes_nothing(client, engine, clock, outcome) -> None:  # type: ignore[no-untyped-def]
    merchant_id, shop = merchant(client)
    cid, me = customer(client, "13800138105", "105")
    _line(client, cid, "3000.00", "120000.00")
    fund(engine, cid, 1_000_00)
    qr_id = qr(client, merchant_id, shop, "450.00")
    risk_hook.install(engine, _Hold(outcome))
    try:
        before = snapshot(engine)
        answer = client.post(f"/v1/lending/checkout/{qr_id}", headers=me, json={"plan": "pay_later"})
    finally:
        risk_hook.uninstall(engine)
    problem = answer.json()
    assert (answer.status_code, problem["code"]) == (409, "checkout_needs_review"), answer.text
    assert problem["held_for"] == outcome.value
    assert problem["reasons"] == []  # the rules that fired stay with risk control, as for a declined payment
    assert problem["next_step"] == "pay_from_wallet"
    assert "pay it from the wallet" in problem["detail"].lower() and "nothing was charged" in problem["detail"]
    assert "amount_10x_norm" not in answer.text and "fraud_score" not in answer.text
    assert snapshot(engine) == before
    books_clean(engine)
