"""What the funding-partner API answers with (联合贷款 / 助贷): a partner's balances and the terms on which
it funds a product."""

from __future__ import annotations

from pydantic import Field

from puhui.api.fields import Money, Schema
from puhui.lending.schemas import Fraction


class FundingPartner(Schema):
    """A funding partner (资金方): the funding it has outstanding in loans and what is payable to it."""

    partner_id: str
    funding_outstanding: Money = Field(description="the partner's share of the principal lent and not repaid")
    payable: Money = Field(description="collected for the partner and not yet paid over (待划付)")


class ProductFunding(Schema):
    """The partner funding a product: the platform's share (出资比例) and, in pure facilitation (助贷),
    the partner's service fee as a share of interest."""

    product_code: str
    partner_id: str
    platform_share: str = Fraction
    service_fee_rate: str = Fraction
