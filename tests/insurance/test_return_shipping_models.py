"""Return-shipping pricing (退货运费险) by hand: the merchant's rate leans on the prior by credibility, the
order's premium is `models.return_shipping_premium` of `models.return_probability`, capped at the most
premium; terms that cannot price are refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from puhui.insurance import models
from puhui.insurance.errors import InsuranceProductInvalid
from puhui.insurance.returns.models import ReturnCounts, ReturnShippingTerms, merchant_return_rate, order_premium

PRODUCT = models.ReturnShippingProduct("rs-basic", 1, claim_amount=12_00, min_premium=10, credibility_orders=20)
TERMS = ReturnShippingTerms(PRODUCT, "ins-1", prior_return_rate=Decimal("0.1"), max_premium=5_00)


def test_a_new_merchant_is_priced_at_the_prior() -> None:
    assert merchant_return_rate(TERMS, ReturnCounts()) == Decimal("0.1")
    # (4 + 0.1 × 20) / (40 + 20) = 6 / 60
    assert merchant_return_rate(TERMS, ReturnCounts(40, 4)) == Decimal("0.1")
    # (30 + 2) / (80 + 20) = 0.32
    assert merchant_return_rate(TERMS, ReturnCounts(80, 30)) == Decimal("0.32")


def test_premium_for_given_counts_is_the_models_figure() -> None:
    # a first order: probability 0.1; 0.1 × 12.00 / 0.7 = 1.714… → 1.72
    assert order_premium(TERMS, ReturnCounts(), ReturnCounts()) == (Decimal("0.1"), 172)
    # buyer 3 of 10 weighs 10/30; merchant 0.1: 1/3 × 0.3 + 2/3 × 0.1 = 1/6; 1/6 × 1200 / 0.7 = 285.7 → 286
    probability, premium = order_premium(TERMS, ReturnCounts(10, 3), ReturnCounts(40, 4))
    assert abs(probability - Decimal(1) / 6) < Decimal("1e-20")
    assert (
        premium
        == 286
        == models.return_shipping_premium(PRODUCT, models.return_probability(PRODUCT, 3, 10, Decimal("0.1")))
    )


def test_the_premium_stops_at_the_most_premium() -> None:
    # 1/3 × 1 + 2/3 × 0.1 = 0.4; 0.4 × 1200 / 0.7 = 685.7 → 686, above 5.00
    probability, premium = order_premium(TERMS, ReturnCounts(10, 10), ReturnCounts(40, 4))
    assert probability == Decimal("0.4") and premium == 5_00


@pytest.mark.parametrize(
    "prior, most",
    [(Decimal("1.1"), 5_00), (Decimal("-0.1"), 5_00), (Decimal("0.1"), 9), (Decimal("0.1"), 12_01)],
)
def test_terms_that_cannot_price_are_refused(prior: Decimal, most: int) -> None:
    with pytest.raises(InsuranceProductInvalid):
        ReturnShippingTerms(PRODUCT, "ins-1", prior_return_rate=prior, max_premium=most)
