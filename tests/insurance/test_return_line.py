"""The return-shipping line's reserve arithmetic (退货运费险准备金), no database: a cover's 15-day term earned
by day, fully at its claim and once its window closes; IBNR by Bornhuetter-Ferguson on the priced return
rate by hand, and by chain-ladder against the `chainladder` library on a simulated book; the switch from one
to the other as the triangle gains history."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from puhui.insurance.reserves import library, models, return_line
from puhui.insurance.reserves.return_line import ReturnCover

D = dt.date
DAY = dt.timedelta(days=1)


def test_a_cover_sold_today_earns_by_day_and_all_once_its_window_closes():
    sold = D(2026, 3, 1)
    cover = ReturnCover(sold, 150, 12_00, Decimal("0.1"))
    assert return_line.cover_of(sold, 150).end == D(2026, 3, 16)  # 15 days, the order day first
    assert cover.earned_through(sold - DAY) == 0
    assert cover.earned_through(sold) == 10  # day 0: 1/15 earned, 140 unearned
    assert cover.earned_through(sold + 6 * DAY) == 70  # mid-term: 7 days of 15
    assert cover.earned_through(sold + 13 * DAY) == 140 and cover.running(sold + 13 * DAY)
    assert cover.earned_through(sold + 14 * DAY) == 150 and not cover.running(sold + 14 * DAY)  # window closed
    assert cover.earned_through(sold + 100 * DAY) == 150
    figures = return_line.line_figures([cover], sold)
    assert (figures.written, figures.earned, figures.upr, figures.refunded) == (150, 10, 140, 0)
    assert return_line.line_figures([cover], sold + 14 * DAY).upr == 0


def test_a_claimed_cover_is_fully_earned_at_its_claim():
    sold = D(2026, 3, 1)
    cover = ReturnCover(sold, 172, 12_00, Decimal("0.1"), claimed_on=sold + 3 * DAY)
    assert cover.earned_through(sold + 2 * DAY) == 34  # floor(172 × 3 / 15)
    assert cover.earned_through(sold + 3 * DAY) == 172 and not cover.running(sold + 3 * DAY)
    figures = return_line.line_figures([cover], sold + 3 * DAY)
    assert (figures.upr, figures.paid, figures.case_reserve, figures.ibnr) == (0, 12_00, 0, 0)
    before = return_line.line_figures([cover], sold + 2 * DAY)  # the claim is not yet known
    assert (before.upr, before.paid) == (172 - 34, 0)


@given(
    premium=st.integers(1, 5_00),
    sold=st.dates(D(2025, 1, 1), D(2027, 12, 31)),
    claim_after=st.one_of(st.none(), st.integers(0, 40)),
)
def test_earned_never_falls_and_ends_at_the_premium(premium, sold, claim_after):
    claimed = None if claim_after is None else sold + claim_after * DAY
    cover = ReturnCover(sold, premium, 12_00, Decimal("0.2"), claimed)
    earned = [cover.earned_through(sold + n * DAY) for n in range(-1, 20)]
    assert earned[0] == 0 and earned[-1] == premium
    assert all(b >= a for a, b in zip(earned, earned[1:], strict=False))
    if claimed is not None:
        assert cover.earned_through(claimed) == premium


def test_bornhuetter_ferguson_ibnr_by_hand():
    day = D(2026, 1, 5)
    covers = [
        ReturnCover(D(2025, 12, 28), 150, 12_00, Decimal("0.1")),  # 9 days run: 90 of 150, a priori 120
        ReturnCover(D(2026, 1, 3), 100, 12_00, Decimal("0.05")),  # 3 days: 20 of 100, a priori 60
        ReturnCover(D(2026, 1, 2), 300, 12_00, Decimal("0.3"), claimed_on=D(2026, 1, 4)),  # claimed: not running
        ReturnCover(D(2025, 12, 1), 200, 12_00, Decimal("0.5")),  # its window closed: not running
        ReturnCover(D(2026, 1, 6), 999, 12_00, Decimal("0.9")),  # bought after the date: left out
    ]
    months = return_line.open_months(covers, day)
    assert {m: (o.earned, o.premium, o.expected) for m, o in months.items()} == {
        models.month_of(D(2025, 12, 1)): (90, 150, Decimal("120.0")),
        models.month_of(D(2026, 1, 1)): (20, 100, Decimal("60.00")),
    }
    # December: 120 × 90/150 = 72; January: 60 × 20/100 = 12
    assert return_line.bornhuetter_ferguson_ibnr(months) == 84
    figures = return_line.line_figures(covers, day)
    assert (figures.ibnr_method, figures.ibnr, figures.ibnr_bf) == ("bornhuetter_ferguson", 84, 84)
    assert (figures.policies, figures.written, figures.paid) == (4, 750, 12_00)
    assert figures.earned == 90 + 20 + 300 + 200


def simulated_covers(seed: int, first: D, days: int) -> list[ReturnCover]:
    """Covers bought every day from `first`, each returned with its priced probability 2 to 12 days later."""
    draw = random.Random(seed)
    covers = []
    for n in range(days):
        for _ in range(draw.randrange(15, 30)):
            probability = Decimal(draw.randrange(2, 30)) / 100
            claimed = first + (n + draw.randrange(2, 13)) * DAY if draw.random() < probability else None
            covers.append(ReturnCover(first + n * DAY, draw.randrange(10, 5_00), 12_00, probability, claimed))
    return covers


def hand_shares(covers: list[ReturnCover], day: D) -> dict[int, Decimal]:
    """Each order month's running covers: earned ÷ premium, earning premium × days run // 15 by hand."""
    earned: dict[int, int] = {}
    premium: dict[int, int] = {}
    for c in covers:
        run = (day - c.order_day).days + 1
        if 1 <= run < 15 and (c.claimed_on is None or c.claimed_on > day):
            month = c.order_day.year * 12 + c.order_day.month - 1
            earned[month] = earned.get(month, 0) + c.premium * run // 15
            premium[month] = premium.get(month, 0) + c.premium
    return {m: Decimal(earned[m]) / premium[m] for m in premium}


