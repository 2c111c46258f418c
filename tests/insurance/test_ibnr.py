"""IBNR by chain-ladder and Bornhuetter-Ferguson (链梯法, BF法): the platform's own arithmetic by hand
on small triangles, against the `chainladder` library on its RAA sample and on a triangle built from a
simulated book with a known payment pattern; the loss ratio and claims ageing by hand."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from puhui.insurance.reserves import library, models
from puhui.insurance.reserves.models import Payment

D = dt.date


def test_paid_triangle_by_hand():
    payments = [
        Payment(D(2026, 1, 10), D(2026, 1, 20), 100),
        Payment(D(2026, 1, 10), D(2026, 2, 3), 50),
        Payment(D(2026, 1, 31), D(2026, 3, 1), 15),
        Payment(D(2026, 2, 5), D(2026, 2, 6), 110),
        Payment(D(2026, 2, 5), D(2026, 3, 31), 60),
        Payment(D(2026, 3, 2), D(2026, 3, 2), 120),
        Payment(D(2026, 3, 2), D(2026, 4, 1), 999),  # paid after the valuation date: left out
    ]
    triangle = models.paid_triangle(payments, D(2026, 3, 31))
    assert triangle.origin(0) == D(2026, 1, 1)
    assert triangle.rows == ((100, 150, 165), (110, 170, None), (120, None, None))
    factors = models.development_factors(triangle)
    assert factors == (Decimal(320) / Decimal(210), Decimal(165) / Decimal(150))
    ultimates = [e.ultimate for e in models.chain_ladder(triangle)]
    # 170 × 1.1 = 187; 120 × 320/210 × 1.1 = 201.14 → 201
    assert ultimates == [165, 187, 201]
    # BF: paid + (1 − 1/CDF) × 0.7 × earned; 170 + (1 − 1/1.1) × 0.7 × 220 = 184
    bf = models.bornhuetter_ferguson(triangle, [200, 220, 240], Decimal("0.7"))
    assert [e.ultimate for e in bf] == [165, 184, 188]
    assert models.ibnr(models.chain_ladder(triangle), case_reserve=10) == (187 - 170) + (201 - 120) - 10
    assert models.ibnr(models.chain_ladder(triangle), case_reserve=10_000) == 0


def test_small_triangle_agrees_with_the_library():
    triangle = models.Triangle(models.month_of(D(2024, 1, 1)), ((100, 150, 165), (110, 170, None), (120, None, None)))
    assert library.chain_ladder_ultimates(triangle) == pytest.approx([Decimal(165), Decimal(187), Decimal(1408) / 7])
    bf = library.bornhuetter_ferguson_ultimates(triangle, [200, 220, 240], Decimal("0.7"))
    assert [round(float(u), 6) for u in bf] == [165.0, 184.0, 187.772727]


# The RAA triangle as published (Mack 1993), the library's sample 'raa': cumulative paid, 1981-1990.
RAA_FIRST_COLUMNS = {
    12: (5012, 106, 3410, 5655, 1092, 1513, 557, 1351, 3133),
    24: (8269, 4285, 8992, 11555, 9565, 6445, 4020, 6947, 5395),
}


def raa() -> models.Triangle:
    import chainladder as cl

    return library.triangle_of(cl.load_sample("raa"), D(1981, 1, 1))


def test_raa_first_development_factor_by_hand():
    triangle = raa()
    assert triangle.rows[9] == (2063, None, None, None, None, None, None, None, None, None)
    assert sum(RAA_FIRST_COLUMNS[12]) == 21829 and sum(RAA_FIRST_COLUMNS[24]) == 65473
    assert models.development_factors(triangle)[0] == Decimal(65473) / Decimal(21829)
    assert round(Decimal(65473) / Decimal(21829), 6) == Decimal("2.999359")


def test_raa_chain_ladder_agrees_with_the_library():
    import chainladder as cl

    sample = cl.load_sample("raa")
    theirs = [Decimal(repr(v)) for v in cl.Chainladder().fit(sample).ultimate_.to_frame().iloc[:, 0].tolist()]
    ours = models.chain_ladder(raa())
    assert [abs(e.ultimate - t) <= Decimal("0.5") for e, t in zip(ours, theirs, strict=True)] == [True] * 10
    total_ibnr = sum(t for t in theirs) - sum(e.paid for e in ours)
    assert abs(models.ibnr(ours, 0) - total_ibnr) <= 5  # 52,135 on the published triangle
    assert round(total_ibnr) == 52135


def test_raa_bornhuetter_ferguson_agrees_with_the_library():
    triangle = raa()
    premium = [40_000 + 1_000 * row for row in range(triangle.ages)]
    theirs = library.bornhuetter_ferguson_ultimates(triangle, premium, Decimal("0.6"))
    ours = models.bornhuetter_ferguson(triangle, premium, Decimal("0.6"))
    assert all(abs(e.ultimate - t) <= Decimal("0.5") for e, t in zip(ours, theirs, strict=True))


PATTERN = (0.45, 0.30, 0.15, 0.07, 0.03)  # share of a claim paid in development months 0..4


def simulated_book(seed: int) -> tuple[list[Payment], dict[int, int]]:
    """Claims over 12 accident months, each paid in instalments on a known pattern; returns the
    payments and each accident month's true ultimate."""
    draw = random.Random(seed)
    payments, ultimate = [], {}
    for month in range(12):
        for _ in range(draw.randrange(60, 90)):
            accident = D(2025, month + 1, draw.randrange(1, 29))
            amount = draw.randrange(1_000_00, 30_000_00)
            ultimate[month] = ultimate.get(month, 0) + amount
            left = amount
            for lag, share in enumerate(PATTERN):
                part = left if lag == len(PATTERN) - 1 else int(amount * share)
                left -= part
                paid_month = month + lag
                paid = D(2025 + paid_month // 12, paid_month % 12 + 1, 15)
                payments.append(Payment(accident, paid, part))
    return payments, ultimate


def test_simulated_book_agrees_with_the_library_and_finds_the_known_ultimate():
    payments, truth = simulated_book(seed=15)
    triangle = models.paid_triangle(payments, D(2025, 12, 31))
    assert triangle.ages == 12
    ours = models.chain_ladder(triangle)
    theirs = library.chain_ladder_ultimates(triangle)
    assert all(abs(e.ultimate - t) <= 1 for e, t in zip(ours, theirs, strict=True))
    earned = [truth[m] * 10 // 7 for m in range(12)]  # a 70% loss ratio on this premium
    bf_ours = models.bornhuetter_ferguson(triangle, earned, Decimal("0.7"))
    bf_theirs = library.bornhuetter_ferguson_ultimates(triangle, earned, Decimal("0.7"))
    assert all(abs(e.ultimate - t) <= 1 for e, t in zip(bf_ours, bf_theirs, strict=True))
    # the estimate finds the simulated ultimate: within 3% over the book, and each mature month exactly
    estimated, actual = sum(e.ultimate for e in ours), sum(truth.values())
    assert abs(estimated - actual) / actual < 0.03
    assert [e.ultimate for e in ours[:7]] == [truth[m] for m in range(7)]
    ibnr = models.ibnr(ours, case_reserve=0)
    unpaid = actual - sum(e.paid for e in ours)
    assert 0 < ibnr and abs(ibnr - unpaid) / unpaid < 0.1


def test_ratios_and_ageing_by_hand():
    figures = models.ratios(
        earned=100_000,
        paid=40_000,
        case_reserve=15_000,
        ibnr_reserve=10_000,
        commission_ratio=Decimal("0.10"),
        expense_ratio=Decimal("0.05"),
    )
    assert figures.incurred == 65_000 and figures.loss_ratio == Decimal("0.6500")
    assert figures.combined_ratio == Decimal("0.8000")
    assert models.ratios(0, 1, 0, 0, Decimal(0), Decimal(0)).loss_ratio is None
    day = D(2026, 6, 30)
    claims = [(D(2026, 6, 30), 100), (D(2026, 5, 31), 200), (D(2026, 5, 30), 300), (D(2026, 1, 1), 400)]
    # 0, 30, 31 and 180 days since reported
    assert models.claims_ageing(claims, day) == {
        "0-30": (2, 300),
        "31-90": (1, 300),
        "91-180": (1, 400),
        ">180": (0, 0),
    }
    assert (day - D(2026, 1, 1)).days == 180 and models.ageing_bucket(D(2025, 12, 31), day) == ">180"
