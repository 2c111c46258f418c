"""New-user findings in lending: the payoff quote (GET /v1/lending/loans/{id}/payoff) is what an early repayment in
full charges, its early repayment fee included, and an offer discloses that fee; and no application is approved
without a platform credit model (declined with the reason), while with one the decision is graded."""

from __future__ import annotations

from decimal import Decimal

from puhui.db import reading
from puhui.lending import repayments, service

from .credit_model import CreditModel
from .lending_world import MONTHLY, World


def test_the_payoff_quote_is_what_an_early_repayment_in_full_charges(engine, clock) -> None:  # type: ignore[no-untyped-def]
    world = World(engine, clock)
    world.product(MONTHLY)
    cid = world.customer()
    loan_id = world.loan(cid, "cash-12", 3000_00, 6)
    with reading(engine) as connection:
        quote = repayments.payoff_quote(connection, loan_id)
    assert (quote["principal"], quote["early_repayment_fee"], quote["early_repayment_fee_rate"]) == (
        "3000.00",
        "30.00",
        "0.01",
    )
    paid = world.repay(loan_id, cid, None, "early_full")
    assert (paid["amount"], paid["early_fee"]) == (quote["total"], quote["early_repayment_fee"])
    assert Decimal(paid["principal"]) == Decimal(quote["principal"])


def test_an_offer_discloses_the_early_repayment_fee(engine, clock) -> None:  # type: ignore[no-untyped-def]
    world = World(engine, clock)
    world.product(MONTHLY)
    cid = world.customer()
    application = world.run(lambda uow: service.apply(uow, cid, "cash-12", 2000_00, 6, 900_000_00))
    offer = world.run(lambda uow: service.make_offer(uow, application["id"], cid))
    assert offer["early_repayment_fee_rate"] == "0.01"
    with reading(engine) as connection:
        read = service.offer_json(service.get_offer(connection, offer["id"]))
        listed = service.list_offers(connection, cid)
    assert read["early_repayment_fee_rate"] == listed[0]["early_repayment_fee_rate"] == "0.01"


def test_without_a_credit_model_an_application_is_declined_with_the_reason(engine, clock, credit_model: CreditModel):  # type: ignore[no-untyped-def]
    world = World(engine, clock)
    world.product(MONTHLY)
    cid = world.customer()
    credit_model.remove()
    application = world.run(lambda uow: service.apply(uow, cid, "cash-12", 2000_00, 6, 900_000_00))
    assert (application["decision"], application["grade"]) == ("declined", None)
    assert application["reasons"] == ["no_platform_model", "no_manual_review_for_loans"]
    try:
        world.run(lambda uow: service.make_offer(uow, application["id"], cid))
    except Exception as refused:  # noqa: BLE001 - the code is what is checked
        assert getattr(refused, "code", None) == "loan_application_declined"
        assert "no_platform_model" in str(refused)
    else:
        raise AssertionError("an offer was made on a declined application")


def test_with_a_model_the_grade_and_limit_decide(engine, clock, credit_model: CreditModel):  # type: ignore[no-untyped-def]
    world = World(engine, clock)
    world.product(MONTHLY)
    good, poor = world.customer(), world.customer()
    credit_model.set(good, 700.0)  # grade B: three months' income
    credit_model.set(poor, 400.0)  # grade E: no credit
    income = 120_000_00
    within = world.run(lambda uow: service.apply(uow, good, "cash-12", 30_000_00, 6, income))
    above = world.run(lambda uow: service.apply(uow, good, "cash-12", 30_000_01, 6, income))
    graded_e = world.run(lambda uow: service.apply(uow, poor, "cash-12", 2_000_00, 6, income))
    assert (within["decision"], within["grade"], within["credit_limit"]) == ("approved", "B", "30000.00")
    assert (above["decision"], above["reasons"][-1]) == ("declined", "above_credit_limit")
    assert (graded_e["decision"], graded_e["reasons"][-1]) == ("declined", "grade_e")


def test_a_scorecards_reasons_are_kept_as_their_sentences(engine, clock, credit_model: CreditModel):  # type: ignore[no-untyped-def]
    """The platform scorecard explains a score with reasons (`risk.scoring.scorecard.Reason.as_json`): the
    application keeps each as its sentence, not as the text of a Python dict."""
    from puhui.risk.scoring.scorecard import Reason

    world = World(engine, clock)
    world.product(MONTHLY)
    cid = world.customer()
    reason = Reason("tenure_days", 97.0, 132.9, 4.42, "tenure_days = 97.0 earned 132.9 points, 4.4 fewer than the best")
    credit_model.reasons = [reason.as_json()]
    decided = world.run(lambda uow: service.apply(uow, cid, "cash-12", 2_000_00, 6, 120_000_00))
    assert decided["reasons"] == [reason.text, "within_credit_limit"]
