"""Lending errors (网络借贷): each a `puhui.errors` subclass with a stable machine code."""

from __future__ import annotations

from puhui.errors import Conflict, InvalidInput, NotFound


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


class AnnualIncomeRequired(InvalidInput):
    """No annual income is on file for the borrower, so the one-third-of-income limit (单户余额不超过
    年收入的1/3) cannot be checked: the borrower must declare it (申报年收入) first."""

    code = "annual_income_required"
    title = "Declare the annual income: the one-third-of-income limit needs it"


class PartnerShareTooLow(InvalidInput):
    """Joint lending (联合贷款): the platform must fund at least 30% of each loan."""

    code = "partner_share_too_low"
    title = "Platform share in joint lending below the minimum"


class PartnerShareInvalid(InvalidInput):
    code = "partner_share_invalid"
    title = "Invalid funding share"


class UnknownPlan(InvalidInput):
    """A checkout or draw whose `plan` is not one offered, or whose `periods` are not that plan's: the detail
    names which, and the problem lists the plans offered (`plans`: each plan's name and periods)."""

    code = "unknown_instalment_plan"
    title = "No such pay-later or instalment plan: choose one of the plans offered"


class ProductNotFound(NotFound):
    code = "loan_product_not_found"
    title = "No such loan product"


class ProductNotForDirectApplication(InvalidInput):
    """A product drawn only through a credit line (先享后付: pay later, instalments), applied for directly: it
    is used at checkout or by a draw on the line, where its plan and fees are disclosed, never as a cash loan."""

    code = "product_not_for_direct_application"
    title = "This loan product is drawn only through a credit line, not applied for directly"


class CheckoutHeld(Conflict):
    code = "checkout_needs_review"
    title = "The payment would be held for review; pay later is not offered for it"


class CheckoutReplayMismatch(Conflict):
    code = "checkout_payment_exists"
    title = "A payment with this client id exists without a pay-later draw"


class LineNotFound(NotFound):
    """An unknown credit line, or another customer's: whoever is not its owner nor staff is told it does not
    exist (the same code and detail either way), reading it or acting on it. So are `ApplicationNotFound`,
    `OfferNotFound` and `LoanNotFound`."""

    code = "credit_line_not_found"
    title = "No such credit line"


class LineExists(Conflict):
    code = "credit_line_exists"
    title = "The customer already has a credit line"


class LineDeclined(Conflict):
    code = "credit_line_declined"
    title = "Risk declined a credit line for this customer"


class LineLimitExceeded(Conflict):
    code = "line_limit_exceeded"
    title = "The draw is larger than what is available on the credit line"


class LineFrozen(Conflict):
    code = "credit_line_frozen"
    title = "The credit line is frozen"


class LineExpired(Conflict):
    code = "credit_line_expired"
    title = "The credit line has expired"


class LineOverdue(Conflict):
    code = "credit_line_overdue"
    title = "A loan on the credit line is past due; no new draws until it is repaid"


class LimitInvalid(InvalidInput):
    code = "credit_limit_invalid"
    title = "Invalid credit limit"


class PartnerNotFound(NotFound):
    code = "lending_partner_not_found"
    title = "No such funding partner"


class NoFundingPartner(Conflict):
    code = "no_funding_partner"
    title = "The product's partner share has no funding partner"


class FundingInvalid(InvalidInput):
    code = "funding_invalid"
    title = "Invalid product funding"


class FundingExists(Conflict):
    code = "product_funding_exists"
    title = "The product is already funded on different terms"


class PayoutTooLarge(InvalidInput):
    code = "partner_payout_exceeds_payable"
    title = "Paying the partner more than is owed to it"


class PayoffMismatch(InvalidInput):
    code = "payoff_amount_mismatch"
    title = "An early full repayment must pay exactly the payoff amount"


class PartialCoversLoan(InvalidInput):
    code = "partial_covers_loan"
    title = "This partial repayment pays the whole loan: repay early in full instead"


class NothingDue(InvalidInput):
    code = "nothing_due"
    title = "Nothing is due on this loan today; repay early instead"


class LoanClosed(Conflict):
    code = "loan_closed"
    title = "The loan is paid off"


class ProductExists(Conflict):
    code = "loan_product_exists"
    title = "A different product already has this code"


class ApplicationNotFound(NotFound):
    code = "loan_application_not_found"
    title = "No such loan application"


class OfferNotFound(NotFound):
    code = "loan_offer_not_found"
    title = "No such loan offer"


class LoanNotFound(NotFound):
    code = "loan_not_found"
    title = "No such loan"


class ApplicationDeclined(Conflict):
    code = "loan_application_declined"
    title = "The application was declined; no offer can be made"


class ApplicationAlreadyUsed(Conflict):
    code = "loan_application_used"
    title = "The application already became a loan"


class OfferNotOpen(Conflict):
    code = "loan_offer_not_open"
    title = "The offer was already accepted"
    # an offer superseded by another of its application is `ApplicationAlreadyUsed` (`loan_application_used`)


class BorrowerUnverified(Conflict):
    """Credit (a loan, a credit line) for a customer with no verified identity (借款人未实名)."""

    code = "borrower_unverified"
    title = "The customer is not verified; credit needs a verified identity"
