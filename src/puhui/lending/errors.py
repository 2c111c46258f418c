"""Lending errors (网络借贷): each a `puhui.errors` subclass with a stable machine code."""

from __future__ import annotations

from puhui.errors import InvalidInput


class ProductInvalid(InvalidInput):
    """A loan product (贷款产品) whose terms are malformed or inconsistent."""

    code = "product_invalid"
    title = "Invalid loan product"


class AmountOutOfRange(InvalidInput):
    code = "amount_out_of_range"
    title = "Loan amount outside the product's range"


class TermOutOfRange(InvalidInput):
    code = "term_out_of_range"
    title = "Loan term outside the product's range"


class RateAboveCap(InvalidInput):
    """The annualized rate (综合年化利率, fees included) is above the platform cap."""

    code = "rate_above_cap"
    title = "Annualized rate above the cap"


class RepaymentExceedsOwed(InvalidInput):
    code = "repayment_exceeds_owed"
    title = "Repayment exceeds the amount owed"


class RepaymentInvalid(InvalidInput):
    code = "repayment_invalid"
    title = "Invalid repayment amount"


class BorrowerLimitExceeded(InvalidInput):
    """Above the single-borrower cap (单户上限) or one third of the borrower's annual income."""

    code = "borrower_limit_exceeded"
    title = "Borrower limit exceeded"


class PartnerShareTooLow(InvalidInput):
    """Joint lending (联合贷款): the platform must fund at least 30% of each loan."""

    code = "partner_share_too_low"
    title = "Platform share in joint lending below the minimum"


class PartnerShareInvalid(InvalidInput):
    code = "partner_share_invalid"
    title = "Invalid funding share"
