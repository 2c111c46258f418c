"""Insurance arithmetic by hand and by property: quotes by band, earned premium and the unearned
premium reserve day by day, cancellation refunds, and what a medical claim pays."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui.insurance import models as m
from puhui.insurance.errors import AgeNotCovered, CancellationDateInvalid, ClaimOutsideCover, InsuranceProductInvalid

BANDS = (
    m.AgeBand(0, 17, 298_00, 568_00),
    m.AgeBand(18, 30, 136_00, 296_00),
    m.AgeBand(31, 40, 226_00, 496_00),
    m.AgeBand(41, 60, 596_00, 1_296_00),
)
PRODUCT = m.MedicalProduct("MED1", 1, "百万医疗", BANDS)
YEAR = m.Cover(dt.date(2026, 1, 1), dt.date(2027, 1, 1), 365_00)  # 365 days: 1 CNY a day


def test_a_quote_is_the_band_of_the_age_and_the_social_insurance_status():
    assert m.quote(PRODUCT, 35, True) == 226_00 and m.quote(PRODUCT, 35, False) == 496_00
    assert m.quote(PRODUCT, 18, True) == 136_00 and m.quote(PRODUCT, 17, True) == 298_00
    with pytest.raises(AgeNotCovered):
        m.quote(PRODUCT, 61, True)


def test_age_is_counted_in_full_years():
    assert m.age_on(dt.date(1990, 6, 15), dt.date(2026, 6, 14)) == 35
    assert m.age_on(dt.date(1990, 6, 15), dt.date(2026, 6, 15)) == 36


@pytest.mark.parametrize(
    "bands",
    [
        (),
        (m.AgeBand(0, 17, 1, 1), m.AgeBand(19, 30, 1, 1)),  # a gap
        (m.AgeBand(0, 17, 1, 1), m.AgeBand(17, 30, 1, 1)),  # an overlap
        (m.AgeBand(0, 17, 0, 1),),  # a free premium
    ],
)
def test_a_premium_table_with_gaps_overlaps_or_free_rows_is_refused(bands):
    with pytest.raises(InsuranceProductInvalid):
        m.MedicalProduct("MED1", 1, "x", bands)


def test_a_ratio_above_one_is_refused():
    with pytest.raises(InsuranceProductInvalid):
        m.MedicalProduct("MED1", 1, "x", BANDS, ratio_without_social=Decimal("1.2"))


def test_premium_is_earned_day_by_day():
    assert m.earned_through(YEAR, dt.date(2025, 12, 31)) == 0
    assert m.earned_through(YEAR, dt.date(2026, 1, 1)) == 1_00
    assert m.earned_through(YEAR, dt.date(2026, 1, 10)) == 10_00
    assert m.unearned_reserve(YEAR, dt.date(2026, 6, 30)) == 365_00 - 181_00
    assert m.earned_through(YEAR, dt.date(2026, 12, 31)) == 365_00
    uneven = m.Cover(dt.date(2026, 1, 1), dt.date(2027, 1, 1), 100_00)
    # 10,000 fen over 365 days: 27, 54, 82 earned through days 1-3, so day 3 earns 28
    assert [m.earned_through(uneven, dt.date(2026, 1, d)) for d in (1, 2, 3)] == [27, 54, 82]
    assert m.earned_on(uneven, dt.date(2026, 1, 3)) == 28


def test_a_year_of_cover_from_29_february_ends_on_1_march():
    assert m.one_year_from(dt.date(2028, 2, 29), 1).end == dt.date(2029, 3, 1)
    assert m.one_year_from(dt.date(2026, 3, 5), 1).days == 365


def test_cancelled_in_the_cooling_off_period_the_whole_premium_comes_back():
    assert m.cancellation_refund(PRODUCT, YEAR, dt.date(2026, 1, 15)) == 365_00  # day 15 of 15
    assert m.cancellation_refund(PRODUCT, YEAR, dt.date(2026, 1, 16)) == 365_00 - 16_00  # then pro rata
    with pytest.raises(CancellationDateInvalid):
        m.cancellation_refund(PRODUCT, YEAR, dt.date(2027, 1, 1))


def claim(loss_day=dt.date(2026, 1, 5), kind=m.LossKind.accident, expense=50_000_00, social=20_000_00, **kw):
    args = {"has_social_insurance": True, "deductible_used": 0, "paid_this_year": 0} | kw
    return m.claim_benefit(PRODUCT, YEAR, loss_day, kind, expense, social, **args)


def test_a_claim_pays_what_is_left_after_social_insurance_and_the_deductible_times_the_ratio():
    # 50,000 spent, 20,000 paid by social insurance, 10,000 deductible: 20,000 at 100%
    assert claim() == m.ClaimBenefit(50_000_00, 10_000_00, 20_000_00, "paid")
    # without social insurance: (50,000 - 10,000) × 60% = 24,000
    assert claim(social=0, has_social_insurance=False).payable == 24_000_00
    # 8,000 of the deductible used by an earlier claim: 2,000 left to bear
    assert claim(deductible_used=8_000_00).payable == 28_000_00
    assert claim(expense=5_000_00, social=0, has_social_insurance=False).reason == "within_deductible"
    # 2,999,000 paid this year against a 3,000,000 limit: 1,000 left
    assert claim(paid_this_year=2_999_000_00) == m.ClaimBenefit(50_000_00, 10_000_00, 1_000_00, "paid")
    assert claim(paid_this_year=3_000_000_00).reason == "limit_reached"


def test_an_illness_in_the_waiting_period_pays_nothing_an_accident_does():
    assert claim(loss_day=dt.date(2026, 1, 30), kind=m.LossKind.illness).reason == "waiting_period"
    assert claim(loss_day=dt.date(2026, 1, 31), kind=m.LossKind.illness).payable == 20_000_00  # day 31
    assert claim(loss_day=dt.date(2026, 1, 2), kind=m.LossKind.accident).payable == 20_000_00


def test_a_loss_outside_cover_or_a_negative_expense_is_refused():
    with pytest.raises(ClaimOutsideCover):
        claim(loss_day=dt.date(2027, 1, 1))
    with pytest.raises(InsuranceProductInvalid):
        claim(expense=-1, social=0)
    with pytest.raises(InsuranceProductInvalid):
        claim(expense=100, social=200)


covers = st.builds(
    m.one_year_from,
    st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)),
    st.integers(1, 10_000_000_00),
)


@given(cover=covers)
def test_the_days_of_a_policy_earn_its_premium_to_the_fen(cover):
    days = [cover.start + dt.timedelta(days=i) for i in range(cover.days)]
    earned = [m.earned_on(cover, day) for day in days]
    assert sum(earned) == cover.premium and min(earned) >= 0
    assert m.unearned_reserve(cover, days[-1]) == 0


@given(cover=covers, offset=st.integers(0, 364))
def test_a_cancelled_policy_refund_and_earned_premium_make_its_premium(cover, offset):
    day = cover.start + dt.timedelta(days=offset)
    refund = m.cancellation_refund(PRODUCT, cover, day)
    if offset < PRODUCT.cooling_off_days:
        assert refund == cover.premium
    else:
        assert refund + m.earned_through(cover, day) == cover.premium


@given(
    expense=st.integers(0, 10_000_000_00),
    social_share=st.integers(0, 100),
    deductible_used=st.integers(0, 20_000_00),
    paid=st.integers(0, 3_000_000_00),
    has_social=st.booleans(),
)
def test_a_claim_never_pays_more_than_the_expense_left_or_the_limit_left(
    expense, social_share, deductible_used, paid, has_social
):
    social = expense * social_share // 100
    benefit = claim(
        expense=expense,
        social=social,
        deductible_used=deductible_used,
        paid_this_year=paid,
        has_social_insurance=has_social,
    )
    assert 0 <= benefit.payable <= expense - social - benefit.deductible_applied
    assert benefit.payable <= PRODUCT.annual_limit - paid


SHIPPING = m.ReturnShippingProduct("RSI1", 1)  # 10 CNY claim, 70% target loss ratio


def test_a_return_shipping_premium_prices_the_order_at_the_target_loss_ratio():
    new_buyer = m.return_probability(SHIPPING, 0, 0, Decimal("0.1"))
    assert new_buyer == Decimal("0.1") and m.return_shipping_premium(SHIPPING, new_buyer) == 143  # 100 / 0.7
    # 10 returns in 20 orders: the buyer's 50% weighs 20 / (20 + 20), the merchant's 10% the rest: 30%
    seasoned = m.return_probability(SHIPPING, 10, 20, Decimal("0.1"))
    assert seasoned == Decimal("0.3") and m.return_shipping_premium(SHIPPING, seasoned) == 429
    assert m.return_shipping_premium(SHIPPING, Decimal("0.9")) == 10_00  # never more than the claim
    assert m.return_shipping_premium(SHIPPING, Decimal(0)) == SHIPPING.min_premium
    with pytest.raises(InsuranceProductInvalid):
        m.return_probability(SHIPPING, 3, 2, Decimal("0.1"))


@given(
    returns=st.integers(0, 500),
    extra_orders=st.integers(0, 500),
    merchant=st.decimals("0", "1", places=4),
)
def test_the_expected_loss_ratio_never_exceeds_the_target_unless_the_premium_is_capped(returns, extra_orders, merchant):
    probability = m.return_probability(SHIPPING, returns, returns + extra_orders, merchant)
    premium = m.return_shipping_premium(SHIPPING, probability)
    expected_loss = probability * SHIPPING.claim_amount
    if SHIPPING.min_premium < premium < SHIPPING.claim_amount:
        assert expected_loss / premium <= SHIPPING.target_loss_ratio
        assert expected_loss / (premium - 1) > SHIPPING.target_loss_ratio  # one fen less would exceed it
