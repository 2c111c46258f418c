"""Pure rules of return-shipping insurance (退货运费险) beyond `puhui.insurance.models`: a cover's term, a
product version's stored terms, the merchant's return rate with a prior, and the order's premium with its cap."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from puhui.insurance import models
from puhui.insurance.errors import InsuranceProductInvalid

# The term (保险期间) of every cover, the one definition the returns service and the reserve line share: up
# to 8 days to deliver and sign for the goods (签收), then the 7 days in which the buyer may send them back
# without a reason (七日无理由退货, 《消费者权益保护法》第二十五条). The platform sees no delivery or return
# date, so the term runs from the order's China date; a product version carries no term of its own.
DELIVERY_DAYS = 8
NO_REASON_RETURN_DAYS = 7
COVER_DAYS = DELIVERY_DAYS + NO_REASON_RETURN_DAYS

# A policy's status: `active` and `claimed` are stored; `expired` is read, never stored — an active policy
# from the exclusive end of its term (`policy_status`), so the status needs no end-of-day job.
ACTIVE, CLAIMED, EXPIRED = "active", "claimed", "expired"


def cover_of(order_day: dt.date, premium: int = 0) -> models.Cover:
    """A cover's term: `COVER_DAYS` days from its order's China date, the order day the first. `end` is
    exclusive: the cover runs to 24:00 China time of `end` - 1 day (the 15th day, the last covered day)."""
    return models.Cover(order_day, order_day + dt.timedelta(days=COVER_DAYS), premium)


def return_covered(order_day: dt.date, day: dt.date) -> bool:
    """Whether a return confirmed on China date `day` falls in the term of a cover ordered on `order_day`:
    from the order day to the last covered day, both included."""
    cover = cover_of(order_day)
    return cover.start <= day < cover.end


def policy_status(stored: str, order_day: dt.date, today: dt.date) -> str:
    """The status a policy reads as on China date `today`: a claimed one stays claimed; an active one is
    expired from its term's exclusive end, when no return can be confirmed any more."""
    if stored == ACTIVE and today >= cover_of(order_day).end:
        return EXPIRED
    return stored


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
