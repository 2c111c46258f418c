"""The cost model (按损失定处置): hand-computed choices, refusals of bad costs, and the property that a
higher fraud probability or amount never gives a weaker action."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.risk.errors import MalformedCosts
from puhui.risk.fraud.decision import ORDER, Action, Costs, choose, costs_from, default_costs

A = Action
COSTS = costs_from(
    {
        "catch": {"allow": "0", "challenge": "0.95", "hold": "0.98", "decline": "1"},
        "friction": {"allow": "0", "challenge": "1.50", "hold": "60.00", "decline": "200.00"},
    }
)


@pytest.mark.parametrize(
    ("p", "amount", "action", "cost"),
    [
        # allow 100; challenge 0.001*100000*0.05 + 0.999*150 = 154.85
        ("0.001", 100_000, A.allow, Fraction(100)),
        # allow 1000; challenge 50 + 148.5 = 198.5; hold 20 + 5940
        ("0.01", 100_000, A.challenge, Fraction(3970, 20)),
        # challenge 15000 + 105 = 15105; hold 6000 + 4200 = 10200; decline 0 + 14000
        ("0.3", 1_000_000, A.hold, Fraction(10200)),
        # challenge 45000 + 15; hold 18000 + 600; decline 0 + 2000
        ("0.9", 1_000_000, A.decline, Fraction(2000)),
    ],
)
def test_hand_computed_choices(p: str, amount: int, action: Action, cost: Fraction) -> None:
    choice = choose(Fraction(p), amount, COSTS)
    assert choice.action is action
    assert choice.costs[action] == cost
    assert choice.expected_loss == Fraction(p) * amount
    assert choice.reasons[0].startswith(f"cost_model.{action}: ")


def test_a_tie_goes_to_the_stronger_action() -> None:
    costs = costs_from(
        {
            "catch": {"allow": "0", "challenge": "1", "hold": "1", "decline": "1"},
            "friction": {"allow": "0", "challenge": "1.00", "hold": "1.00", "decline": "1.00"},
        }
    )
    # p = 1/2, amount 100 fen: allow 50, every other action 50
    assert choose(Fraction(1, 2), 100, costs).action is A.decline
    assert choose(Fraction(1, 2), 99, costs).action is A.allow


def test_a_floor_from_a_hard_rule_is_kept() -> None:
    choice = choose(Fraction(0), 100, COSTS, floor=A.hold)
    assert choice.action is A.hold
    assert "cost_model.floor: a rule requires at least hold" in choice.reasons


def test_the_shipped_costs_load_and_are_ordered() -> None:
    costs = default_costs()
    assert [costs.friction[a] for a in ORDER] == sorted(costs.friction[a] for a in ORDER)
    assert costs.catch[A.decline] == 1


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"catch": {}},
        {"catch": {"allow": "0"}, "friction": {"allow": "0"}},
        {
            "catch": {"allow": "0", "challenge": "0.9", "hold": "0.5", "decline": "1"},
            "friction": {"allow": "0", "challenge": "1", "hold": "2", "decline": "3"},
        },
        {
            "catch": {"allow": "0", "challenge": "0.9", "hold": "0.95", "decline": "1"},
            "friction": {"allow": "0", "challenge": "5", "hold": "2", "decline": "3"},
        },
        {
            "catch": {"allow": "0.1", "challenge": "0.9", "hold": "0.95", "decline": "1"},
            "friction": {"allow": "0", "challenge": "1", "hold": "2", "decline": "3"},
        },
        {
            "catch": {"allow": "0", "challenge": "0.9", "hold": "0.95", "decline": "1.5"},
            "friction": {"allow": "0", "challenge": "1", "hold": "2", "decline": "3"},
        },
        {
            "catch": {"allow": "0", "challenge": "x", "hold": "0.95", "decline": "1"},
            "friction": {"allow": "0", "challenge": "1", "hold": "2", "decline": "3"},
        },
        {
            "catch": {"allow": "0", "challenge": "0.9", "hold": "0.95", "decline": "1", "pray": "1"},
            "friction": {"allow": "0", "challenge": "1", "hold": "2", "decline": "3"},
        },
    ],
)
def test_malformed_costs_are_refused(data: object) -> None:
    with pytest.raises(MalformedCosts) as refused:
        costs_from(data)
    assert refused.value.code == "malformed_costs"


def test_a_probability_outside_0_1_is_refused() -> None:
    with pytest.raises(MalformedCosts):
        choose(Fraction(3, 2), 100, COSTS)


fractions = st.fractions(min_value=0, max_value=1, max_denominator=10_000)


@st.composite
def costs(draw) -> Costs:
    catch = sorted(draw(st.lists(fractions, min_size=3, max_size=3)))
    friction = sorted(draw(st.lists(st.integers(0, 10**7), min_size=3, max_size=3)))
    return Costs(dict(zip(ORDER, [Fraction(0), *catch])), dict(zip(ORDER, [0, *friction])))


@given(costs(), fractions, fractions, st.integers(0, 10**10), st.integers(0, 10**10), st.sampled_from(ORDER))
def test_a_higher_probability_or_amount_never_gives_a_weaker_action(
    c: Costs, p: Fraction, q: Fraction, a: int, b: int, floor: Action
) -> None:
    (p, q), (a, b) = sorted((p, q)), sorted((a, b))
    lower, higher = choose(p, a, c, floor), choose(q, b, c, floor)
    assert lower.action.rank <= higher.action.rank
    assert choose(p, b, c, floor).action.rank >= lower.action.rank
    assert choose(q, a, c, floor).action.rank >= lower.action.rank
    assert lower.action.rank >= floor.rank
    assert lower.costs[lower.action] == min(lower.costs[x] for x in ORDER[floor.rank :])


def test_the_risk_index_ranks_by_score_then_rules_and_the_block_list_is_a_floor() -> None:
    from puhui.risk.fraud.decision import floor_of, risk_index

    assert risk_index(None, ()) == 0
    # the model rules are the score itself, and the cost model's own reasons are no evidence
    scored = ("fraud_score: score 950 >= 900 (night +0.40)", "takeover_score: score 950 >= 500 (night +1.00)")
    assert risk_index(950, (*scored, "cost_model.allow: expected loss 0.01 CNY")) == 950 * 4
    one_rule = ("new_device: device d1 not seen in 30 days",)
    assert risk_index(10, one_rule) == 41 > risk_index(10, ()) == 40
    assert risk_index(11, ()) > risk_index(10, one_rule)  # a higher score never ranks lower
    many = tuple(f"rule{i}: x" for i in range(5))
    assert risk_index(0, many) == 3
    assert floor_of(("blocked_payee: payee m1 on list payees",)) is A.decline
    assert floor_of(one_rule) is A.allow