def test_chain_ladder_ibnr_agrees_with_the_library():
    day = D(2026, 4, 24)
    covers = simulated_covers(seed=15, first=D(2026, 1, 1), days=(day - D(2026, 1, 1)).days + 1)
    triangle = models.paid_triangle(return_line.payments_of(covers, day), day)
    assert triangle.ages == 4 and return_line.ibnr_method(triangle) == "chain_ladder"
    ultimates = library.chain_ladder_ultimates(triangle)
    shares = hand_shares(covers, day)
    assert set(shares) == {models.month_of(D(2026, 4, 1))}  # on 24 April only April's covers still run
    expected = 0
    for row, ultimate in enumerate(ultimates):
        unpaid = ultimate - triangle.latest(row)[1]
        expected += models.fen(unpaid * shares.get(triangle.first_month + row, Decimal(0)))
    chain_ladder = return_line.chain_ladder_ibnr(triangle, return_line.open_months(covers, day))
    assert chain_ladder > 0 and abs(chain_ladder - expected) <= 1
    figures = return_line.line_figures(covers, day)
    assert figures.ibnr_method == "chain_ladder" and figures.ibnr == max(chain_ladder, figures.ibnr_bf)
    # BF for comparison: the a priori of April's running covers × their share run
    a_priori = sum(c.return_probability * c.claim_amount for c in covers if c.running(day))
    assert figures.ibnr_bf == models.fen(a_priori * shares[models.month_of(day)])
    # and the paid claims are every claim paid by the date
    assert figures.paid == 12_00 * sum(1 for c in covers if c.claimed_on is not None and c.claimed_on <= day)


def test_the_line_books_bf_until_its_triangle_spans_three_months():
    covers = simulated_covers(seed=3, first=D(2026, 1, 10), days=80)
    early = D(2026, 2, 20)  # claims since January: two accident months
    assert return_line.line_figures(covers, early).ibnr_method == "bornhuetter_ferguson"
    figures = return_line.line_figures(covers, early)
    assert figures.ibnr == figures.ibnr_bf > 0
    later = D(2026, 3, 2)
    assert return_line.line_figures(covers, later).ibnr_method == "chain_ladder"


def test_the_chain_ladder_reading_low_within_a_month_is_not_booked_below_bf():
    """On the 10th the month's payments so far, set against whole months' development, read low: the line books
    BF's IBNR instead (prudence); at the month's end the chain-ladder's own figure is booked where it is higher."""
    covers = simulated_covers(seed=15, first=D(2026, 1, 1), days=130)
    day = D(2026, 4, 10)
    triangle = models.paid_triangle(return_line.payments_of(covers, day), day)
    chain_ladder = return_line.chain_ladder_ibnr(triangle, return_line.open_months(covers, day))
    figures = return_line.line_figures(covers, day)
    assert figures.ibnr_method == "chain_ladder" and chain_ladder < figures.ibnr_bf
    assert figures.ibnr == figures.ibnr_bf
