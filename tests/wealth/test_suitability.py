"""Suitability rules without storage: the questionnaire's scoring and bands, and the C×R match."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.identity.models import WalletTier
from puhui.wealth.errors import InvalidAnswers, QuestionnaireRequired, UnsuitableProduct
from puhui.wealth.suitability.service import (
    CURRENT,
    CustomerLevel,
    ProductRisk,
    Questionnaire,
    check_suitability,
    may_invest,
)


@pytest.mark.parametrize("level", list(CustomerLevel), ids=lambda c: c.name)
@pytest.mark.parametrize("risk", list(ProductRisk), ids=lambda r: r.name)
def test_every_level_against_every_product_risk(level, risk):
    verdict = check_suitability(level, risk)
    allowed = int(risk) <= int(level)  # C3 ↔ R3: at or under the level
    assert verdict.allowed is allowed
    if allowed:
        assert verdict.code is None
    else:
        assert verdict.code == UnsuitableProduct.code == "unsuitable_product"
        assert risk.name in verdict.reason and level.name in verdict.reason


@pytest.mark.parametrize("risk", list(ProductRisk), ids=lambda r: r.name)
def test_no_questionnaire_buys_nothing(risk):
    verdict = check_suitability(None, risk)
    assert not verdict.allowed and verdict.code == QuestionnaireRequired.code == "questionnaire_required"


def test_only_class_three_wallets_may_invest():
    assert [may_invest(t) for t in (None, WalletTier.I, WalletTier.II, WalletTier.III)] == [False, False, False, True]


def answers_with(choice_index) -> dict[str, str]:
    return {q.id: q.choices[choice_index(q)].key for q in CURRENT.questions}


def test_lowest_and_highest_answers_give_c1_and_c5():
    lowest = answers_with(lambda q: min(range(len(q.choices)), key=lambda i: q.choices[i].score))
    highest = answers_with(lambda q: max(range(len(q.choices)), key=lambda i: q.choices[i].score))
    assert CURRENT.score(lowest) == len(CURRENT.questions)  # every question's lowest choice scores 1
    assert CURRENT.level_for(CURRENT.score(lowest)) is CustomerLevel.C1
    assert CURRENT.score(highest) == 5 * len(CURRENT.questions)
    assert CURRENT.level_for(CURRENT.score(highest)) is CustomerLevel.C5


def test_band_edges():
    # bands (lowest score, level): 0 C1, 15 C2, 22 C3, 29 C4, 35 C5
    edges = {14: "C1", 15: "C2", 21: "C2", 22: "C3", 28: "C3", 29: "C4", 34: "C4", 35: "C5", 40: "C5"}
    assert {s: CURRENT.level_for(s).name for s in edges} == edges


@given(st.data())
def test_score_is_the_sum_of_the_chosen_scores_and_level_grows_with_it(data):
    picks = {q.id: data.draw(st.sampled_from(q.choices)) for q in CURRENT.questions}
    score = CURRENT.score({qid: c.key for qid, c in picks.items()})
    assert score == sum(c.score for c in picks.values())
    assert CURRENT.level_for(score) <= CURRENT.level_for(score + 1)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: {**a, "zodiac": "A"}, "unknown question 'zodiac'"),
        (lambda a: {k: v for k, v in a.items() if k != "loss"}, "question 'loss' is not answered"),
        (lambda a: {**a, "horizon": "D"}, "question 'horizon' has no choice 'D'"),  # horizon has A–C
        (lambda a: {}, "question 'age' is not answered"),
    ],
)
def test_bad_answers_are_refused_with_the_reason(change, message):
    good = answers_with(lambda q: 0)
    CURRENT.score(good)
    with pytest.raises(InvalidAnswers) as refused:
        CURRENT.score(change(good))
    assert refused.value.code == "invalid_answers" and message in refused.value.detail


def test_questionnaire_is_versioned_data():
    body = CURRENT.as_json()
    assert body["version"] == CURRENT.version and body["valid_days"] == 365
    assert [q["id"] for q in body["questions"]] == [q.id for q in CURRENT.questions]
    assert all("score" not in c for q in body["questions"] for c in q["choices"])  # scores are not shown
    other = Questionnaire("test.1", CURRENT.questions[:1], ((0, CustomerLevel.C1), (3, CustomerLevel.C4)))
    assert other.level_for(other.score({"age": "E"})) is CustomerLevel.C4
