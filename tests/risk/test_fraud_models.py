"""Rule validation: well-formed rules pass, malformed ones are `MalformedRule` and ones naming a
missing parameter or model feature are `UnknownFeature`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.risk.errors import MalformedRule, UnknownFeature
from puhui.risk.fraud.models import PARAMS, Kind, default_rules, rule_from

GOOD = {"rule_id": "vel", "kind": "velocity", "params": {"window_seconds": 60, "max_count": 3}, "action": "review"}


def test_default_rules_cover_every_kind_and_are_valid() -> None:
    rules = default_rules()
    assert {r.kind for r in rules} == set(Kind)
    assert len({r.rule_id for r in rules}) == len(rules)
    for r in rules:
        assert rule_from({**r.as_json(), "version": 1}).params == r.params


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "teleport"},
        {"kind": ["velocity"]},
        {"action": {"do": "review"}},
        {"action": "approve"},
        {"rule_id": "Bad Id"},
        {"params": {"window_seconds": -5, "max_count": 3}},
        {"params": {"window_seconds": 60}},  # neither a count nor an amount limit
        {"params": {"window_seconds": 60, "max_count": 0}},
        {"params": {"window_seconds": 60, "max_amount": "-1.00"}},
        {"params": {"window_seconds": 60, "max_amount": 100}},  # amounts are decimal strings
        {"params": {"window_seconds": "60", "max_count": 3}},
        {"params": {"window_seconds": 99_999_999, "max_count": 3}},
        {"params": []},
        {"enabled": "yes"},
        {"colour": "red"},
    ],
)
def test_malformed_rules(change: dict) -> None:
    with pytest.raises(MalformedRule):
        rule_from({**GOOD, **change})


@pytest.mark.parametrize(
    "data",
    [
        {**GOOD, "params": {"window_seconds": 60, "max_count": 3, "feature": "nope"}},
        {**GOOD, "params": {"window_seconds": 60, "max_count": 3, "window_minutes": 1}},
        {"rule_id": "s", "kind": "model_score", "action": "review", "params": {"weights": {"nope": 1.0}}},
        {"rule_id": "s", "kind": "model_score", "action": "review", "params": {"feature": "nope"}},
    ],
)
def test_unknown_features(data: dict) -> None:
    with pytest.raises(UnknownFeature):
        rule_from(data)


def test_score_weights_name_features_and_integers_are_weights() -> None:
    r = rule_from({"rule_id": "s", "kind": "model_score", "action": "review", "params": {"weights": {"night": 2}}})
    assert r.params["weights"] == {"night": 2.0} and r.limits[0].count(0.0) == len(r.limits[0]) - 1


def test_score_thresholds_must_be_ordered() -> None:
    with pytest.raises(MalformedRule):
        rule_from(
            {
                "rule_id": "s",
                "kind": "model_score",
                "action": "decline",
                "params": {"review_at": 900, "decline_at": 500},
            }
        )


@given(
    st.sampled_from(sorted(PARAMS)),
    st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=4), max_size=4),
)
def test_any_params_are_accepted_or_refused_with_a_rule_error(kind: Kind, params: dict) -> None:
    try:
        rule = rule_from({"rule_id": "r", "kind": kind.value, "params": params, "action": "review"})
    except (MalformedRule, UnknownFeature):
        return
    assert rule.kind == kind and rule.limits is not None
