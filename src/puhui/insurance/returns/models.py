"""Pure rules of return-shipping insurance (退货运费险) beyond `puhui.insurance.models`: a product version's
stored terms, the merchant's return rate with a prior, and the order's premium with its cap."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from puhui.insurance import models
from puhui.insurance.errors import InsuranceProductInvalid


@dataclass(frozen=True)
class ReturnShippingTerms:
    """A return-shipping product version (产品版本) as sold: the pricing product, the insurer who pays the
    claims, the return rate assumed for a merchant with no history, and the most an order's premium may be."""

    product: models.ReturnShippingProduct
    insurer_id: str
    prior_return_rate: Decimal = Decimal("0.1")
    max_premium: int = 5_00

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.prior_return_rate <= 1:
            raise InsuranceProductInvalid("the prior return rate is from 0 to 1")
        if not self.product.min_premium <= self.max_premium <= self.product.claim_amount:
            raise InsuranceProductInvalid("the most premium is from the least premium to the claim")


@dataclass(frozen=True)
class ReturnCounts:
    """Orders with cover and returns claimed (退货次数), of a buyer or a merchant."""

    orders: int = 0
    returns: int = 0


def merchant_return_rate(terms: ReturnShippingTerms, merchant: ReturnCounts) -> Decimal:
    """The merchant's return rate (商家退货率), credibility-weighted towards the prior:
    (returns + prior × k) / (orders + k) with k the product's credibility orders."""
    k = terms.product.credibility_orders
    return (merchant.returns + terms.prior_return_rate * k) / (merchant.orders + k)


def order_premium(terms: ReturnShippingTerms, buyer: ReturnCounts, merchant: ReturnCounts) -> tuple[Decimal, int]:
    """(return probability, premium in fen) of one order: `models.return_probability` from the buyer's own
    counts and the merchant's rate, priced by `models.return_shipping_premium`, at most `max_premium`."""
    probability = models.return_probability(
        terms.product, buyer.returns, buyer.orders, merchant_return_rate(terms, merchant)
    )
    return probability, min(models.return_shipping_premium(terms.product, probability), terms.max_premium)
