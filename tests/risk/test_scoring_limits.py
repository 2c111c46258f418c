"""Risk grade and credit limit from score and monthly income: the documented rule, and its invariants."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.errors import InvalidInput
from puhui.risk.scoring.limits import LIMIT_CAP, credit_line, grade_of

incomes = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False)
scores = st.floats(min_value=350, max_value=950, allow_nan=False)


@pytest.mark.parametrize(
    "score, grade",
    [(950, "A"), (750, "A"), (749.99, "B"), (680, "B"), (620, "C"), (619.5, "D"), (560, "D"), (559.9, "E"), (350, "E")],
)
def test_grade_boundaries(score, grade) -> None:
    assert grade_of(score) == grade


@pytest.mark.parametrize(
    "score, income, grade, limit",
    [
        (800, Decimal(8000), "A", Decimal(32000)),  # 4 months' income = a third of annual income
        (700, Decimal("8000.50"), "B", Decimal(24001)),  # 3 × 8000.50 = 24001.50, rounded down
        (650, Decimal("12345.67"), "C", Decimal(24691)),
        (600, Decimal(5000), "D", Decimal(5000)),
        (500, Decimal(50000), "E", Decimal(0)),  # grade E gets no credit
        (900, Decimal(80000), "A", Decimal(200000)),  # the 200,000 yuan ceiling
    ],
)
def test_examples(score, income, grade, limit) -> None:
    line = credit_line(score, income)
    assert (line.grade, line.limit) == (grade, limit)
    assert line.as_json() == {"grade": grade, "limit": str(limit)}


@given(scores, incomes)
def test_limit_is_whole_yuan_capped_and_within_a_third_of_annual_income(score, income) -> None:
    limit = credit_line(score, income).limit
    assert isinstance(limit, Decimal) and limit == limit.to_integral_value()
    assert Decimal(0) <= limit <= LIMIT_CAP
    assert limit <= income * 12 / 3


@given(scores, scores, incomes)
def test_a_better_score_never_gets_a_worse_grade_or_a_smaller_limit(a, b, income) -> None:
    low, high = sorted((a, b))
    assert grade_of(high) <= grade_of(low)  # "A" < "B": letters earlier are better
    assert credit_line(high, income).limit >= credit_line(low, income).limit


@pytest.mark.parametrize(
    "score, income",
    [(300, Decimal(1000)), (951, Decimal(1000)), (700, Decimal(-1)), (700, 1000.0), (700, Decimal("NaN"))],
)
def test_bad_input_is_refused(score, income) -> None:
    with pytest.raises(InvalidInput):
        credit_line(score, income)
