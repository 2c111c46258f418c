"""What the return-shipping insurance API answers with (退货运费险): a product version, a quote, a
checkout's payment and policy, and a policy with its claim."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from puhui.api.fields import Day, Money, Schema, Timestamp
from puhui.payments.schemas import Payment

Probability = Field(pattern=r"^(0|1)\.[0-9]{6}$", description="the order's chance of a return, six places")


class ReturnShippingProductVersion(Schema):
    """A return-shipping product version (产品版本): the fixed claim and how an order's premium is priced."""

    code: str
    version: int
    insurer_id: str
    claim_amount: Money = Field(description="the fixed claim paid when the goods go back (运费赔付)")
    target_loss_ratio: str = Field(pattern=r"^(0|1)(\.[0-9]+)?$", description="目标赔付率, e.g. 0.7")
    min_premium: Money
    max_premium: Money
    credibility_orders: int = Field(description="orders at which a buyer's own return rate weighs half")
    prior_return_rate: str = Field(
        pattern=r"^(0|1)(\.[0-9]+)?$", description="the return rate assumed for a merchant with no history"
    )


class ReturnShippingQuote(Schema):
    """The premium (保费) of cover for the buyer's next order from the merchant."""

    product_code: str
    product_version: int
    merchant_id: str
    return_probability: str = Probability
    premium: Money
    claim_amount: Money


class ReturnShippingPolicy(Schema):
    """A return-shipping policy (保单): one per payment for goods; `claimed` once the return is confirmed,
    `expired` once its term ended without a claim."""

    id: str
    payment_id: str
    customer_id: str
    merchant_id: str
    insurer_id: str
    product_code: str
    product_version: int
    order_amount: Money
    premium: Money
    claim_amount: Money
    return_probability: str = Probability
    status: Literal["active", "claimed", "expired"] = Field(
        description="active: a return confirmed today pays the claim; claimed: the claim was paid (理赔); "
        "expired: the term ended without a claim (a return confirmed now is refused, `return_cover_expired`)"
    )
    cover_end: Day = Field(
        description="the end of the term, exclusive: 15 days from the order's China date, the order day the "
        "first (up to 8 days to deliver, then the 7-day no-reason return window); a return confirmed from "
        "00:00 China time of this date is not covered"
    )
    created_at: Timestamp


class ReturnShippingClaim(Schema):
    """The claim (理赔) paid to the buyer's wallet when the merchant confirmed the return."""

    id: str
    policy_id: str
    customer_id: str
    amount: Money
    transfer_id: str
    created_at: Timestamp


class ReturnShippingCheckout(Schema):
    """A checkout with cover: the payment for the goods and the policy bought with it."""

    payment: Payment
    policy: ReturnShippingPolicy


class ReturnShippingCover(Schema):
    """A policy and its claim, if one was paid."""

    policy: ReturnShippingPolicy
    claim: ReturnShippingClaim | None


class ReturnShippingMerchantCover(ReturnShippingCover):
    """A covered order as its merchant sees it: the policy, its claim if paid, and the order's reference."""

    order_ref: str | None = Field(
        description="the merchant's order reference (商户订单号) of the dynamic QR code paid; null when it named none"
    )


class ReturnShippingMerchantPolicies(Schema):
    """The merchant's covered orders (投保订单), newest first."""

    policies: list[ReturnShippingMerchantCover]
    next_offset: int | None = Field(description="the `offset` of the next page; null on the last one")
