"""The pure rules: discount = face × rate × days / 360 half-up to the fen, rates, tenors, limits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.supplychain import models
from puhui.supplychain.errors import InvalidDiscountRate, InvalidMaturity


def test_worked_example_of_a_bank_discount() -> None:
    # 1,000,000.00 CNY at 6% for 90 days: 1,000,000 × 0.06 × 90 / 360 = 15,000.00 CNY.
    assert models.discount(100_000_000, Decimal("0.06"), 90) == 1_500_000


def test_half_a_fen_rounds_up() -> None:
    # 1.00 CNY at 5% for 36 days is exactly 0.5 fen: half-up gives 1 fen (banker's rounding would give 0).
    assert models.discount(100, Decimal("0.05"), 36) == 1
    assert models.discount(100, Decimal("0.05"), 35) == 0  # 0.486 fen


rates = st.integers(min_value=1, max_value=240_000).map(lambda ppm: Decimal(ppm).scaleb(-6))
faces = st.integers(min_value=1, max_value=10**13)
days = st.integers(min_value=1, max_value=models.MAX_TENOR_DAYS)


@given(faces, rates, days)
def test_discount_agrees_with_exact_rational_arithmetic(face: int, rate: Decimal, n: int) -> None:
    exact = Fraction(face) * Fraction(rate) * n / 360
    expected = int(exact + Fraction(1, 2)) if exact >= 0 else None  # half-up for non-negative values
    assert models.discount(face, rate, n) == expected
    assert 0 <= models.discount(face, rate, n) < face


@given(faces, rates, days)
def test_discount_grows_with_days(face: int, rate: Decimal, n: int) -> None:
    if n < models.MAX_TENOR_DAYS:
        assert models.discount(face, rate, n) <= models.discount(face, rate, n + 1)


@pytest.mark.parametrize("text", ["0", "-0.01", "0.2400001", "0.25", "1", "abc", "NaN", "Infinity", ""])
def test_bad_rates_are_refused(text: str) -> None:
    with pytest.raises(InvalidDiscountRate):
        models.parse_rate(text)


def test_good_rates_are_kept_exactly() -> None:
    assert models.parse_rate("0.06") == Decimal("0.06")
    assert models.parse_rate("0.24") == models.MAX_DISCOUNT_RATE
    assert models.parse_rate("0.045678") == Decimal("0.045678")


def test_maturity_lies_within_the_tenor() -> None:
    today = dt.date(2026, 1, 5)
    for bad in (today, today - dt.timedelta(days=1), today + dt.timedelta(days=models.MAX_TENOR_DAYS + 1)):
        with pytest.raises(InvalidMaturity):
            models.check_maturity(today, bad)
    models.check_maturity(today, today + dt.timedelta(days=1))
    models.check_maturity(today, today + dt.timedelta(days=models.MAX_TENOR_DAYS))
    assert models.discount_days(today, dt.date(2026, 4, 5)) == 90


def test_limit_counts_what_is_outstanding() -> None:
    assert models.fits_limit(70, 30, 100)
    assert not models.fits_limit(71, 30, 100)
