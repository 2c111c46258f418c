"""Score → P(fraud): pooling adjacent violators by hand and against scikit-learn's isotonic regression."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.isotonic import IsotonicRegression

from puhui.risk.fraud.calibration import calibrate, pool_adjacent_violators

F = Fraction


def test_pool_adjacent_violators_by_hand() -> None:
    # 0.5 (weight 2) then 0.2 (weight 2) violate: pooled (1.0 + 0.4) / 4 = 0.35
    blocks = pool_adjacent_violators([F(0), F(1, 2), F(1, 5), F(9, 10)], [1, 2, 2, 1])
    assert blocks == [(F(0), 0, 1), (F(7, 20), 1, 4), (F(9, 10), 3, 1)]


def test_calibrate_by_hand() -> None:
    # score 100: 1 fraud of 4; score 500: 0 of 1 (violates, pooled 1 of 5); score 900: 2 of 2
    samples = [(100, True), (100, False), (100, False), (100, False), (500, False), (900, True), (900, True)]
    fitted = calibrate(samples)
    assert fitted.starts == (100, 900)
    assert fitted.probabilities == (F(1, 5), F(1))
    assert fitted.probability(0) == F(1, 5)
    assert fitted.probability(899) == F(1, 5)
    assert fitted.probability(1000) == F(1)
    # a prior of 3 pseudo-attempts at the base rate 3/7: (1 + 3*3/7) / 8 and (2 + 9/7) / 5
    shrunk = calibrate(samples, prior=3)
    assert shrunk.probabilities == ((1 + F(9, 7)) / 8, (2 + F(9, 7)) / 5)


def test_nothing_to_fit_is_probability_zero() -> None:
    assert calibrate([]).probability(500) == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1000), st.booleans()), min_size=1, max_size=60), st.integers(0, 20))
def test_calibration_matches_sklearn_and_never_falls(samples: list[tuple[int, bool]], prior: int) -> None:
    fitted = calibrate(samples)
    scores = sorted({s for s, _ in samples})
    oracle = IsotonicRegression().fit([s for s, _ in samples], [float(f) for _, f in samples])
    for s in scores:
        assert float(fitted.probability(s)) == pytest.approx(oracle.predict([s])[0], abs=1e-9)
    shrunk = [calibrate(samples, prior).probability(s) for s in range(0, 1001, 50)]
    assert shrunk == sorted(shrunk)


def test_a_calibration_round_trips_through_json_and_the_shipped_one_loads() -> None:
    from puhui.risk.fraud.calibration import calibration_from, default_calibration

    fitted = calibrate([(0, False)] * 7 + [(0, True), (400, True), (400, False), (900, True)])
    assert calibration_from(fitted.as_json()) == fitted  # exact: eight places hold these fractions
    shipped = default_calibration()
    assert shipped.starts == tuple(sorted(shipped.starts))
    assert list(shipped.probabilities) == sorted(shipped.probabilities) and shipped.probabilities[-1] <= 1


@pytest.mark.parametrize(
    "data",
    [
        "steps",
        [{"from_score": 0}],
        [{"from_score": "x", "probability": "0.1"}],
        [{"from_score": 10, "probability": "0.1"}, {"from_score": 5, "probability": "0.2"}],
        [{"from_score": 0, "probability": "0.3"}, {"from_score": 5, "probability": "0.2"}],
        [{"from_score": 0, "probability": "-0.1"}],
        [{"from_score": 0, "probability": "1.5"}],
    ],
)
def test_a_malformed_calibration_is_refused(data: object) -> None:
    from puhui.risk.errors import MalformedCosts
    from puhui.risk.fraud.calibration import calibration_from

    with pytest.raises(MalformedCosts):
        calibration_from(data)
