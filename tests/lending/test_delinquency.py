"""Delinquency buckets, the five-category classification and provisions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.errors import InvalidInput
from puhui.lending.delinquency import (
    PROVISION_RATES,
    LoanClass,
    delinquency_bucket,
    loan_class,
    provision_for,
)


@pytest.mark.parametrize(
    "days,bucket",
    [(0, "current"), (1, "M1"), (30, "M1"), (31, "M2"), (60, "M2"), (61, "M3"), (90, "M3"), (91, "M3+"), (1000, "M3+")],
)
def test_buckets(days, bucket):
    assert delinquency_bucket(days) == bucket


@pytest.mark.parametrize(
    "days,cls",
    [
        (0, "normal"),
        (1, "special_mention"),
        (90, "special_mention"),
        (91, "substandard"),
        (180, "substandard"),
        (181, "doubtful"),
        (360, "doubtful"),
        (361, "loss"),
    ],
)
def test_five_categories(days, cls):
    assert loan_class(days) == LoanClass(cls)


@given(st.integers(0, 2000), st.integers(0, 2000))
def test_classification_only_worsens_with_days(a, b):
    order = list(LoanClass)
    buckets = ["current", "M1", "M2", "M3", "M3+"]
    low, high = min(a, b), max(a, b)
    assert order.index(loan_class(low)) <= order.index(loan_class(high))
    assert buckets.index(delinquency_bucket(low)) <= buckets.index(delinquency_bucket(high))


def test_provisions():
    assert [PROVISION_RATES[c] for c in LoanClass] == [Decimal(x) for x in ("0.01", "0.02", "0.25", "0.5", "1")]
    assert provision_for(1_000_000, LoanClass.normal) == 10_000
    assert provision_for(12_345, LoanClass.special_mention) == 247  # 246.9 fen, half up
    assert provision_for(12_345, LoanClass.substandard) == 3_086  # 3086.25
    assert provision_for(12_345, LoanClass.doubtful) == 6_173  # 6172.5, half up
    assert provision_for(12_345, LoanClass.loss) == 12_345
    assert provision_for(0, LoanClass.loss) == 0


@pytest.mark.parametrize("bad", [-1, True, 1.5])
def test_bad_days_refused(bad):
    with pytest.raises(InvalidInput):
        delinquency_bucket(bad)
    with pytest.raises(InvalidInput):
        loan_class(bad)
