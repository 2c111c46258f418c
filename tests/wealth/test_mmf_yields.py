"""万份收益, 七日年化 and holders' income against hand-computed examples; the residue invariant."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.wealth.mmf import yields


def test_income_per_10k_by_hand() -> None:
    # The fund earned 1,234.56 CNY net on 25,000,000.00 units:
    # R = 1234.56 / 25,000,000 × 10,000 = 0.493824 → 0.4938 (4 decimals, half-up)
    assert yields.income_per_10k(123_456, 2_500_000_000) == Decimal("0.4938")
    # 1.00 CNY on 30,000.00 units: 1 / 30,000 × 10,000 = 0.33333… → 0.3333
    assert yields.income_per_10k(100, 3_000_000) == Decimal("0.3333")
    # 2.00 CNY on 30,000.00 units: 0.66666… → 0.6667 (half-up)
    assert yields.income_per_10k(200, 3_000_000) == Decimal("0.6667")


def test_seven_day_yield_constant_income_by_hand() -> None:
    # R = 0.5000 every day: Π(1 + 0.5/10000)^7 ^ (365/7) = 1.00005^365
    # ln 1.00005 = 0.0000499987500; × 365 = 0.0182495437; e^that = 1.018417084…
    # → (1.018417084 − 1) × 100% = 1.8417% → 1.842 (3 decimals)
    assert yields.seven_day_annualized([Decimal("0.5")] * 7) == Decimal("1.842")
    # R = 0 every day: 1^(365/7) − 1 = 0
    assert yields.seven_day_annualized([Decimal(0)] * 7) == Decimal("0.000")


def test_seven_day_yield_compounds_varying_income() -> None:
    rs = [Decimal(x) for x in ("0.4512", "0.4498", "0.4603", "0.4401", "0.4555", "0.4589", "0.4620")]
    # Σ ln(1 + R_i/10000) = ln of the product; × 365/7 then exp − 1 (floats: 15 digits suffice here)
    log_sum = sum(math.log1p(float(r) / 10_000) for r in rs)
    expected = (math.exp(log_sum * 365 / 7) - 1) * 100
    got = yields.seven_day_annualized(rs)
    assert abs(float(got) - expected) < 0.0005
    # compounding beats the simple average form (Σ R_i / 7 × 365 / 10000) of monthly-carry funds
    simple = float(sum(rs)) / 7 * 365 / 10_000 * 100
    assert float(got) > simple
    with pytest.raises(ValueError):
        yields.seven_day_annualized(rs[:6])


def test_holder_income_rounds_down_by_hand() -> None:
    # 12,345.67 units × 0.4938 / 10,000 = 0.609629… CNY → 0.60 (down): 60 fen
    assert yields.holder_income(1_234_567, 4_938) == 60
    # 100.00 units earn 0.004938 → 0.00
    assert yields.holder_income(10_000, 4_938) == 0
    # 50,000.00 units × 0.4938 / 10,000 = 2.469 → 2.46
    assert yields.holder_income(5_000_000, 4_938) == 246


def test_distribution_residue_by_hand() -> None:
    # holders of 12,345.67 / 1.00 / 50,000.00 units at R = 0.4938
    d = yields.distribute([1_234_567, 100, 5_000_000], 4_938)
    assert d.incomes == [60, 0, 246]
    # the fund: 62,346.67 units × 0.4938 / 10,000 = 3.0786… → 3.07; residue 3.07 − 3.06 = 0.01
    assert (d.distributed, d.paid, d.residue) == (307, 306, 1)


def test_r_units_refuses_more_than_four_decimals() -> None:
    assert yields.r_units(Decimal("0.4938")) == 4938
    with pytest.raises(ValueError):
        yields.r_units(Decimal("0.49381"))


@given(st.lists(st.integers(min_value=0, max_value=10**12), max_size=200), st.integers(min_value=0, max_value=100_000))
def test_holders_income_plus_residue_is_the_distributed_income(holdings: list[int], r_e4: int) -> None:
    d = yields.distribute(holdings, r_e4)
    assert sum(d.incomes) + d.residue == d.distributed
    assert 0 <= d.residue < max(len(holdings), 1)
    for units, income in zip(holdings, d.incomes, strict=True):
        assert income * 10**8 <= units * r_e4 < (income + 1) * 10**8
