"""The pure rules of underwriting (核保) and claim adjudication (自动核赔), with hand-computed figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from puhui.insurance import models
from puhui.insurance.claims.models import (
    ClaimFacts,
    Decision,
    HealthAnswersInvalid,
    Question,
    ReviewRules,
    Verdict,
    adjudicate,
    underwrite,
)
from puhui.insurance.errors import ClaimOutsideCover, InsuranceProductInvalid

QUESTIONS = (
    Question("diabetes", "糖尿病？", Verdict.exclude, "E11"),
    Question("hypertension", "高血压？", Verdict.exclude, "I10"),
    Question("cancer", "恶性肿瘤？", Verdict.decline),
    Question("glasses", "眼镜？", Verdict.accept),
)
NO = {q.id: False for q in QUESTIONS}
PRODUCT = models.MedicalProduct("med", 1, "百万医疗", (models.AgeBand(0, 65, 300_00, 600_00),))
COVER = models.Cover(dt.date(2026, 1, 6), dt.date(2027, 1, 6), 300_00)


def test_underwrite_accepts_excludes_sorted_once_and_declines_first():
    assert underwrite(QUESTIONS, {**NO, "glasses": True}).verdict is Verdict.accept
    both = underwrite(QUESTIONS, {**NO, "hypertension": True, "diabetes": True})
    assert (both.verdict, both.exclusions) == (Verdict.exclude, ("E11", "I10"))
    declined = underwrite(QUESTIONS, {**NO, "diabetes": True, "cancer": True})
    assert (declined.verdict, declined.exclusions, declined.declined_by) == (Verdict.decline, (), ("cancer",))
    with pytest.raises(HealthAnswersInvalid):
        underwrite(QUESTIONS, {"diabetes": False})


def test_a_question_excludes_a_condition_exactly_when_it_says_exclude():
    with pytest.raises(InsuranceProductInvalid):
        Question("q1", "?", Verdict.exclude)
    with pytest.raises(InsuranceProductInvalid):
        Question("q1", "?", Verdict.decline, "E11")


def facts(**given) -> ClaimFacts:  # type: ignore[no-untyped-def]
    base = {
        "kind": models.LossKind.illness,
        "condition": "J18",
        "event_date": dt.date(2026, 3, 1),
        "billed": 30_000_00,
        "social_insurance_paid": 6_000_00,
        "has_documents": True,
        "deductible_used": 0,
        "paid_this_year": 0,
    }
    return ClaimFacts(**{**base, **given})


def decide(exclusions=(), cancelled_from=None, social=True, rules=ReviewRules(), **given):  # type: ignore[no-untyped-def]
    return adjudicate(PRODUCT, COVER, social, exclusions, cancelled_from, facts(**given), rules)


def test_adjudication_by_hand():
    # 30,000 - 6,000 social = 24,000; less 10,000 deductible = 14,000 × 1 with social insurance
    assert decide() == decide().__class__(Decision.approved, 14_000_00, 10_000_00, ("paid",))
    # without social insurance ×0.6: 8,400
    assert decide(social=False).benefit == 8_400_00
    # 3,000 of the deductible used: 24,000 - 7,000 = 17,000
    assert decide(deductible_used=3_000_00).benefit == 17_000_00
    assert decide(exclusions=("J18",)).reasons == ("excluded_condition",)
    assert decide(event_date=dt.date(2026, 1, 20)).reasons == ("waiting_period",)
    assert decide(event_date=dt.date(2026, 1, 20), kind=models.LossKind.accident).benefit == 14_000_00
    assert decide(cancelled_from=dt.date(2026, 3, 1)).reasons == ("policy_cancelled",)
    assert decide(cancelled_from=dt.date(2026, 3, 2)).decision is Decision.approved
    with pytest.raises(ClaimOutsideCover):
        decide(event_date=dt.date(2027, 1, 6))


def test_review_flags():
    assert decide(rules=ReviewRules(amount_above=13_999_99)).reasons == ("amount_above_threshold",)
    assert decide(rules=ReviewRules(amount_above=14_000_00)).decision is Decision.approved
    assert decide(has_documents=False).reasons == ("documents_missing",)
    scored = decide(fraud_score=Decimal("0.8"))
    assert (scored.decision, scored.benefit, scored.reasons) == (Decision.review, 14_000_00, ("fraud_score",))
    assert decide(fraud_score=Decimal("0.79")).decision is Decision.approved
